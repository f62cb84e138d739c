"""Shared fixtures: the demo library served on 127.0.0.1, configs pointed at it, a tiny static server, and the
local SMTP server and webhook receiver that alerts are delivered to."""

from __future__ import annotations

import email
import email.policy
import hashlib
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from foiawatch.archive import Archive
from foiawatch.config import AgencyConfig, find_config
from foiawatch.demo.site import DemoSite

from .support.faults import FaultHarness
from .support.local_server import LocalServer

_LOCAL = ("localhost", "127.", "::1")


def _is_address(name: str) -> bool:
    """An IP address written out resolves without asking anyone (a test of private-address checks uses them)."""
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the internet: a name other than this machine's does not resolve (as offline; the crawl's
    child processes inherit nothing of this, and are only ever pointed at 127.0.0.1)."""
    resolve = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name and not name.startswith(_LOCAL) and not _is_address(name):
            raise socket.gaierror(socket.EAI_NONAME, f"tests do not resolve {name}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


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

    NOT_FOUND = (404, {"Content-Type": "text/html"}, b"<html><title>Page not found</title></html>")

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]):
        self.routes = routes
        self.server = LocalServer(lambda method, path, headers: self.routes.get(path, self.NOT_FOUND))
        self.url = self.server.url

    def __enter__(self) -> StaticSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


PUBLIC_URL = "http://127.0.0.1:8001"
SUBSCRIBER = "watcher@example.org"
OPERATOR = "operator@example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A real SMTP server on 127.0.0.1 keeping what it accepts; ``refuse`` makes it answer 451 to DATA."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refused = 0
        self.refuse = False
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> Mailbox:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for recipients, message in self.received if address in recipients]


class WebhookReceiver:
    """Records every POST; answers the statuses in ``answers`` first, then 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200:
                    receiver.posts.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/foiawatch"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


# Fault harnesses (tests/test_faults.py, tests/test_crash_safety.py) -------------------------------------------

FAULT_LANES = 2  # harnesses run side by side, one per CI core: the crawls are child processes


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory) -> Iterator[list[FaultHarness]]:
    """Fault harnesses, their undisturbed reference runs done, for seeds to be spread over."""
    lanes = [FaultHarness(tmp_path_factory.mktemp(f"lane{n}")) for n in range(FAULT_LANES)]
    with ThreadPoolExecutor(FAULT_LANES) as pool:
        list(pool.map(lambda harness: harness.reference, lanes))
    yield lanes
    for harness in lanes:
        harness.close()


def run_seeds(harnesses: list[FaultHarness], seeds: list[int], work):
    """Run ``work(harness, seed)`` for each seed, spreading the seeds over the harnesses."""
    def lane(index):
        return [work(harnesses[index], seed) for seed in seeds[index::len(harnesses)]]

    with ThreadPoolExecutor(len(harnesses)) as pool:
        return [result for results in pool.map(lane, range(len(harnesses))) for result in results]


def store_bytes(archive: Archive, data: bytes, mimetype: str) -> str:
    """Store ``data`` in the archive's blobs as a test file; its sha256."""
    sha256 = hashlib.sha256(data).hexdigest()
    source = archive.data_dir.tmp / f"test-{sha256}"
    source.write_bytes(data)
    archive.store_blob(source, sha256, mimetype, source="test")
    return sha256
