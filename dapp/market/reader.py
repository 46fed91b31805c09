"""The one reader of the ComputeMarket: jobs and the `JobCreated` logs addressed to one
provider (for the job worker and the job routes), channels and providers (for the voucher
checks, the redeemer and the buyer's client), cached for seconds where that is safe; the
numbered params sets (`paramsAt`, immutable, cached for good) and the credited balances that
settlements leave (`claimable`).

A channel's buyer, token and provider never change; deposit and expiry only grow (top-up,
extend) until the buyer reclaims after expiry; `redeemed` grows when the provider redeems. A
cached state is therefore safe to accept against for a few seconds, and a rejection because of
deposit or expiry is re-checked against a fresh read before it is answered. A cached channel,
provider or chain time past half its TTL is read again in the background (`RefreshAhead`), so
calls in a steady stream do not wait on the chain; none is served older than its TTL. Jobs are never
cached. Every RPC failure is `ChainUnavailable` (`chain_errors`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from dapp.chain.constants import ZERO_ADDRESS, JobStatus
from dapp.chain.contracts import load_abi
from dapp.chain.deployments import Deployment
from dapp.chain.events import hex32
from dapp.chain.refresh import RefreshAhead
from dapp.chain.reorgs import block_hash
from dapp.chain.transactions import ErrorDecoder, chain_errors
from dapp.errors import ChainUnavailable

MARKET = "ComputeMarket"
CHANNEL_TTL_SECONDS = 3.0
PROVIDER_TTL_SECONDS = 10.0
MAX_CACHED = 65_536
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC1271_ABI = [{
    "name": "isValidSignature", "type": "function", "stateMutability": "view",
    "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
    "outputs": [{"name": "", "type": "bytes4"}],
}]
JOB_CREATED = ("JobCreated(uint256,address,address,uint256,uint256,address,uint96,uint96,"
               "uint96,uint64,uint16)")
T = TypeVar("T")


@dataclass(frozen=True)
class ChainJob:
    job_id: int
    buyer: str
    deadline: int
    status: JobStatus
    params_id: int  # the market params the job runs under (`paramsAt`)
    provider: str
    provider_fee: int
    token: str
    data_fee: int
    collateral: int  # provider stake the job locks once accepted
    challenge_end: int
    dataset_id: int
    result_hash: bytes

    @property
    def price(self) -> int:
        """What the buyer escrowed: provider fee + data fee."""
        return self.provider_fee + self.data_fee


@dataclass(frozen=True)
class NewJob:
    """A `JobCreated` log for this provider."""

    job_id: int
    buyer: str
    dataset_id: int
    algorithm_id: int
    deadline: int
    block_number: int
    block_hash: str  # 0x-hex, to notice a reorg that removes the block


@dataclass(frozen=True)
class ChannelState:
    channel_id: int
    buyer: ChecksumAddress
    expiry: int
    token: ChecksumAddress
    deposit: int
    provider: ChecksumAddress
    redeemed: int

    @property
    def exists(self) -> bool:
        return self.buyer != ZERO_ADDRESS


@dataclass(frozen=True)
class MarketParams:
    """IComputeMarket.Params, in struct order."""

    job_collateral: int
    max_job_duration: int
    challenge_window: int
    arbitration_period: int
    exit_delay: int
    min_provider_stake: int
    dispute_bond_bps: int


@dataclass(frozen=True)
class ProviderState:
    address: ChecksumAddress
    price_token: ChecksumAddress
    price: int
    stake: int
    exit_at: int
    endpoint: str

    @property
    def registered(self) -> bool:
        return self.price_token != ZERO_ADDRESS


def market_error_decoder() -> ErrorDecoder:
    """Names the market's, the registry's and the token's custom errors in a revert."""
    return ErrorDecoder([load_abi(MARKET), load_abi("AssetRegistry"), load_abi("TestToken")])


class MarketReader:
    def __init__(self, web3: Web3, market_address: str, *, deployed_block: int = 0,
                 channel_ttl: float = CHANNEL_TTL_SECONDS) -> None:
        self.web3 = web3
        self.address = Web3.to_checksum_address(market_address)
        self.contract: Contract = web3.eth.contract(address=self.address, abi=load_abi(MARKET))
        #: where a scan of the market's logs starts (0 when unknown)
        self.deployed_block = deployed_block
        self._channel_ttl = channel_ttl
        self._channels: dict[int, tuple[float, ChannelState]] = {}
        self._providers: dict[str, tuple[float, ProviderState]] = {}
        self._contracts: dict[str, bool] = {}
        self._params_sets: dict[int, MarketParams] = {}
        self._lock = threading.Lock()
        self._chain_time = 0.0
        self._chain_time_read_at = -2.0
        self._refresh = RefreshAhead("market")

    @classmethod
    def from_deployment(cls, web3: Web3, deployment: Deployment,
                        channel_ttl: float = CHANNEL_TTL_SECONDS) -> MarketReader:
        market = deployment.contract(MARKET)
        return cls(web3, market.address, deployed_block=market.block, channel_ttl=channel_ttl)

    def _call(self, call: Callable[[], T], doing: str) -> T:
        with chain_errors(self.web3, doing):
            return call()

    # -- time ----------------------------------------------------------------------------------
    def head(self) -> tuple[int, int]:
        """The latest block's number and timestamp (chain time decides deadlines)."""
        block = self._call(lambda: self.web3.eth.get_block("latest"), "reading the head")
        return int(block["number"]), int(block["timestamp"])

    def chain_time(self) -> float:
        """The chain's clock (latest block), read at most once a second. Redemption happens
        on chain, so expiry is judged by this — a dev chain moved forward, or a skewed local
        clock, must not let a channel look alive that the contract considers expired."""
        now = time.monotonic()
        age = now - self._chain_time_read_at
        if age > 1.0:
            self._read_chain_time(now)
        elif age > 0.5:
            self._refresh.soon("head", self._read_chain_time)
        return self._chain_time

    def _read_chain_time(self, now: float | None = None) -> None:
        read_at = time.monotonic() if now is None else now
        chain_time = float(self.head()[1])
        with self._lock:
            if read_at >= self._chain_time_read_at:  # a slower, older read never wins
                self._chain_time = chain_time
                self._chain_time_read_at = read_at

    def block_hash(self, number: int) -> str | None:
        """The hash of block `number` as the chain has it now (None: not mined yet)."""
        return block_hash(self.web3, number)

    # -- jobs ----------------------------------------------------------------------------------
    def job(self, job_id: int) -> ChainJob | None:
        """The job as stored on chain; None if no such job exists."""
        record = self._call(lambda: self.contract.functions.getJob(job_id).call(),
                            f"reading job {job_id}")
        (buyer, deadline, status, params_id, provider, provider_fee, token, data_fee,
         collateral, challenge_end, dataset_id, result_hash) = record
        if buyer == ZERO_ADDRESS:
            return None
        return ChainJob(job_id, Web3.to_checksum_address(buyer), int(deadline),
                        JobStatus(int(status)), int(params_id),
                        Web3.to_checksum_address(provider), int(provider_fee),
                        Web3.to_checksum_address(token), int(data_fee), int(collateral),
                        int(challenge_end), int(dataset_id), bytes(result_hash))

    def new_jobs(self, provider: str, from_block: int, to_block: int) -> list[NewJob]:
        """`JobCreated` logs with `provider` (an indexed topic) in the block range."""
        event = self.contract.events.JobCreated()
        topic0 = self.web3.keccak(text=JOB_CREATED).to_0x_hex()
        provider_topic = "0x" + "00" * 12 + provider.lower().removeprefix("0x")
        logs = self._call(lambda: self.web3.eth.get_logs({
            "address": self.address, "fromBlock": from_block, "toBlock": to_block,
            "topics": [topic0, None, None, provider_topic],  # type: ignore[list-item]
        }), "reading new jobs")
        return [_new_job(event.process_log(log)) for log in logs]

    # -- channels and providers ----------------------------------------------------------------
    def channel(self, channel_id: int, fresh: bool = False, max_age: float | None = None
                ) -> ChannelState:
        """The channel's state, cached for the reader's TTL (or `max_age` seconds, if shorter);
        `fresh` reads the chain."""
        now = time.monotonic()
        ttl = self._channel_ttl if max_age is None else min(max_age, self._channel_ttl)
        if not fresh:
            with self._lock:
                cached = self._channels.get(channel_id)
            if cached is not None and now - cached[0] < ttl:
                if now - cached[0] >= ttl / 2:
                    self._refresh.soon(("channel", channel_id),
                                       lambda: self.channel(channel_id, fresh=True))
                return cached[1]
        record = self._call(lambda: self.contract.functions.getChannel(channel_id).call(),
                            f"reading channel {channel_id}")
        buyer, expiry, token, deposit, provider, redeemed = record
        state = ChannelState(channel_id, Web3.to_checksum_address(buyer), int(expiry),
                             Web3.to_checksum_address(token), int(deposit),
                             Web3.to_checksum_address(provider), int(redeemed))
        with self._lock:
            if len(self._channels) >= MAX_CACHED:
                self._channels.clear()
            stored = self._channels.get(channel_id)
            if stored is None or stored[0] <= now:  # a slower, older read never wins
                self._channels[channel_id] = (now, state)
        return state

    def close(self) -> None:
        """Stop renewing cached reads in the background (the gateway's shutdown)."""
        self._refresh.close()

    def cached_channel(self, channel_id: int) -> ChannelState | None:
        """The last state read of the channel, however old (None if never read)."""
        with self._lock:
            cached = self._channels.get(channel_id)
        return None if cached is None else cached[1]

    def provider(self, address: str, fresh: bool = False) -> ProviderState:
        now = time.monotonic()
        if not fresh:  # cached under the address as given, too: checksumming costs ~20 µs
            with self._lock:
                cached = self._providers.get(address)
            if cached is not None and now - cached[0] < PROVIDER_TTL_SECONDS:
                if now - cached[0] >= PROVIDER_TTL_SECONDS / 2:
                    self._refresh.soon(("provider", address),
                                       lambda: self.provider(address, fresh=True))
                return cached[1]
        key = Web3.to_checksum_address(address)
        if not fresh:
            with self._lock:
                cached = self._providers.get(key)
            if cached is not None and now - cached[0] < PROVIDER_TTL_SECONDS:
                return cached[1]
        price_token, price, stake, _locked, exit_at, endpoint = self._call(
            lambda: self.contract.functions.getProvider(key).call(), f"reading provider {key}")
        state = ProviderState(key, Web3.to_checksum_address(price_token), int(price),
                              int(stake), int(exit_at), str(endpoint))
        with self._lock:
            self._providers[key] = self._providers[address] = (now, state)
        return state

    # -- parameters ----------------------------------------------------------------------------
    def params(self) -> Any:
        """The market's current `Params` struct, as web3 decodes it (new jobs run under it)."""
        return self._call(lambda: self.contract.functions.params().call(), "reading params")

    def params_at(self, params_id: int) -> MarketParams:
        """The numbered params set a job created under it keeps (`Job.paramsId`); a set never
        changes once stored, so it is cached for good."""
        with self._lock:
            cached = self._params_sets.get(params_id)
        if cached is not None:
            return cached
        params = MarketParams(*(int(value) for value in self._call(
            lambda: self.contract.functions.paramsAt(params_id).call(),
            f"reading params {params_id}")))
        with self._lock:
            self._params_sets[params_id] = params
        return params

    def dispute_bond(self, job: ChainJob) -> int:
        """What disputing `job` costs its buyer: `disputeBondBps` of its params, of its price
        (rounded down, as the contract)."""
        return job.price * self.params_at(job.params_id).dispute_bond_bps // 10_000

    # -- credited balances ---------------------------------------------------------------------
    def claimable(self, account: str, token: str) -> int:
        """What `account` may `withdraw` of `token` (refunds, slashes, fees, bonds)."""
        return int(self._call(lambda: self.contract.functions.claimable(
            Web3.to_checksum_address(account), Web3.to_checksum_address(token)).call(),
            "reading a credited balance"))

    def min_provider_stake(self) -> int:
        return int(self.params()[5])

    def job_collateral(self) -> int:
        return int(self.params()[0])

    def stake_token(self) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call(
            lambda: self.contract.functions.stakeToken().call(), "reading the stake token"))

    def registry_address(self) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call(
            lambda: self.contract.functions.registry().call(), "reading the registry"))

    # -- contract wallets ----------------------------------------------------------------------
    def is_contract(self, address: str) -> bool:
        """Whether `address` has code (an ERC-1271 wallet could be); a yes is cached for good."""
        with self._lock:
            if self._contracts.get(address):
                return True
        has_code = len(self._call(lambda: self.web3.eth.get_code(
            Web3.to_checksum_address(address)), "reading code")) > 0
        with self._lock:
            if has_code:
                self._contracts[address] = True
        return has_code

    def erc1271_accepts(self, wallet: str, digest: bytes, signature: bytes) -> bool:
        """`wallet.isValidSignature(digest, signature)` returns the ERC-1271 magic value."""
        contract = self.web3.eth.contract(address=Web3.to_checksum_address(wallet),
                                          abi=ERC1271_ABI)
        try:
            result = self._call(lambda: contract.functions.isValidSignature(
                digest, signature).call({"gas": 200_000}), "asking an ERC-1271 wallet")
        except ContractLogicError:
            return False
        except ChainUnavailable:
            raise
        except Exception:  # not an ERC-1271 wallet, garbage return data
            return False
        return bytes(result) == ERC1271_MAGIC


def _new_job(decoded: Any) -> NewJob:
    args = decoded["args"]
    return NewJob(int(args["jobId"]), Web3.to_checksum_address(args["buyer"]),
                  int(args["datasetId"]), int(args["algorithmId"]), int(args["deadline"]),
                  int(decoded["blockNumber"]), hex32(decoded["blockHash"]))
