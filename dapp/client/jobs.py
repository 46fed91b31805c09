"""A buyer's compute jobs in the ComputeMarket: escrow one with a provider (the caller holds a
COMPUTE license on the dataset; the buyer names the token it pays in and the most it pays),
read its state, and settle it — `cancel` before the provider accepted it, `finalize` after the
challenge window, `dispute` inside it (approving the market for the bond first), `expire` once
the deadline passed without a result. Settlements credit the buyer's balance in the market
(`claimable`); `withdraw` pulls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from dapp.chain.constants import AssetKind, JobStatus
from dapp.chain.contracts import load_abi
from dapp.chain.transactions import SentTransaction, revert_data
from dapp.client.market import MarketAccount
from dapp.errors import DappError, InvalidInput, NotFound, NotLicensed, UnknownAsset
from dapp.market.reader import market_error_decoder

ZERO_HASH = b"\x00" * 32


class ComputeLicenseNeeded(NotLicensed):
    """A job on a dataset the buyer holds no COMPUTE license for."""

    code = "compute-license-needed"


class WrongAssetKind(InvalidInput):
    code = "wrong-asset-kind"


class AlgorithmNotListed(NotLicensed):
    """The dataset's owner has not listed the algorithm (its compute policy, on chain)."""

    code = "algorithm-not-trusted"


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
    params_id: int  # the market params the job runs under (challenge window, bond)

    @property
    def price(self) -> int:
        return self.provider_fee + self.data_fee


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
        (buyer, deadline, status, params_id, provider, provider_fee, token, data_fee,
         collateral, challenge_end, dataset_id, result_hash) = \
            self.market.functions.getJob(job_id).call()
        if int(status) == 0:
            raise NotFound(f"job {job_id} does not exist on market {self.address}")
        return JobState(job_id, str(buyer), str(provider), int(dataset_id),
                        JobStatus.label_of(status),
                        str(token), int(provider_fee), int(data_fee), int(collateral),
                        int(deadline), int(challenge_end),
                        None if bytes(result_hash) == ZERO_HASH else
                        "0x" + bytes(result_hash).hex(), int(params_id))

    def price(self, dataset_id: int, provider: str) -> JobPrice:
        """What a job costs now: the provider's fee and the dataset's data fee."""
        state = self.reader.provider(Web3.to_checksum_address(provider), fresh=True)
        if not state.registered:
            raise NotFound(f"{provider} is not a provider in market {self.address}")
        _token, data_fee = self.market.functions.computeFee(dataset_id).call()
        return JobPrice(state.price_token, state.price, int(data_fee))

    def check_job(self, dataset_id: int, algorithm_id: int, buyer: str) -> None:
        """What `createJob` would refuse, found before anything is sent (an `approve`
        included), with the market's own question: the registry's `checkJob` view. Its first
        refusal is said in words: an asset that does not exist, a dataset that is not one or an
        algorithm that is, no COMPUTE license on the dataset or on the algorithm, an algorithm
        the dataset's owner has not listed."""
        registry = self.web3.eth.contract(address=self.market.functions.registry().call(),
                                          abi=load_abi("AssetRegistry"))
        try:
            registry.functions.checkJob(dataset_id, algorithm_id,
                                        Web3.to_checksum_address(buyer)).call()
        except ContractLogicError as error:
            name, args = market_error_decoder().decode(revert_data(error))
            raise job_refusal(name, args, dataset_id, algorithm_id, buyer) from error

    def create(self, dataset_id: int, algorithm_id: int, provider: str, deadline: int
               ) -> tuple[int, JobPrice, SentTransaction]:
        """Check the job (`check_job`), approve the escrow if needed and `createJob`, paying
        at most today's price."""
        self.check_job(dataset_id, algorithm_id, self.account_address)
        price = self.price(dataset_id, provider)
        self._ensure_allowance(price.token, price.total)
        sent = self._send(self.market.functions.createJob(
            dataset_id, algorithm_id, Web3.to_checksum_address(provider), deadline,
            Web3.to_checksum_address(price.token), price.total),
            f"escrowing a job on dataset {dataset_id}")
        (event,) = self.market.events.JobCreated().process_receipt(sent.receipt, errors=DISCARD)
        return int(event["args"]["jobId"]), price, sent

    def finalize(self, job_id: int) -> SentTransaction:
        return self._send(self.market.functions.finalize(job_id), f"finalizing job {job_id}")

    def dispute_bond(self, job_id: int) -> int:
        """What disputing the job costs: its params' `disputeBondBps` of its price."""
        state = self.job(job_id)
        bps = int(self.market.functions.paramsAt(state.params_id).call()[6])
        return state.price * bps // 10_000

    def dispute(self, job_id: int) -> SentTransaction:
        """Approve the market for the bond (if any) and `dispute`."""
        bond = self.dispute_bond(job_id)
        if bond:
            self._ensure_allowance(self.job(job_id).token, bond)
        return self._send(self.market.functions.dispute(job_id), f"disputing job {job_id}")

    def cancel(self, job_id: int) -> SentTransaction:
        """Withdraw a job the provider has not accepted: the escrow is credited back."""
        return self._send(self.market.functions.cancelJob(job_id), f"cancelling job {job_id}")

    def expire(self, job_id: int) -> SentTransaction:
        return self._send(self.market.functions.expire(job_id), f"expiring job {job_id}")

    # -- credited balances (refunds, slashed collateral, bonds) ---------------------------------
    def claimable(self, account: str, tokens: list[str]) -> dict[str, int]:
        """What `account` may withdraw from the market, per token (zeros left out)."""
        amounts = {token: self.reader.claimable(account, token) for token in tokens}
        return {token: amount for token, amount in amounts.items() if amount}

    def credit_tokens(self, account: str) -> list[str]:
        """The tokens the market may have credited `account`: the stake token (slashed
        collateral, a provider's own) and the token of every job it bought (from the
        `JobCreated` logs naming it as buyer)."""
        created = self.market.events.JobCreated()
        logs = created.get_logs(argument_filters={"buyer": Web3.to_checksum_address(account)},
                                from_block=self.deployed_block)
        tokens = [self.reader.stake_token(),
                  *(Web3.to_checksum_address(log["args"]["token"]) for log in logs)]
        return list(dict.fromkeys(tokens))

    def withdraw(self, token: str, to: str | None = None) -> tuple[int, SentTransaction]:
        """`withdraw(token)` (or `withdrawTo`): the whole credited balance; the amount paid."""
        token = Web3.to_checksum_address(token)
        function = (self.market.functions.withdraw(token) if to is None else
                    self.market.functions.withdrawTo(token, Web3.to_checksum_address(to)))
        sent = self._send(function, f"withdrawing {token} from the market")
        events = self.market.events.Withdrawn().process_receipt(sent.receipt, errors=DISCARD)
        return sum(int(e["args"]["amount"]) for e in events), sent


def job_refusal(name: str | None, args: dict[str, Any], dataset_id: int, algorithm_id: int,
                buyer: str) -> DappError:
    """`checkJob`'s revert as the error the CLI says. The registry checks the dataset first
    (exists, is a DATASET, the buyer's COMPUTE license), then the algorithm, so the asset an
    error names tells which role it failed in."""
    asset_id = int(args.get("assetId", 0))
    role = "dataset" if asset_id == dataset_id else "algorithm"
    if name == "UnknownAsset":
        return UnknownAsset(f"asset {asset_id} (the {role}) does not exist",
                            hint="list the assets to find its id", details={"asset_id": asset_id})
    if name == "WrongAssetKind":
        kind = AssetKind(int(args["kind"]))
        if kind == AssetKind.DATASET:
            return WrongAssetKind(f"asset {asset_id} is a dataset, not an algorithm or model",
                                  hint="give the dataset first, then the algorithm")
        article = "an" if kind.label[0] in "aeiou" else "a"
        return WrongAssetKind(f"asset {asset_id} is {article} {kind.label}, not a dataset: a job "
                              "runs an algorithm or model on a dataset",
                              hint="give the dataset first, then the algorithm")
    if name == "NotLicensed" and role == "dataset":
        return ComputeLicenseNeeded(
            f"{buyer} holds no compute license on dataset {dataset_id}: nothing was sent",
            hint="buy a compute offer of the dataset first", details={"asset_id": dataset_id})
    if name == "NotLicensed":
        return ComputeLicenseNeeded(
            f"{buyer} holds no compute license on algorithm {algorithm_id}: nothing was sent "
            "(its owner is paid like any sale)",
            hint=f"buy a compute offer of asset {algorithm_id} first",
            details={"asset_id": algorithm_id})
    if name == "AlgorithmNotTrusted":
        return AlgorithmNotListed(
            f"the owner of dataset {dataset_id} has not listed algorithm {algorithm_id} as "
            "allowed to run on it: nothing was sent",
            hint="the dataset's owner lists the algorithms that may run on it",
            details={"asset_id": dataset_id, "algorithm_id": algorithm_id})
    return InvalidInput(f"the market would refuse this job ({name}): nothing was sent")
