"""Politeness as a budget: at most ``requests_per_minute`` requests a minute to any one host, whatever the
concurrency; slower when the host's robots.txt asks (``Crawl-delay``); and nothing at all to a host that answered 429
or 503 until the time it named (``Retry-After``), or, when it named none, for exponentially longer each time.

Scrapy already keeps one download slot per host and lets a request leave a slot only ``slot.delay`` seconds after
the one before it left (however many are in flight), so the budget is that delay, set by ``DOWNLOAD_DELAY`` with no
random jitter (the jitter is drawn anew each time the queue is looked at, so requests would leave at its low end and
the average rate would exceed the budget). This middleware keeps what each host asked for and applies it to the
host's slot whenever a request reaches it (Scrapy drops idle slots and makes new ones with the default delay):
the slower of the budget and the Crawl-delay, and a back-off as the slot's clock set forward, so the requests
already queued for that host wait too and other hosts' slots are untouched. The request that got the 429 or 503 is
retried after the back-off, within ``RETRY_TIMES``. A host asking for more than ``FOIAWATCH_BACKOFF_CAP`` seconds
(an hour) gets no more requests this crawl: they fail at once, so a library that cannot be read makes the crawl
incomplete or an outage instead of hanging it, and a failure is never evidence that a document is gone.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser

from ..web.ratelimit import retry_after
from .streaming import discard_body

log = logging.getLogger(__name__)

BACK_OFF_STATUSES = frozenset({429, 503})
BACKOFF_CAP = 3600.0  # seconds; FOIAWATCH_BACKOFF_CAP
BACKOFF_FIRST = 1.0  # the shortest first back-off without Retry-After, for a host with no budget
# Scrapy holds a slot's queue only when the slot has a delay: a host with no budget gets this one while it is paused.
_HOLD_DELAY = 0.001


@dataclass
class HostPace:
    """What one host asked of us this crawl."""

    crawl_delay: float = 0.0  # robots.txt Crawl-delay, seconds
    paused_until: float = 0.0  # time.monotonic(), Scrapy's slot clock
    failures: int = 0  # 429/503 answers without Retry-After since the host last answered otherwise
    given_up: str | None = None  # why the host gets no more requests this crawl


class HostBudget:
    """Downloader middleware (next to the downloader, so it sees each raw answer after the WARC has recorded it)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.interval = settings.getfloat("DOWNLOAD_DELAY")
        self.cap = settings.getfloat("FOIAWATCH_BACKOFF_CAP", BACKOFF_CAP)
        self.user_agent: str = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")
        self.hosts: defaultdict[str, HostPace] = defaultdict(HostPace)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostBudget:
        budget = cls(crawler)
        crawler.signals.connect(budget.request_reached_downloader, signal=signals.request_reached_downloader)
        crawler.signals.connect(budget.robots_parsed, signal=signals.robots_parsed)
        return budget

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        """Sent by Scrapy's RobotsTxtMiddleware (ROBOTSTXT_OBEY) before any request of that host is let through."""
        delay = robotparser.crawl_delay(self.user_agent)
        if not delay:
            return
        key = self._key(request)
        pace = self.hosts[key]
        pace.crawl_delay = max(pace.crawl_delay, delay)
        log.info("%s asks for a Crawl-delay of %g s in its robots.txt: at most one request every %g s to it", key,
                 delay, max(self.interval, pace.crawl_delay), extra={"host": key})
        self._apply(key)

    def request_reached_downloader(self, request: Request) -> None:
        """The host's slot exists now and the request is about to join its queue."""
        self._apply(self._key(request))

    def process_request(self, request: Request) -> None:
        pace = self.hosts.get(self._key(request))
        if pace is not None and pace.given_up:
            raise IgnoreRequest(pace.given_up)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        key = self._key(request)
        if response.status not in BACK_OFF_STATUSES:
            if key in self.hosts:
                self.hosts[key].failures = 0
            return response
        pace, now = self.hosts[key], time.monotonic()
        asked = retry_after((response.headers.get(b"Retry-After") or b"").decode("latin-1"))
        if asked is None:
            if pace.paused_until <= now:  # the answers to requests already in flight are one failure, not several
                pace.failures += 1
            wait = max(self.interval, pace.crawl_delay, BACKOFF_FIRST) * 2 ** (pace.failures - 1)
        else:
            wait = asked
        why = f"HTTP {response.status}" + (f" with Retry-After {asked:g} s" if asked is not None else "")
        if wait > self.cap:
            pace.given_up = (f"{key} answered {why}: a back-off of {wait:.0f} s is beyond the {self.cap:.0f} s cap, "
                             "so nothing more is asked of it this crawl")
            log.warning("%s", pace.given_up, extra={"host": key, "url": request.url})
            return response
        pace.paused_until = max(pace.paused_until, now + wait)
        self._apply(key)
        log.info("%s answered %s: no request to it for %.1f s", key, why, wait, extra={"host": key, "url": request.url})
        if request.meta.get("dont_retry"):
            return response
        assert self.crawler.spider is not None, "a response comes back only while a spider runs"
        # The pause already holds the retry back; its priority stays, so a listing page still goes before documents.
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"HTTP {response.status}",
                                  priority_adjust=0)
        if retry is None:
            return response
        discard_body(retry.meta)  # the error page's streamed body is in the WARC already
        return retry

    def _key(self, request: Request) -> str:
        """The request's download slot: its host, unless something set a slot of its own."""
        return self.crawler.engine.downloader.get_slot_key(request)

    def _apply(self, key: str) -> None:
        """Set the host's slot (if it exists now) to the host's pace."""
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is None:
            return
        pace = self.hosts.get(key) or HostPace()
        slot.delay = max(self.interval, pace.crawl_delay)
        if pace.paused_until > time.monotonic():
            # A request leaves the slot ``delay`` after the last one left: set "the last one left" forward.
            slot.delay = max(slot.delay, _HOLD_DELAY)
            slot.lastseen = max(slot.lastseen, pace.paused_until - slot.delay)
