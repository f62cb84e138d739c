"""Politeness as a budget (crawler/budget.py), measured where it matters: on the server, per host.

One local server answers as two hosts, ``127.0.0.1`` and ``localhost`` (Scrapy keeps a download slot per host name),
and records when each request arrived and when its answer left.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from foiawatch.archive import Archive
from foiawatch.config import AgencyConfig
from foiawatch.crawler import crawl
from foiawatch.pipeline import diff_agency
from foiawatch.web.ratelimit import retry_after

from .conftest import demo_config

HTML = {"Content-Type": "text/html"}
PDF = {"Content-Type": "application/pdf"}
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Hit:
    host: str
    method: str
    path: str
    arrived: float  # time.monotonic() on the server
    left: float  # when the answer was sent
    status: int


class TwoHostSite:
    """Serves ``answer(host, method, path, nth)`` (nth: how many times that host and path were asked before) on
    127.0.0.1, as whichever host the request names, each answer ``latency`` seconds late, and records every hit."""

    def __init__(self, answer: Callable[[str, str, str, int], Answer], latency: float = 0.0) -> None:
        self.hits: list[Hit] = []
        lock = threading.Lock()
        asked: dict[tuple[str, str], int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                arrived = time.monotonic()
                host = self.headers.get("Host", "").rsplit(":", 1)[0]
                with lock:
                    nth = asked.get((host, self.path), 0)
                    asked[host, self.path] = nth + 1
                time.sleep(latency)
                status, headers, body = answer(host, self.command, self.path, nth)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)
                with lock:
                    site.hits.append(Hit(host, self.command, self.path, arrived, time.monotonic(), status))

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def arrivals(self, host: str) -> list[float]:
        return sorted(hit.arrived for hit in self.hits if hit.host == host)

    def __enter__(self) -> TwoHostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def listing(urls: list[str]) -> bytes:
    items = "".join(f'<li><a href="{url}">Report {n}</a></li>' for n, url in enumerate(urls))
    return f"<html><body><main><h2>Reports</h2><ul>{items}</ul></main></body></html>".encode()


def config_for(site: TwoHostSite, **politeness: float) -> AgencyConfig:
    config = demo_config(site.url("127.0.0.1", ""), library_path="/library", **politeness)
    return replace(config, listing=replace(config.listing, content_selector="main", follow_patterns=()))


def outcomes(data_dir: Path, crawl_id: int) -> dict[str, dict]:
    with Archive(data_dir) as archive:
        return {row["url"].rsplit("/", 1)[-1]: dict(row) for row in archive.db.query(
            "select d.url, s.outcome, s.http_status, s.listed from sightings s join documents d "
            "on d.id = s.document_id where s.crawl_id = ?", [crawl_id])}


def busiest_second(arrivals: list[float]) -> int:
    """The most requests that arrived within any one second."""
    return max(sum(1 for later in arrivals[i:] if later - start < 1.0) for i, start in enumerate(arrivals))


def per_minute(arrivals: list[float]) -> float:
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60


def most_in_flight(hits: list[Hit]) -> int:
    return max(sum(1 for other in hits if other.arrived <= hit.arrived < other.left) for hit in hits)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after("soon", now) is None
    assert retry_after(None, now) is None
    assert retry_after("-5", now) is None


def test_no_host_gets_more_than_its_budget_whatever_the_concurrency(tmp_path: Path) -> None:
    def answer(host: str, method: str, path: str, nth: int) -> Answer:
        if path == "/library":
            return 200, HTML, listing(documents)
        if path.startswith("/docs/"):
            return 200, PDF, f"%PDF-1.4 {host}{path}".encode()
        return 404, HTML, b"<html>Not found</html>"

    # Answers take 0.25 s and the budget allows one request every 0.1 s: with 8 at a time (4 a host, as the two
    # share the crawl's concurrency), an unpaced crawl would send 16 a second to each host.
    with TwoHostSite(answer, latency=0.25) as site:
        documents = [site.url(host, f"/docs/{n}.pdf") for n in range(16) for host in ("127.0.0.1", "localhost")]
        result = crawl(config_for(site, requests_per_minute=600, concurrency=8), tmp_path)
    assert result.status == "complete"
    assert {row["outcome"] for row in outcomes(tmp_path, result.crawl_id).values()} == {"fetched"}
    for host in ("127.0.0.1", "localhost"):
        arrivals = site.arrivals(host)
        gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
        print(f"{host}: {len(arrivals)} requests, {per_minute(arrivals):.0f}/min against a budget of 600/min; "
              f"busiest second {busiest_second(arrivals)}; median gap {statistics.median(gaps):.3f} s, "
              f"shortest {min(gaps):.3f} s; at most {most_in_flight([h for h in site.hits if h.host == host])} "
              "in flight")
        assert len(arrivals) >= 17  # robots.txt and its documents (and the listing, on 127.0.0.1)
        assert per_minute(arrivals) <= 600
        assert busiest_second(arrivals) <= 10 + 1  # one more for a request that reached the server a little late
        assert statistics.median(gaps) >= 0.095
    # The budget held although requests overlapped: it limits the rate, not the concurrency.
    assert most_in_flight(site.hits) >= 3


def test_robots_txt_crawl_delay_slows_that_host_only(tmp_path: Path) -> None:
    def answer(host: str, method: str, path: str, nth: int) -> Answer:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nCrawl-delay: 0.5\n" if host == "localhost" \
                else b"User-agent: *\nDisallow:\n"
        if path == "/library":
            return 200, HTML, listing(documents)
        return 200, PDF, f"%PDF-1.4 {host}{path}".encode()

    with TwoHostSite(answer) as site:
        documents = [site.url(host, f"/docs/{n}.pdf") for n in range(4) for host in ("127.0.0.1", "localhost")]
        result = crawl(config_for(site, requests_per_minute=600, concurrency=4), tmp_path)
    assert result.status == "complete"
    slow, fast = site.arrivals("localhost"), site.arrivals("127.0.0.1")
    slow_gaps = [later - earlier for earlier, later in zip(slow[1:], slow[2:], strict=False)]  # after robots.txt
    fast_gaps = [later - earlier for earlier, later in zip(fast, fast[1:], strict=False)]
    print(f"Crawl-delay 0.5 s: localhost gaps {min(slow_gaps):.3f}-{max(slow_gaps):.3f} s "
          f"({per_minute(slow[1:]):.0f}/min); 127.0.0.1 (budget 0.1 s) median gap {statistics.median(fast_gaps):.3f} s")
    assert len(slow) == 5 and min(slow_gaps) >= 0.45
    assert statistics.median(fast_gaps) < 0.3


def test_429_with_retry_after_pauses_that_host_then_the_request_succeeds(tmp_path: Path) -> None:
    pause = 2

    def answer(host: str, method: str, path: str, nth: int) -> Answer:
        if path == "/library":
            return 200, HTML, listing(documents)
        if host == "127.0.0.1" and path == "/docs/0.pdf" and nth == 0:
            return 429, {**HTML, "Retry-After": str(pause)}, b"<html>Too many requests</html>"
        if path.startswith("/docs/"):
            return 200, PDF, f"%PDF-1.4 {host}{path}".encode()
        return 404, HTML, b"<html>Not found</html>"

    with TwoHostSite(answer) as site:
        documents = ([site.url("127.0.0.1", f"/docs/{n}.pdf") for n in range(6)]
                     + [site.url("localhost", f"/docs/{n}.pdf") for n in range(6, 28)])
        result = crawl(config_for(site, requests_per_minute=600, concurrency=4), tmp_path)
    assert result.status == "complete"
    seen = outcomes(tmp_path, result.crawl_id)
    assert seen["0.pdf"]["outcome"] == "fetched" and seen["0.pdf"]["http_status"] == 200
    (told,) = [hit for hit in site.hits if hit.status == 429]
    # Requests sent before the 429 reached the crawler may arrive just after it left; nothing else until the pause
    # is over, and then the 429'd request again.
    after = [hit for hit in site.hits if hit.host == "127.0.0.1" and hit.arrived > told.left + 0.05]
    resumed = min(hit.arrived for hit in after) - told.left
    others = [hit for hit in site.hits if hit.host == "localhost" and told.left < hit.arrived < told.left + pause]
    print(f"Retry-After {pause}: 127.0.0.1 resumed {resumed:.2f} s after the 429; "
          f"localhost answered {len(others)} requests meanwhile")
    assert resumed >= pause - 0.05
    assert any(hit.path == "/docs/0.pdf" and hit.status == 200 for hit in after)
    assert len(others) >= 10  # the other host kept its own pace


def test_a_document_answering_503_forever_fails_and_is_never_gone(tmp_path: Path) -> None:
    # Alone on its host at first, so no other answer interrupts its run of 503s.
    state = {"listed": ["/docs/down.pdf"], "retry_after": ""}

    def answer(host: str, method: str, path: str, nth: int) -> Answer:
        if path == "/library":
            return 200, HTML, listing(state["listed"])
        if path == "/docs/down.pdf":
            headers = {**HTML, "Retry-After": state["retry_after"]} if state["retry_after"] else HTML
            return 503, headers, b"<html>Service unavailable</html>"
        if path == "/docs/up.pdf":
            return 200, PDF, b"%PDF-1.4 up"
        return 404, HTML, b"<html>Not found</html>"

    with TwoHostSite(answer) as site:
        first = crawl(config_for(site, retries=2), tmp_path)
        asked = [hit.arrived for hit in site.hits if hit.path == "/docs/down.pdf"]
        # Delisted, it is probed (HEAD, then GET); the probe meets the 503 too, this time with Retry-After.
        state["listed"], state["retry_after"] = ["/docs/up.pdf"], "1"
        second = crawl(config_for(site, retries=0), tmp_path)
    assert first.status == second.status == "complete"
    assert outcomes(tmp_path, first.crawl_id)["down.pdf"] == {
        "url": site.url("127.0.0.1", "/docs/down.pdf"), "outcome": "failed", "http_status": 503, "listed": 1}
    gaps = [later - earlier for earlier, later in zip(asked, asked[1:], strict=False)]
    print(f"503 without Retry-After: asked {len(asked)} times, {', '.join(f'{gap:.2f}' for gap in gaps)} s apart")
    assert len(asked) == 3 and gaps[0] >= 0.95 and gaps[1] >= 1.95  # backed off exponentially, then given up
    probed = [hit for hit in site.hits if hit.path == "/docs/down.pdf"][len(asked):]
    assert [hit.method for hit in probed] == ["HEAD", "GET"] and probed[1].arrived - probed[0].left >= 0.95
    assert outcomes(tmp_path, second.crawl_id)["down.pdf"] == {
        "url": site.url("127.0.0.1", "/docs/down.pdf"), "outcome": "failed", "http_status": 503, "listed": 0}
    with Archive(tmp_path) as archive:
        diff_agency(archive, config_for(site))
        assert not list(archive.db.query("select * from events where kind = 'removed'"))
        assert not list(archive.db.query("select * from sightings where outcome = 'gone'"))


def test_a_host_asking_for_more_than_an_hour_is_given_up_not_waited_for(tmp_path: Path) -> None:
    def answer(host: str, method: str, path: str, nth: int) -> Answer:
        if path == "/library":
            return 429, {**HTML, "Retry-After": "7200"}, b"<html>Too many requests</html>"
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n"

    with TwoHostSite(answer) as site:
        started = time.monotonic()
        result = crawl(config_for(site, retries=3), tmp_path)
        took = time.monotonic() - started
    assert result.status != "complete"  # an unread listing page: incomplete or an outage, never removals
    assert [hit.status for hit in site.hits if hit.path == "/library"] == [429]
    assert took < 120  # a crawl's own start-up under load, never the hour it asked for
