"""Gateways picked from the directory: `datadao publish|reseal --seal-to-directory N` lists the
providers a gateway's directory names (`GET {directory}/v1/providers`), and seals to the N best
gateways among them that check out.

The directory only names candidates; nothing else it says is believed. For each address the
chain says whether it is a registered provider that is not leaving, its stake, its price and its
endpoint (the URL it registered, never the one the directory lists). The gateway at that
endpoint is asked for its key (`GET /v1/gateway`), as `--provider` does, and must name that same
provider account as the one it acts as: a gateway serving another account's registration (a
stale or borrowed endpoint) is refused, and so is one that does not answer in time.

Ranked by stake (most first), then price (cheapest first), then address; the first N win.
Fewer than N usable gateways is an error naming each one left out and why."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from web3 import Web3

from dapp.chain.deployments import Deployment
from dapp.errors import DappError, InvalidInput, ServiceUnavailable
from dapp.market.reader import MarketReader, ProviderState
from dapp.publishing.gateways import GATEWAY_INFO_PATH, check_public_key

PROVIDERS_PATH = "/v1/providers"
MAX_CANDIDATES = 64  # providers reached at most, in the directory's order
MAX_AT_ONCE = 8
MAX_ANSWER_BYTES = 64 * 1024


class DirectoryUnavailable(ServiceUnavailable):
    """The directory (a gateway's `GET /v1/providers`) did not answer with a list."""

    code = "directory-unavailable"


class NotEnoughGateways(ServiceUnavailable):
    """Fewer usable gateways in the directory than the publisher asked to seal to."""

    code = "not-enough-gateways"


@dataclass(frozen=True)
class DirectoryGateway:
    """A provider whose registered gateway checked out, with the key it announced."""

    provider: str
    endpoint: str
    public_key: str
    stake: int
    price: int


@dataclass(frozen=True)
class Skipped:
    provider: str
    reason: str


@dataclass(frozen=True)
class DirectoryPick:
    chosen: tuple[DirectoryGateway, ...]
    skipped: tuple[Skipped, ...]

    @property
    def keys(self) -> list[str]:
        return [g.public_key for g in self.chosen]


def listed_providers(directory_url: str, timeout_seconds: float = 10.0) -> list[str]:
    """The provider addresses the directory lists (active ones, its order), each once."""
    url = directory_url.rstrip("/") + PROVIDERS_PATH
    try:
        response = httpx.get(url, timeout=timeout_seconds)
        items = response.json()["items"] if response.status_code == 200 else None
        addresses = [str(item["address"]) for item in items]  # type: ignore[union-attr]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        raise DirectoryUnavailable(f"no provider list at {url}",
                                   hint="name a running gateway as the directory",
                                   details={"directory": directory_url}) from None
    return list(dict.fromkeys(Web3.to_checksum_address(a) for a in addresses
                              if Web3.is_address(a)))[:MAX_CANDIDATES]


def announced_identity(endpoint: str, timeout_seconds: float) -> tuple[str, str | None]:
    """(public key, provider account) the gateway at `endpoint` announces; a problem raises."""
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidInput(f"its endpoint {endpoint!r} is no http(s) URL")
    body = b""
    with httpx.stream("GET", endpoint.rstrip("/") + GATEWAY_INFO_PATH,
                      timeout=timeout_seconds, follow_redirects=False) as response:
        if response.status_code != 200:
            raise InvalidInput(f"its gateway answered {response.status_code}")
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise InvalidInput("its gateway's answer is too large")
    answer = httpx.Response(200, content=body).json()
    provider = answer.get("provider")
    return check_public_key(str(answer.get("public_key"))), \
        provider if isinstance(provider, str) else None


def _checked(state: ProviderState, timeout_seconds: float) -> DirectoryGateway | Skipped:
    if not state.registered:
        return Skipped(state.address, "not a registered provider on chain")
    if state.exit_at:
        return Skipped(state.address, "leaving the market")
    try:
        key, named = announced_identity(state.endpoint, timeout_seconds)
    except httpx.HTTPError as error:
        return Skipped(state.address, f"its gateway {state.endpoint} is unreachable "
                                      f"({type(error).__name__})")
    except (DappError, ValueError, AttributeError) as error:
        return Skipped(state.address, f"{error}".split("\n")[0] or "no key announced")
    if named is None or named.lower() != state.address.lower():
        return Skipped(state.address, f"its gateway {state.endpoint} acts as "
                                      f"{named or 'no provider'}, not as this provider")
    return DirectoryGateway(provider=state.address, endpoint=state.endpoint, public_key=key,
                            stake=state.stake, price=state.price)


def rank(gateways: Sequence[DirectoryGateway]) -> list[DirectoryGateway]:
    """Most stake first, then the cheapest, then by address; one entry per key."""
    ordered = sorted(gateways, key=lambda g: (-g.stake, g.price, g.provider.lower()))
    seen: set[str] = set()
    unique = []
    for gateway in ordered:
        if gateway.public_key not in seen:
            seen.add(gateway.public_key)
            unique.append(gateway)
    return unique


def pick_from_directory(web3: Web3, deployment: Deployment, directory_url: str, count: int,
                        timeout_seconds: float = 5.0) -> DirectoryPick:
    """The `count` best gateways of the directory that the chain and the gateways confirm."""
    if count < 1:
        raise InvalidInput(f"{count} gateways asked from the directory: give 1 or more")
    addresses = listed_providers(directory_url)
    market = MarketReader.from_deployment(web3, deployment)
    states = [market.provider(address, fresh=True) for address in addresses]
    with ThreadPoolExecutor(MAX_AT_ONCE) as pool:
        checked = list(pool.map(lambda s: _checked(s, timeout_seconds), states))
    usable = rank([c for c in checked if isinstance(c, DirectoryGateway)])
    skipped = tuple(c for c in checked if isinstance(c, Skipped))
    if len(usable) < count:
        why = "; ".join(f"{s.provider}: {s.reason}" for s in skipped) or "none skipped"
        raise NotEnoughGateways(
            f"{len(usable)} usable gateway(s) in the directory at {directory_url}, "
            f"{count} asked ({why})",
            hint="ask for fewer, or name the gateways to seal to yourself",
            details={"usable": [g.provider for g in usable],
                     "skipped": {s.provider: s.reason for s in skipped}})
    return DirectoryPick(chosen=tuple(usable[:count]), skipped=skipped)
