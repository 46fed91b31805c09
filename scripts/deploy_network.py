"""Deploy the exchange to the EVM network a network file names, and hand it to a timelock.

    DEPLOYER_PRIVATE_KEY=0x.. python -m scripts.deploy_network deploy/networks/<name>.toml \\
        [--manifest deployments/<name>.json]

1. deploys OpenZeppelin's TimelockController (proposers and executors from the file, the
   timelock its own admin: no deployer role on it at any time);
2. deploys the AssetRegistry on the file's payment tokens, staking token and fee receiver
   (no test token), then every module of `scripts/deploy_modules.py`, as on the dev chain;
3. grants every role of every contract to the timelock (or where the file's [roles] says),
   and renounces each (scripts/handover.py);
4. reads every role of every contract back and fails if the deployer kept any;
5. writes the manifest (scripts/manifest.py): addresses, blocks, ABIs, standard-JSON inputs
   (`python -m scripts.verify_manifest` checks them against the chain).

The dev chain keeps `scripts/deploy.py` (test token, deployer as admin). docs/DEPLOY.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from dapp.errors import DappError, InvalidInput
from scripts.handover import HandoverIncomplete, hand_over, verify_handover
from scripts.manifest import manifest_entry, write_manifest
from scripts.network_config import NetworkConfig, NetworkFileError, load_network

ROOT = Path(__file__).resolve().parents[1]
KEY_VARIABLE = "DEPLOYER_PRIVATE_KEY"
RPC_VARIABLE = "DEPLOY_RPC_URL"  # overrides the file's rpc_url: a keyed URL stays out of files


def connect_brownie(config: NetworkConfig) -> Any:
    """Load the project (compiling what changed) and attach Brownie to the network as a live
    network; the project's contract containers become importable from `brownie`."""
    from brownie import network, project
    from brownie._config import CONFIG
    from brownie.network.contract import ProjectContract

    # Brownie's own record of live deployments (build/deployments) fails on a fresh chain id
    # (it sorts int and str keys); the manifest is the record, so Brownie keeps none.
    ProjectContract._deployment_path = lambda self: None  # type: ignore[method-assign]
    loaded = project.load(ROOT, name="ExchangeProject")
    loaded.load_config()
    network_id = f"deploy-{config.name}"
    CONFIG.networks[network_id] = {
        "id": network_id, "name": config.name, "host": config.rpc_url, "chainid": config.chain_id,
    }
    network.connect(network_id)
    loaded._add_to_main_namespace()
    return loaded


def check_chain(config: NetworkConfig) -> None:
    """Before Brownie loads and anything is sent: the RPC serves the file's chain, and each
    token named has code there."""
    from web3 import Web3

    web3 = Web3(Web3.HTTPProvider(config.rpc_url, request_kwargs={"timeout": 30}))
    try:
        chain_id = int(web3.eth.chain_id)
    except OSError as exc:
        raise NetworkFileError(f"no answer from {config.rpc_url}: {type(exc).__name__}",
                               hint="check rpc_url") from None
    if chain_id != config.chain_id:
        raise NetworkFileError(f"{config.rpc_url} serves chain {chain_id}, the network file "
                               f"says {config.chain_id}", hint="fix rpc_url or chain_id")
    for key, address in [("staking_token", config.staking_token),
                         *(("payment_tokens", token) for token in config.payment_tokens)]:
        if web3.eth.get_code(address) == b"":
            raise NetworkFileError(f"`{key}` {address} has no contract on chain {chain_id}",
                                   hint="name tokens deployed on this network")


def deploy_timelock(config: NetworkConfig, deployer: Any) -> Any:
    from brownie import TimelockController

    tl = config.timelock
    zero = "0x" + "00" * 20  # admin: none, the timelock administers itself
    return TimelockController.deploy(tl.min_delay, list(tl.proposers), list(tl.executors), zero,
                                      {"from": deployer})


def deploy_core(config: NetworkConfig, deployer: Any) -> dict[str, Any]:
    from brownie import AssetRegistry

    registry = AssetRegistry.deploy(
        deployer, config.fee_receiver, config.protocol_fee_bps, config.unbonding_delay,
        config.staking_token, list(config.payment_tokens), {"from": deployer},
    )
    return {"AssetRegistry": registry}


def entry_of(contract: Any) -> dict[str, Any]:
    tx = contract.tx
    return manifest_entry(contract._name, contract._name, contract.address, tx.block_number,
                          tx.txid, tx.input)


def deploy(config: NetworkConfig, key: str, manifest: Path) -> dict[str, Any]:
    from brownie import accounts, web3

    from scripts.deploy import deploy_modules

    deployer = accounts.add(key)
    timelock = deploy_timelock(config, deployer)
    deployed = deploy_core(config, deployer)
    deployed.update(deploy_modules(deployed, deployer))
    moved = hand_over(deployed, deployer, timelock.address, config.roles)
    entries: dict[str, Any] = {name: entry_of(c) for name, c in deployed.items()}
    entries["TimelockController"] = entry_of(timelock)
    entries["network"] = {
        "name": config.name, "chainId": config.chain_id,
        "publicRpcUrl": config.public_rpc_url,
        "deployer": deployer.address, "timelock": timelock.address,
        "proposers": list(config.timelock.proposers), "minDelay": config.timelock.min_delay,
        "roles": config.roles, "handedOver": moved,
    }
    try:
        entries["network"]["held"] = verify_handover(web3, entries, deployer.address,
                                                     timelock.address, config.roles)
    except HandoverIncomplete as exc:  # the addresses still go on record, with the failure
        entries["network"]["handoverIncomplete"] = exc.message
        write_manifest(manifest, config.chain_id, entries)
        raise
    write_manifest(manifest, config.chain_id, entries)
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("network_file", type=Path)
    parser.add_argument("--manifest", type=Path,
                        help="where the manifest goes (default deployments/<name>.json)")
    parser.add_argument("--compile-all", action="store_true",
                        help="rebuild every contract first (`brownie compile --all`): Brownie "
                             "may keep an artifact whose imports changed, and then only a "
                             "partial (metadata-less) verification matches")
    args = parser.parse_args(argv)
    try:
        config = load_network(args.network_file)
        if os.environ.get(RPC_VARIABLE):
            config = replace(config, rpc_url=os.environ[RPC_VARIABLE])
        key = os.environ.get(KEY_VARIABLE, "")
        if not key:
            raise InvalidInput(f"{KEY_VARIABLE} is not set",
                               hint="export the deployer's key; it never goes in the network file")
        manifest = args.manifest or ROOT / "deployments" / f"{config.name}.json"
        if args.compile_all:
            subprocess.run(["brownie", "compile", "--all"], cwd=ROOT, check=True)
        check_chain(config)
        connect_brownie(config)
        entries = deploy(config, key, manifest)
    except DappError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"deployed on {config.name} (chain {config.chain_id}) -> {manifest}")
    for name, entry in entries.items():
        if "address" in entry:
            print(f"  {name:28} {entry['address']}  block {entry['block']}")
    print(f"roles handed to the timelock {entries['network']['timelock']}"
          f"{' and ' + str(config.roles) if config.roles else ''}; the deployer holds none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
