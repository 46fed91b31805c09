"""web3.py contract bindings from the ABI files exported from Brownie's build (dapp/chain/abi)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from dapp.chain.deployments import Deployment

ABI_DIR = Path(__file__).resolve().parent / "abi"


@cache
def load_abi(name: str) -> list[dict[str, Any]]:
    path = ABI_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no ABI for {name} in {ABI_DIR}; run `make abi`")
    return json.loads(path.read_text())


def bind(web3: Web3, deployment: Deployment, name: str) -> Contract:
    """The deployed contract `name` on this chain, ready to call."""
    return web3.eth.contract(address=deployment.contract(name).address, abi=load_abi(name))
