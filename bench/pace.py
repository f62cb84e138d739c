"""Pace benchmark (issue 14): how soon a takedown or an edit is seen, and at what load on the agency — today's full
re-crawls every six hours against watch passes plus revalidation passes, at the same requests a day.

    .venv/bin/python bench/pace.py [--documents 3000] [--pages 150] [--rate 1.0] [--seed 7]

A library of D documents on P listing pages is served on 127.0.0.1 (ETag and 304 on every answer, HEAD, 404 for a
document taken down and gone from its page). One simulated day: 30 documents are taken down and 20 edited at
random moments. The passes really run — `foiawatch crawl --pass full|watch|revalidate` and the diff, on a copy of
one archive made by a first full crawl — and the server counts every request each pass makes; only the clock is
simulated: the agency's budget is --rate requests a second, so a pass of N requests lasts N/rate simulated seconds,
and the library changes between passes (an event at a moment inside a pass applies from the next one). A takedown
is detected when the diff announces it `removed` (after `removal_confirmations` passes), an edit when it announces
`changed`; each latency runs from the event to the end of the pass that announced it. The schedules:

- full: a full crawl at 00:00, 06:00, 12:00 and 18:00 (and on, until everything of the day is announced);
- watch: a watch pass every W minutes, and another `[passes] confirm_after` minutes after one that left a document
  a confirmation short (as the scheduler does), plus the nightly revalidation (at 03:00, a share of the documents
  such that each is re-checked within revalidate_days); W is the shortest period at which all of that, counting a
  confirmation pass for every takedown, sends no more requests a day than the full crawls did. After the day, only
  the passes still needed to announce the day's events run (watch passes until every takedown is announced, nightly
  revalidations until every edit is).

The last line reads: `pace: takedown latency <x>x lower at <y>x the requests, <n> false removals`.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.archive import Archive  # noqa: E402
from foiawatch.config import AgencyConfig, parse_config  # noqa: E402
from foiawatch.crawler import crawl  # noqa: E402
from foiawatch.pipeline import diff_agency  # noqa: E402
from tests.support.local_server import LocalServer  # noqa: E402

DAY = 86400.0
TAKEDOWNS, EDITS = 30, 20
FULL_EVERY = 6 * 3600.0
REVALIDATE_AT = 3 * 3600.0  # 03:00 each day
REVALIDATE_DAYS = 7.0


@dataclass
class Library:
    """The local library: P pages of D documents; ``taken`` are gone (off their page, 404), ``edited`` changed."""

    documents: int
    pages: int
    taken: set[int] = field(default_factory=set)
    edited: set[int] = field(default_factory=set)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server = LocalServer(self.answer, etags=True)
        self.url = self.server.url

    def per_page(self) -> int:
        return math.ceil(self.documents / self.pages)

    def page(self, number: int) -> bytes:
        size = self.per_page()
        items = "".join(f'<li><a href="/files/record-{n:05d}.pdf">Record {n}</a></li>'
                        for n in range(number * size, min((number + 1) * size, self.documents)) if n not in self.taken)
        pager = "".join(f'<a href="/library?page={n}">{n + 1}</a>' for n in range(1, self.pages) if n != number)
        return (f"<html><head><title>Records, page {number + 1}</title></head><body><main><h2>Records</h2>"
                f"<ul>{items}</ul><nav>{pager}</nav></main></body></html>").encode()

    def document(self, number: int) -> bytes:
        version = "revised" if number in self.edited else "original"
        return f"%PDF-1.4\n% record {number}, {version}\n%%EOF\n".encode()

    def answer(self, method: str, path: str, headers: object) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests += 1
        if path == "/library" or path.startswith("/library?page="):
            return 200, {"Content-Type": "text/html"}, self.page(int(path.rpartition("=")[2]) if "=" in path else 0)
        if path.startswith("/files/record-") and path.endswith(".pdf"):
            number = int(path[len("/files/record-"):-4])
            if number < self.documents and number not in self.taken:
                return 200, {"Content-Type": "application/pdf"}, self.document(number)
        return 404, {"Content-Type": "text/html"}, b"<html><title>Not found</title></html>"

    def close(self) -> None:
        self.server.close()


@dataclass(frozen=True)
class Event:
    at: float  # simulated seconds from the day's start
    kind: str  # "takedown" | "edit"
    number: int


@dataclass
class Outcome:
    """One schedule's simulated operation."""

    name: str
    passes: Counter = field(default_factory=Counter)  # by kind
    requests_day: int = 0  # requests of the passes that began in the day
    requests_by_kind: Counter = field(default_factory=Counter)  # in the day
    watch_pass_requests: list[int] = field(default_factory=list)
    watch_pass_expected: list[int] = field(default_factory=list)  # listing pages + probes + new documents
    takedown_latency: list[float] = field(default_factory=list)
    edit_latency: list[float] = field(default_factory=list)
    false_removals: int = 0
    wall: float = 0.0


def config_for(site: Library, *, watch: str = "") -> AgencyConfig:
    data = {"agency": {"id": "pace", "name": "Pace library", "library_urls": [site.url + "/library"]},
            "politeness": {"delay": 0.0, "requests_per_minute": 0.0, "concurrency": 8, "retries": 0},
            "passes": {"watch": watch, "revalidate": "0 3 * * *", "revalidate_days": REVALIDATE_DAYS}}
    return parse_config(data, "bench")


class Simulation:
    """Runs one schedule's passes against the library, on a simulated clock."""

    def __init__(self, site: Library, config: AgencyConfig, events: list[Event], data: Path, rate: float,
                 name: str):
        self.site, self.config, self.events, self.data, self.rate = site, config, events, data, rate
        self.applied: set[Event] = set()
        self.outcome = Outcome(name)
        self.announced: dict[tuple[str, int], float] = {}
        self.pending = 0

    def apply_until(self, moment: float) -> None:
        for event in self.events:
            if event.at <= moment and event not in self.applied:
                self.applied.add(event)
                (self.site.taken if event.kind == "takedown" else self.site.edited).add(event.number)

    def run(self, kind: str, start: float) -> float:
        """One pass beginning at ``start``; returns the simulated moment it ends (``self.pending``: documents now
        a confirmation short)."""
        self.apply_until(start)
        before = self.site.requests
        result = crawl(self.config, self.data, kind=kind)
        with Archive(self.data) as archive:
            last = archive.db.execute("select coalesce(max(id), 0) from events").fetchone()[0]
            diff_agency(archive, self.config)
            new = archive.db.execute("select kind, url from events where id > ?", [last]).fetchall()
            self.pending = archive.pending_removals(self.config.id)
        asked = self.site.requests - before
        end = start + asked / self.rate
        self.outcome.passes[kind] += 1
        if start < DAY:
            self.outcome.requests_day += asked
            self.outcome.requests_by_kind[kind] += asked
        if kind == "watch":
            self.outcome.watch_pass_requests.append(asked)
            row = result.crawl  # a quiet pass kept no crawl: it read the listing pages and nothing else
            self.outcome.watch_pass_expected.append(
                (row["pages_ok"] + row["pages_failed"] + row["probes"] + row["documents"]) if result.crawl_id
                else self.site.pages)
        for event_kind, url in new:
            number = int(url.rsplit("-", 1)[-1][:-4]) if url and "/files/record-" in url else -1
            if event_kind == "removed":
                if number not in self.site.taken:
                    self.outcome.false_removals += 1
                self.announced.setdefault(("takedown", number), end)
            elif event_kind == "changed":
                self.announced.setdefault(("edit", number), end)
        return end

    def waiting(self, kind: str) -> bool:
        return any(e.kind == kind and (e.kind, e.number) not in self.announced for e in self.events)

    def latencies(self) -> None:
        for event in self.events:
            moment = self.announced.get((event.kind, event.number))
            if moment is None:
                continue
            target = self.outcome.takedown_latency if event.kind == "takedown" else self.outcome.edit_latency
            target.append(moment - event.at)


def full_schedule(sim: Simulation) -> None:
    start, limit = 0.0, 3 * DAY
    while start < DAY or (sim.waiting("takedown") or sim.waiting("edit")) and start < limit:
        end = sim.run("full", start)
        start = max(start + FULL_EVERY, end)


def watch_schedule(sim: Simulation, every: float) -> None:
    """Watch passes every ``every`` seconds and a revalidation each night at 03:00 (a pass due while another runs
    starts when it ends, as the scheduler's max_instances=1 makes it skip and run next time)."""
    clock, next_watch, next_revalidation, limit = 0.0, 0.0, REVALIDATE_AT, (REVALIDATE_DAYS + 2) * DAY
    while clock < limit:
        in_day = clock < DAY
        if not in_day and not sim.waiting("takedown") and not sim.waiting("edit"):
            break
        watch_due = in_day or sim.waiting("takedown")
        revalidation_due = in_day or sim.waiting("edit")
        if revalidation_due and next_revalidation <= next_watch or not watch_due:
            clock = sim.run("revalidate", max(clock, next_revalidation))
            next_revalidation += DAY
        else:
            clock = sim.run("watch", max(clock, next_watch))
            while next_watch < clock:
                next_watch += every
            if sim.pending and sim.config.passes.confirm_after:  # the scheduler's confirmation run
                next_watch = min(next_watch, clock + sim.config.passes.confirm_after * 60)


def prepare(site: Library, seed: int) -> tuple[list[Event], Path]:
    rng = random.Random(seed)
    chosen = rng.sample(range(site.documents), TAKEDOWNS + EDITS)
    events = [Event(rng.uniform(0, DAY), "takedown", n) for n in chosen[:TAKEDOWNS]]
    events += [Event(rng.uniform(0, DAY), "edit", n) for n in chosen[TAKEDOWNS:]]
    base = Path(tempfile.mkdtemp(prefix="foiawatch-pace-"))
    crawl(config_for(site), base / "first")  # the archive both schedules start from
    with Archive(base / "first") as archive:
        diff_agency(archive, config_for(site))
    return sorted(events, key=lambda e: e.at), base


def simulate(site: Library, config: AgencyConfig, events: list[Event], base: Path, rate: float, name: str,
             schedule) -> Outcome:
    site.taken.clear()
    site.edited.clear()
    data = base / name
    shutil.copytree(base / "first", data)
    sim = Simulation(site, config, events, data, rate, name)
    started = time.monotonic()
    schedule(sim)
    sim.outcome.wall = time.monotonic() - started
    sim.latencies()
    return sim.outcome


def minutes(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    return f"median {median(seconds) / 60:.1f} min, max {max(seconds) / 60:.1f} min"


def report(outcome: Outcome, events: list[Event]) -> None:
    takedowns = sum(1 for e in events if e.kind == "takedown")
    edits = sum(1 for e in events if e.kind == "edit")
    print(f"{outcome.name}: {dict(outcome.passes)} passes ({outcome.wall:.0f} s of wall time)")
    print(f"  requests in the day: {outcome.requests_day} ({dict(outcome.requests_by_kind)})")
    print(f"  takedowns announced: {len(outcome.takedown_latency)}/{takedowns}, {minutes(outcome.takedown_latency)}")
    print(f"  edits announced:     {len(outcome.edit_latency)}/{edits}, {minutes(outcome.edit_latency)}")
    if outcome.watch_pass_requests:
        ratios = [asked / expected for asked, expected in zip(outcome.watch_pass_requests,
                                                               outcome.watch_pass_expected, strict=True)]
        print(f"  requests per watch pass: median {median(outcome.watch_pass_requests):.0f}, max "
              f"{max(outcome.watch_pass_requests)}; per (listing pages + probes + new documents): max "
              f"{max(ratios):.2f}x")
    print(f"  false removals: {outcome.false_removals}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--rate", type=float, default=1.0, help="the budget, requests a second (simulated)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    site = Library(args.documents, args.pages)
    events, base = prepare(site, args.seed)
    try:
        full = simulate(site, config_for(site), events, base, args.rate, "full", full_schedule)
        report(full, events)
        revalidation = math.ceil(args.documents / REVALIDATE_DAYS)
        watch_cost = args.pages + 1  # the listing pages and robots.txt
        # Each takedown: two probes, and a confirmation pass of its own at worst.
        passes = (full.requests_day - revalidation - TAKEDOWNS * (watch_cost + 2)) // watch_cost
        every = math.ceil(DAY / passes / 60) * 60
        print(f"watch every {every / 60:.0f} min: {passes} passes of ~{watch_cost} requests, up to {TAKEDOWNS} "
              f"confirmation passes and {revalidation} revalidations fit the full crawls' {full.requests_day} "
              "requests a day")
        config = config_for(site, watch="*/15 * * * *")  # a watch agency; the simulation keeps the clock itself
        watch = simulate(site, config, events, base, args.rate, "watch", lambda sim: watch_schedule(sim, every))
        report(watch, events)
    finally:
        site.close()
        shutil.rmtree(base, ignore_errors=True)
    ratio = median(full.takedown_latency) / median(watch.takedown_latency)
    load = watch.requests_day / full.requests_day
    edits_in_time = all(latency <= REVALIDATE_DAYS * DAY for latency in watch.edit_latency) and \
        len(watch.edit_latency) == EDITS
    print(f"every edit announced within revalidate_days ({REVALIDATE_DAYS:g} days): {edits_in_time}")
    print(f"pace: takedown latency {ratio:.1f}x lower at {load:.2f}x the requests, "
          f"{full.false_removals + watch.false_removals} false removals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
