"""Shared fixtures: the demo library served on 127.0.0.1, configs pointed at it, and a tiny static server."""

from __future__ import annotations

import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from foiawatch.config import AgencyConfig, find_config
from foiawatch.demo.site import DemoSite

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def demo_site() -> Iterator[DemoSite]:
    with DemoSite() as site:
        yield site


def demo_config(site_url: str, library_path: str = "/foia/library", **politeness: float) -> AgencyConfig:
    """The bundled demo config aimed at a running server; politeness fields may be overridden."""
    config = find_config("demo")
    return replace(
        config,
        library_urls=(site_url + library_path,),
        politeness=replace(config.politeness, **politeness),
    )


class StaticSite:
    """Serves fixed responses: path -> (status, headers, body). For inputs the demo library cannot produce."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]):
        self.routes = routes
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status, headers, body = site.routes.get(self.path, (404, {"Content-Type": "text/html"},
                                                                    b"<html><title>Page not found</title></html>"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StaticSite":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
