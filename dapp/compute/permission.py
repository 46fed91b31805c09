"""May this job run here, and under which terms: the dataset owner's compute policy on chain.

The provider asks the registry itself before it fetches a byte, with the same view that
`createJob` asked (`AssetRegistry.checkJob`): the buyer holds the dataset's COMPUTE license, the
algorithm is a live ALGORITHM or MODEL the dataset's owner listed (or the policy allows any), and
the buyer owns it or holds its COMPUTE license. The owner may have changed the list since the job
was created: the latest word on chain wins, and a job the owner no longer allows is declined
(free for both: the buyer is refunded). The answer also names the algorithm version to run (the
pinned one, else the latest), the owner's cap on the result's size, and how much of a failed
run's log the buyer may read (none unless the owner says so: a log can carry the data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.exceptions import ContractLogicError

from dapp.chain.transactions import ErrorDecoder, chain_errors, revert_data
from dapp.errors import DappError


class JobNotPermitted(DappError):
    """The dataset's compute policy does not let this buyer run this algorithm (now)."""

    code = "job-not-permitted"
    http_status = 403


@dataclass(frozen=True)
class RunPermission:
    algorithm_version: int  # the version of the algorithm to run
    max_result_bytes: int | None  # the dataset owner's cap on the result (None: the provider's)
    log_tail_bytes: int = 0  # how much of a failed run's log end the buyer may read (0: none)


#: what `checkJob`'s reverts mean, for the job's reason (shown to the buyer)
_REASONS = {
    "AlgorithmNotTrusted": "the dataset's owner has not listed algorithm {algorithmId} "
                           "(or no longer does)",
    "NotLicensed": "{account} holds no COMPUTE license on asset {assetId}",
    "AssetIsRetired": "asset {assetId} is retired",
    "WrongAssetKind": "asset {assetId} is of the wrong kind for this role",
    "UnknownAsset": "asset {assetId} does not exist",
}


def run_permission(registry: Any, decoder: ErrorDecoder, dataset_id: int, algorithm_id: int,
                   buyer: str) -> RunPermission:
    """The terms of the run, or `JobNotPermitted` with the reason the chain gives."""
    with chain_errors(registry.w3, "reading the dataset's compute policy"):
        try:
            version = int(registry.functions.checkJob(dataset_id, algorithm_id, buyer).call())
        except ContractLogicError as error:
            name, args = decoder.decode(revert_data(error))
            template = _REASONS.get(name or "")
            reason = template.format(**args) if template else f"checkJob reverted ({name})"
            raise JobNotPermitted(f"job refused by the dataset's compute policy: {reason}") \
                from error
        _any, max_result_bytes, log_tail_bytes = registry.functions.computePolicy(
            dataset_id).call()
    return RunPermission(version, int(max_result_bytes) or None, int(log_tail_bytes))
