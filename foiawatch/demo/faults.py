"""Seeded faults for the demo library: a misbehaving network in front of it, and crashes at chosen points.

:class:`FaultProxy` is a reverse proxy on 127.0.0.1 that forwards to a running :class:`~.site.DemoSite` and
spoils some answers the way real agency servers and networks do: 500/502/503, a connection that hangs past the
crawler's timeout, a reset mid-body, a body cut short under a correct Content-Length, a slow drip, a wrong
Content-Type, a redirect loop, a "temporarily unavailable" page served with 200. Which request gets which fault
is decided by a :class:`FaultPlan` from the seed, the method, the path and how many times that path was asked
for, so a run is reproducible whatever order a concurrent crawler sends its requests in.

:class:`FaultHarness` drives foiawatch through the scenario versions behind the proxy and checks what the issue
demands: seeded fault runs raise no false ``removed`` event, store no corrupt blob and still find every real
removal once the faults stop; seeded SIGKILLs of a crawl or a diff leave a sound database, and the next run ends
with exactly the events of an undisturbed run. Tests run a few seeds, ``bench/faults.py`` hundreds.
"""

from __future__ import annotations

import http.client
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
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..archive import Archive
from ..archive.fixity import CORRUPT, MISSING, ORPHAN, audit
from ..config import AgencyConfig
from ..crawler import CrawlProcessError, crawl
from ..diff.engine import run_diff
from .library import Document, LibraryState, preset
from .scenario import demo_agency
from .site import LIBRARY_PATH, OUTAGE_NOTICE, REDIRECT_PREFIX, DemoSite

FAULT_KINDS = ("500", "502", "503", "timeout", "reset", "truncate", "drip", "content_type", "redirect_loop",
               "unavailable")
LOOP_PARAM = "foiawatch-loop"  # marks the hops of a redirect loop, which never leads anywhere
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
               "content-length"}
_DRIP_CHUNKS = 20


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    seconds: float = 0.0  # how long a "timeout" hangs or a "drip" takes in all


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

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULT_KINDS)}")

    def decide(self, method: str, target: str, attempt: int) -> Fault | None:
        rng = random.Random(f"{self.seed}|{method}|{target}|{attempt}")
        if rng.random() >= self.rate:
            return None
        kind = rng.choice(self.kinds)
        if kind == "timeout":
            return Fault(kind, self.hang)
        if kind == "drip":
            return Fault(kind, rng.choice((self.hang / 10, self.hang)))
        return Fault(kind)


@dataclass(frozen=True)
class InjectedFault:
    method: str
    target: str
    attempt: int
    kind: str


class FaultProxy:
    """A reverse proxy to ``upstream`` (e.g. a DemoSite's url) that injects the faults of its current plan.

    The Host header is passed on unchanged, so the demo site builds its links and redirects to the proxy.
    """

    def __init__(self, upstream: str, plan: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._injected: list[InjectedFault] = []
        self.plan = plan
        self._server = _ProxyServer((host, port), _ProxyHandler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

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

    def wait(self, seconds: float) -> None:
        """Sleep in a request thread, waking when the proxy stops."""
        self._stopping.wait(seconds)

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
        target, looping = _strip_loop(self.path)
        if looping:
            return self._loop(target, looping)
        fault = proxy.decide(self.command, target)
        kind = fault.kind if fault else None
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

# The scenario a crash point replays: the first crawl, the takedown, the crawl that confirms the removals.
CRASH_STEPS = ("v1", "v2_takedown", "v2_takedown")
CRASH_PHASES = ("crawl", "diff")
_DIFF_TICK = 50  # SQLite VM instructions between two ticks of the diff's kill counter


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
    false_removals: list[str] = field(default_factory=list)
    missed_removals: list[str] = field(default_factory=list)
    fixity_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.false_removals or self.missed_removals or self.fixity_problems)


@dataclass
class CrashResult:
    """One seeded crash point: where the kill landed and what the next run found."""

    seed: int
    phase: str  # crawl or diff
    step: int  # index into CRASH_STEPS
    at: int  # progress events (crawl) or SQLite ticks (diff) before the kill
    killed: bool  # False when the process finished before the kill point
    integrity: str = ""
    lost_events: list[tuple] = field(default_factory=list)
    duplicated_events: list[tuple] = field(default_factory=list)
    left_running: int = 0  # crawls still "running" after the next run
    final_status: str = ""
    fixity_problems: list[str] = field(default_factory=list)  # missing or corrupt files (orphans are not)

    @property
    def ok(self) -> bool:
        return (self.integrity == "ok" and not self.lost_events and not self.duplicated_events
                and not self.left_running and self.final_status == "complete" and not self.fixity_problems)


@dataclass
class _Reference:
    """An undisturbed run of CRASH_STEPS: the archive before each step, and what each step did."""

    snapshots: list[Path]
    crawl_events: list[int]
    diff_ticks: list[int]
    events: Counter


class FaultHarness:
    """The demo library behind a FaultProxy, with an undisturbed reference run to start runs from and compare
    them with. One harness runs one seed at a time; run harnesses side by side for parallel runs."""

    def __init__(self, workdir: Path, *, timeout: float = 0.5):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.site = DemoSite().start()
        self.proxy = FaultProxy(self.site.url).start()
        self.config = demo_agency(self.proxy.url + LIBRARY_PATH)
        # Under faults, a short timeout keeps hung requests cheap; two retries are what a deployment would use.
        # Without faults, the normal timeout: a slow machine must not look like a faulty network.
        self.fault_config = replace(self.config, politeness=replace(self.config.politeness, timeout=timeout,
                                                                    retries=2))
        self.hang = timeout * 2.5
        self._reference: _Reference | None = None

    def close(self) -> None:
        self.proxy.stop()
        self.site.stop()

    def __enter__(self) -> FaultHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the reference run ---------------------------------------------------------------------------------------

    @property
    def reference(self) -> _Reference:
        if self._reference is None:
            self._reference = self._run_reference()
        return self._reference

    def _run_reference(self) -> _Reference:
        self.proxy.set_plan(None)
        data = self.workdir / "reference"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        snapshots, crawl_events, diff_ticks = [], [], []
        for step, state in enumerate(CRASH_STEPS):
            snapshot = self.workdir / f"reference-before-{step}"
            _copy_archive(data, snapshot)
            snapshots.append(snapshot)
            self.site.set_state(state)
            events: list[dict] = []
            result = crawl(self.config, data, on_event=events.append)
            if result.status != "complete":
                raise RuntimeError(f"the reference crawl of {state} was {result.status}: {result.reason}")
            crawl_events.append(len(events))
            with Archive(data) as archive:
                diff_ticks.append(_count_ticks(archive, lambda: self._diff(archive)))
        return _Reference(snapshots, crawl_events, diff_ticks, _events(data))

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
                result.statuses.append(self._crawl_and_diff(data, self.fault_config))
            result.faults = Counter(fault.kind for fault in self.proxy.injected[before:])
            self.proxy.set_plan(None)
            expected_urls, expected_sections = self._removals(states[-1])
            result.expected_removals = len(expected_urls)
            while result.clean_crawls < self.config.removal_confirmations and \
                    not expected_urls <= _removed(data)[0]:
                self._crawl_and_diff(data, self.config)
                result.clean_crawls += 1
            urls, sections = _removed(data)
            result.false_removals = sorted((urls - expected_urls) | (sections - expected_sections))
            result.missed_removals = sorted(expected_urls - urls)
            with Archive(data) as archive:
                result.fixity_problems = [f"{p.kind} {p.path}: {p.detail}" for p in audit(archive).problems
                                          if p.kind in (MISSING, CORRUPT, ORPHAN)]
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

    def _removals(self, state: LibraryState) -> tuple[set[str], set[str]]:
        """The URLs (as listed in the first crawl) of documents no longer served, and the sections gone."""
        view = self.site.library.view(state)
        served = {served.document.id for served in view.files.values()}
        gone = {self._listed_url(d) for d in self.site.library.documents() if d.id not in served}
        sections = {s.title for s in self.site.library.sections if s.slug in state.removed_sections}
        return gone, sections

    def _listed_url(self, document: Document) -> str:
        """A document's identity: the URL the listing links it by (absolute and relative links resolve to its
        path; redirect links keep the redirect's URL)."""
        path = f"{REDIRECT_PREFIX}{document.id}" if document.link_style == "redirect" else document.path
        return self.proxy.url + path

    # crash points --------------------------------------------------------------------------------------------

    def crash_point(self, seed: int) -> CrashResult:
        """Replay CRASH_STEPS from a reference snapshot, SIGKILL the crawl or diff of one step at a seeded point,
        carry on as the scheduler would, and compare the outcome with the undisturbed run."""
        reference = self.reference
        rng = random.Random(seed)
        phase, step = rng.choice(CRASH_PHASES), rng.randrange(len(CRASH_STEPS))
        if phase == "crawl":
            at = rng.randint(1, reference.crawl_events[step] - 1)
        else:
            at = rng.randint(1, reference.diff_ticks[step])
        result = CrashResult(seed, phase, step, at, killed=False)
        data = self.workdir / f"crash-{seed}"
        _copy_archive(reference.snapshots[step], data)
        self.proxy.set_plan(None)
        try:
            for index in range(step, len(CRASH_STEPS)):
                self.site.set_state(CRASH_STEPS[index])
                if index == step and phase == "crawl":
                    result.killed = _crawl_killed(self.config, data, at, rng.uniform(0, 0.03))
                    self._diff_in(data)  # what the scheduler does next; it waits while the crawl shows running
                result.final_status = crawl(self.config, data).status
                if index == step and phase == "diff":
                    result.killed = _diff_killed(data, self.config, at)
                self._diff_in(data)
            self._check_crash(data, result)
        finally:
            shutil.rmtree(data, ignore_errors=True)
        return result

    def _check_crash(self, data: Path, result: CrashResult) -> None:
        with sqlite3.connect(data / "archive.db") as connection:
            result.integrity = connection.execute("pragma integrity_check").fetchone()[0]
            result.left_running = connection.execute(
                "select count(*) from crawls where status = 'running'").fetchone()[0]
        connection.close()
        got, expected = _events(data), self.reference.events
        result.lost_events = sorted((expected - got).elements())
        result.duplicated_events = sorted((got - expected).elements())
        with Archive(data) as archive:
            result.fixity_problems = [f"{p.kind} {p.path}: {p.detail}" for p in audit(archive).problems
                                      if p.kind in (MISSING, CORRUPT)]

    # helpers -------------------------------------------------------------------------------------------------

    def _diff(self, archive: Archive) -> None:
        run_diff(archive, self.config.id, confirmations=self.config.removal_confirmations)

    def _diff_in(self, data: Path) -> None:
        with Archive(data) as archive:
            self._diff(archive)

    def _crawl_and_diff(self, data: Path, config: AgencyConfig) -> str:
        status = crawl(config, data).status
        self._diff_in(data)
        return status


def _copy_archive(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


def _events(data: Path) -> Counter:
    """The events of an archive, without what differs between equivalent runs (ids, crawl ids, times)."""
    with Archive(data) as archive:
        if "events" not in archive.db.table_names():
            return Counter()
        return Counter(archive.db.execute("select kind, url, section, title from events").fetchall())


def _removed(data: Path) -> tuple[set[str], set[str]]:
    """URLs with a ``removed`` event, and sections with a ``section_removed`` event."""
    with Archive(data) as archive:
        if "events" not in archive.db.table_names():
            return set(), set()
        rows = archive.db.execute(
            "select kind, url, section from events where kind in ('removed', 'section_removed')").fetchall()
    return ({url for kind, url, _ in rows if kind == "removed"},
            {section for kind, _, section in rows if kind == "section_removed"})


def _crawl_killed(config: AgencyConfig, data: Path, after_events: int, delay: float) -> bool:
    """Run a crawl and SIGKILL its process ``delay`` seconds after its ``after_events``-th progress event;
    True if it died (False: it finished first)."""
    seen = 0
    crawl_id: int | None = None
    stop = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        nonlocal seen, crawl_id
        seen += 1
        crawl_id = event.get("crawl_id", crawl_id)
        if seen == after_events and crawl_id is not None:
            stop.wait(delay)
            with sqlite3.connect(data / "archive.db", timeout=30) as connection:
                (pid,) = connection.execute("select pid from crawls where id = ?", [crawl_id]).fetchone()
            connection.close()
            os.kill(pid, signal.SIGKILL)

    try:
        crawl(config, data, on_event=on_event)
    except CrawlProcessError:
        return True
    return False


def _count_ticks(archive: Archive, work: Callable[[], None]) -> int:
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    archive.db.conn.set_progress_handler(tick, _DIFF_TICK)
    try:
        work()
    finally:
        archive.db.conn.set_progress_handler(None, 0)
    return ticks


def _diff_killed(data: Path, config: AgencyConfig, ticks: int) -> bool:
    """Run the diff in a child process that SIGKILLs itself at its ``ticks``-th SQLite tick; True if it died."""
    child = subprocess.run(
        [sys.executable, "-c", "import sys; from foiawatch.demo.faults import _diff_until_tick; "
         "_diff_until_tick(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))",
         str(data), config.id, str(config.removal_confirmations), str(ticks)],
        capture_output=True, text=True, timeout=120,
    )
    if child.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"the diff child failed (exit code {child.returncode}): {child.stderr[-2000:]}")
    return child.returncode == -signal.SIGKILL


def _diff_until_tick(data_dir: str, agency_id: str, confirmations: int, ticks: int) -> None:
    """Child process: the diff, killed by a SIGKILL it sends itself inside SQLite, wherever that falls."""
    archive = Archive(data_dir)
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        if count >= ticks:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    archive.db.conn.set_progress_handler(tick, _DIFF_TICK)
    run_diff(archive, agency_id, confirmations=confirmations)
