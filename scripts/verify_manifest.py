"""Check a deployment manifest against the chain, as Sourcify or a block explorer would.

    python -m scripts.verify_manifest deployments/<name>.json [--rpc-url URL]

Compiles each contract's standard-JSON input with the repository's solc (tools/solc.js) and
compares the runtime code with the code at its address: `full` (byte for byte, immutables
masked), `partial` (only the metadata hash differs: deploy with --compile-all for a full
match) or `mismatch` (exit 1). The RPC URL defaults to the manifest's `publicRpcUrl`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from web3 import Web3

from scripts.manifest import compare_runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--rpc-url")
    args = parser.parse_args(argv)
    ((chain_id, entries),) = json.loads(args.manifest.read_text()).items()
    rpc_url = args.rpc_url or entries["network"].get("publicRpcUrl")
    if not rpc_url:
        print("error: the manifest names no public RPC URL (give --rpc-url)", file=sys.stderr)
        return 2
    web3 = Web3(Web3.HTTPProvider(rpc_url))
    if web3.eth.chain_id != int(chain_id):
        print(f"error: the RPC serves chain {web3.eth.chain_id}, the manifest {chain_id}",
              file=sys.stderr)
        return 2
    results = {}
    for name, entry in entries.items():
        if isinstance(entry, dict) and "address" in entry:
            results[name] = compare_runtime(entry, bytes(web3.eth.get_code(entry["address"])))
            print(f"  {name:28} {entry['address']}  {results[name]}")
    return 1 if "mismatch" in results.values() else 0


if __name__ == "__main__":
    sys.exit(main())
