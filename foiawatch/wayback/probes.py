"""Ask the library whether captured URLs we never saw listed are still there: the facts the baseline decides from.

A document the Wayback Machine captured under the library, and that no crawl of ours ever listed, was either
removed before monitoring began or is still served without a link. Only the library can say which, so each such
URL is checked politely (the agency's delay, timeout, retries, User-Agent and robots.txt): HEAD first, and a GET
only when HEAD does not settle it, since a 200 may be an HTML "not found" page. Answers that say nothing about the
document (5xx, timeouts, 401/403/429, a bot challenge, the library's outage notice) are recorded as such and never
conclude anything; probing is refused altogether unless the agency's last crawl was complete (docs/DESIGN.md rule 1).

A library may have thousands of such URLs, so a run asks at most ``[wayback] probes_per_run`` of them, up to
``[politeness] concurrency`` at a time, while every request to a host waits its turn on that host's one limiter (the
per-host budget holds whatever the concurrency). Runs go through the URLs in passes that ask each URL once: first
those never asked, then those whose last answer concluded nothing (longest ago first), then those last found
served (a document can still be taken down); a URL found gone is not asked again. Each answer is stored as it
arrives, so a run cut short keeps what it learned and the next one carries on with the pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from ..archive.captures import LATEST_PROBES, NEVER_LISTED
from ..archive.store import Archive, utcnow
from ..archive.vocabulary import CrawlStatus, ProbeOutcome
from ..config import AgencyConfig
from ..web.answers import (
    HEAD_BYTES,
    Answer,
    NotFoundSignature,
    block_reason,
    judge_document_answer,
    nonexistent_url,
    signature_key,
)
from ..web.fetch import PoliteSession
from ..web.parse import parse_listing
from ..web.ratelimit import shared_gate, shared_limiter

# The captured URLs never listed that are still worth asking about, in the order a pass asks them (a lower probe id
# is an older answer).
_CANDIDATES = f"""
    select n.url from ({NEVER_LISTED}) n left join ({LATEST_PROBES}) p on p.url = n.url
    where p.outcome is null or p.outcome not in ('{ProbeOutcome.GONE}', '{ProbeOutcome.SOFT_404}')
    order by case when p.outcome is null then 0 when p.outcome = '{ProbeOutcome.SERVED}' then 2 else 1 end,
             p.id, n.url
"""


@dataclass(frozen=True)
class ProbeAnswer:
    """What the library answered for one URL (a row of ``wayback_probes``)."""

    outcome: str
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    error: str | None = None


@dataclass
class ProbeStats:
    """Probes made, by outcome; ``left``: URLs of the pass this run had no budget for; ``skipped`` says why none
    were made."""

    outcomes: dict[str, int] = field(default_factory=dict)  # not a Counter: dataclasses.asdict garbles one (--json)
    left: int = 0
    skipped: str | None = None

    @property
    def probed(self) -> int:
        return sum(self.outcomes.values())


_Learned = tuple[str, str, NotFoundSignature | None, str | None]  # key, probe URL, signature, why none was learned


def probe_never_listed(archive: Archive, config: AgencyConfig,
                       progress: Callable[[int, int], None] | None = None) -> ProbeStats:
    """Ask the library about the next ``[wayback] probes_per_run`` URLs of the pass (see the module docstring).

    ``progress(done, total)`` is called before the first probe and after each answer is stored; an exception it
    raises stops the run, and the answers stored so far are kept.
    """
    refusal = _refusal(archive, config.id)
    if refusal:
        return ProbeStats(skipped=refusal)
    due = _due(archive, config.id)
    batch = due[:config.wayback.probes_per_run]
    stats = ProbeStats(left=len(due) - len(batch))
    if progress:
        progress(0, len(batch))
    with _Prober(config) as prober:
        for url, answer in prober.answers(batch):
            # One short transaction per answer: crawls may be writing meanwhile, and a run cut short keeps every
            # answer it stored.
            with archive.db.conn:
                for key, probe_url, signature, error in prober.take_learned():
                    archive.record_not_found_signature(config.id, None, key, probe_url,
                                                       signature.as_evidence() if signature else None, error)
                archive.db.execute(
                    "insert into wayback_probes (agency_id, url, probed_at, http_status, final_url, content_type,"
                    " outcome, error) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [config.id, url, utcnow(), answer.http_status, answer.final_url, answer.content_type,
                     answer.outcome, answer.error],
                )
            stats.outcomes[answer.outcome] = stats.outcomes.get(answer.outcome, 0) + 1
            if progress:
                progress(stats.probed, len(batch))
    return stats


def _due(archive: Archive, agency_id: str) -> list[str]:
    """The URLs the pass has yet to ask, in the order to ask them; all of them again once the pass is through."""
    candidates = [row["url"] for row in archive.db.query(_CANDIDATES, {"agency": agency_id})]
    asked = _asked_this_pass(archive, agency_id)
    return [url for url in candidates if url not in asked] or candidates


def _asked_this_pass(archive: Archive, agency_id: str) -> set[str]:
    """The URLs asked since the current pass began. A pass asks each URL once and the next begins by asking one
    again, so the passes are read back from the stored answers: nothing else to keep in step with them."""
    asked: set[str] = set()
    for (url,) in archive.db.execute("select url from wayback_probes where agency_id = ? order by id", [agency_id]):
        if url in asked:
            asked = set()
        asked.add(url)
    return asked


def _refusal(archive: Archive, agency_id: str) -> str | None:
    """Why probing now could mislead, or None: a 404 means something only from a library that is up and whose
    last crawl listed it completely."""
    row = archive.db.execute(
        "select id, status, status_reason from crawls where agency_id = ? and status != ? order by id desc limit 1",
        [agency_id, CrawlStatus.RUNNING],
    ).fetchone()
    if row is None:
        return f"no crawl of {agency_id} yet: run `foiawatch crawl {agency_id}` first"
    crawl_id, status, reason = row
    if status != CrawlStatus.COMPLETE:
        return (f"the last crawl of {agency_id} (#{crawl_id}) is {status} ({reason}); "
                "captured URLs are probed only after a complete crawl")
    return None


class _Sessions(threading.local):
    """One thread's polite sessions, by host: a requests session is not safe to share between threads."""

    def __init__(self) -> None:
        self.by_host: dict[str, PoliteSession] = {}


class _Prober:
    """Probes on ``[politeness] concurrency`` worker threads, each with its own sessions (web.fetch) and every session
    to a host paced by the one limiter of that host in this process; the site's not-found page learned once per
    site and run, whichever thread needs it first."""

    def __init__(self, config: AgencyConfig):
        self.config = config
        self.pool = ThreadPoolExecutor(max(1, config.politeness.concurrency), thread_name_prefix="probe")
        self.local = _Sessions()
        self.sessions: list[PoliteSession] = []  # every thread's, to close
        self.lock = threading.Lock()  # guards the lists above and below
        self.learning = threading.Lock()  # held while one thread asks for a not-found page; the others wait
        self.signatures: dict[str, NotFoundSignature | None] = {}
        self.learned: list[_Learned] = []  # learned since the last take_learned, to keep as evidence

    def __enter__(self) -> _Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(cancel_futures=True)  # a run stopped early waits only for the requests in flight
        for session in self.sessions:
            session.__exit__()

    def answers(self, urls: list[str]) -> Iterator[tuple[str, ProbeAnswer]]:
        """Each URL with its answer, as answers arrive. robots.txt is read on this thread, once per site."""
        asked: dict[Future[ProbeAnswer], str] = {}
        for url in urls:
            if self._http(url).allowed(url):
                asked[self.pool.submit(self.probe, url)] = url
            else:
                yield url, ProbeAnswer(ProbeOutcome.SKIPPED, error="robots.txt disallows it")
        for future in as_completed(asked):
            yield asked[future], future.result()

    def take_learned(self) -> list[_Learned]:
        """The not-found pages learned since the last call."""
        with self.lock:
            learned, self.learned = self.learned, []
        return learned

    def probe(self, url: str) -> ProbeAnswer:
        try:
            head = self._http(url).send("HEAD", url)
            head.close()
            if head.status_code in (404, 410):
                return _answer(ProbeOutcome.GONE, head)
            answer = self._get(url)
        except requests.RequestException as error:
            return ProbeAnswer(ProbeOutcome.FAILED, error=f"{type(error).__name__}: {error}")
        if answer.is_html and not block_reason(answer.status, answer.headers, answer.body, url) and \
                parse_listing(answer.body, answer.final_url, self.config).outage_notice:
            return _answer(ProbeOutcome.OUTAGE, answer, "the library's outage notice: no conclusion")
        signature = self._signature(url) if answer.is_html else None
        judgement = judge_document_answer(answer, signature, self.config.library_urls)
        served = judgement.outcome == ProbeOutcome.SERVED
        return _answer(judgement.outcome, answer, None if served else judgement.reason)

    def _http(self, url: str) -> PoliteSession:
        """This thread's session to ``url``'s host, paced by the limiter all sessions to that host share."""
        host = urlsplit(url).netloc.lower()
        session = self.local.by_host.get(host)
        if session is None:
            politeness = self.config.politeness
            session = self.local.by_host[host] = PoliteSession(politeness)
            if politeness.interval > 0:
                session.pace = shared_limiter(host, 1, politeness.interval, shared_gate(host))
            with self.lock:
                self.sessions.append(session)
        return session

    def _get(self, url: str) -> Answer:
        fetched = self._http(url).fetch(url, HEAD_BYTES)
        return Answer.of(url, fetched.status, fetched.final_url, fetched.headers, fetched.body)

    def _signature(self, url: str) -> NotFoundSignature | None:
        """How ``url``'s site answers a URL that does not exist: asked once per site and run (cached)."""
        key = signature_key(url)
        with self.learning:
            if key not in self.signatures:
                probe_url = nonexistent_url(url)
                try:
                    self.signatures[key] = NotFoundSignature.learn(self._get(probe_url))
                    error = None
                except requests.RequestException as failure:
                    self.signatures[key], error = None, f"{type(failure).__name__}: {failure}"
                with self.lock:
                    self.learned.append((key, probe_url, self.signatures[key], error))
            return self.signatures[key]


def _answer(outcome: str, answer: requests.Response | Answer, error: str | None = None) -> ProbeAnswer:
    if isinstance(answer, Answer):
        return ProbeAnswer(outcome, answer.status, answer.final_url, answer.headers.get("content-type"), error)
    return ProbeAnswer(outcome, answer.status_code, answer.url, answer.headers.get("Content-Type"), error)
