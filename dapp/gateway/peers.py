"""Who is on the other end of a request, as far as the gateway can know without a signature.

The client address is the socket peer; only when that peer is one of the configured trusted
proxies (`Settings.trusted_proxies`) is `X-Forwarded-For` believed, read from the right and
skipping further trusted proxies, so a client cannot choose its own address by sending the
header. An operator is a request that carries the configured operator token, or (when
`operator_loopback` is on) comes straight from a loopback peer and not through a proxy: only
operators see `/healthz` details, `/metrics` and the causes of 5xx answers.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from dapp.config import Settings
from dapp.errors import DappError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
OPERATOR_HEADER = "X-DataDAO-Operator-Token"
_STATE_KEY = "datadao_peer"


@dataclass(frozen=True)
class Peer:
    address: str  # the client's address as text ("unknown" without a socket peer)
    via_proxy: bool  # the socket peer was a trusted proxy
    operator: bool

    @property
    def client_key(self) -> str:
        """What limits count per client: the address, an IPv6 one per /64 (one subscriber's
        usual allocation, which an attacker can otherwise rotate through)."""
        try:
            parsed = ipaddress.ip_address(self.address)
        except ValueError:
            return self.address[:64]
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
            return str(ipaddress.IPv6Network((parsed, 64), strict=False))
        return str(parsed.ipv4_mapped or parsed) if isinstance(
            parsed, ipaddress.IPv6Address) else str(parsed)

    @property
    def rate_limit_key(self) -> str:
        return "ip:" + self.client_key


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(peer: str, forwarded_for: str | None,
                   trusted: Sequence[Network]) -> tuple[str, bool]:
    """(client address, relayed by a trusted proxy)."""
    if not forwarded_for or not _trusted(peer, trusted):
        return peer, False
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop)), True
            except ValueError:
                return peer, True  # garbage from beyond the proxy: count the proxy
    return (hops[0] if hops else peer), True


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _carries_token(connection: HTTPConnection, token: str) -> bool:
    offered = connection.headers.get(OPERATOR_HEADER, "")
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        offered = offered or authorization[7:].strip()
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


class PeerPolicy:
    """Made once per process from the settings; `peer` is cached on the request."""

    def __init__(self, settings: Settings) -> None:
        self.trusted = parse_networks(settings.trusted_proxies)
        secret = settings.operator_token
        self.token = secret.get_secret_value() if secret is not None else None
        self.loopback_operators = settings.operator_loopback

    def peer(self, connection: HTTPConnection) -> Peer:
        cached = connection.scope.get(_STATE_KEY)
        if isinstance(cached, Peer):
            return cached
        socket_peer = connection.client.host if connection.client else "unknown"
        address, via_proxy = client_address(
            socket_peer, connection.headers.get("x-forwarded-for"), self.trusted)
        operator = (self.token is not None and _carries_token(connection, self.token)) or (
            self.loopback_operators and not via_proxy and _is_loopback(socket_peer)
            and not _trusted(socket_peer, self.trusted))
        found = Peer(address, via_proxy, operator)
        connection.scope[_STATE_KEY] = found
        return found


def is_operator(connection: HTTPConnection) -> bool:
    """What the access middleware found for this request; False when it did not look."""
    peer = connection.scope.get(_STATE_KEY)
    return isinstance(peer, Peer) and peer.operator


class OperatorsOnly(DappError):
    """An operator's view (health details, metrics) asked for by someone else."""

    code = "operators-only"
    http_status = 403
