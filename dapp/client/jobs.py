"""A buyer's compute jobs in the ComputeMarket: escrow one with a provider (the caller holds a
COMPUTE license on the dataset), read its state, and settle it — `finalize` after the
challenge window, `dispute` inside it, `expire` once the deadline passed without a result."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.logs import DISCARD

from dapp.chain.constants import JobStatus
from dapp.chain.transactions import SentTransaction
from dapp.client.market import MarketAccount
from dapp.errors import NotFound

#: IComputeMarket.JobStatus, in order
ZERO_HASH = b"\x00" * 32


@dataclass(frozen=True)
class JobState:
    job_id: int
    buyer: str
    provider: str
    dataset_id: int
    status: str
    token: str
    provider_fee: int
    data_fee: int
    collateral: int
    deadline: int
    challenge_end: int  # 0 until a result is posted
    result_hash: str | None  # sha2-256 of the plain result, "0x…"; None until posted


@dataclass(frozen=True)
class JobPrice:
    token: str
    provider_fee: int
    data_fee: int

    @property
    def total(self) -> int:
        return self.provider_fee + self.data_fee


class BuyerJobs(MarketAccount):
    def job(self, job_id: int) -> JobState:
        (buyer, deadline, status, provider, provider_fee, token, data_fee, collateral,
         challenge_end, dataset_id, result_hash) = self.market.functions.getJob(job_id).call()
        if int(status) == 0:
            raise NotFound(f"job {job_id} does not exist on market {self.address}")
        return JobState(job_id, str(buyer), str(provider), int(dataset_id),
                        JobStatus.label_of(status),
                        str(token), int(provider_fee), int(data_fee), int(collateral),
                        int(deadline), int(challenge_end),
                        None if bytes(result_hash) == ZERO_HASH else
                        "0x" + bytes(result_hash).hex())

    def price(self, dataset_id: int, provider: str) -> JobPrice:
        """What a job costs now: the provider's fee and the dataset's data fee."""
        state = self.reader.provider(Web3.to_checksum_address(provider), fresh=True)
        if not state.registered:
            raise NotFound(f"{provider} is not a provider in market {self.address}")
        _token, data_fee = self.market.functions.computeFee(dataset_id).call()
        return JobPrice(state.price_token, state.price, int(data_fee))

    def create(self, dataset_id: int, algorithm_id: int, provider: str, deadline: int
               ) -> tuple[int, JobPrice, SentTransaction]:
        """Approve the escrow if needed and `createJob`, paying at most today's price."""
        price = self.price(dataset_id, provider)
        self._ensure_allowance(price.token, price.total)
        sent = self._send(self.market.functions.createJob(
            dataset_id, algorithm_id, Web3.to_checksum_address(provider), deadline, price.total),
            f"escrowing a job on dataset {dataset_id}")
        (event,) = self.market.events.JobCreated().process_receipt(sent.receipt, errors=DISCARD)
        return int(event["args"]["jobId"]), price, sent

    def finalize(self, job_id: int) -> SentTransaction:
        return self._send(self.market.functions.finalize(job_id), f"finalizing job {job_id}")

    def dispute(self, job_id: int) -> SentTransaction:
        return self._send(self.market.functions.dispute(job_id), f"disputing job {job_id}")

    def expire(self, job_id: int) -> SentTransaction:
        return self._send(self.market.functions.expire(job_id), f"expiring job {job_id}")
