"""Seeded faults for the demo library: a misbehaving network in front of it, and crashes at chosen points.

:class:`FaultProxy` is a reverse proxy on 127.0.0.1 that forwards to a running
:class:`~foiawatch.demo.site.DemoSite` and spoils some answers the way real agency servers and networks do:
500/502/503, a connection that hangs past the crawler's timeout, a reset mid-body, a body cut short under a correct
Content-Length, a slow drip, a wrong Content-Type, a redirect loop, a "temporarily unavailable" page served with
200. Which request gets which fault is decided by a :class:`FaultPlan` from the seed, the method, the path and how
many times that path was asked for, so a run is reproducible whatever order a concurrent crawler sends its requests
in.

:class:`FaultHarness` drives foiawatch through the scenario versions behind the proxy and checks what the issue
demands: seeded fault runs raise no false ``removed`` event, store no corrupt blob and still find every real
removal once the faults stop; seeded SIGKILLs of a crawl or a diff leave a sound database, and the next run ends
with exactly the events of an undisturbed run. Tests run a few seeds, ``bench/faults.py`` hundreds.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from foiawatch.alerts import notify
from foiawatch.alerts.notify import run_alerts
from foiawatch.alerts.settings import AlertSettings
from foiawatch.alerts.subscriptions import subscribe
from foiawatch.archive import Archive
from foiawatch.archive.fixity import CORRUPT, MISSING, ORPHAN, audit
from foiawatch.archive.state import open_private
from foiawatch.archive.vocabulary import Channel, CrawlKind, EventKind
from foiawatch.config import AgencyConfig, config_to_dict, parse_config
from foiawatch.crawler import CrawlProcessError, crawl
from foiawatch.demo.library import Document, LibraryState, document_bytes, preset
from foiawatch.demo.scenario import demo_agency
from foiawatch.demo.serving import BackgroundServer
from foiawatch.demo.site import LIBRARY_PATH, OUTAGE_NOTICE, REDIRECT_PREFIX, DemoSite
from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
from foiawatch.diff.baseline import run_baseline
from foiawatch.pipeline import diff_agency
from foiawatch.wayback import WaybackClient
from foiawatch.wayback.cdx_sync import sync_captures
from foiawatch.wayback.probes import probe_never_listed
from foiawatch.wayback.recovery import recover

REMOVED, SECTION_REMOVED, UNLISTED = EventKind.REMOVED, EventKind.SECTION_REMOVED, EventKind.UNLISTED
REPOSITORY = Path(__file__).resolve().parents[2]

FAULT_KINDS = ("500", "502", "503", "timeout", "reset", "truncate", "drip", "content_type", "redirect_loop",
               "unavailable", "block_page", "block_redirect")
LOOP_PARAM = "foiawatch-loop"  # marks the hops of a redirect loop, which never leads anywhere
BLOCKED_PATH = "/foiawatch-fault-blocked/"  # where a "block_redirect" sends the request: a block page, with 200
# Block, challenge and access pages as WAFs, CDNs and network filters serve them with status 200 (in the shape of
# the real ones in tests/fixtures/blockpages/); a fault picks one by its seed.
BLOCK_PAGES = (
    b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>You don't have permission to "
    b"access \"http&#58;&#47;&#47;www&#46;agency&#46;gov&#47;foia\" on this server.<P>Reference&#32;&#35;18&#46;"
    b"2f1d4b17&#46;1716912345&#46;4a1b2c3</BODY></HTML>",
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>Checking your browser before "
    b"accessing agency.gov.</h1><script>window._cf_chl_opt={cType:'managed'};</script></body></html>",
    b"<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with "
    b"your administrator.<br><br>Your support ID is: 1234567890123456789</body></html>",
    b"<html><head><title>Web Page Blocked</title></head><body><h2>Web Page Blocked!</h2><p>The page you have "
    b"requested has been blocked, because the URL is banned.</p></body></html>",
    b"<html><head><title>Request Access</title></head><body><h1>Request Access</h1><form method=post>"
    b"<div class=\"g-recaptcha\" data-sitekey=\"x\"></div><button>Continue</button></form></body></html>",
)
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
               "content-length"}
_DRIP_CHUNKS = 20


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    seconds: float = 0.0  # how long a "timeout" hangs or a "drip" takes in all
    variant: int = 0  # which of BLOCK_PAGES a "block_page" or "block_redirect" serves


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how: each decision comes from ``random.Random`` seeded with the plan's seed, the
    method, the path and the attempt number, and from nothing else.

    ``hang`` must exceed the client's timeout: a "timeout" holds the connection that long, and a "drip" takes
    either a tenth of it (slow but complete) or all of it (too slow).
    """

    seed: int | str
    rate: float = 0.2  # share of requests that get a fault
    kinds: tuple[str, ...] = FAULT_KINDS
    hang: float = 2.5
    only: frozenset[str] = frozenset()  # if given, only these targets (path and query) can get a fault

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULT_KINDS)}")

    def decide(self, method: str, target: str, attempt: int) -> Fault | None:
        if self.only and target not in self.only:
            return None
        rng = random.Random(f"{self.seed}|{method}|{target}|{attempt}")
        if rng.random() >= self.rate:
            return None
        kind = rng.choice(self.kinds)
        if kind == "timeout":
            return Fault(kind, self.hang)
        if kind == "drip":
            return Fault(kind, rng.choice((self.hang / 10, self.hang)))
        if kind in ("block_page", "block_redirect"):
            return Fault(kind, variant=rng.randrange(len(BLOCK_PAGES)))
        return Fault(kind)


@dataclass(frozen=True)
class InjectedFault:
    method: str
    target: str
    attempt: int
    kind: str


class FaultProxy(BackgroundServer):
    """A reverse proxy to ``upstream`` (e.g. a DemoSite's url) that injects the faults of its current plan.

    The Host header is passed on unchanged, so the demo site builds its links and redirects to the proxy.
    """

    thread_name = "fault-proxy"

    def __init__(self, upstream: str, plan: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._injected: list[InjectedFault] = []
        self.plan = plan
        super().__init__(_ProxyServer((host, port), _ProxyHandler))
        self._server.proxy = self

    def set_plan(self, plan: FaultPlan | None) -> None:
        """Switch plans (None: no faults) and restart the attempt counts, so that a plan replays identically."""
        with self._lock:
            self.plan = plan
            self._attempts.clear()

    @property
    def injected(self) -> list[InjectedFault]:
        """Every fault injected since the proxy started, in the order they were decided."""
        with self._lock:
            return list(self._injected)

    def decide(self, method: str, target: str) -> Fault | None:
        with self._lock:
            self._attempts[method, target] += 1
            attempt = self._attempts[method, target]
            fault = self.plan.decide(method, target, attempt) if self.plan else None
            if fault:
                self._injected.append(InjectedFault(method, target, attempt, fault.kind))
        return fault


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    proxy: FaultProxy

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up on a spoiled answer is the point here; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: ``FaultProxy.injected`` is the log that matters."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        proxy = self.server.proxy
        if self.path.startswith(BLOCKED_PATH):
            page = BLOCK_PAGES[int(self.path[len(BLOCKED_PATH):] or 0) % len(BLOCK_PAGES)]
            return self._reply(200, [("Content-Type", "text/html; charset=utf-8")], page)
        target, looping = _strip_loop(self.path)
        if looping:
            return self._loop(target, looping)
        fault = proxy.decide(self.command, target)
        kind = fault.kind if fault else None
        if kind == "block_page":
            return self._reply(200, [("Content-Type", "text/html; charset=utf-8")],
                               BLOCK_PAGES[fault.variant % len(BLOCK_PAGES)])
        if kind == "block_redirect":
            return self._reply(302, [("Location", f"{BLOCKED_PATH}{fault.variant}")], b"")
        if kind in ("500", "502", "503"):
            return self._reply(int(kind), [("Content-Type", "text/html; charset=utf-8")],
                               b"<html><body><h1>Error</h1><p>Please try again later.</p></body></html>")
        if kind == "timeout":
            proxy.wait(fault.seconds)
            self.close_connection = True
            return None
        if kind == "redirect_loop":
            return self._loop(target, 0)
        if kind == "unavailable":
            page = f"<html><head><title>FOIA Library</title></head><body><main id=\"main-content\">" \
                   f"<h1>FOIA Library</h1><p>{OUTAGE_NOTICE}</p></main></body></html>"
            return self._reply(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())
        status, headers, body = self._forward()
        if kind == "content_type":
            html = any(k.lower() == "content-type" and "html" in v for k, v in headers)
            wrong = "application/octet-stream" if html else "text/html; charset=utf-8"
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [("Content-Type", wrong)]
        if kind in ("reset", "truncate"):
            return self._broken(status, headers, body, reset=kind == "reset")
        return self._reply(status, headers, body, drip=fault.seconds if kind == "drip" else 0.0)

    def _forward(self) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=30)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            if self.command == "HEAD" and response.getheader("Content-Length"):
                headers.append(("Content-Length", response.getheader("Content-Length")))
            return response.status, headers, body
        finally:
            connection.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, drip: float = 0.0) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command != "HEAD" and status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or not body:
            return
        if not drip:
            self.wfile.write(body)
            return
        size = -(-len(body) // _DRIP_CHUNKS)
        for start in range(0, len(body), size):
            self.wfile.write(body[start:start + size])
            self.wfile.flush()
            self.server.proxy.wait(drip / _DRIP_CHUNKS)

    def _broken(self, status: int, headers: list[tuple[str, str]], body: bytes, reset: bool) -> None:
        """Promise the whole body and send half; with nothing to cut, drop the connection before answering."""
        self.close_connection = True
        if self.command != "HEAD" and len(body) >= 2:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _loop(self, target: str, hop: int) -> None:
        parts = urlsplit(target)
        query = urlencode([*parse_qsl(parts.query), (LOOP_PARAM, str(hop % 2 + 1))])
        self._reply(302, [("Location", f"{parts.path}?{query}")], b"")


def _strip_loop(target: str) -> tuple[str, int]:
    """The target without the loop marker, and the loop hop it was on (0: not looping)."""
    parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    hops = [int(v) for k, v in pairs if k == LOOP_PARAM and v.isdigit()]
    if not hops:
        return target, 0
    query = urlencode([(k, v) for k, v in pairs if k != LOOP_PARAM])
    return parts.path + (f"?{query}" if query else ""), hops[0]


# --- driving foiawatch through faults ----------------------------------------------------------------------------

# The scenario crawl and diff crash points replay: the first crawl, the takedown, the crawl confirming the removals.
CRASH_STEPS = ("v1", "v2_takedown", "v2_takedown")
CRASH_PHASES = ("crawl", "diff", "recovery", "delivery")
CAPTURED_AT = "20161201120000"  # when the Wayback stand-in captured the library as first published
SUBSCRIBERS = 3  # webhooks subscribed to the takedown's alerts
_TICK = 50  # SQLite VM instructions between two ticks of a child's kill counter
_ALERTS_CODE = str(Path(notify.__file__).parent)
# Webhooks on loopback (the receiver is local), retries due at once.
_ALERT_SETTINGS = AlertSettings(allow_private_webhooks=True, retry_base=0.0, timeout=10.0)


@dataclass
class FaultRunResult:
    """One seeded fault run: what was injected, how the crawls ended, and what went wrong (ideally nothing)."""

    seed: int
    scenario: str
    rate: float
    faults: Counter = field(default_factory=Counter)  # kind -> injected
    statuses: list[str] = field(default_factory=list)  # of the crawls under faults
    clean_crawls: int = 0  # crawls after the faults stopped, until every removal was found
    expected_removals: int = 0
    false_removals: list[str] = field(default_factory=list)  # URLs (removed) and headings (section_removed)
    false_unlisted: list[str] = field(default_factory=list)  # documents still listed, called unlisted
    missed_removals: list[str] = field(default_factory=list)
    fixity_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.false_removals or self.false_unlisted or self.missed_removals or self.fixity_problems)


@dataclass
class CrashResult:
    """One seeded crash point: where the kill landed and what the next run found.

    ``lost`` and ``duplicated`` compare the outcome with the undisturbed run: events (kind, url, section, title)
    after a crawl or diff kill, recovered copies (url, sha256) after a recovery kill, alerts (webhook, event id)
    after a delivery kill; an alert is duplicated when it reached its webhook in two different messages.
    """

    seed: int
    phase: str  # one of CRASH_PHASES
    step: int  # index into CRASH_STEPS (0 for recovery and delivery, which run after the takedown)
    at: int  # progress events (crawl), SQLite ticks (diff, recovery) or lines of alerts code (delivery) before the kill
    killed: bool  # False when the process finished before the kill point
    integrity: str = ""
    lost: list[tuple] = field(default_factory=list)
    duplicated: list[tuple] = field(default_factory=list)
    left_running: int = 0  # crawls still "running" after the next run
    final_status: str = ""  # of the next run: a crawl's status, or "complete" for a recovery that got everything
    fixity_problems: list[str] = field(default_factory=list)  # missing or corrupt files (orphans are not)
    # Recovered copies whose text the next recovery left unextracted or unscreened (they would stay withheld).
    unscreened: int = 0
    # Digests posted again under the same Idempotency-Key after a kill mid-send: at-least-once, which receivers
    # deduplicate by key. Not a failure.
    resent: int = 0

    @property
    def ok(self) -> bool:
        return (self.integrity == "ok" and not self.lost and not self.duplicated and not self.left_running
                and self.final_status == "complete" and not self.fixity_problems and not self.unscreened)


@dataclass
class _Reference:
    """An undisturbed run of CRASH_STEPS: the archive before each step, and what each step did."""

    snapshots: list[Path]
    crawl_events: list[int]
    diff_ticks: list[int]
    events: Counter
    final: Path  # the archive after the last step (webhooks subscribed after the first), alerts not yet run


@dataclass
class _DeliveryReference:
    """An undisturbed alerts run after the takedown, to webhooks subscribed before it."""

    snapshot: Path  # the archive (and private database) just before the alerts run
    lines: int
    alerts: Counter


@dataclass
class _RecoveryReference:
    """An undisturbed recovery of a library emptied before monitoring began."""

    snapshot: Path  # the archive just before recovery: crawled after the takedown, Wayback baseline taken
    ticks: int
    recoveries: Counter


class FaultHarness:
    """The demo library behind a FaultProxy, and a Wayback stand-in holding the library as first published, with
    undisturbed reference runs to start runs from and compare them with. One harness runs one seed at a time; run
    harnesses side by side for parallel runs."""

    def __init__(self, workdir: Path, *, timeout: float = 0.5):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.site = DemoSite().start()
        self.proxy = FaultProxy(self.site.url).start()
        self.standin = WaybackStandin(self._captures()).start()
        self.receiver = _WebhookReceiver()
        self.config = demo_agency(self.proxy.url + LIBRARY_PATH, self.standin.url)
        self.config_path = self.workdir / "agency.json"
        self.config_path.write_text(json.dumps(config_to_dict(self.config)))
        # Under faults, a short timeout keeps hung requests cheap; two retries are what a deployment would use.
        # Without faults, the normal timeout: a slow machine must not look like a faulty network.
        self.fault_config = replace(self.config, politeness=replace(self.config.politeness, timeout=timeout,
                                                                    retries=2))
        self.hang = timeout * 2.5
        self._reference: _Reference | None = None
        self._recovery_reference: _RecoveryReference | None = None
        self._delivery_reference: _DeliveryReference | None = None

    def _captures(self) -> list[StandinCapture]:
        """Every document of the library as first published, captured at its served URL through the proxy."""
        return [StandinCapture(self.proxy.url + served.path, CAPTURED_AT, 200, served.document.content_type,
                               document_bytes(served.document, served.text))
                for served in self.site.library.view(preset("v1")).files.values()]

    def close(self) -> None:
        self.receiver.stop()
        self.standin.stop()
        self.proxy.stop()
        self.site.stop()

    def __enter__(self) -> FaultHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the reference runs --------------------------------------------------------------------------------------

    @property
    def reference(self) -> _Reference:
        if self._reference is None:
            self._reference = self._run_reference()
        return self._reference

    def _run_reference(self) -> _Reference:
        self.proxy.set_plan(None)
        data = self.workdir / "reference"
        _copy_archive(None, data)
        snapshots, crawl_events, diff_ticks = [], [], []
        for step, state in enumerate(CRASH_STEPS):
            if step == 1:
                self._subscribe(data)
            snapshot = self.workdir / f"reference-before-{step}"
            _copy_archive(data, snapshot)
            snapshots.append(snapshot)
            self.site.set_state(state)
            events: list[dict] = []
            self._complete_crawl(data, on_event=events.append)
            crawl_events.append(len(events))
            with Archive(data) as archive:
                diff_ticks.append(_count_ticks(archive, lambda: self._diff(archive)))
        return _Reference(snapshots, crawl_events, diff_ticks, _events(data), data)

    def _subscribe(self, data: Path) -> None:
        private = open_private(data)
        try:
            for number in range(SUBSCRIBERS):
                subscribe(private, Channel.WEBHOOK, f"{self.receiver.url}/hook/{number}", latest_event_id=0,
                          allow_private_webhooks=True)
        finally:
            private.close()

    @property
    def recovery_reference(self) -> _RecoveryReference:
        if self._recovery_reference is None:
            self._recovery_reference = self._run_recovery_reference()
        return self._recovery_reference

    def _run_recovery_reference(self) -> _RecoveryReference:
        """The 2017 library first crawled after its takedown: the Wayback baseline finds the Secure Communities
        documents removed before monitoring, and recovery fetches them from their captures."""
        self.proxy.set_plan(None)
        data = self.workdir / "recovery-reference"
        _copy_archive(None, data)
        self.site.set_state("v2_takedown")
        self._complete_crawl(data)
        with Archive(data) as archive, _wayback_client(self.standin.url) as client:
            self._diff(archive)
            sync_captures(archive, self.config, client)
            probe_never_listed(archive, self.config)
            run_baseline(archive, self.config.id, self.config.wayback.all_prefixes)
        snapshot = self.workdir / "recovery-before"
        _copy_archive(data, snapshot)
        with Archive(data) as archive, _wayback_client(self.standin.url) as client:
            ticks = _count_ticks(archive, lambda: recover(archive, self.config, client))
        recoveries = _recoveries(data)
        if not recoveries:
            raise RuntimeError("the reference recovery recovered nothing")
        return _RecoveryReference(snapshot, ticks, recoveries)

    @property
    def delivery_reference(self) -> _DeliveryReference:
        if self._delivery_reference is None:
            self._delivery_reference = self._run_delivery_reference()
        return self._delivery_reference

    def _run_delivery_reference(self) -> _DeliveryReference:
        """The alerts run after the reference run: its webhooks get the takedown's removals."""
        snapshot = self.reference.final
        data = self.workdir / "delivery-reference"
        _copy_archive(snapshot, data)
        self.receiver.take()
        lines = 0

        def count() -> None:
            nonlocal lines
            lines += 1

        with _traced_lines(_ALERTS_CODE, count):
            run_alerts(data, _ALERT_SETTINGS)
        alerts, _ = _alerts(self.receiver.take())
        if len(alerts) != SUBSCRIBERS * sum(self.reference.events[e] for e in self.reference.events
                                            if e[0] in ("removed", "section_removed")):
            raise RuntimeError(f"the reference alerts run delivered {len(alerts)} alert(s)")
        return _DeliveryReference(snapshot, lines, alerts)

    def _complete_crawl(self, data: Path, **options: Any) -> None:
        result = crawl(self.config, data, **options)
        if result.status != "complete":
            raise RuntimeError(f"a reference crawl was {result.status}: {result.reason}")

    # fault runs ----------------------------------------------------------------------------------------------

    def fault_run(self, seed: int) -> FaultRunResult:
        """From the reference's first crawl, crawl a seeded scenario through faults, then without them."""
        rng = random.Random(seed)
        name, states = self._scenario(rng)
        result = FaultRunResult(seed, name, round(rng.uniform(0.05, 0.4), 3))
        data = self.workdir / f"fault-run-{seed}"
        _copy_archive(self.reference.snapshots[1], data)
        before = len(self.proxy.injected)
        try:
            for index, state in enumerate(states):
                self.site.set_state(state)
                self.proxy.set_plan(FaultPlan(f"{seed}.{index}", result.rate, hang=self.hang))
                # Half the crawls under faults are watch passes: listing pages only, delisted documents probed.
                kind = CrawlKind.WATCH if rng.random() < 0.5 else CrawlKind.FULL
                status = self._crawl_and_diff(data, self.fault_config, kind)
                result.statuses.append(f"{status} (watch)" if kind == CrawlKind.WATCH else status)
            result.faults = Counter(fault.kind for fault in self.proxy.injected[before:])
            self.proxy.set_plan(None)
            expected = self._expected_alarms(states[-1])
            result.expected_removals = len(expected[REMOVED])
            while result.clean_crawls < self.config.removal_confirmations and \
                    not expected[REMOVED] <= _alarms(data)[REMOVED]:
                self._crawl_and_diff(data, self.config)
                result.clean_crawls += 1
            found = _alarms(data)
            result.false_removals = sorted((found[REMOVED] - expected[REMOVED])
                                           | (found[SECTION_REMOVED] - expected[SECTION_REMOVED]))
            result.false_unlisted = sorted(found[UNLISTED] - expected[UNLISTED])
            result.missed_removals = sorted(expected[REMOVED] - found[REMOVED])
            result.fixity_problems = _fixity_problems(data, (MISSING, CORRUPT, ORPHAN))
        finally:
            self.proxy.set_plan(None)
            shutil.rmtree(data, ignore_errors=True)
        return result

    def _scenario(self, rng: random.Random) -> tuple[str, list[LibraryState]]:
        """A takedown to crawl through faults: the 2017 one, or a few removals beside an unlisted and an edited
        document; sometimes after a faulted crawl of the unchanged library or an outage."""
        library = self.site.library
        if rng.random() < 0.5:
            name, final = "sections", preset("v2_takedown")
        else:
            documents = rng.sample(list(library.documents()), 6)
            removed, (unlisted, edited) = documents[:4], documents[4:]
            final = preset("v1").remove(*(d.path for d in removed)).unlist(unlisted.path)
            final = final.edit(edited.path, edited.text + "\n\nCorrected on review.")
            name = "documents"
        before = []
        if rng.random() < 0.25:
            before.append(preset("v1"))
            name = "v1, " + name
        if rng.random() < 0.15:
            before.append(preset("outage"))
            name = "outage, " + name
        return name, [*before, final, final]

    def _expected_alarms(self, state: LibraryState) -> dict[str, set[str]]:
        """What a state calls for: the documents no longer served (removed), the sections gone, the documents
        served but no longer linked (unlisted). Documents by the URL the first crawl listed them under."""
        view = self.site.library.view(state)
        served = {served.document.id for served in view.files.values()}
        return {
            REMOVED: {self._listed_url(d) for d in self.site.library.documents() if d.id not in served},
            SECTION_REMOVED: {s.title for s in self.site.library.sections if s.slug in state.removed_sections},
            UNLISTED: {self._listed_url(d.document) for d in view.files.values() if not d.listed},
        }

    def _listed_url(self, document: Document) -> str:
        """A document's identity: the URL the listing links it by (absolute and relative links resolve to its
        path; redirect links keep the redirect's URL)."""
        path = f"{REDIRECT_PREFIX}{document.id}" if document.link_style == "redirect" else document.path
        return self.proxy.url + path

    # crash points --------------------------------------------------------------------------------------------

    def crash_point(self, seed: int) -> CrashResult:
        """SIGKILL a crawl, a diff or a recovery at a seeded point, carry on as the scheduler would, and compare
        the outcome with the undisturbed run."""
        rng = random.Random(seed)
        phase = rng.choice(CRASH_PHASES)
        data = self.workdir / f"crash-{seed}"
        self.proxy.set_plan(None)
        try:
            if phase == "recovery":
                return self._recovery_crash(seed, rng, data)
            if phase == "delivery":
                return self._delivery_crash(seed, rng, data)
            return self._scenario_crash(seed, phase, rng, data)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def _scenario_crash(self, seed: int, phase: str, rng: random.Random, data: Path) -> CrashResult:
        """Replay CRASH_STEPS from the snapshot before a seeded step, killing that step's crawl or diff."""
        reference = self.reference
        step = rng.randrange(len(CRASH_STEPS))
        if phase == "crawl":
            at = rng.randint(1, reference.crawl_events[step] - 1)
        else:
            at = rng.randint(1, reference.diff_ticks[step])
        result = CrashResult(seed, phase, step, at, killed=False)
        _copy_archive(reference.snapshots[step], data)
        for index in range(step, len(CRASH_STEPS)):
            self.site.set_state(CRASH_STEPS[index])
            if index == step and phase == "crawl":
                result.killed = _crawl_killed(self.config, data, at, rng.uniform(0, 0.03))
                self._diff_in(data)  # what the scheduler does next; it waits while the crawl shows running
            result.final_status = crawl(self.config, data).status
            if index == step and phase == "diff":
                result.killed = _killed_child("_diff_until_tick", data, self.config_path, at)
            self._diff_in(data)
        self._check_database(data, result)
        result.lost, result.duplicated = _compare(reference.events, _events(data))
        return result

    def _recovery_crash(self, seed: int, rng: random.Random, data: Path) -> CrashResult:
        """Kill a recovery at a seeded point, then recover again."""
        reference = self.recovery_reference
        result = CrashResult(seed, "recovery", 0, rng.randint(1, reference.ticks), killed=False)
        _copy_archive(reference.snapshot, data)
        result.killed = _killed_child("_recover_until_tick", data, self.config_path, result.at)
        with Archive(data) as archive, _wayback_client(self.standin.url) as client:
            stats = recover(archive, self.config, client)
        problems = stats.errors + stats.unrecoverable
        result.final_status = "complete" if not problems else f"incomplete: {problems[0]}"
        self._check_database(data, result)
        result.lost, result.duplicated = _compare(reference.recoveries, _recoveries(data))
        with Archive(data) as archive:
            result.unscreened = archive.db.execute(
                "select count(*) from recoveries r left join texts t on t.sha256 = r.sha256 where r.status = 'ok' "
                "and (t.sha256 is null or (t.status = 'ok' and r.sha256 not in (select sha256 from pii_screens)))"
            ).fetchone()[0]
        return result

    def _delivery_crash(self, seed: int, rng: random.Random, data: Path) -> CrashResult:
        """Kill an alerts run at a seeded line of the alerts code, then run alerts again."""
        reference = self.delivery_reference
        result = CrashResult(seed, "delivery", 0, rng.randint(1, reference.lines), killed=False)
        _copy_archive(reference.snapshot, data)
        self.receiver.take()
        result.killed = _killed_child("_alerts_until_line", data, result.at)
        run_alerts(data, _ALERT_SETTINGS)
        private = open_private(data)
        try:
            unsent = private.execute("select count(*) from messages where status != 'sent'").fetchone()[0]
        finally:
            private.close()
        result.final_status = "complete" if not unsent else f"incomplete: {unsent} message(s) not sent"
        self._check_database(data, result)
        alerts, result.resent = _alerts(self.receiver.take())
        result.lost, result.duplicated = _compare(reference.alerts, alerts)
        return result

    def _check_database(self, data: Path, result: CrashResult) -> None:
        """``pragma integrity_check`` of the archive and the private database; crawls left running."""
        checks = []
        for name in ("archive.db", "private.db"):
            if (data / name).exists():
                with sqlite3.connect(data / name) as connection:
                    checks.append(connection.execute("pragma integrity_check").fetchone()[0])
                connection.close()
        result.integrity = next((check for check in checks if check != "ok"), "ok")
        with sqlite3.connect(data / "archive.db") as connection:
            result.left_running = connection.execute(
                "select count(*) from crawls where status = 'running'").fetchone()[0]
        connection.close()
        result.fixity_problems = _fixity_problems(data, (MISSING, CORRUPT))

    # helpers -------------------------------------------------------------------------------------------------

    def _diff(self, archive: Archive) -> None:
        diff_agency(archive, self.config)

    def _diff_in(self, data: Path) -> None:
        with Archive(data) as archive:
            self._diff(archive)

    def _crawl_and_diff(self, data: Path, config: AgencyConfig, kind: str = CrawlKind.FULL) -> str:
        status = crawl(config, data, kind=kind).status
        self._diff_in(data)
        return status


def _copy_archive(source: Path | None, target: Path) -> None:
    """Make ``target`` a copy of the archive at ``source`` (None: an empty directory)."""
    shutil.rmtree(target, ignore_errors=True)
    if source is None:
        target.mkdir(parents=True)
    else:
        shutil.copytree(source, target)


def _wayback_client(base_url: str) -> WaybackClient:
    """A client for the local stand-in, without the real service's pacing."""
    return WaybackClient(base_url, cdx_per_minute=6000, playback_per_second=500, retries=1, retry_backoff=0.1)


def _events(data: Path) -> Counter:
    """The events of an archive, without what differs between equivalent runs (ids, crawl ids, times)."""
    with Archive(data) as archive:
        if "events" not in archive.db.table_names():
            return Counter()
        return Counter(archive.db.execute("select kind, url, section, title from events").fetchall())


def _recoveries(data: Path) -> Counter:
    """The recovered copies of an archive: (url, sha256) of each recovery that stored bytes."""
    with Archive(data) as archive:
        return Counter(archive.db.execute("select url, sha256 from recoveries where status = 'ok'").fetchall())


def _alerts(posts: list[tuple[str, str, tuple[int, ...]]]) -> tuple[Counter, int]:
    """From webhook posts (path, Idempotency-Key, event ids): for each (path, event id), the number of distinct
    messages it came in; and how many posts repeated a message already received."""
    keys: dict[tuple[str, int], set[str]] = {}
    seen: set[tuple[str, str]] = set()
    resent = 0
    for path, key, event_ids in posts:
        resent += (path, key) in seen
        seen.add((path, key))
        for event_id in event_ids:
            keys.setdefault((path, event_id), set()).add(key)
    return Counter({alert: len(messages) for alert, messages in keys.items()}), resent


def _compare(expected: Counter, got: Counter) -> tuple[list[tuple], list[tuple]]:
    """What is missing from ``got``, and what it has too many of."""
    return sorted((expected - got).elements()), sorted((got - expected).elements())


def _alarms(data: Path) -> dict[str, set[str]]:
    """What the archive's removed, section_removed and unlisted events name: URLs, or section headings. An
    unlisted event that says the document cannot be verified (a block page kept answering) claims nothing."""
    found: dict[str, set[str]] = {REMOVED: set(), SECTION_REMOVED: set(), UNLISTED: set()}
    with Archive(data) as archive:
        for kind, url, section in archive.db.execute(
                "select kind, url, section from events where kind in (?, ?, ?) "
                "and json_extract(evidence, '$.unverified') is null", list(found)):
            found[kind].add(section if kind == SECTION_REMOVED else url)
    return found


def _fixity_problems(data: Path, kinds: tuple[str, ...]) -> list[str]:
    with Archive(data) as archive:
        return [f"{p.kind} {p.path}: {p.detail}" for p in audit(archive).problems if p.kind in kinds]


def _crawl_killed(config: AgencyConfig, data: Path, after_events: int, delay: float) -> bool:
    """Run a crawl and SIGKILL its process ``delay`` seconds after its ``after_events``-th progress event;
    True if it died (False: it finished first)."""
    seen = 0
    crawl_id: int | None = None
    pause = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        nonlocal seen, crawl_id
        seen += 1
        crawl_id = event.get("crawl_id", crawl_id)
        if seen == after_events and crawl_id is not None:
            pause.wait(delay)
            with sqlite3.connect(data / "archive.db", timeout=30) as connection:
                (pid,) = connection.execute("select pid from crawls where id = ?", [crawl_id]).fetchone()
            connection.close()
            os.kill(pid, signal.SIGKILL)

    try:
        crawl(config, data, on_event=on_event)
    except CrawlProcessError:
        return True
    return False


def _count_ticks(archive: Archive, work: Callable[[], object]) -> int:
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    archive.db.conn.set_progress_handler(tick, _TICK)
    try:
        work()
    finally:
        archive.db.conn.set_progress_handler(None, 0)
    return ticks


def _killed_child(function: str, data: Path, *args: Any) -> bool:
    """Run ``function(data_dir, *args)`` of this module in a child process that kills itself at a point the
    arguments name; True if it died (False: it finished first)."""
    child = subprocess.run(
        [sys.executable, "-c", f"import json, sys; from tests.support.faults import {function}; "
         f"{function}(*json.loads(sys.argv[1]))", json.dumps([str(data), *[str(a) if isinstance(a, Path) else a
                                                                            for a in args]])],
        capture_output=True, text=True, timeout=300, cwd=REPOSITORY,
    )
    if child.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"{function} failed (exit code {child.returncode}): {child.stderr[-2000:]}")
    return child.returncode == -signal.SIGKILL


@contextmanager
def _traced_lines(directory: str, on_line: Callable[[], None]) -> Iterator[None]:
    """Call ``on_line`` before each line this thread runs of the code under ``directory``."""
    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            on_line()
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code.co_filename.startswith(directory) else None)
    try:
        yield
    finally:
        sys.settrace(None)


def _alerts_until_line(data_dir: str, lines: int) -> None:
    """Child process: an alerts run, SIGKILLed before its ``lines``-th line of alerts code, wherever that falls
    (between two SQL statements, or with a webhook request half sent)."""
    count = 0

    def line() -> None:
        nonlocal count
        count += 1
        if count >= lines:
            os.kill(os.getpid(), signal.SIGKILL)

    with _traced_lines(_ALERTS_CODE, line):
        run_alerts(data_dir, _ALERT_SETTINGS)


class _WebhookReceiver:
    """Records each digest POSTed to it as (path, Idempotency-Key, event ids), and answers 200."""

    def __init__(self) -> None:
        self._posts: list[tuple[str, str, tuple[int, ...]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._lock:
                    receiver._posts.append((self.path, self.headers["Idempotency-Key"],
                                            tuple(event["id"] for event in body["events"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()

    def take(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """The posts received since the last call."""
        with self._lock:
            posts, self._posts = self._posts, []
        return posts

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _until_tick(archive: Archive, ticks: int) -> None:
    """Make this process SIGKILL itself inside SQLite at its ``ticks``-th tick, wherever that falls."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        if count >= ticks:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    archive.db.conn.set_progress_handler(tick, _TICK)


def _load_config(config_path: str) -> AgencyConfig:
    return parse_config(json.loads(Path(config_path).read_text()), source=config_path)


def _diff_until_tick(data_dir: str, config_path: str, ticks: int) -> None:
    """Child process: the diff, until it kills itself."""
    config = _load_config(config_path)
    archive = Archive(data_dir)
    _until_tick(archive, ticks)
    diff_agency(archive, config)


def _recover_until_tick(data_dir: str, config_path: str, ticks: int) -> None:
    """Child process: a recovery from the Wayback stand-in, until it kills itself."""
    config = _load_config(config_path)
    archive = Archive(data_dir)
    _until_tick(archive, ticks)
    with _wayback_client(config.wayback.base_url) as client:
        recover(archive, config, client)
