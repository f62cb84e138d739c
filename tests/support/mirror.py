"""A vendored real listing page served as if from its own site, on loopback addresses, for init and check.

Each host the page involves (its own, and the hosts its documents are served from) gets its own server; hosts of
different domains get different loopback addresses (127.0.0.11, 127.0.0.12, …) so that host names stay as distinct
as on the web and ``allowed_hosts`` means what it means there, and hosts of one domain (supremecourt.nebraska.gov,
www.nebraska.gov) share an address on different ports, as they share a domain on the web. Absolute links to those
hosts are rewritten to the mirror; relative links resolve as they did. The mirror answers the page itself with the
vendored bytes, a URL the hand count calls a document with a small PDF (GET or HEAD), and anything else with a
small HTML page.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from foiawatch.web.urls import canonical_url

LISTING_PAGES = Path(__file__).parent.parent / "fixtures" / "listingpages"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
OTHER_PAGE = b"<!doctype html><html><head><title>Another page</title></head><body><p>Not a document.</p></body></html>"


@dataclass
class MirroredPage:
    """A vendored page on the mirror: its mirror URL and its hand counts, URLs mapped to the mirror."""

    name: str
    url: str
    expected: dict[str, Any]
    origins: dict[str, str]  # real host -> mirror origin

    def to_mirror(self, url: str) -> str:
        """A real URL as the mirror serves it (canonical)."""
        parts = urlsplit(canonical_url(url) or url)
        origin = self.origins.get(parts.hostname or "")
        if origin is None:
            return canonical_url(url) or url
        return canonical_url(origin + parts.path + (f"?{parts.query}" if parts.query else "")) or url

    @property
    def documents(self) -> set[str]:
        return {self.to_mirror(url) for url in self.expected["document_urls"]}

    @property
    def next_pages(self) -> set[str]:
        return {self.to_mirror(url) for url in self.expected["next_pages"]}


def page_names() -> list[str]:
    return sorted(path.name.removesuffix(".expected.json") for path in LISTING_PAGES.glob("*.expected.json"))


@contextmanager
def mirrored(name: str) -> Iterator[MirroredPage]:
    """Serve the vendored page ``name`` and everything it links, for the duration of the block."""
    expected = json.loads((LISTING_PAGES / f"{name}.expected.json").read_text(encoding="utf-8"))
    page_url = urlsplit(expected["url"])
    hosts = list(dict.fromkeys([page_url.hostname or "", *expected["document_hosts"]]))
    domains = list(dict.fromkeys(_domain(host) for host in hosts))  # one loopback address per domain
    servers = [ThreadingHTTPServer((f"127.0.0.{11 + domains.index(_domain(host))}", 0), _Handler)
               for host in hosts]
    origins = {host: f"http://{server.server_address[0]}:{server.server_address[1]}"
               for host, server in zip(hosts, servers, strict=True)}
    page = MirroredPage(name, "", expected, origins)
    page.url = page.to_mirror(expected["url"])
    body = _rewrite((LISTING_PAGES / f"{name}.html").read_bytes(), origins)
    answers = _Answers(page_url.path + (f"?{page_url.query}" if page_url.query else ""), body, page.documents)
    for host, server in zip(hosts, servers, strict=True):
        server.answers = answers  # type: ignore[attr-defined]
        server.own_host = host  # type: ignore[attr-defined]
        server.own_origin = origins[host]  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield page
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _domain(host: str) -> str:
    return ".".join(host.split(".")[-2:])


def _rewrite(body: bytes, origins: dict[str, str]) -> bytes:
    for host, origin in origins.items():
        pattern = rb"(?i)(?:https?:)?//" + re.escape(host.encode()) + rb"(?![\w.-])"
        body = re.sub(pattern, origin.encode(), body)
    return body


@dataclass
class _Answers:
    page_path: str
    page: bytes
    documents: set[str]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        answers: _Answers = self.server.answers  # type: ignore[attr-defined]
        own_host = self.server.own_host  # type: ignore[attr-defined]
        own_url = canonical_url(self.server.own_origin + self.path)  # type: ignore[attr-defined]
        page_here = canonical_url(self.server.own_origin + answers.page_path)  # type: ignore[attr-defined]
        if self.path == "/robots.txt":
            status, content_type, body = 404, "text/plain", b"no robots.txt"
        elif own_url == page_here and own_host:
            status, content_type, body = 200, "text/html", answers.page
        elif own_url in answers.documents:
            status, content_type, body = 200, "application/pdf", PDF
        else:
            status, content_type, body = 200, "text/html; charset=utf-8", OTHER_PAGE
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass
