"""What the job worker and the job routes read from the ComputeMarket: jobs, and the
`JobCreated` logs addressed to one provider (the only place the algorithm id is on chain)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from dapp.chain.contracts import bind
from dapp.chain.deployments import Deployment
from dapp.publishing.transactions import chain_errors

ZERO_ADDRESS = "0x" + "00" * 20


class ChainJobStatus(IntEnum):
    NONE = 0
    OPEN = 1
    SUBMITTED = 2
    DISPUTED = 3
    FINALIZED = 4
    REFUNDED = 5


@dataclass(frozen=True)
class ChainJob:
    job_id: int
    buyer: str
    deadline: int
    status: ChainJobStatus
    provider: str
    provider_fee: int
    token: str
    data_fee: int
    challenge_end: int
    dataset_id: int
    result_hash: bytes


@dataclass(frozen=True)
class NewJob:
    """A `JobCreated` log for this provider."""

    job_id: int
    buyer: str
    dataset_id: int
    algorithm_id: int
    deadline: int
    block_number: int


class MarketReader:
    def __init__(self, web3: Web3, deployment: Deployment) -> None:
        self.web3 = web3
        self.market: Contract = bind(web3, deployment, "ComputeMarket")
        self.registry: Contract = bind(web3, deployment, "AssetRegistry")
        self.deployed_block = deployment.contract("ComputeMarket").block
        self._rpc = str(getattr(web3.provider, "endpoint_uri", "?"))

    @property
    def address(self) -> str:
        return str(self.market.address)

    def job(self, job_id: int) -> ChainJob | None:
        """The job as stored on chain; None if no such job exists."""
        with chain_errors(self._rpc):
            record = self.market.functions.getJob(job_id).call()
        (buyer, deadline, status, provider, provider_fee, token, data_fee, _collateral,
         challenge_end, dataset_id, result_hash) = record
        if buyer == ZERO_ADDRESS:
            return None
        return ChainJob(job_id, to_checksum_address(buyer), int(deadline),
                        ChainJobStatus(int(status)), to_checksum_address(provider),
                        int(provider_fee), to_checksum_address(token), int(data_fee),
                        int(challenge_end), int(dataset_id), bytes(result_hash))

    def head(self) -> tuple[int, int]:
        """The latest block's number and timestamp (chain time decides deadlines)."""
        with chain_errors(self._rpc):
            block = self.web3.eth.get_block("latest")
        return int(block["number"]), int(block["timestamp"])

    def new_jobs(self, provider: str, from_block: int, to_block: int) -> list[NewJob]:
        """`JobCreated` logs with `provider` (an indexed topic) in the block range."""
        event = self.market.events.JobCreated()
        topic0 = self.web3.keccak(text="JobCreated(uint256,address,address,uint256,uint256,"
                                       "address,uint96,uint96,uint96,uint64)").to_0x_hex()
        provider_topic = "0x" + "00" * 12 + provider.lower().removeprefix("0x")
        with chain_errors(self._rpc):
            logs = self.web3.eth.get_logs({
                "address": self.market.address, "fromBlock": from_block, "toBlock": to_block,
                "topics": [topic0, None, None, provider_topic],  # type: ignore[list-item]
            })
        return [_new_job(event.process_log(log)) for log in logs]


def _new_job(decoded: Any) -> NewJob:
    args = decoded["args"]
    return NewJob(int(args["jobId"]), to_checksum_address(args["buyer"]),
                  int(args["datasetId"]), int(args["algorithmId"]), int(args["deadline"]),
                  int(decoded["blockNumber"]))
