"""Which gateways may serve an asset: their X25519 public keys, given as base64 or read from
`GET {gateway}/v1/gateway` (JSON with `public_key`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

import httpx

from dapp.errors import InvalidInput, ServiceUnavailable

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
