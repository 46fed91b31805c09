"""A TCP forwarder in front of a real service that a test can cut: `drop()` closes every
connection through it and refuses new ones (accepted, then closed at once) until `allow()`;
`stall()` closes them too and holds new ones open without an answer (a hung service) until
`allow()` closes those."""

from __future__ import annotations

import contextlib
import socket
import threading

from dapp.ports import free_port


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._refusing = False
        self._stalling = False
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def drop(self) -> None:
        with self._lock:
            self._refusing = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stall(self) -> None:
        self.drop()
        with self._lock:
            self._refusing, self._stalling = False, True

    def allow(self) -> None:
        with self._lock:
            self._refusing = self._stalling = False
            held, self._held = self._held, []
        for sock in held:
            sock.close()

    def close(self) -> None:
        self._closed = True
        self.drop()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
                if self._stalling:
                    self._held.append(client)
                    continue
            if refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
