"""An HTTP server on 127.0.0.1 whose every answer a test (or a bench) computes: the libraries the crawler is tested
against, taken down, blocked and edited at will.

``respond(method, path, request_headers)`` returns ``(status, headers, body)``; HEAD gets the headers of the GET.
With ``etags=True`` every 200 carries an ETag of its body and a request whose If-None-Match names it gets a 304, as
real servers answer conditional requests.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, Mapping[str, str], bytes]
Respond = Callable[[str, str, Mapping[str, str]], Answer]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a crawler opens up to [politeness] concurrency connections at once
    daemon_threads = True


class LocalServer:
    def __init__(self, respond: Respond, *, etags: bool = False, host: str = "127.0.0.1"):
        self.respond, self.etags = respond, etags
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._answer(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                server._answer(self, body=False)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        status, answered, content = self.respond(handler.command, handler.path, handler.headers)
        headers = dict(answered)
        if self.etags and status == 200:
            etag = f'"{hashlib.sha256(content).hexdigest()[:20]}"'
            headers["ETag"] = etag
            if handler.headers.get("If-None-Match") == etag:
                status, content = 304, b""
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(content))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            handler.wfile.write(content)
