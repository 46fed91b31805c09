"""Route a task to a model and a provider, and pay for the one call that answers.

`Router.route(task, body)`: the catalog (`GET /v1/models?task=`, one gateway's view of every
provider in the directory) names the models declaring the task and the providers that can run
each. The input is checked against each model's input schema (a model it does not fit is
skipped, unpaid). Each provider is probed once (`GET /v1/provider`, timed: the measured
latency) and its terms checked against the chain as `invoke` does (`MeteredClient.
checked_price`: market, registration, price, token) — and its endpoint on chain must be the one
called. Candidates are tried cheapest first, then fastest (or fastest first with
`prefer="latency"`); each is paid from an open channel of this account to its provider that
has room for one more price, or from a new one (`deposit_calls` prices, `channel_seconds`
long). A provider that cannot be reached, refuses, fails, or answers something that does not
match the model's output schema is left and the next one is tried.

What each attempt cost is in `Attempt.paid`: what the gateway accepted (a gateway takes a
voucher before its model runs, so a failed run or a wrong answer is charged one price, and a
provider that was never reached took nothing). Nothing is signed beyond one on-chain price per
attempt, and nothing for a provider whose terms are not the chain's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from eth_account.signers.local import LocalAccount
from web3 import Web3

from dapp.chain.deployments import Deployment
from dapp.chain.transactions import SentTransaction, TransactionSender
from dapp.client.channels import BuyerChannels
from dapp.client.gateway import GatewayClient, raise_for_problem
from dapp.client.metered import MarketView, MeteredClient, ProviderTerms, SignedVouchers
from dapp.errors import DappError, InvalidInput, ServiceUnavailable
from dapp.market.reader import ChannelState, market_error_decoder
from dapp.tasks import check_schema, check_task, validate

Outcome = Literal["answered", "input-refused", "unreachable", "refused", "failed",
                  "wrong-answer"]
CHANNEL_MARGIN_SECONDS = 120  # a channel this close to its expiry is not used


class RouteFailed(DappError):
    """No candidate answered a task (each attempt says why)."""

    code = "route-failed"
    http_status = 502
    exit_code = 16


class ChannelOpener(Protocol):
    """Opens a buyer's channels (`BuyerChannels` is one)."""

    def open(self, provider: str, deposit: int, expiry: int, token: str | None = None
             ) -> tuple[int, SentTransaction]: ...

    def chain_time(self) -> int: ...


@dataclass(frozen=True)
class Candidate:
    asset_id: int
    title: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    provider: str
    endpoint: str


@dataclass
class Attempt:
    asset_id: int
    provider: str
    endpoint: str
    outcome: Outcome
    reason: str = ""
    latency_ms: float | None = None
    price: int | None = None
    channel_id: int | None = None
    paid: int = 0  # what the gateway accepted for this attempt

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["price"] = None if self.price is None else str(self.price)
        out["paid"] = str(self.paid)
        return out


@dataclass
class RouteResult:
    task: str
    output: Any
    asset_id: int
    provider: str
    endpoint: str
    channel_id: int | None
    price: int
    paid_total: int  # what the channel has paid this provider after the call
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"task": self.task, "asset_id": self.asset_id, "provider": self.provider,
                "endpoint": self.endpoint, "channel_id": self.channel_id,
                "price": str(self.price), "paid_total": str(self.paid_total),
                "paid": str(sum(a.paid for a in self.attempts)),
                "attempts": [a.as_json() for a in self.attempts], "output": self.output}


@dataclass
class _Probe:
    client: MeteredClient
    terms: ProviderTerms
    price: int
    latency_ms: float


class Router:
    """Routes calls as `account`, reading the catalog of `catalog_url`, checking the chain
    through `market` (our deployment's ComputeMarket on chain `chain_id`)."""

    def __init__(self, catalog_url: str, account: LocalAccount, vouchers: SignedVouchers,
                 market: MarketView, chain_id: int, channels: ChannelOpener, *,
                 deposit_calls: int = 10, channel_seconds: int = 7 * 24 * 3600,
                 prefer: Literal["price", "latency"] = "price", timeout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if deposit_calls < 1:
            raise InvalidInput("a new channel must hold at least one call")
        self.catalog_url = catalog_url
        self.account = account
        self.vouchers = vouchers
        self.market = market
        self.chain_id = chain_id
        self.channels = channels
        self.deposit_calls = deposit_calls
        self.channel_seconds = channel_seconds
        self.prefer = prefer
        self.timeout = timeout
        self.clock = clock

    @classmethod
    def for_deployment(cls, web3: Web3, deployment: Deployment, account: LocalAccount,
                       vouchers_file: Path, catalog_url: str, **options: Any) -> Router:
        """A router paying as `account` on `deployment`'s ComputeMarket (its channels opened
        by `account` itself), what it signs kept in `vouchers_file` (the CLI's is
        `<data_dir>/signed-vouchers.json`); `options` as for the constructor."""
        sender = TransactionSender(web3, account, market_error_decoder())
        channels = BuyerChannels(web3, deployment, sender)
        return cls(catalog_url, account, SignedVouchers(vouchers_file), channels.reader,
                   int(web3.eth.chain_id), channels, **options)

    def candidates(self, task: str) -> list[Candidate]:
        """Every (model, provider) pair the catalog lists for `task`."""
        check_task(task)
        with GatewayClient(self.catalog_url, None, self.timeout) as catalog:
            response = catalog.request("GET", "/v1/models", params={"task": task})
            raise_for_problem(response)
            try:
                return [Candidate(int(m["asset_id"]), str(m["title"]), dict(m["input_schema"]),
                                  dict(m["output_schema"]), str(p["address"]),
                                  str(p["endpoint"]))
                        for m in response.json()["items"] for p in m["providers"]]
            except (KeyError, TypeError, ValueError):
                raise DappError(f"the catalog at {self.catalog_url} did not answer a model "
                                "list", hint="use another gateway's catalog") from None

    def route(self, task: str, body: Any, max_price: int | None = None) -> RouteResult:
        """Run `task` on `body` (a JSON value) with the first candidate that answers well."""
        candidates = self.candidates(task)
        if not candidates:
            raise RouteFailed(f"no model in the catalog serves {task}, or none has a provider",
                              hint="publish a model declaring the task, or ask another "
                                   "gateway's catalog")
        attempts: list[Attempt] = []
        fitting = []
        for candidate in candidates:
            try:  # the catalog's word: checked as the indexer checked it
                check_schema(candidate.input_schema, "input_schema")
                check_schema(candidate.output_schema, "output_schema")
            except InvalidInput as error:
                attempts.append(_attempt(candidate, "refused", error.message))
                continue
            problem = validate(body, candidate.input_schema)
            if problem:
                attempts.append(_attempt(candidate, "input-refused",
                                         f"the input does not match the model's input "
                                         f"schema: {problem}"))
            else:
                fitting.append(candidate)
        with ExitStack() as stack:
            probes = self._probe({(c.endpoint, c.provider) for c in fitting}, max_price, stack)
            ranked = []
            for candidate in fitting:
                probe = probes[candidate.endpoint, candidate.provider]
                if isinstance(probe, Attempt):
                    attempts.append(_attempt(candidate, probe.outcome, probe.reason,
                                             probe.latency_ms))
                else:
                    ranked.append((candidate, probe))
            ranked.sort(key=lambda pair: self._rank(pair[1]))
            for candidate, probe in ranked:
                result = self._call(task, candidate, probe, body, max_price, attempts)
                if result is not None:
                    return result
        raise RouteFailed(f"no provider answered {task}: {len(attempts)} attempt(s) failed",
                          hint="see the attempts; try later, or raise the maximum price",
                          details={"attempts": [a.as_json() for a in attempts]})

    def _rank(self, probe: _Probe) -> tuple[float, float]:
        if self.prefer == "latency":
            return (probe.latency_ms, probe.price)
        return (probe.price, probe.latency_ms)

    def _probe(self, providers: set[tuple[str, str]], max_price: int | None,
               stack: ExitStack) -> dict[tuple[str, str], _Probe | Attempt]:
        """Each (endpoint, provider)'s terms, checked against the chain, and how long they
        took."""
        probes: dict[tuple[str, str], _Probe | Attempt] = {}
        for endpoint, listed in sorted(providers):
            at = (endpoint, listed)
            gateway = stack.enter_context(GatewayClient(endpoint, self.account, self.timeout,
                                                        chain_id=self.chain_id))
            client = MeteredClient(gateway, self.vouchers, self.market, self.chain_id)
            started = self.clock()
            try:
                terms = client.terms()
            except ServiceUnavailable as error:
                probes[at] = Attempt(0, listed, endpoint, "unreachable", error.message)
                continue
            except (DappError, KeyError, ValueError, TypeError) as error:
                probes[at] = Attempt(0, listed, endpoint, "refused",
                                     f"unusable provider terms: {error}")
                continue
            latency = round((self.clock() - started) * 1000, 1)
            try:
                price = client.checked_price(terms, max_price)
                self._check_provider(terms, listed, endpoint)
            except DappError as error:
                probes[at] = Attempt(0, listed, endpoint, "refused", error.message, latency)
                continue
            probes[at] = _Probe(client, terms, price, latency)
        return probes

    def _check_provider(self, terms: ProviderTerms, listed: str, endpoint: str) -> None:
        """The gateway is the provider the catalog listed, at the endpoint the chain says."""
        if terms.address.lower() != listed.lower():
            raise DappError(f"the gateway at {endpoint} is provider {terms.address}, not "
                            f"{listed} as the catalog says: nothing signed")
        on_chain = self.market.provider(terms.address).endpoint.rstrip("/")
        if on_chain != endpoint.rstrip("/"):
            raise DappError(f"provider {terms.address} is at {on_chain} on chain, not at "
                            f"{endpoint}: nothing signed")

    def _call(self, task: str, candidate: Candidate, probe: _Probe, body: Any,
              max_price: int | None, attempts: list[Attempt]) -> RouteResult | None:
        attempt = _attempt(candidate, "answered", latency_ms=probe.latency_ms)
        attempt.price = probe.price
        attempts.append(attempt)
        key = None
        before = 0
        try:
            if probe.price:
                attempt.channel_id = self._channel(probe.terms, probe.price)
                key = SignedVouchers.key(self.chain_id, self.market.address, attempt.channel_id)
                before = self.vouchers.get(key).accepted
            answer = probe.client.invoke(candidate.asset_id, json.dumps(body).encode(),
                                         channel_id=attempt.channel_id, max_price=max_price)
        except ServiceUnavailable as error:
            attempt.outcome, attempt.reason = "unreachable", error.message
            return None
        except DappError as error:
            attempt.outcome, attempt.reason = "failed", error.message
            if key is not None:  # a failed run is charged: the gateway says so in a 402/502
                attempt.paid = _charged(error, before, probe.price)
            return None
        if key is not None:
            attempt.paid = answer.cumulative - before
        try:
            output = json.loads(answer.body)
        except ValueError:
            attempt.outcome, attempt.reason = "wrong-answer", "the answer is not JSON"
            return None
        problem = validate(output, candidate.output_schema)
        if problem:
            attempt.outcome = "wrong-answer"
            attempt.reason = f"the answer does not match the model's output schema: {problem}"
            return None
        return RouteResult(task, output, candidate.asset_id, probe.terms.address,
                           candidate.endpoint, attempt.channel_id, answer.price,
                           answer.cumulative, attempts)

    def _channel(self, terms: ProviderTerms, price: int) -> int:
        """An open channel of ours to the provider with room for one more price, else a new
        one holding `deposit_calls` prices."""
        now = self.channels.chain_time()
        for channel_id in self.vouchers.channel_ids(self.chain_id, self.market.address):
            state = self.market.channel(channel_id, fresh=True)
            if self._fits(state, terms, price, now):
                return channel_id
        channel_id, _ = self.channels.open(terms.address, price * self.deposit_calls,
                                           now + self.channel_seconds, token=terms.token)
        self.vouchers.update(SignedVouchers.key(self.chain_id, self.market.address, channel_id))
        return channel_id

    def _fits(self, state: ChannelState, terms: ProviderTerms, price: int, now: int) -> bool:
        ours = (state.exists and state.buyer.lower() == self.account.address.lower()
                and state.provider.lower() == terms.address.lower()
                and state.token.lower() == terms.token.lower())
        if not ours or state.expiry < now + CHANNEL_MARGIN_SECONDS:
            return False
        key = SignedVouchers.key(self.chain_id, self.market.address, state.channel_id)
        spent = max(self.vouchers.get(key).signed, state.redeemed)
        return state.deposit - spent >= price


def _attempt(candidate: Candidate, outcome: Outcome, reason: str = "",
             latency_ms: float | None = None) -> Attempt:
    return Attempt(candidate.asset_id, candidate.provider, candidate.endpoint, outcome, reason,
                   latency_ms)


def _charged(error: DappError, before: int, price: int) -> int:
    """What a refused or failed call cost, as the gateway's problem says (never more than
    the one price signed for it)."""
    try:
        held = int(error.details.get("accepted_cumulative") or 0)
    except (TypeError, ValueError):
        return 0
    return min(max(held - before, 0), price)
