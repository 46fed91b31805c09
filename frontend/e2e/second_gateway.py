"""A second provider gateway for the e2e multiseal flow (flows/multiseal.mjs): dev account 8
as its provider, on the stack's chain and Kubo, with a data dir, key and port of its own. It
registers on the ComputeMarket at start, so the stack's indexer lists it in `GET /v1/providers`.
The buyer (dev account 6) is also put in the stack's keystore, for the CLI to download as.

Prints one JSON line `{"url", "provider"}` when it is registered, then serves until stdin
closes (the runner died or is done) or a SIGTERM comes (the flow's `stop`); either way its
gateway is stopped and its data dir removed.

    .venv/bin/python frontend/e2e/second_gateway.py '<the stack's cliEnv JSON>'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from dapp.chain.accounts import Keystore, dev_account  # noqa: E402
from dapp.config import Settings  # noqa: E402
from dapp.devstack.up import settings_env  # noqa: E402
from dapp.errors import InvalidInput  # noqa: E402
from dapp.ports import free_port  # noqa: E402

PROVIDER_INDEX = 8  # of DEV_MNEMONIC: no other e2e step uses it
BUYER_INDEX = 6
PASSWORD = "e2e second gateway"


def main() -> int:
    # SIGTERM (the flow's stop) ends the process through `finally` below: Python's default
    # would kill it at once and leave its gateway running, orphaned, after the e2e run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stack = json.loads(sys.argv[1])
    data_dir = Path(stack["DAPP_DATA_DIR"])
    with contextlib.suppress(InvalidInput):  # imported by an earlier run on this data dir
        Keystore(data_dir / "keystore").import_key(
            "buyer", dev_account(BUYER_INDEX).key.hex(), stack["DAPP_KEYSTORE_PASSWORD"])
    base = Path(tempfile.mkdtemp(prefix="dapp-e2e-second-"))
    provider = dev_account(PROVIDER_INDEX)
    Keystore(base / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings = Settings(
        data_dir=base, chain_rpc_url=stack["DAPP_CHAIN_RPC_URL"],
        ipfs_api_url=stack["DAPP_IPFS_API_URL"], ipfs_gateway_url=stack["DAPP_IPFS_GATEWAY_URL"],
        deployments_file=Path(stack.get("DAPP_DEPLOYMENTS_FILE")
                              or data_dir / "deployments.json"),
        chain_id=int(stack.get("DAPP_CHAIN_ID", 1337)), gateway_port=free_port(),
        provider_account="provider", keystore_password=PASSWORD, log_level="WARNING")
    url = settings.resolved_gateway_public_url
    log = (base / "gateway.log").open("wb")
    child = subprocess.Popen([sys.executable, "-m", "dapp.gateway"], cwd=REPO, stdout=log,
                             stderr=subprocess.STDOUT,
                             env={**os.environ, **settings_env(settings), "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/v1/provider", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                print(json.dumps({"error": f"second gateway did not start; see "
                                           f"{base / 'gateway.log'}"}), flush=True)
                return 1
            time.sleep(0.5)
        print(json.dumps({"url": url, "provider": provider.address}), flush=True)
        while sys.stdin.buffer.read(1):
            pass
        return 0
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
