"""`datadao compute allow|deny|policy|show`: who may run what on a dataset (its owner's
compute policy, kept on chain in the registry; see docs/CONTRACTS.md)."""

from __future__ import annotations

from typing import Any

import typer

from dapp.chain.transactions import chain_errors
from dapp.cli.output import JsonOption, console, emit_json
from dapp.cli.session import AccountOption, ConfirmationsOption, read_only, signing
from dapp.errors import InvalidInput
from dapp.publishing.exchange import Exchange

app = typer.Typer(help="List the algorithms and models that may run on your dataset, and cap "
                       "its results.", no_args_is_help=True)


def policy_json(exchange: Exchange, dataset_id: int, algorithm_ids: list[int] | None = None
                ) -> dict[str, Any]:
    """The dataset's policy as the chain answers it now. The chain keeps no list to walk: the
    trusted algorithms shown are those among `algorithm_ids` (default: every asset but
    datasets)."""
    functions = exchange.registry.functions
    with chain_errors(exchange.web3, "reading the compute policy"):
        any_algorithm, max_result_bytes, log_tail_bytes = functions.computePolicy(
            dataset_id).call()
        if algorithm_ids is None:
            algorithm_ids = [asset_id for asset_id in range(1, exchange.asset_count() + 1)
                             if int(functions.assetInfo(asset_id).call()[0]) != 0]
        trusted = []
        for algorithm_id in algorithm_ids:
            listed, version = functions.trustedAlgorithm(dataset_id, algorithm_id).call()
            if listed:
                trusted.append({"algorithm_id": algorithm_id, "version": int(version)})
    return {"dataset_id": dataset_id, "any_algorithm": bool(any_algorithm),
            "max_result_bytes": int(max_result_bytes) or None,
            "log_tail_bytes": int(log_tail_bytes), "trusted_algorithms": trusted}


def _print_policy(policy: dict[str, Any]) -> None:
    dataset = policy["dataset_id"]
    if policy["any_algorithm"]:
        console.print(f"dataset {dataset}: ANY algorithm or model may run on it")
    elif not policy["trusted_algorithms"]:
        console.print(f"dataset {dataset}: no algorithm may run on it "
                      f"(list one with `datadao compute allow {dataset} ALGORITHM_ID`)")
    for entry in policy["trusted_algorithms"]:
        pin = f"version {entry['version']} only" if entry["version"] else "its latest version"
        console.print(f"  algorithm {entry['algorithm_id']}: {pin}")
    cap = policy["max_result_bytes"]
    console.print(f"  result cap: {cap} bytes" if cap else
                  "  result cap: the provider's own")
    tail = policy["log_tail_bytes"]
    console.print(f"  a failed run shows its buyer the last {tail} bytes of its log" if tail else
                  "  a failed run shows its buyer no log")


@app.command("allow")
def allow(
    ctx: typer.Context,
    dataset_id: int = typer.Argument(..., help="your dataset"),
    algorithm_id: int = typer.Argument(..., help="the algorithm or model that may run on it"),
    version: int = typer.Option(0, "--version", min=0, max=2**32 - 1,
                                help="run only this version of it (0 = its latest, which its "
                                     "owner can change)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List ALGORITHM_ID as allowed to run on DATASET_ID (jobs with anything else are refused
    on chain and by every provider)."""
    with signing(ctx, account, confirmations, as_json) as session:
        sent = session.exchange.trust_algorithm(dataset_id, algorithm_id, version)
    output = {"dataset_id": dataset_id, "algorithm_id": algorithm_id, "version": version,
              "tx_hash": sent.tx_hash, "block": sent.block_number}
    if as_json:
        emit_json(output)
    else:
        pin = f"version {version} only" if version else "its latest version"
        console.print(f"algorithm {algorithm_id} may run on dataset {dataset_id} ({pin})")


@app.command("deny")
def deny(
    ctx: typer.Context,
    dataset_id: int = typer.Argument(...),
    algorithm_id: int = typer.Argument(...),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove ALGORITHM_ID from DATASET_ID's list (providers decline its jobs not yet run)."""
    with signing(ctx, account, confirmations, as_json) as session:
        sent = session.exchange.untrust_algorithm(dataset_id, algorithm_id)
    output = {"dataset_id": dataset_id, "algorithm_id": algorithm_id,
              "tx_hash": sent.tx_hash, "block": sent.block_number}
    if as_json:
        emit_json(output)
    else:
        console.print(f"algorithm {algorithm_id} may no longer run on dataset {dataset_id}")


@app.command("policy")
def set_policy(
    ctx: typer.Context,
    dataset_id: int = typer.Argument(...),
    any_algorithm: bool = typer.Option(
        False, "--any-algorithm/--listed-only",
        help="let every algorithm run (the data can then leave through any algorithm's "
             "result), or only the listed ones (the default)"),
    max_result_bytes: int = typer.Option(0, "--max-result-bytes", min=0, max=2**64 - 1,
                                         help="largest result a job may return (0 = the "
                                              "provider's own cap)"),
    log_tail_bytes: int = typer.Option(0, "--log-tail-bytes", min=0, max=2**32 - 1,
                                       help="how much of the end of a failed run's log its "
                                            "buyer may read (0 = nothing: a log can carry "
                                            "data)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set DATASET_ID's compute policy (both settings at once)."""
    with signing(ctx, account, confirmations, as_json) as session:
        sent = session.exchange.set_compute_policy(dataset_id, any_algorithm, max_result_bytes,
                                                   log_tail_bytes)
    output = {"dataset_id": dataset_id, "any_algorithm": any_algorithm,
              "max_result_bytes": max_result_bytes or None, "log_tail_bytes": log_tail_bytes,
              "tx_hash": sent.tx_hash,
              "block": sent.block_number}
    if as_json:
        emit_json(output)
    else:
        who = "ANY algorithm or model" if any_algorithm else "only the listed algorithms"
        cap = f"{max_result_bytes} bytes" if max_result_bytes else "the provider's own"
        tail = f"the last {log_tail_bytes} bytes" if log_tail_bytes else "none"
        console.print(f"dataset {dataset_id}: {who} may run on it; result cap: {cap}; log "
                      f"shown on failure: {tail}")


@app.command("show")
def show(
    ctx: typer.Context,
    dataset_id: int = typer.Argument(...),
    as_json: JsonOption = False,
) -> None:
    """What may run on DATASET_ID, read from the chain."""
    exchange = read_only(ctx)
    if not 0 < dataset_id <= exchange.asset_count():
        raise InvalidInput(f"asset {dataset_id} does not exist")
    policy = policy_json(exchange, dataset_id)
    if as_json:
        emit_json(policy)
    else:
        _print_policy(policy)
