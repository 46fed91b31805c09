"""Local TCP ports: one free for a test, and whether a server's port is taken before it
starts (a clear `PortInUse` instead of a bind error deep in a server's startup)."""

from __future__ import annotations

import socket

from dapp.errors import PortInUse


def free_port() -> int:
    """A port that was free a moment ago (for tests; the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str, setting: str) -> None:
    if port_is_open(port):
        raise PortInUse(
            f"port {port} for {what} is already taken",
            hint=f"stop what uses it, or choose another port with {setting}=<port>",
        )
