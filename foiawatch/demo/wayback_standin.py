"""A local Wayback Machine on 127.0.0.1 for tests, benchmarks and the demo.

It answers in the real service's formats, so a client that works here has met them: CDX plain text (7 fields)
and JSON (array of arrays with a header row), prefix/host/domain matching, filters, collapse, ``from``/``to``,
resume-key paging (``showResumeKey=true``: a blank line, then the key as the last row, whenever a page is full);
``id_`` playback with ``Memento-Datetime``, the archived status and headers (``X-Archive-Orig-*``, archived
redirects pointing at the target's playback URL), a non-memento 302 to the nearest capture and the "not archived"
404; ``/wayback/available``; Save Page Now 2; and a 429 HTML page without ``Retry-After`` (optionally with one)
when a sliding-window rate limit is exceeded. Rejected requests count against the window, as ignoring 429s keeps
an IP blocked on the real service.

Captures are supplied by the caller (and can be added while it runs)::

    capture = ("https://agency.gov/foia/a.pdf", "20240101000000", 200, "application/pdf", b"%PDF-1.7", {})
    with WaybackStandin([capture]) as standin:
        client = WaybackClient(base_url=standin.url)
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, unquote_plus, urljoin, urlsplit

from ..wayback.models import cdx_digest, parse_timestamp

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
BLOCKED_BODY = (
    "org.archive.util.io.RuntimeIOException: "
    "org.archive.wayback.exception.AdministrativeAccessControlException: Blocked Site Error\n"
)
NOT_ARCHIVED_PAGE = (
    "<!DOCTYPE html><html><head><title>Wayback Machine</title></head><body>"
    "<p>Hrm.</p><p>The Wayback Machine has not archived that URL.</p></body></html>\n"
)
TOO_MANY_PAGE = (
    "<!DOCTYPE html><html><head><title>Too Many Requests</title></head><body><h1>Too Many Requests</h1>"
    "<p>We are limiting how often you can make requests.</p></body></html>\n"
)
_PLAYBACK = re.compile(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", re.DOTALL)
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def surt(url: str) -> str:
    """The CDX sort key of a URL: host reversed without ``www``, no scheme or default port, lowercased."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    host = re.sub(r"^www\d*\.", "", parts.hostname or "")
    key = host if _IPV4.match(host) else ",".join(reversed(host.split(".")))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{key}){parts.path or '/'}{'?' + query if query else ''}".lower()


@dataclass(frozen=True)
class StandinCapture:
    """A capture the stand-in holds. ``status=None`` makes it a revisit record; ``digest`` overrides the real
    digest of ``body`` (to simulate a corrupt capture)."""

    url: str
    timestamp: str
    status: int | None = 200
    mimetype: str = "text/html"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    digest: str | None = None

    @cached_property
    def urlkey(self) -> str:
        return surt(self.url)

    @cached_property
    def row(self) -> tuple[str, ...]:
        """The capture's CDX fields, in index order."""
        return (
            self.urlkey, self.timestamp, self.url,
            "warc/revisit" if self.status is None else self.mimetype,
            "-" if self.status is None else str(self.status),
            self.digest or cdx_digest(self.body), str(len(self.body)),
        )


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class WaybackStandin:
    """The stand-in server. Use as a context manager (or ``start``/``stop``); ``url`` is its base URL.

    ``cdx_limit`` and ``playback_limit`` are (requests, seconds) sliding windows, the second covering every
    non-CDX endpoint; ``retry_after`` adds that header to the 429s; ``latency`` delays every answer; ``blocked``
    URL prefixes answer 403 "Blocked Site Error". ``requests`` counts requests per endpoint ("cdx", "playback",
    "available", "save", "other"), ``rejected`` the ones answered 429, and ``log`` holds (monotonic time,
    endpoint, status, path) for each.
    """

    def __init__(
        self,
        captures: Iterable[StandinCapture | tuple] = (),
        *,
        latency: float = 0.0,
        cdx_limit: tuple[int, float] | None = None,
        playback_limit: tuple[int, float] | None = None,
        retry_after: int | None = None,
        blocked: Iterable[str] = (),
        port: int = 0,
    ) -> None:
        self._captures: list[StandinCapture] = []  # in index order
        self._by_key: dict[str, list[StandinCapture]] = {}
        self._lock = threading.Lock()
        self.latency = latency
        self.limits = {"cdx": cdx_limit, "playback": playback_limit}
        self.retry_after = retry_after
        self.blocked = tuple(surt(b) for b in blocked)
        self.requests: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.log: deque[tuple[float, str, int, str]] = deque(maxlen=100_000)
        self.saved: list[str] = []
        self._windows: dict[str, deque[float]] = {"cdx": deque(), "playback": deque()}
        self._failures: deque[int] = deque()
        self._jobs: dict[str, dict] = {}
        self._port = port
        self.url = ""  # set by start(): http://127.0.0.1:<port>
        self._server: ThreadingHTTPServer | None = None
        self.add(*captures)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> WaybackStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_GET(self) -> None:  # noqa: N802
                standin._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                standin._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="wayback-standin", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WaybackStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- content and faults ----------------------------------------------------------------------------------

    def add(self, *captures: StandinCapture | tuple) -> None:
        """Add captures: ``StandinCapture`` objects or (url, timestamp, status, mimetype, body, headers) tuples."""
        with self._lock:
            for capture in captures:
                capture = capture if isinstance(capture, StandinCapture) else StandinCapture(*capture)
                self._captures.append(capture)
                self._by_key.setdefault(capture.urlkey, []).append(capture)
            self._captures.sort(key=lambda c: c.row)

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (no ``Memento-Datetime``): a service in trouble."""
        with self._lock:
            self._failures.extend([status] * count)

    # -- request handling ------------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        if self.latency:
            time.sleep(self.latency)
        path = handler.path
        endpoint = _endpoint(urlsplit(path).path, handler.command)
        try:
            reply = self._admit(endpoint) or self._route(handler, endpoint, path)
        except ValueError as error:  # a malformed timestamp, limit, port...
            reply = _Reply(400, f"Bad request: {error}\n".encode(), {"Content-Type": "text/plain"})
        with self._lock:
            self.requests[endpoint] += 1
            self.rejected[endpoint] += reply.status == 429
            self.log.append((time.monotonic(), endpoint, reply.status, path))
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _admit(self, endpoint: str) -> _Reply | None:
        """A 429 or injected failure instead of an answer, or None to answer normally."""
        with self._lock:
            if self._failures:
                return _Reply(self._failures.popleft(), b"<html><body>Service Unavailable</body></html>")
            group = "cdx" if endpoint == "cdx" else "playback"
            limit, window = self.limits[group], self._windows[group]
            if limit is None:
                return None
            count, per = limit
            now = time.monotonic()
            while window and window[0] <= now - per:
                window.popleft()
            window.append(now)
            if len(window) <= count:
                return None
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return _Reply(429, TOO_MANY_PAGE.encode(), headers)

    def _route(self, handler: BaseHTTPRequestHandler, endpoint: str, path: str) -> _Reply:
        query = parse_qs(urlsplit(path).query, keep_blank_values=True)
        if endpoint == "cdx":
            return self._cdx(query)
        if endpoint == "playback":
            return self._playback(path)
        if endpoint == "available":
            return self._available(query)
        if endpoint == "save":
            return self._save(handler, path)
        return _Reply(404, NOT_ARCHIVED_PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _cdx(self, query: dict[str, list[str]]) -> _Reply:
        url = query.get("url", [""])[0]
        if not url:
            return _Reply(400, b"Missing url parameter\n", {"Content-Type": "text/plain"})
        rows = self._matching(url, query.get("matchType", ["exact"])[0])
        if rows is None:
            return _Reply(403, BLOCKED_BODY.encode(), {"Content-Type": "text/plain;charset=UTF-8"})
        first, last = query.get("from", [""])[0], query.get("to", [""])[0]
        rows = [r for r in rows if r[1] >= first.ljust(14, "0") and r[1] <= last.ljust(14, "9")]
        for spec in query.get("filter", []):
            rows = [r for r in rows if _passes(r, spec)]
        for spec in query.get("collapse", []):
            rows = _collapse(rows, spec)
        if "resumeKey" in query:
            after = unquote_plus(query["resumeKey"][0])
            rows = [r for r in rows if " ".join(r) > after]
        limit = int(query.get("limit", ["0"])[0] or 0)
        page = rows[:limit] if limit > 0 else rows[limit:] if limit < 0 else rows
        resume_key = None
        if query.get("showResumeKey", ["false"])[0] == "true" and limit > 0 and len(page) == limit:
            resume_key = quote_plus(" ".join(page[-1]))
        fields = query.get("fl", [",".join(CDX_FIELDS)])[0].split(",")
        columns = [CDX_FIELDS.index(f) for f in fields if f in CDX_FIELDS]
        table = [[row[c] for c in columns] for row in page]
        if query.get("output", [""])[0] == "json":
            document = [[CDX_FIELDS[c] for c in columns], *table] if table else []
            if resume_key:
                document += [[], [resume_key]]
            return _Reply(200, json.dumps(document).encode(), {"Content-Type": "application/json"})
        text = "".join(" ".join(row) + "\n" for row in table)
        if resume_key:
            text += f"\n{resume_key}\n"
        return _Reply(200, text.encode(), {"Content-Type": "text/plain;charset=UTF-8"})

    def _matching(self, url: str, match_type: str) -> list[tuple[str, ...]] | None:
        if url.endswith("*"):
            url, match_type = url[:-1], "prefix"
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        key = surt(url)
        host = key.split(")", 1)[0]
        if any(key.startswith(b) for b in self.blocked):
            return None
        with self._lock:
            rows = [c.row for c in self._captures if not c.urlkey.startswith(self.blocked)]
        tests = {
            "exact": lambda k: k == key,
            "prefix": lambda k: k.startswith(key),
            "host": lambda k: k.split(")", 1)[0] == host,
            "domain": lambda k: k.split(")", 1)[0] == host or k.split(")", 1)[0].startswith(host + ","),
        }
        test = tests.get(match_type, tests["exact"])
        return [row for row in rows if test(row[0])]

    def _playback(self, path: str) -> _Reply:
        match = _PLAYBACK.match(path)
        if not match:
            return _Reply(404, NOT_ARCHIVED_PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"})
        timestamp, mode, target = _full(match.group(1)), match.group(2) or "", match.group(3)
        key = surt(target)
        with self._lock:
            candidates = list(self._by_key.get(key, ()))
        if not candidates:
            return _Reply(404, NOT_ARCHIVED_PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"})
        wanted = parse_timestamp(timestamp)
        capture = min(candidates, key=lambda c: abs((parse_timestamp(c.timestamp) - wanted).total_seconds()))
        if capture.timestamp != timestamp:
            return _Reply(302, b"", {
                "Location": f"{self.url}/web/{capture.timestamp}{mode}/{capture.url}",
                "Content-Type": "text/plain; charset=utf-8",
                "X-Archive-Redirect-Reason": f"found capture at {capture.timestamp}",
            })
        return self._memento(capture, mode)

    def _memento(self, capture: StandinCapture, mode: str) -> _Reply:
        captured = format_datetime(parse_timestamp(capture.timestamp), usegmt=True)
        archived = {k.lower(): v for k, v in capture.headers.items()}
        headers = {f"X-Archive-Orig-{name}": value for name, value in capture.headers.items()}
        headers.update({
            "Content-Type": archived.get("content-type", capture.mimetype),
            "Memento-Datetime": captured,
            "Link": (
                f'<{capture.url}>; rel="original", '
                f'<{self.url}/web/{capture.timestamp}/{capture.url}>; rel="memento"; datetime="{captured}"'
            ),
            "X-Archive-Src": "standin-00000.warc.gz",
        })
        if "content-encoding" in archived:
            headers["Content-Encoding"] = archived["content-encoding"]
        status = capture.status or 200
        if 300 <= status < 400 and "location" in archived:
            target = urljoin(capture.url, archived["location"])
            headers["Location"] = f"{self.url}/web/{capture.timestamp}{mode}/{target}"
        return _Reply(status, capture.body, headers)

    def _available(self, query: dict[str, list[str]]) -> _Reply:
        url = query.get("url", [""])[0]
        timestamp = query.get("timestamp", [""])[0] or datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        with self._lock:
            candidates = [c for c in self._by_key.get(surt(url), ()) if c.status == 200]
        snapshots = {}
        if candidates:
            wanted = parse_timestamp(_full(timestamp))
            best = min(candidates, key=lambda c: abs((parse_timestamp(c.timestamp) - wanted).total_seconds()))
            snapshots["closest"] = {
                "status": "200", "available": True, "timestamp": best.timestamp,
                "url": f"{self.url}/web/{best.timestamp}/{best.url}",
            }
        body = {"url": url, "archived_snapshots": snapshots, "timestamp": timestamp}
        return _Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _save(self, handler: BaseHTTPRequestHandler, path: str) -> _Reply:
        """Save Page Now 2: ``POST /save`` starts a job, ``GET /save/status/<job>`` is pending once, then done."""
        if not re.match(r"^LOW [^:\s]+:\S+$", handler.headers.get("Authorization", "")):
            return _json_reply(401, {"message": "You need to be logged in to use Save Page Now."})
        if handler.command == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            url = parse_qs(handler.rfile.read(length).decode()).get("url", [""])[0]
            job_id = "spn2-" + secrets.token_hex(20)
            with self._lock:
                self._jobs[job_id] = {"url": url, "polls": 0}
            return _json_reply(200, {"url": url, "job_id": job_id})
        job_id = urlsplit(path).path.rsplit("/", 1)[-1]
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job["polls"] += 1
        if job is None:
            return _json_reply(200, {"status": "error", "status_ext": "error:not-found", "message": "No such job"})
        if job["polls"] == 1:
            return _json_reply(200, {"status": "pending", "job_id": job_id})
        if not urlsplit(job["url"]).hostname:
            return _json_reply(200, {
                "status": "error", "status_ext": "error:invalid-url-syntax", "job_id": job_id,
                "message": "The URL syntax is not valid.",
            })
        with self._lock:
            self.saved.append(job["url"])
        timestamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        return _json_reply(200, {
            "status": "success", "job_id": job_id, "original_url": job["url"], "timestamp": timestamp,
            "duration_sec": 0.1,
        })


def _endpoint(path: str, method: str) -> str:
    if path == "/cdx/search/cdx":
        return "cdx"
    if path.startswith("/web/"):
        return "playback"
    if path == "/wayback/available":
        return "available"
    if (path == "/save" and method == "POST") or path.startswith("/save/status/"):
        return "save"
    return "other"


def _full(timestamp: str) -> str:
    """Widen a partial timestamp ("2020", "202003") to the first second it names, as playback URLs allow."""
    return timestamp + "00000101000000"[len(timestamp):]


def _passes(row: tuple[str, ...], spec: str) -> bool:
    """A CDX ``filter``: ``[!]field:regex`` (whole-value match) or ``~[!]field:substring``."""
    substring = spec.startswith("~")
    spec = spec.lstrip("~")
    negate = spec.startswith("!")
    name, _, pattern = spec.lstrip("!").partition(":")
    if name not in CDX_FIELDS:
        return True
    value = row[CDX_FIELDS.index(name)]
    hit = pattern in value if substring else re.fullmatch(pattern, value) is not None
    return hit != negate


def _collapse(rows: list[tuple[str, ...]], spec: str) -> list[tuple[str, ...]]:
    """A CDX ``collapse``: drop a row whose ``field`` (or its first N characters) equals the previous row's."""
    name, _, width = spec.partition(":")
    if name not in CDX_FIELDS:
        return rows
    index, size = CDX_FIELDS.index(name), int(width) if width else None
    kept, previous = [], None
    for row in rows:
        value = row[index][:size]
        if value != previous:
            kept.append(row)
        previous = value
    return kept


def _json_reply(status: int, body: dict) -> _Reply:
    return _Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
