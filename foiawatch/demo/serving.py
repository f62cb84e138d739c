"""The lifecycle the demo's loopback servers share: bound on construction, served on a daemon thread."""

from __future__ import annotations

import socketserver
import threading
from typing import Self


def bound_address(server: socketserver.TCPServer) -> tuple[str, int]:
    """The host and port ``server`` listens on (port 0 resolved to the one the system chose)."""
    host, port = server.server_address[:2]
    # typeshed allows bytes for an address one passes in; the one a bound socket reports names its host as a str
    assert isinstance(host, str), host
    return host, port


class BackgroundServer:
    """Serves ``server`` on a daemon thread after ``start()`` (or inside ``with``) until ``stop()``.

    ``wait`` sleeps in a request thread but wakes as soon as the server stops, so a deliberately slow answer (a
    "timeout" fault) never holds up shutdown.
    """

    thread_name = "http-server"

    def __init__(self, server: socketserver.TCPServer) -> None:
        self._server = server
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321."""
        host, port = bound_address(self._server)
        return f"http://{host}:{port}"

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
