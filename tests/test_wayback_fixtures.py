"""Real Wayback Machine responses (recorded by EDGI's ``wayback`` test suite) replayed through our client."""

from __future__ import annotations

import csv
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from foiawatch.wayback import BlockedSite, Capture, NotADocument, WaybackClient

FIXTURES = Path(__file__).parent / "fixtures"
CASSETTES = FIXTURES / "wayback"
CDX_BODIES = FIXTURES / "cdx"

Reply = tuple[int, list[tuple[str, str]], bytes]
Responder = Callable[[str, str, list[tuple[str, str]]], "Reply | None"]
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class Replay:
    """Serves recorded answers on 127.0.0.1; a request nobody recorded gets a 599 and is noted in ``unmatched``."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.seen: list[tuple[str, list[tuple[str, str]]]] = []
        self.unmatched: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qsl(parts.query, keep_blank_values=True)
                replay.seen.append((parts.path, query))
                reply = replay.responder("GET", parts.path, query)
                if reply is None:
                    replay.unmatched.append(self.path)
                    reply = (599, [], b"not recorded")
                status, headers, body = reply
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Replay:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def cassette(name: str) -> Responder:
    """Answer exactly the requests a VCR cassette recorded (method, path and the same query in any order)."""
    recorded: dict[tuple, Reply] = {}
    for interaction in yaml.safe_load((CASSETTES / name).read_text())["interactions"]:
        request, response = interaction["request"], interaction["response"]
        uri = urlsplit(request["uri"])
        body = response["body"]["string"]
        body = body if isinstance(body, bytes) else body.encode()
        headers = [(k, v) for k, values in response["headers"].items() for v in values]
        if any(k.lower() == "content-encoding" and v == "gzip" for k, v in headers):
            body = zlib.decompress(body, zlib.MAX_WBITS | 16)
        headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        key = (request["method"], uri.path, tuple(sorted(parse_qsl(uri.query, keep_blank_values=True))))
        recorded[key] = (response["status"]["code"], headers, body)
    return lambda method, path, query: recorded.get((method, path, tuple(sorted(query))))


def client(replay: Replay, **overrides) -> WaybackClient:
    settings = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01)
    return WaybackClient(replay.url, **(settings | overrides))


def test_multipage_listing_follows_opaque_resume_keys_and_drops_repeats():
    with Replay(cassette("test_search_multipage.yaml")) as replay:
        wb = client(replay)
        listing = wb.search("cnn.com", from_=datetime(2001, 4, 10), to=datetime(2001, 5, 10), page_size=25)
        captures = list(listing)
    # Every request matched a recorded one, so each resume key went back exactly as the service wrote it.
    assert replay.unmatched == [] and wb.requests["cdx"] == 15 == listing.stats.pages
    assert listing.stats.rows == 350 and listing.stats.duplicates == 254 and len(captures) == 96
    assert len({(c.timestamp, c.original, c.digest) for c in captures}) == 96
    assert captures[0].original == "http://www.cnn.com/"  # the redundant :80 is dropped
    assert captures[0].raw_url == f"{replay.url}/web/20010410213930id_/http://www.cnn.com/"


def test_filtered_prefix_listing_uses_the_real_query_shape():
    with Replay(cassette("test_search_with_filter.yaml")) as replay:
        wb = client(replay)
        window = dict(from_=datetime(2022, 1, 1), to=datetime(2022, 2, 1), collapse=None, page_size=10)
        missing = list(islice(wb.search_prefix("nasa.gov/", statuses=[404], **window), 10))
        everything = list(islice(wb.search_prefix("nasa.gov/", **window), 10))
    assert replay.unmatched == [] and wb.requests["cdx"] == 2  # lazily paged: no request for an unread page
    assert {c.status for c in missing} == {404} and len(missing) == 10
    assert {c.status for c in everything} == {200, 301}


def test_historical_redirects_resolve_to_the_final_capture(tmp_path):
    with Replay(cassette("test_get_memento_follows_historical_redirects.yaml")) as replay:
        wb = client(replay)
        asked = Capture.at("http://epa.gov/climatechange", "20200201020357", base_url=replay.url)
        result = wb.download(asked, tmp_path / "climatechange.html")
        with pytest.raises(NotADocument) as refused:
            wb.download(asked, tmp_path / "redirect.html", follow_redirects=False)
    assert replay.unmatched == []
    final = "https://www.epa.gov/sites/production/files/signpost/cc.html"
    assert result.final_url == f"{replay.url}/web/20200201024405id_/{final}"
    assert result.final_timestamp == "20200201024405"
    assert result.redirects == (f"{replay.url}/web/20200201023757id_/https://www.epa.gov/climatechange",)
    assert result.verified is False  # the body belongs to another capture than the one asked for
    body = result.path.read_bytes()
    assert body.lstrip().startswith(b"<") and b"epa" in body.lower() and result.size == len(body)
    assert refused.value.archived_status == 301 and not (tmp_path / "redirect.html").exists()


def test_archived_429_is_not_a_document_and_not_a_rate_limit(tmp_path):
    with Replay(cassette("test_get_memento_works_on_archived_rate_limit_responses.yaml")) as replay:
        # If the archived 429 were taken for a live one, this client would raise RateLimited instead.
        wb = client(replay, max_rate_limit_waits=0, min_backoff=30)
        asked = Capture.at("http://www.reddit.com/r/PokemonGiveaway", "20150129034904", base_url=replay.url)
        started = time.monotonic()
        with pytest.raises(NotADocument) as rejected:
            wb.download(asked, tmp_path / "page.html")
    assert rejected.value.archived_status == 429 and rejected.value.capture is asked
    assert wb.requests["playback"] == 1 and time.monotonic() - started < 5
    assert not (tmp_path / "page.html").exists()


def _recorded_cdx_bodies() -> list[tuple[str, int]]:
    with open(CDX_BODIES / "PROVENANCE.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(Path(r["saved_file"]).name, int(r["http_status"] or 200)) for r in rows]


def static_cdx(body: bytes, status: int) -> Responder:
    """One recorded CDX body for the first page; an empty page for any resume key."""
    def respond(method: str, path: str, query: list[tuple[str, str]]) -> Reply | None:
        if path != "/cdx/search/cdx":
            return None
        if any(name == "resumeKey" for name, _ in query):
            return 200, [("Content-Type", "text/plain")], b""
        return status, [("Content-Type", "text/plain;charset=UTF-8")], body
    return respond


def listing_of(name: str) -> tuple[list[Capture], object, Replay]:
    with Replay(static_cdx((CDX_BODIES / name).read_bytes(), 200)) as replay:
        listing = client(replay).search("example.gov")
        return list(listing), listing.stats, replay


@pytest.mark.parametrize("name,status", _recorded_cdx_bodies())
def test_every_recorded_cdx_body_is_read(name, status):
    body = (CDX_BODIES / name).read_bytes()
    if status != 200:
        with Replay(static_cdx(body, status)) as replay, pytest.raises(BlockedSite, match="Blocked Site Error"):
            list(client(replay).search("nationalpost.com/health"))
        return
    captures, stats, replay = listing_of(name)
    text = body.decode()
    data_rows, _, key = text.partition("\n\n")
    assert stats.rows + stats.malformed == len([line for line in data_rows.splitlines() if line.strip()])
    assert len(captures) == stats.rows - stats.duplicates
    assert all(len(c.timestamp) == 14 and c.captured_at.tzinfo is UTC for c in captures)
    assert all((c.status is None) == c.is_revisit for c in captures)
    sent_keys = [dict(query).get("resumeKey") for _, query in replay.seen]
    assert sent_keys == ([None, key.strip()] if key.strip() else [None])  # the key goes back verbatim


def test_real_traps_are_handled():
    captures, stats, _ = listing_of("test_search__00.cdx.txt")
    assert len(captures) == 1 and stats.duplicates == 2

    captures, stats, _ = listing_of("testfile__malformed_cdx.txt")
    assert stats.malformed == 3 and [c.original for c in captures] == ["https://www.epa.gov/"] * 2  # mailto, data:

    captures, _, _ = listing_of("testfile__bad_timestamp_cdx.txt")
    repaired = {c.timestamp: c.captured_at for c in captures}
    assert repaired["20000012170449"] == datetime(2000, 12, 17, 4, 49, tzinfo=UTC)  # month 00
    assert repaired["20000800241623"] == datetime(2000, 8, 24, 16, 23, tzinfo=UTC)  # day 00

    captures, _, _ = listing_of("testfile__zero_length_cdx.txt")
    assert len(captures) == 5 and captures[-1].length is None

    captures, stats, _ = listing_of("test_search_does_not_repeat_results__00.cdx.txt")
    revisits = [c for c in captures if c.is_revisit]
    assert stats.revisits == len(revisits) == 3 and {c.status for c in revisits} == {None}
    assert {c.digest for c in revisits} <= {c.digest for c in captures if not c.is_revisit}
