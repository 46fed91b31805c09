"""Which gateways may serve an asset: their X25519 public keys, given as base64 or read from
`GET {gateway}/v1/gateway` (JSON with `public_key`); a gateway's URL given directly, or picked
from the directory of providers by its provider address (the endpoint it registered on the
ComputeMarket, read from the chain: the directory a gateway serves at `/v1/providers` is its
index of the same registrations)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

import httpx
from web3 import Web3

from dapp.chain.deployments import Deployment
from dapp.errors import InvalidInput, ServiceUnavailable
from dapp.market.reader import MarketReader

PUBLIC_KEY_SIZE = 32
GATEWAY_INFO_PATH = "/v1/gateway"


class GatewayUnreachable(ServiceUnavailable):
    """No answer from the gateway whose public key was asked for."""

    code = "gateway-unreachable"


class NoGatewayKey(ServiceUnavailable):
    """The gateway answered, but announced no public key."""

    code = "no-gateway-key"


NOT_A_GATEWAY = "is this a DataDAO gateway? else give its public key instead"


def check_public_key(text: str) -> str:
    """`text` if it is the base64 of a 32-byte X25519 public key."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidInput(f"gateway key {text!r} is not base64",
                           hint="give the gateway's X25519 public key as base64") from None
    if len(raw) != PUBLIC_KEY_SIZE:
        raise InvalidInput(f"gateway key {text!r} is {len(raw)} bytes, not {PUBLIC_KEY_SIZE}")
    return text.strip()


def fetch_gateway_key(gateway_url: str, timeout_seconds: float = 10.0) -> str:
    """The public key a running gateway announces."""
    url = gateway_url.rstrip("/") + GATEWAY_INFO_PATH
    try:
        response = httpx.get(url, timeout=timeout_seconds)
    except httpx.HTTPError as error:
        raise GatewayUnreachable(f"gateway at {gateway_url} is unreachable ({error})",
                                 hint="start it (`make up`), or give its public key instead",
                                 details={"gateway": gateway_url}) from None
    if response.status_code != 200:
        raise NoGatewayKey(f"{url} answered {response.status_code}",
                           hint=NOT_A_GATEWAY,
                           details={"gateway": gateway_url})
    try:
        key = response.json()["public_key"]
    except (ValueError, KeyError, TypeError):
        raise NoGatewayKey(f"{url} did not announce a public_key",
                           hint=NOT_A_GATEWAY,
                           details={"gateway": gateway_url}) from None
    return check_public_key(str(key))


def gateway_keys(seal_to: Iterable[str], gateway_urls: Iterable[str]) -> list[str]:
    """Every key given plus every gateway's key, once each, in the order given."""
    keys = [check_public_key(key) for key in seal_to]
    keys += [fetch_gateway_key(url) for url in gateway_urls]
    return list(dict.fromkeys(keys))


def sealing_recipients(gateway_keys: Iterable[str], recovery_keys: Iterable[str]
                       ) -> tuple[str, ...]:
    """Whom a content key is sealed to, in `sealed_keys` order: the gateways as given, then
    the recovery key, each once (the browser's publish page orders them the same way)."""
    return tuple(dict.fromkeys([*gateway_keys, *recovery_keys]))


class NotAProvider(InvalidInput):
    """An address picked from the directory that is no registered (or a leaving) provider."""

    code = "not-a-provider"


def provider_gateway_urls(web3: Web3, deployment: Deployment, providers: Iterable[str]
                          ) -> list[str]:
    """The gateway URL each provider registered on the ComputeMarket (read from the chain)."""
    wanted = list(providers)
    if not wanted:
        return []
    market = MarketReader.from_deployment(web3, deployment)
    urls = []
    for address in wanted:
        if not Web3.is_address(address):
            raise InvalidInput(f"provider {address!r} is not an address")
        state = market.provider(address, fresh=True)
        if not state.registered:
            raise NotAProvider(f"{state.address} is not a registered provider",
                               hint="pick one from the gateway directory (GET /v1/providers)")
        if state.exit_at:
            raise NotAProvider(f"provider {state.address} is leaving the market",
                               hint="pick another one from the gateway directory")
        urls.append(state.endpoint)
    return urls


def named_gateway_key(web3: Web3, deployment: Deployment, name: str) -> str:
    """The key `name` stands for: a base64 key as it is, a gateway URL's announced key, or the
    key of the gateway a provider address registered (leaving or not)."""
    if name.startswith(("http://", "https://")):
        return fetch_gateway_key(name)
    if not Web3.is_address(name):
        return check_public_key(name)
    state = MarketReader.from_deployment(web3, deployment).provider(name, fresh=True)
    if not state.registered:
        raise NotAProvider(f"{state.address} is not a registered provider",
                           hint="give the gateway's public key instead (the metadata's "
                                "sealed_keys list it)")
    return fetch_gateway_key(state.endpoint)
