"""The deployment manifest of a network deploy, and the standard-JSON compiler input in it.

Same top-level shape as the dev deployments file (`{"<chain id>": {"Name": {...}}}`), so
`dapp.chain.deployments` reads it unchanged; each entry adds what verifiers need: the ABI, the
compiler version, the constructor arguments and a solc standard-JSON input holding the
contract's whole import closure (Sourcify and block explorers compile exactly that). The
`network` entry (no address) records the network file, the deployer and the role handover.

Plain Python: reads Brownie's build artifacts and sources, never Brownie itself.
"""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "contracts"
SOLC_WRAPPER = ROOT / "tools" / "solc.js"
IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)


def remappings() -> list[str]:
    """brownie-config.yaml's solc remappings, as Brownie passes them to solc."""
    import yaml

    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())
    return list(config["compiler"]["solc"].get("remappings") or [])


def _resolve(importer: str, target: str, remaps: list[str]) -> str:
    for remap in remaps:
        prefix, replacement = remap.split("=", 1)
        if target.startswith(prefix):
            return replacement + target[len(prefix):]
    if target.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    return target


def import_closure(source_path: str, remaps: list[str], root: Path = ROOT) -> dict[str, str]:
    """Every source `source_path` imports, transitively: {path as Brownie names it: text}.
    (Brownie's `allSourcePaths` leaves out files that contribute no code, but solc's metadata
    hashes them too, so the input must have them.)"""
    sources: dict[str, str] = {}
    pending = [source_path]
    while pending:
        path = pending.pop()
        if path in sources:
            continue
        text = (root / path).read_text()
        sources[path] = text
        pending.extend(_resolve(path, target, remaps) for target in IMPORT.findall(text))
    return dict(sorted(sources.items()))


def artifact(name: str) -> dict[str, Any]:
    return json.loads((BUILD / f"{name}.json").read_text())


def standard_json_input(build: dict[str, Any]) -> dict[str, Any]:
    """The solc standard-JSON input that compiles this artifact's contract as Brownie did."""
    remaps = remappings()
    compiler = build["compiler"]
    return {
        "language": "Solidity",
        "sources": {path: {"content": text}
                    for path, text in import_closure(build["sourcePath"], remaps).items()},
        "settings": {
            "optimizer": compiler["optimizer"],
            "evmVersion": compiler["evm_version"],
            "remappings": remaps,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                            "evm.deployedBytecode.object",
                                            "evm.deployedBytecode.immutableReferences",
                                            "metadata"]}},
        },
    }


def manifest_entry(name: str, contract_name: str, address: str, block: int, tx_hash: str,
                   deploy_data: str) -> dict[str, Any]:
    """One contract of the manifest. `deploy_data` is the creation transaction's input."""
    build = artifact(contract_name)
    bytecode = build["bytecode"]
    data = deploy_data[2:] if deploy_data.startswith("0x") else deploy_data
    args = data[len(bytecode):] if data.startswith(bytecode) else ""
    return {
        "address": address,
        "block": block,
        "transaction": tx_hash,
        "contract": f"{build['sourcePath']}:{contract_name}",
        "abi": build["abi"],
        "compiler": {"version": "v" + build["compiler"]["version"]},
        "constructorArguments": "0x" + args,
        "standardJsonInput": standard_json_input(build),
    }


def write_manifest(path: Path, chain_id: int, entries: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({str(chain_id): entries}, indent=1) + "\n")
    tmp.replace(path)


# --- verification: does the input reproduce the code at the address? --------------------------

def compile_standard_json(std_input: dict[str, Any]) -> dict[str, Any]:
    """Compile with the repository's solc (tools/solc.js: solcjs, nothing downloaded)."""
    result = subprocess.run(["node", str(SOLC_WRAPPER), "--standard-json"], cwd=ROOT,
                            input=json.dumps(std_input), capture_output=True, text=True,
                            check=True)
    output = json.loads(result.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise RuntimeError("solc: " + errors[0])
    return output


def _strip_metadata(code: bytes) -> bytes:
    """Runtime code without solc's CBOR metadata (its length is the last two bytes)."""
    length = int.from_bytes(code[-2:], "big") + 2
    return code[:-length] if length <= len(code) else code


def _mask(code: bytes, immutables: dict[str, list[dict[str, int]]]) -> bytes:
    masked = bytearray(code)
    for refs in immutables.values():
        for ref in refs:
            masked[ref["start"]:ref["start"] + ref["length"]] = bytes(ref["length"])
    return bytes(masked)


def compare_runtime(entry: dict[str, Any], onchain: bytes,
                    output: dict[str, Any] | None = None) -> str:
    """'full' when the compiled runtime code equals the code on chain (immutables masked),
    'partial' when only the metadata hash differs, else 'mismatch'."""
    output = output or compile_standard_json(entry["standardJsonInput"])
    source, name = entry["contract"].rsplit(":", 1)
    compiled = output["contracts"][source][name]["evm"]["deployedBytecode"]
    code = bytes.fromhex(compiled["object"])
    immutables = compiled.get("immutableReferences") or {}
    ours, theirs = _mask(code, immutables), _mask(onchain, immutables)
    if ours == theirs:
        return "full"
    if _strip_metadata(ours) == _strip_metadata(theirs):
        return "partial"
    return "mismatch"
