"""Downloader middleware that writes every HTTP exchange of a crawl to its WARC file.

It sits next to the downloader (order 950), so it sees each raw response, redirect hops included, before Scrapy's
redirect, retry and decompression middlewares act on it.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from ..archive.warc import CrawlWarc, PayloadRecord, payload_digest
from .spider import DOCUMENT, PAYLOAD_META, LibrarySpider
from .streaming import BODY_META, DiskBody, discard_body


def _pairs(headers: Any) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, values in headers.items() for v in values]


class WarcMiddleware:
    """Writes to the WARC of the running spider (``spider.warc``)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        spider = self.crawler.spider
        assert isinstance(spider, LibrarySpider), "crawler/run.py installs this middleware for LibrarySpider only"
        warc: CrawlWarc = spider.warc
        original = self._original(spider, request) if response.status == 304 else None
        if original is not None:
            warc.write_not_modified(request.url, request.method, _pairs(request.headers), _pairs(response.headers),
                                    original, protocol=response.protocol or "HTTP/1.1")
            request.meta[PAYLOAD_META] = original
            return response
        body: DiskBody | None = request.meta.get(BODY_META)
        streamed = body if body is not None and body.sha256 else None  # a finished download on disk
        request.meta[PAYLOAD_META] = warc.write_exchange(
            request.url, request.method, _pairs(request.headers), response.status, _pairs(response.headers),
            body=None if streamed else response.body, body_path=streamed.path if streamed else None,
            protocol=response.protocol or "HTTP/1.1",
        )
        if 300 <= response.status < 400:
            discard_body(request.meta)  # a redirect hop's body is in the WARC; the next hop streams afresh
        return response

    @staticmethod
    def _original(spider: LibrarySpider, request: Request) -> PayloadRecord | None:
        """The response a 304 to this conditional document request confirms (from an earlier crawl)."""
        info = request.meta.get(DOCUMENT)
        known = spider.known.get(info["url"]) if info else None
        if not known or not known.get("sha256") or not known.get("warc_date"):
            return None
        digest = known.get("payload_digest") or payload_digest(spider.recorder.archive.blobs.path(known["sha256"]))
        return PayloadRecord(known.get("warc_record_id"), known["warc_date"], digest)
