"""The docs/CLIENT.md example: what a project using only `datadao-client` does.

    python example.py RPC_URL DEPLOYMENTS_JSON [GATEWAY_URL]

Reads the exchange on chain (assets, licences, the compute market's head) from a deployments
file, and with a gateway URL signs in to it with a throw-away key and reads its catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

from eth_account import Account
from web3 import Web3

from dapp.chain.constants import Scope
from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.client.gateway import GatewayClient, raise_for_problem
from dapp.client.market import MarketAccount


def main(rpc_url: str, deployments: Path, gateway_url: str | None = None) -> None:
    web3 = Web3(Web3.HTTPProvider(rpc_url))
    deployment = load_deployment(deployments, web3.eth.chain_id)
    registry = bind(web3, deployment, "AssetRegistry")
    count = registry.functions.assetCount().call()
    print(f"chain {deployment.chain_id}: {count} assets in {registry.address}")
    someone = Account.create()
    for asset_id in range(1, count + 1):
        kind, retired, _share, versions, offers = registry.functions.assetInfo(asset_id).call()
        licensed = registry.functions.hasLicense(asset_id, someone.address, Scope.DOWNLOAD).call()
        print(f"  asset {asset_id}: kind {kind}, {versions} versions, {offers} offers, "
              f"retired={retired}, licensed to {someone.address[:10]}…: {licensed}")
    market = MarketAccount(web3, deployment)
    print(f"compute market {market.address}, chain time {market.chain_time()}")
    if gateway_url:
        with GatewayClient(gateway_url, someone, chain_id=deployment.chain_id) as gateway:
            gateway.sign_in()  # Sign-In with Ethereum, the throw-away key signs
            me = gateway.request("GET", "/v1/auth/me", headers=gateway.auth_headers)
            catalog = gateway.request("GET", "/v1/assets")
            for response in (me, catalog):
                raise_for_problem(response)  # a problem+json answer -> a DappError
            print(f"gateway {gateway_url}: signed in as {me.json()['account']}, "
                  f"{catalog.json()['total']} assets in its catalog")

if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
