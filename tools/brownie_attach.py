"""Run a Brownie command against an already running dev chain at any RPC URL.

Brownie only attaches to networks listed in ~/.brownie/network-config.yaml, with fixed ports.
This launcher registers a development network `attached` for the given URL in Brownie's
in-memory config (nothing global is written) and hands over to Brownie's own CLI:

    python tools/brownie_attach.py http://127.0.0.1:8545 run scripts/deploy.py
    python tools/brownie_attach.py http://127.0.0.1:8545 test tests/contracts/test_toolchain.py
"""

import sys
from urllib.parse import urlparse


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    rpc_url, command = sys.argv[1], sys.argv[2:]
    port = urlparse(rpc_url).port
    if port is None:
        raise SystemExit(f"RPC URL needs an explicit port: {rpc_url}")

    from brownie._config import CONFIG

    CONFIG.networks["attached"] = {
        "id": "attached",
        "name": "Attached dev chain",
        "host": rpc_url,
        "cmd": "ganache",  # never launched: Brownie attaches because the port answers
        "cmd_settings": {"port": port},
    }
    from brownie._cli.__main__ import main as brownie_main

    sys.argv = ["brownie", *command, "--network", "attached"]
    brownie_main()


if __name__ == "__main__":
    main()
