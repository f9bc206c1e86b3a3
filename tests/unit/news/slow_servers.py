"""Hostile local servers on 127.0.0.1: one that trickles its answer a byte at a time, one that
accepts connections and never answers. Plain sockets in daemon threads, so they keep misbehaving
whatever the event loop under test is doing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SlowServer:
    """Accepts HTTP connections on 127.0.0.1; `trickle` seconds between bytes of a 200 answer
    that never completes, or (trickle None) no answer at all. Counts the connections."""

    def __init__(self, trickle: float | None) -> None:
        self.trickle = trickle
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/") -> str:
        """The URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.1)
            try:
                conn.recv(65536)
            except OSError:
                pass
            if self.trickle is not None:
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 100000\r\n\r\n")
                except OSError:
                    return
            while not self._stop.wait(self.trickle or 0.1):
                if self.trickle is not None:
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        return

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and drop every connection."""
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


@contextmanager
def slow_server(trickle: float | None) -> Iterator[SlowServer]:
    """A running `SlowServer`, stopped on exit."""
    server = SlowServer(trickle)
    server.start()
    try:
        yield server
    finally:
        server.stop()
