"""Live probes of captured URLs no crawl ever listed (issue 14, item 3): a budget per run, several requests in
flight within the per-host budget, and every answer stored as it arrives so an interrupted run loses nothing.

The library is a StaticSite on 127.0.0.1 whose routes log when each request came and may answer slowly; its
captures come from the Wayback stand-in.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from foiawatch.archive import Archive
from foiawatch.config import AgencyConfig
from foiawatch.crawler import crawl
from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
from foiawatch.diff.baseline import run_baseline
from foiawatch.wayback import WaybackClient
from foiawatch.wayback.cdx_sync import sync_captures
from foiawatch.wayback.probes import probe_never_listed

from .conftest import StaticSite, demo_config

FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01)
FOLDER = "/doclib/foia/"
HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF = {"Content-Type": "application/pdf"}
LIBRARY = (200, HTML, b'<html><body><main id="main-content"><a href="/doclib/foia/listed.pdf">Listed</a></main>')
ROUTES = {"/foia/library": LIBRARY, "/doclib/foia/listed.pdf": (200, PDF, b"%PDF-1.4 listed")}


@dataclass(frozen=True)
class Hit:
    path: str
    arrived: float
    answered: float


class Routes(dict):
    """StaticSite routes that log every request (arrival and answer times) and answer under FOLDER after
    ``latency`` seconds, as a slow library does."""

    def __init__(self, routes: dict, latency: float = 0.0):
        super().__init__(routes)
        self.latency = latency
        self.hits: list[Hit] = []
        self.lock = threading.Lock()

    def get(self, path, default=None):
        arrived = time.monotonic()
        if path.startswith(FOLDER):
            time.sleep(self.latency)
        with self.lock:
            self.hits.append(Hit(path, arrived, time.monotonic()))
        return super().get(path, default)


def captured(data: Path, site: StaticSite, standin: WaybackStandin, names: list[str],
             **politeness: float) -> tuple[Archive, AgencyConfig]:
    """A complete crawl of the one-document library, and the captures of ``names`` (never listed) synced."""
    standin.add(*(capture(site, name) for name in names))
    config = demo_config(site.url, **politeness)
    config = replace(config, wayback=replace(config.wayback, base_url=standin.url,
                                             prefix=urlsplit(site.url).netloc + FOLDER))
    assert crawl(config, data).status == "complete"
    archive = Archive(data)
    sync_captures(archive, config, WaybackClient(standin.url, **FAST))
    return archive, config


def capture(site: StaticSite, name: str) -> StandinCapture:
    return StandinCapture(site.url + FOLDER + name, "20160101000000", 200, "application/pdf", name.encode())


def budget(config: AgencyConfig, probes_per_run: int, **politeness: float) -> AgencyConfig:
    return replace(config, wayback=replace(config.wayback, probes_per_run=probes_per_run),
                   politeness=replace(config.politeness, **politeness))


def answers(archive: Archive) -> list[tuple[str, str]]:
    """Every probe stored, oldest first: (file name, outcome)."""
    return [(row["url"].rsplit("/", 1)[1], row["outcome"])
            for row in archive.db.query("select url, outcome from wayback_probes order by id")]


def in_flight(hits: list[Hit]) -> int:
    """The most requests the server was answering at once."""
    edges = sorted([(h.arrived, 1) for h in hits] + [(h.answered, -1) for h in hits])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def busiest_second(hits: list[Hit]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(h.arrived for h in hits)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def test_a_thousand_urls_are_probed_300_a_run_each_once_and_as_if_all_at_once(tmp_path):
    names = [f"record-{n:04d}.pdf" for n in range(1000)]
    served = {name for n, name in enumerate(names) if n % 3 == 0}
    routes = dict(ROUTES, **{FOLDER + name: (200, PDF, b"%PDF-1.4 " + name.encode()) for name in served})
    with StaticSite(routes) as site, WaybackStandin([]) as standin:
        archive, config = captured(tmp_path / "budgeted", site, standin, names, requests_per_minute=0)
        archive.close()
        shutil.copytree(tmp_path / "budgeted", tmp_path / "at-once")
        archive = Archive(tmp_path / "budgeted")
        runs = [probe_never_listed(archive, budget(config, 300)) for _ in range(4)]
        in_four_runs = answers(archive)
        fifth = probe_never_listed(archive, budget(config, 300))
        with Archive(tmp_path / "at-once") as at_once:
            assert probe_never_listed(at_once, budget(config, 1000)).probed == 1000
            all_at_once = answers(at_once)

    assert [(run.probed, run.left) for run in runs] == [(300, 700), (300, 400), (300, 100), (100, 0)]
    assert len(in_four_runs) == len({name for name, _ in in_four_runs}) == 1000, "every URL once"
    assert dict(in_four_runs) == dict(all_at_once)
    assert {name for name, outcome in in_four_runs if outcome == "served"} == served
    # The next pass asks again only what was served (gone is final), those asked longest ago first.
    assert (fifth.outcomes, fifth.left) == ({"served": 300}, len(served) - 300)
    oldest_served = [name for name, outcome in in_four_runs if outcome == "served"][:300]
    assert {name for name, _ in answers(archive)[1000:]} == set(oldest_served)
    archive.close()


def test_probes_run_concurrently_within_the_per_host_budget(tmp_path):
    names = [f"gone-{n:03d}.pdf" for n in range(65)]  # 404: one HEAD each
    routes = Routes(ROUTES, latency=0.2)
    with StaticSite(routes) as site, WaybackStandin([]) as standin:
        archive, config = captured(tmp_path, site, standin, names, requests_per_minute=1200)  # one request per 50 ms
        timed = []
        for workers, count in ((1, 15), (8, 50)):
            routes.hits.clear()
            started = time.monotonic()
            stats = probe_never_listed(archive, budget(config, count, concurrency=workers))
            timed.append(((time.monotonic() - started) / count, list(routes.hits)))
            assert stats.outcomes == {"gone": count}
    (alone, alone_hits), (together, together_hits) = timed
    print(f"\n{alone * 1000:.0f} ms a URL one at a time, {together * 1000:.0f} ms at concurrency 8 "
          f"(200 ms a request, 50 ms between requests)")
    assert in_flight(alone_hits) == 1
    assert in_flight(together_hits) >= 3, "several requests in flight"
    assert busiest_second(together_hits) <= 21, "never more than the budget's 20 requests a second (+1 at the edge)"
    assert alone >= 2 * together


def test_a_run_stopped_midway_keeps_its_answers_and_the_next_run_goes_on(tmp_path):
    names = [f"record-{n:02d}.pdf" for n in range(60)]
    routes = dict(ROUTES, **{FOLDER + name: (200, PDF, b"%PDF-1.4") for name in names[::2]})

    def stop_after_25(done: int, total: int) -> None:
        if done == 25:
            raise KeyboardInterrupt

    with StaticSite(routes) as site, WaybackStandin([]) as standin:
        archive, config = captured(tmp_path, site, standin, names, requests_per_minute=0)
        with pytest.raises(KeyboardInterrupt):
            probe_never_listed(archive, config, progress=stop_after_25)
        kept = answers(archive)
        after = probe_never_listed(archive, config)

    assert len(kept) == 25
    assert (after.probed, after.left) == (35, 0)
    assert sorted(name for name, _ in answers(archive)) == names, "each URL asked once in all"


def test_block_pages_and_5xx_conclude_nothing_and_are_asked_again_before_served_urls(tmp_path):
    routes = dict(ROUTES, **{
        FOLDER + "served-a.pdf": (200, PDF, b"%PDF-1.4 a"),
        FOLDER + "served-b.pdf": (200, PDF, b"%PDF-1.4 b"),
        FOLDER + "error-503.pdf": (503, HTML, b"<html><title>Service unavailable</title></html>"),
        FOLDER + "forbidden-403.pdf": (403, HTML, b"<html><title>Access Denied</title><h1>Access Denied</h1>"
                                                  b"<p>Reference #18.1234</p></html>"),
    })
    names = ["error-503.pdf", "forbidden-403.pdf", "gone-a.pdf", "gone-b.pdf", "served-a.pdf", "served-b.pdf"]
    with StaticSite(routes) as site, WaybackStandin([]) as standin:
        archive, config = captured(tmp_path, site, standin, names, requests_per_minute=0)
        first = probe_never_listed(archive, budget(config, 10))
        # A URL captured since joins the pass under way; the pass's other URLs are not asked twice.
        standin.add(capture(site, "new.pdf"))
        sync_captures(archive, config, WaybackClient(standin.url, **FAST))
        second = probe_never_listed(archive, budget(config, 2))
        third = probe_never_listed(archive, budget(config, 2))
        fourth = probe_never_listed(archive, budget(config, 10))
        result = run_baseline(archive, config.id, config.wayback.all_prefixes)

    assert first.outcomes == {"gone": 2, "served": 2, "failed": 1, "blocked": 1}
    assert asdict(first)["outcomes"] == first.outcomes, "as `foiawatch wayback --json` shows them"
    assert (second.outcomes, second.left) == ({"gone": 1}, 0)
    asked = answers(archive)
    assert sorted(asked[7:9]) == [("error-503.pdf", "failed"), ("forbidden-403.pdf", "blocked")], \
        "no conclusion yet: asked first in the next pass"
    assert (third.left, fourth.outcomes, fourth.left) == (2, {"served": 2}, 0)
    assert (result.gone, result.served, result.inconclusive, result.created) == (3, 2, 2, 3)


def test_the_wayback_command_says_how_many_urls_wait_for_the_next_run(tmp_path):
    from .test_wayback_baseline import crawl_once, run, write_config

    with StaticSite(dict(ROUTES)) as site, WaybackStandin([]) as standin:
        standin.add(*(capture(site, f"gone-{n}.pdf") for n in range(5)))
        write_config(tmp_path / "configs", site.url, standin.url, probes_per_run=3)
        crawl_once(tmp_path)
        output = run("wayback", tmp_path, "--quiet")
    assert "Probed 3 captured URLs never listed: 3 gone; 2 left for the next run." in output
