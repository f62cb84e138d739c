"""Ask the library whether captured URLs we never saw listed are still there: the facts the baseline decides from.

A document the Wayback Machine captured under the library, and that no crawl of ours ever listed, was either
removed before monitoring began or is still served without a link. Only the library can say which, so each such
URL is checked politely (the agency's delay, timeout, retries, User-Agent and robots.txt): HEAD first, and a GET
only when HEAD does not settle it, since a 200 may be an HTML "not found" page. Answers that say nothing about the
document (5xx, timeouts, 401/403/429, a bot challenge, the library's outage notice) are recorded as such and never
conclude anything; probing is refused altogether unless the agency's last crawl was complete (docs/DESIGN.md rule 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

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
    """Probes made, by outcome; ``skipped`` says why none were made."""

    outcomes: Counter = field(default_factory=Counter)
    skipped: str | None = None

    @property
    def probed(self) -> int:
        return sum(self.outcomes.values())


def probe_never_listed(archive: Archive, config: AgencyConfig,
                       progress: Callable[[int, int], None] | None = None) -> ProbeStats:
    """Probe every captured URL never seen listed whose last probe did not already find it gone.

    ``progress(done, total)`` is called before the first probe and after each.
    """
    refusal = _refusal(archive, config.id)
    if refusal:
        return ProbeStats(skipped=refusal)
    urls = [row["url"] for row in archive.db.query(
        f"""
        select n.url from ({NEVER_LISTED}) n left join ({LATEST_PROBES}) p on p.url = n.url
        where p.outcome is null or p.outcome not in ('{ProbeOutcome.GONE}', '{ProbeOutcome.SOFT_404}')
        order by n.url
        """,
        {"agency": config.id},
    )]
    stats = ProbeStats()
    if progress:
        progress(0, len(urls))
    with _Prober(config) as prober:
        for done, url in enumerate(urls, 1):
            answer = prober.probe(url)
            with archive.db.conn:  # one short transaction per probe: crawls may be writing meanwhile
                archive.db.execute(
                    "insert into wayback_probes (agency_id, url, probed_at, http_status, final_url, content_type,"
                    " outcome, error) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [config.id, url, utcnow(), answer.http_status, answer.final_url, answer.content_type,
                     answer.outcome, answer.error],
                )
            stats.outcomes[answer.outcome] += 1
            if progress:
                progress(done, len(urls))
        with archive.db.conn:
            for key, probe_url, signature, error in prober.learned:
                archive.record_not_found_signature(config.id, None, key, probe_url,
                                                   signature.as_evidence() if signature else None, error)
    return stats


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


class _Prober:
    """One polite HTTP session to the library (web.fetch), with the site's not-found page learned once per site."""

    def __init__(self, config: AgencyConfig):
        self.config = config
        self.http = PoliteSession(config.politeness)
        self.signatures: dict[str, NotFoundSignature | None] = {}
        self.learned: list[tuple[str, str, NotFoundSignature | None, str | None]] = []  # to keep as evidence

    def __enter__(self) -> _Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.__exit__()

    def probe(self, url: str) -> ProbeAnswer:
        if not self.http.allowed(url):
            return ProbeAnswer(ProbeOutcome.SKIPPED, error="robots.txt disallows it")
        try:
            head = self.http.send("HEAD", url)
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

    def _get(self, url: str) -> Answer:
        fetched = self.http.fetch(url, HEAD_BYTES)
        return Answer.of(url, fetched.status, fetched.final_url, fetched.headers, fetched.body)

    def _signature(self, url: str) -> NotFoundSignature | None:
        """How ``url``'s site answers a URL that does not exist: asked once per site and run (cached)."""
        key = signature_key(url)
        if key not in self.signatures:
            probe_url = nonexistent_url(url)
            try:
                self.signatures[key] = NotFoundSignature.learn(self._get(probe_url))
                error = None
            except requests.RequestException as failure:
                self.signatures[key], error = None, f"{type(failure).__name__}: {failure}"
            self.learned.append((key, probe_url, self.signatures[key], error))
        return self.signatures[key]


def _answer(outcome: str, answer: requests.Response | Answer, error: str | None = None) -> ProbeAnswer:
    if isinstance(answer, Answer):
        return ProbeAnswer(outcome, answer.status, answer.final_url, answer.headers.get("content-type"), error)
    return ProbeAnswer(outcome, answer.status_code, answer.url, answer.headers.get("Content-Type"), error)
