"""The library spider: walks every listing page of one agency, fetches every linked document, probes the missing.

Listing pages are parsed by :mod:`foiawatch.web.parse`; what was seen goes to the :class:`~.recorder.CrawlRecorder`.
Document bodies stream to disk (:mod:`.streaming`) and are moved into the blob store only once complete and hashed.
An HTML page where a document was is judged by :mod:`foiawatch.web.answers` against the site's own not-found page,
learned once per site and crawl by asking for a URL that certainly does not exist.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from ..archive.blobs import BlobError
from ..archive.vocabulary import CrawlKind, CrawlStatus, FetchOutcome, ProbeOutcome
from ..archive.warc import CrawlWarc
from ..config import read_url_list
from ..web.answers import (
    HEAD_BYTES,
    Answer,
    NotFoundSignature,
    block_reason,
    judge_document_answer,
    nonexistent_url,
    signature_key,
)
from ..web.parse import DocumentLink, classify_response, page_text, parse_listing
from ..web.sniff import is_html, sniff_mimetype
from ..web.urls import canonical_url, is_document_url
from .recorder import CrawlRecorder
from .streaming import BODY_META, STREAM_META, DiskBody, discard_body

LISTING = "foiawatch_listing"
DOCUMENT = "foiawatch_document"
PAYLOAD_META = "foiawatch_payload_record"  # where the WARC holds the payload of the answer (archive.warc.PayloadRecord)
# Statuses the spider wants to see itself rather than have Scrapy drop (redirects stay Scrapy's to follow).
SEEN_STATUSES = [304, *range(400, 600)]
NOT_FOUND_PAGE_MAX_BYTES = 2 * 1024 * 1024  # a site's not-found page larger than this is not learned
GONE = frozenset({FetchOutcome.GONE, FetchOutcome.SOFT_404})


class LibrarySpider(scrapy.Spider):
    name = "foiawatch-library"

    def __init__(
        self,
        recorder: CrawlRecorder,
        known: dict[str, dict[str, Any]],
        stream_dir: Path,
        warc: CrawlWarc,
        progress: Callable[[str, dict[str, Any]], None],
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.recorder = recorder
        self.config = recorder.config
        self.known = known
        self.stream_dir = stream_dir
        stream_dir.mkdir(parents=True, exist_ok=True)
        self.warc = warc
        self.progress = progress
        self.roots = [canonical_url(url) or url for url in self.config.library_urls]
        self.pages_requested: set[str] = set()
        self.probed = False
        self.signatures: dict[str, NotFoundSignature | None] = {}  # per signature_key, learned this crawl
        self._learning: dict[str, list[Deferred[NotFoundSignature | None]]] = {}
        # A library_file: its name as the "listing page" its records are listed on, its size, and how many of
        # its URLs answered gone this crawl.
        self.url_list = f"library_file:{Path(self.config.library_file).name}" if self.config.library_file else None
        self.listed_urls = 0
        self.gone_urls = 0

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> LibrarySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    async def start(self):
        if self.recorder.kind == CrawlKind.REVALIDATE:
            for request in self.revalidation_requests():
                yield request
            return
        for url in self.roots:
            yield self.listing_request(url, page_number=0, is_root=True)
        for request in self.url_list_requests():
            yield request

    def revalidation_requests(self) -> Iterator[scrapy.Request]:
        """A revalidation pass: the documents due a re-check, conditionally (a 304 costs the site nothing)."""
        passes = self.config.passes
        older_than = (datetime.now(UTC) - timedelta(days=passes.revalidate_days)).isoformat(timespec="seconds")
        due = self.recorder.archive.documents_to_revalidate(self.config.id, passes.revalidate_share(), older_than,
                                                             passes.revalidate_requests)
        for document_id, url in due:
            if self.config.host_allowed(url):
                yield self.document_request(url, document_id, listed=False)

    # a library_file of URLs -------------------------------------------------------------------------------------

    def url_list_requests(self) -> Iterator[scrapy.Request]:
        """Every URL of the library_file, fetched each crawl. A record is listed unless its answer says it is
        gone (404/410, a redirect to the home page, the site's not-found page): then the crawl probed it, and diff
        counts the confirmations as for any document no longer listed."""
        if self.url_list is None:
            return
        for row in read_url_list(self.config.library_file):
            url = canonical_url(row.url)
            if url is None:
                continue
            self.listed_urls += 1
            document_id = self.recorder.document(url, row.title, row.section)
            if self.config.host_allowed(url):
                yield self.document_request(url, document_id, listed=True, listing=(self.url_list, row.section,
                                                                                   row.title), in_list=True)
            else:
                self.recorder.linked(document_id, self.url_list, row.section, row.title)
                self.recorder.sighting(document_id, listed=True, outcome=FetchOutcome.SKIPPED,
                                       listing_page=self.url_list, section=row.section, link_text=row.title,
                                       error="host not in the agency's allowed_hosts")

    def record_url_list(self) -> None:
        """The library_file as the crawl's listing page: failed when most of its URLs answered gone at once (a site
        moved or broken, which is one problem and not that many removals)."""
        if self.url_list is None:
            return
        share = self.config.outage.failed_page_share
        error = None
        if self.listed_urls and self.gone_urls / self.listed_urls > share:
            error = (f"{self.gone_urls} of {self.listed_urls} URLs of the list answered gone in one crawl: more "
                     f"than {share:.0%} at once is taken for a site problem, not removals")
        self.recorder.page(self.url_list, final_url=None, http_status=200, page_number=0, is_root=True,
                           error=error, document_links=self.listed_urls - self.gone_urls)

    # listing pages ------------------------------------------------------------------------------------------

    def listing_request(self, url: str, page_number: int, is_root: bool = False) -> scrapy.Request:
        """A listing page; on a watch pass asked conditionally, when the last complete crawl read it."""
        self.pages_requested.add(url)
        previous = self.recorder.archive.last_page_read(self.config.id, url) if self.recorder.watching else None
        return scrapy.Request(
            url,
            callback=self.parse_listing_page,
            errback=self.listing_failed,
            # We de-duplicate pages ourselves; Scrapy's filter would silently drop a redirect back to a page
            # already asked for (a redirect loop), leaving a page neither answered nor failed.
            dont_filter=True,
            meta={LISTING: {"page_number": page_number, "is_root": is_root, "previous": previous},
                  "handle_httpstatus_list": SEEN_STATUSES},
            headers=_validators(previous),
        )

    def parse_listing_page(self, response: Response) -> Iterator[scrapy.Request]:
        info = response.meta[LISTING]
        url = _request(response).url if not response.meta.get("redirect_urls") else response.meta["redirect_urls"][0]
        headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        if response.status == 304 and info["previous"]:
            yield from self._unchanged_page(url, info)
            return
        verdict = classify_response(response.status, headers, response.body)
        if verdict != "ok":
            self.recorder.page(url, final_url=response.url, http_status=response.status,
                               page_number=info["page_number"], is_root=info["is_root"],
                               error=None if verdict == "blocked" else f"HTTP {response.status} ({verdict})",
                               blocked=f"HTTP {response.status} challenge/block page" if verdict == "blocked" else None)
            self.progress("page", {"url": url, "ok": False})
            return
        parsed = parse_listing(response.body, response.url, self.config, encoding=_declared_encoding(response))
        self.recorder.page(
            url, final_url=response.url, http_status=response.status, page_number=info["page_number"],
            is_root=info["is_root"], text=parsed.text, document_links=len(parsed.documents),
            outage_notice=parsed.outage_notice, blocked=parsed.blocked,
            sha256=hashlib.sha256(parsed.text.encode()).hexdigest(), etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"), further_pages=parsed.next_pages + parsed.follow_pages,
        )
        self.progress("page", {"url": url, "ok": not parsed.blocked, "documents": len(parsed.documents)})
        if parsed.blocked or parsed.outage_notice:
            return
        yield from self._listed(url, parsed.occurrences + parsed.records)
        yield from self._further(parsed.next_pages + parsed.follow_pages, info)

    def _unchanged_page(self, url: str, info: dict[str, Any]) -> Iterator[scrapy.Request]:
        """A 304 on a watch pass: the page is as the last complete crawl read it, links and further pages."""
        previous = info["previous"]
        further = json.loads(previous["further_pages"])
        self.recorder.page(url, final_url=previous["final_url"], http_status=304, page_number=info["page_number"],
                           is_root=info["is_root"], text=previous["text"], document_links=previous["document_links"],
                           sha256=previous["sha256"], etag=previous["etag"],
                           last_modified=previous["last_modified"], further_pages=further)
        self.progress("page", {"url": url, "ok": True, "documents": previous["document_links"]})
        links = [DocumentLink(doc_url, title or "", text or "", section or "") for _, doc_url, title, section, text
                 in self.recorder.archive.page_links(previous["crawl_id"], url)]
        yield from self._listed(url, links)
        yield from self._further(further, info)

    def _listed(self, url: str, links: list[DocumentLink]) -> Iterator[scrapy.Request]:
        """The documents and record pages a listing page lists: each recorded as listed, and fetched when this
        crawl fetches it (a watch pass fetches only documents seen for the first time)."""
        for link in links:
            record = self.is_record_page(link.url)
            document_id, first = self.recorder.link(link.url, link.title, link.section, link.link_text, url)
            if not first:
                continue
            if not self.recorder.needs_fetch(document_id):
                if record:
                    self.recorder.keep_parts_listed(document_id, link.url)
                continue
            if self.config.host_allowed(link.url):
                yield self.document_request(link.url, document_id, listed=True,
                                            listing=(url, link.section, link.link_text), title=link.title)
            else:  # links are not trusted: we fetch only from the hosts the config names
                self.recorder.sighting(document_id, listed=True, outcome=FetchOutcome.SKIPPED, listing_page=url,
                                       section=link.section, link_text=link.link_text,
                                       error="host not in the agency's allowed_hosts")

    def _further(self, pages: list[str], info: dict[str, Any]) -> Iterator[scrapy.Request]:
        for page_url in pages:
            if page_url not in self.pages_requested and self.config.host_allowed(page_url) \
                    and len(self.pages_requested) < self.config.listing.max_pages:
                yield self.listing_request(page_url, page_number=info["page_number"] + 1)

    def listing_failed(self, failure: Failure) -> None:
        request = _failed_request(failure)
        info = request.meta[LISTING]
        url = request.meta.get("redirect_urls", [request.url])[0]
        self.recorder.page(url, final_url=request.url, http_status=None, page_number=info["page_number"],
                           is_root=info["is_root"], error=_describe(failure))
        self.progress("page", {"url": url, "ok": False})

    # documents ----------------------------------------------------------------------------------------------

    def document_request(self, url: str, document_id: int, listed: bool,
                         listing: tuple[str, str, str] | None = None, method: str = "GET",
                         in_list: bool = False, title: str = "") -> scrapy.Request:
        headers = {"Accept-Encoding": "identity"}
        previous = self.known.get(url)
        if previous and method == "GET" and not self.is_record_page(url):  # a record page is read for its parts
            if previous.get("etag"):
                headers["If-None-Match"] = previous["etag"]
            if previous.get("last_modified"):
                headers["If-Modified-Since"] = previous["last_modified"]
        meta: dict[str, Any] = {
            DOCUMENT: {"id": document_id, "listed": listed, "listing": listing, "url": url, "in_list": in_list,
                       "title": title},
            "handle_httpstatus_list": SEEN_STATUSES,
            "download_maxsize": self.config.documents.max_bytes,
        }
        if method == "GET":
            meta[STREAM_META] = str(self.stream_dir)
        return scrapy.Request(url, method=method, headers=headers, callback=self.document_fetched,
                              errback=self.document_failed, meta=meta, dont_filter=True,
                              priority=-1)  # listing pages first: we learn the shape of the crawl early

    async def document_fetched(self, response: Response) -> None:
        info = response.meta[DOCUMENT]
        if _request(response).method == "HEAD":
            self._probe_answered(response, info)
            return
        body = response.meta.get(BODY_META)
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").split(";")[0].strip() or None
        common = self._common(response, info, content_type)
        try:
            if response.status == 304 and info["url"] in self.known:
                previous = self.known[info["url"]]
                self._record(info, FetchOutcome.NOT_MODIFIED, sha256=previous["sha256"], size=previous["size"],
                             **common)
            elif response.status == 200 and body is not None:
                await self._store_document(response, info, body, common)
            else:
                blocked = block_reason(response.status, _headers(response), _head(body))
                outcome = FetchOutcome.BLOCKED if blocked else _outcome_for_status(response)
                self._record(info, outcome, error=blocked, **common)
        finally:
            discard_body(response.meta)
        self.progress("document", {"url": info["url"], "listed": info["listed"]})

    async def _store_document(self, response: Response, info: dict[str, Any], body: DiskBody,
                              common: dict[str, Any]) -> None:
        with open(body.path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
        blocked = block_reason(response.status, _headers(response), head, info["url"])
        if blocked:
            self._record(info, FetchOutcome.BLOCKED,
                         error=f"a block page was served where a document was linked: {blocked}", **common)
            return
        pages = self.config.documents.pages or self.is_record_page(info["url"])
        if is_html(head) and (pages or is_document_url(info["url"], self.config.documents)):
            answer = Answer.of(info["url"], response.status, response.url, _headers(response), head)
            judgement = judge_document_answer(answer, await self.not_found_signature(info["url"]), self.roots,
                                              pages=pages)
            if judgement.outcome == ProbeOutcome.SERVED:
                await self._store_page(response, info, body, common)
                return
            outcome = FetchOutcome.SOFT_404 if judgement.outcome == ProbeOutcome.SOFT_404 else FetchOutcome.BLOCKED
            self._record(info, outcome,
                         error=f"an HTML page was served where a document was linked: {judgement.reason}", **common)
            return
        await self._store(response, info, body.path, body.sha256, body.size,
                          sniff_mimetype(head, common["content_type"], response.url), common)

    async def _store_page(self, response: Response, info: dict[str, Any], body: DiskBody,
                          common: dict[str, Any]) -> None:
        """A web page that is a record: the WARC keeps the page as served; the archive keeps its main text, so
        what is compared between crawls (and diffed when it changes) is what the page says."""
        with open(body.path, "rb") as handle:
            html = handle.read()
        if self.is_record_page(info["url"]) and info["listed"]:
            self._record_parts(info, html, response)
        text = page_text(html, response.url, self.config, encoding=_declared_encoding(response)).encode() + b"\n"
        text_path = body.path.with_name(body.path.name + ".txt")
        text_path.write_bytes(text)
        try:
            await self._store(response, info, text_path, hashlib.sha256(text).hexdigest(), len(text),
                              "text/plain", common)
        finally:
            text_path.unlink(missing_ok=True)
            body.path.unlink(missing_ok=True)  # the page itself is in the WARC

    async def _store(self, response: Response, info: dict[str, Any], path: Path, sha256: str, size: int,
                     mimetype: str, common: dict[str, Any]) -> None:
        """Move a complete, hashed file into the blob store and record the sighting."""
        # Hashing again from disk and fsyncing take milliseconds: do it off the reactor thread.
        try:
            stored = await maybe_deferred_to_future(deferToThread(self.recorder.archive.blobs.put, path, sha256))
        except BlobError as error:
            self._record(info, FetchOutcome.FAILED, error=str(error), **common)
            return
        finally:
            response.meta.pop(BODY_META, None)
        new_blob = self.recorder.record_blob(stored, mimetype)
        self._record(info, FetchOutcome.FETCHED, sha256=sha256, size=size, new_blob=new_blob, **common)

    def is_record_page(self, url: str) -> bool:
        """Whether ``url`` is a record's own page, listing its parts ([listing] record_patterns)."""
        return any(re.search(pattern, url) for pattern in self.config.listing.record_patterns)

    def _record_parts(self, info: dict[str, Any], html: bytes, response: Response) -> None:
        """The parts a record's page lists: documents of the record, listed under its section, fetched as any."""
        section, record_title = info["listing"][1], info["title"]
        parsed = parse_listing(html, response.url, self.config, encoding=_declared_encoding(response))
        for part in parsed.occurrences:
            title = part.title if record_title in part.title else f"{record_title}: {part.title}"
            document_id = self.recorder.document(part.url, title, section)
            self.recorder.part_of(document_id, info["id"])
            if not self.recorder.linked(document_id, info["url"], section, part.link_text):
                continue
            if self.config.host_allowed(part.url):
                self.crawler.engine.crawl(self.document_request(part.url, document_id, listed=True,
                                                                listing=(info["url"], section, part.link_text)))
            else:
                self.recorder.sighting(document_id, listed=True, outcome=FetchOutcome.SKIPPED,
                                       listing_page=info["url"], section=section, link_text=part.link_text,
                                       error="host not in the agency's allowed_hosts")

    def _record(self, info: dict[str, Any], outcome: str, **fields: Any) -> None:
        """Record a document's sighting. A record of the library_file is listed by the file this crawl unless its
        answer says it is gone; then the sighting is a probe of it, the way a delisted document is probed."""
        if info["listed"] and outcome != FetchOutcome.FETCHED and self.is_record_page(info["url"]):
            self.recorder.keep_parts_listed(info["id"], info["url"])  # an unread record page says nothing of them
        if info["in_list"]:
            fields["listed"] = outcome not in GONE
            if fields["listed"]:
                page, section, title = info["listing"]
                self.recorder.linked(info["id"], page, section, title)
            else:
                self.gone_urls += 1
        self.recorder.sighting(info["id"], outcome=outcome, **fields)

    def _probe_answered(self, response: Response, info: dict[str, Any]) -> None:
        """HEAD first; only an answer that doesn't settle the question costs a GET."""
        if response.status in (404, 410):
            self.recorder.sighting(info["id"], outcome=FetchOutcome.GONE, **self._common(response, info, None))
            self.progress("document", {"url": info["url"], "listed": False})
            return
        self.crawler.engine.crawl(self.document_request(info["url"], info["id"], listed=False))

    def document_failed(self, failure: Failure) -> None:
        request = _failed_request(failure)
        info = request.meta[DOCUMENT]
        body = request.meta.get(BODY_META)
        error = _describe(failure)
        too_large = "max size" in error or (body is not None and body.size > self.config.documents.max_bytes)
        discard_body(request.meta)
        if failure.check(IgnoreRequest) and "robots.txt" in error.lower():
            outcome = FetchOutcome.SKIPPED
        else:
            outcome = FetchOutcome.TOO_LARGE if too_large else FetchOutcome.FAILED
        listing = info["listing"] or (None, None, None)
        self._record(info, outcome, listed=info["listed"], listing_page=listing[0], section=listing[1],
                     link_text=listing[2], final_url=request.url, error=error)
        self.progress("document", {"url": info["url"], "listed": info["listed"], "failed": True})

    def _common(self, response: Response, info: dict[str, Any], content_type: str | None) -> dict[str, Any]:
        listing = info["listing"] or (None, None, None)
        return {
            "listed": info["listed"], "listing_page": listing[0], "section": listing[1], "link_text": listing[2],
            "http_status": response.status, "final_url": response.url, "content_type": content_type,
            "etag": _header(response, b"ETag"), "last_modified": _header(response, b"Last-Modified"),
            "payload": response.meta.get(PAYLOAD_META),
        }

    # the site's not-found page ------------------------------------------------------------------------------

    async def not_found_signature(self, url: str) -> NotFoundSignature | None:
        """How ``url``'s site answers a URL that does not exist: asked once per site and crawl, whoever needs it
        first; the others wait for that answer. None when the question itself failed."""
        key = signature_key(url)
        if key in self.signatures:
            return self.signatures[key]
        if key in self._learning:
            waiting: Deferred[NotFoundSignature | None] = Deferred()
            self._learning[key].append(waiting)
            return await maybe_deferred_to_future(waiting)
        self._learning[key] = []
        signature = self.signatures[key] = await self._learn_signature(url, key)
        for waiting in self._learning.pop(key):
            waiting.callback(signature)
        return signature

    async def _learn_signature(self, url: str, key: str) -> NotFoundSignature | None:
        request = scrapy.Request(nonexistent_url(url), dont_filter=True, meta={
            "handle_httpstatus_list": SEEN_STATUSES, "download_maxsize": NOT_FOUND_PAGE_MAX_BYTES})
        assert self.crawler.engine is not None, "the spider runs inside an engine"
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as error:  # noqa: BLE001 - any failure: nothing learned, HTML answers stay no conclusion
            self.recorder.not_found_signature(key, request.url, None, error=_describe(Failure(error)))
            return None
        answer = Answer.of(request.url, response.status, response.url, _headers(response), response.body)
        signature = NotFoundSignature.learn(answer)
        self.recorder.not_found_signature(key, request.url, signature)
        return signature

    # probing ------------------------------------------------------------------------------------------------

    def on_idle(self) -> None:
        """When the listing is done, probe documents that are no longer listed (only if the crawl can count; a
        revalidation pass reads no listing, so nothing is delisted by it)."""
        if self.probed or self.recorder.kind == CrawlKind.REVALIDATE:
            return
        self.probed = True
        self.record_url_list()
        for url in sorted(self.pages_requested - {page.url for page in self.recorder.pages}):
            # Asked for, never answered (dropped on the way): a page we cannot vouch for is a failed page.
            self.recorder.page(url, final_url=None, http_status=None, page_number=None, is_root=url in self.roots,
                               error="requested but never answered")
        if self.recorder.verdict().status != CrawlStatus.COMPLETE:
            return
        missing = self.recorder.documents_to_probe()
        if not missing:
            return
        self.progress("probing", {"count": len(missing)})
        for document_id, url in missing:
            self.crawler.engine.crawl(self.document_request(url, document_id, listed=False, method="HEAD"))
        raise DontCloseSpider


def _request(response: Response) -> scrapy.Request:
    """The request ``response`` answers."""
    assert response.request is not None, "Scrapy sets response.request before it calls a callback"
    return response.request


def _failed_request(failure: Failure) -> scrapy.Request:
    """The request an errback's ``failure`` is about."""
    request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # Scrapy attaches it; twisted's type lacks it
    return request


def _validators(previous: dict[str, Any] | None) -> dict[str, str]:
    """Conditional request headers from a listing page's last reading."""
    headers = {}
    if previous and previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous and previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    return headers


def _outcome_for_status(response: Response) -> str:
    status = response.status
    if status in (404, 410):
        return FetchOutcome.GONE
    if status in (401, 403, 407, 429):
        return FetchOutcome.BLOCKED
    return FetchOutcome.FAILED


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}


def _head(body: DiskBody | None) -> bytes:
    """The first bytes of a streamed body (an error page's), if it was kept."""
    if body is None:
        return b""
    try:
        with open(body.path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return b""


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _declared_encoding(response: Response) -> str | None:
    return getattr(response, "encoding", None)


def _describe(failure: Failure) -> str:
    value = failure.value
    name = type(value).__name__
    message = str(value).strip()
    if "DNSLookupError" in name:
        return f"host not found ({message})"
    if "ConnectionRefused" in name:
        return "connection refused"
    if "TimeoutError" in name or "TCPTimedOut" in name:
        return f"timed out ({message})" if message else "timed out"
    if "ResponseDataLoss" in name or "ResponseFailed" in name or "ConnectionLost" in name:
        return f"connection lost mid-response ({name})"
    return f"{name}: {message}" if message else name
