"""The local Wayback stand-in speaks the real service's formats (checked by hand and by EDGI's own client)."""

from __future__ import annotations

import time

import pytest
import requests
import wayback

from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin, surt
from foiawatch.wayback import cdx_digest

PDF = "application/pdf"


def doc(path: str, timestamp: str, body: bytes, status: int | None = 200, mimetype: str = PDF) -> StandinCapture:
    return StandinCapture(f"https://www.agency.gov/foia/{path}", timestamp, status, mimetype, body)


LIBRARY = [
    doc("a.pdf", "20200101000000", b"%PDF a1"),
    doc("a.pdf", "20200601000000", b"%PDF a1"),  # same body again: collapses by digest
    doc("a.pdf", "20210101000000", b"%PDF a2"),
    doc("b.pdf", "20200301000000", b"%PDF b"),
    doc("c.pdf", "20220101000000", b"not found", status=404, mimetype="text/html"),
    doc("d.pdf", "20200401000000", b"%PDF a1", status=None),  # a revisit record
    StandinCapture("https://www.agency.gov/about.html", "20200101000000", 200, "text/html", b"<html>about</html>"),
    StandinCapture("https://other.gov/foia/x.pdf", "20200101000000", 200, PDF, b"%PDF other"),
]


@pytest.fixture
def standin():
    with WaybackStandin(LIBRARY) as server:
        yield server


def cdx(server: WaybackStandin, **params) -> requests.Response:
    return requests.get(f"{server.url}/cdx/search/cdx", params=params, timeout=5)


def rows(response: requests.Response) -> list[list[str]]:
    return [line.split(" ") for line in response.text.splitlines() if line]


def test_surt_matches_real_urlkeys():
    assert surt("http://www.nasa.gov:80/") == "gov,nasa)/"
    assert surt("cnn.com") == "com,cnn)/"
    assert surt("https://www.nasa.gov/ames/feature/Go-Go-Gr/") == "gov,nasa)/ames/feature/go-go-gr/"
    assert surt("http://127.0.0.1:8000/Lib/x.pdf?b=2&a=1") == "127.0.0.1:8000)/lib/x.pdf?a=1&b=2"


def test_cdx_plain_text_prefix_listing(standin):
    found = rows(cdx(standin, url="agency.gov/foia/", matchType="prefix"))
    assert all(len(row) == 7 for row in found)
    assert [row[2].rsplit("/", 1)[1] for row in found] == ["a.pdf", "a.pdf", "a.pdf", "b.pdf", "c.pdf", "d.pdf"]
    first = found[0]
    assert first[:5] == ["gov,agency)/foia/a.pdf", "20200101000000", "https://www.agency.gov/foia/a.pdf", PDF, "200"]
    assert first[5] == cdx_digest(b"%PDF a1") and first[6] == str(len(b"%PDF a1"))
    assert found[-1][3:5] == ["warc/revisit", "-"]
    assert rows(cdx(standin, url="www.agency.gov/foia/*")) == found  # a trailing * means prefix
    assert len(rows(cdx(standin, url="https://agency.gov/foia/a.pdf"))) == 3  # exact, scheme and www ignored
    assert len(rows(cdx(standin, url="agency.gov", matchType="host"))) == 7
    assert len(rows(cdx(standin, url="gov", matchType="domain"))) == 8


def test_cdx_resume_key_is_a_blank_line_then_the_key(standin):
    first = cdx(standin, url="agency.gov/foia/", matchType="prefix", limit=4, showResumeKey="true").text
    body, key = first.split("\n\n")
    assert len(body.splitlines()) == 4 and key.endswith("\n") and key.count("\n") == 1
    second = cdx(standin, url="agency.gov/foia/", matchType="prefix", limit=4, showResumeKey="true",
                 resumeKey=key.strip()).text
    assert "\n\n" not in second and len(second.splitlines()) == 2  # a short page: the end, no key
    exactly_full = cdx(standin, url="agency.gov/foia/", matchType="prefix", limit=6, showResumeKey="true").text
    _, last_key = exactly_full.split("\n\n")
    tail = cdx(standin, url="agency.gov/foia/", matchType="prefix", limit=6, showResumeKey="true",
               resumeKey=last_key.strip())
    assert tail.status_code == 200 and tail.text == ""  # like the real service: a full page, then an empty one


def test_cdx_json_has_a_header_row_and_resume_key_rows(standin):
    document = cdx(standin, url="agency.gov/foia/", matchType="prefix", limit=2, showResumeKey="true",
                   output="json").json()
    assert document[0] == ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    assert len(document) == 5 and document[3] == [] and len(document[4]) == 1
    assert cdx(standin, url="nothing.gov/", matchType="prefix", output="json").json() == []
    narrow = cdx(standin, url="agency.gov/foia/b.pdf", output="json", fl="timestamp,statuscode").json()
    assert narrow == [["timestamp", "statuscode"], ["20200301000000", "200"]]


def test_cdx_filters_collapse_and_dates(standin):
    prefix = {"url": "agency.gov/foia/", "matchType": "prefix"}
    assert {r[4] for r in rows(cdx(standin, **prefix, filter="statuscode:200"))} == {"200"}
    assert {r[4] for r in rows(cdx(standin, **prefix, filter="!statuscode:200"))} == {"404", "-"}
    assert rows(cdx(standin, **prefix, filter="statuscode:20")) == []  # a regex must match the whole field
    assert len(rows(cdx(standin, **prefix, filter="~original:b.p"))) == 1
    both = rows(cdx(standin, **prefix, filter=["statuscode:200", "original:.*a\\.pdf"]))
    assert [r[1] for r in both] == ["20200101000000", "20200601000000", "20210101000000"]
    by_digest = rows(cdx(standin, **prefix, collapse="digest"))
    assert [r[1] for r in by_digest if r[0].endswith("a.pdf")] == ["20200101000000", "20210101000000"]
    assert len(rows(cdx(standin, **prefix, collapse="urlkey"))) == 4
    years = [r[1][:4] for r in rows(cdx(standin, **prefix, collapse="timestamp:4"))]
    assert years == ["2020", "2021", "2020", "2022", "2020"]  # only adjacent rows collapse
    assert {r[1][:4] for r in rows(cdx(standin, **prefix, **{"from": "2021", "to": "2021"}))} == {"2021"}


def test_blocked_prefix_answers_403_like_the_real_service():
    with WaybackStandin(LIBRARY, blocked=["agency.gov/foia/"]) as server:
        response = cdx(server, url="agency.gov/foia/a.pdf")
        assert response.status_code == 403 and "Blocked Site Error" in response.text
        assert len(rows(cdx(server, url="agency.gov", matchType="host"))) == 1  # only about.html is visible


def test_playback_serves_archived_status_and_headers():
    capture = StandinCapture(
        "https://www.agency.gov/foia/a.pdf", "20200101000000", 200, PDF, b"%PDF body",
        {"Content-Type": "application/pdf", "ETag": '"abc"', "Server": "Apache"},
    )
    with WaybackStandin([capture]) as server:
        response = requests.get(f"{server.url}/web/20200101000000id_/https://www.agency.gov/foia/a.pdf", timeout=5)
    assert response.status_code == 200 and response.content == b"%PDF body"
    assert response.headers["Memento-Datetime"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert response.headers["Content-Type"] == PDF
    assert response.headers["X-Archive-Orig-ETag"] == '"abc"' and response.headers["X-Archive-Orig-Server"] == "Apache"
    assert 'rel="original"' in response.headers["Link"]


def test_playback_archived_errors_redirects_and_missing_urls():
    captures = [
        StandinCapture("https://agency.gov/gone.pdf", "20200101000000", 404, "text/html", b"<h1>Not Found</h1>"),
        StandinCapture("https://agency.gov/old.pdf", "20200101000000", 301, "text/html", b"moved",
                       {"Location": "/new.pdf"}),
        StandinCapture("https://agency.gov/new.pdf", "20200101000107", 200, PDF, b"%PDF new"),
    ]
    with WaybackStandin(captures) as server:
        get = lambda path: requests.get(f"{server.url}{path}", allow_redirects=False, timeout=5)  # noqa: E731
        gone = get("/web/20200101000000id_/https://agency.gov/gone.pdf")
        assert gone.status_code == 404 and "Memento-Datetime" in gone.headers  # an archived 404
        moved = get("/web/20200101000000id_/https://agency.gov/old.pdf")
        assert moved.status_code == 301 and "Memento-Datetime" in moved.headers
        assert moved.headers["Location"] == f"{server.url}/web/20200101000000id_/https://agency.gov/new.pdf"
        nearest = get("/web/20200101000000id_/https://agency.gov/new.pdf")
        assert nearest.status_code == 302 and "Memento-Datetime" not in nearest.headers
        assert nearest.headers["Location"] == f"{server.url}/web/20200101000107id_/https://agency.gov/new.pdf"
        assert get("/web/2020id_/https://agency.gov/new.pdf").status_code == 302  # partial timestamps work
        missing = get("/web/20200101000000id_/https://agency.gov/never.pdf")
        assert missing.status_code == 404 and "Memento-Datetime" not in missing.headers
        assert "has not archived that URL" in missing.text
        assert server.requests["playback"] == 5


@pytest.mark.parametrize("retry_after", [None, 7])
def test_429_when_the_window_is_exceeded(retry_after):
    with WaybackStandin(LIBRARY, cdx_limit=(2, 0.3), retry_after=retry_after) as server:
        answers = [cdx(server, url="agency.gov/foia/a.pdf") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "Too Many Requests" in answers[2].text and "text/html" in answers[2].headers["Content-Type"]
        assert answers[2].headers.get("Retry-After") == (None if retry_after is None else "7")
        assert requests.get(f"{server.url}/web/20200101000000id_/https://www.agency.gov/foia/a.pdf",
                            timeout=5).status_code == 200  # playback has its own budget
        time.sleep(0.35)
        assert cdx(server, url="agency.gov/foia/a.pdf").status_code == 200
        assert server.requests == {"cdx": 4, "playback": 1} and server.rejected["cdx"] == 1


def test_available_api_and_counters(standin):
    answer = requests.get(f"{standin.url}/wayback/available", params={"url": "agency.gov/foia/a.pdf",
                                                                      "timestamp": "2021"}, timeout=5).json()
    assert answer["archived_snapshots"]["closest"]["timestamp"] == "20210101000000"
    assert answer["archived_snapshots"]["closest"]["available"] is True
    empty = requests.get(f"{standin.url}/wayback/available", params={"url": "agency.gov/x.pdf"}, timeout=5).json()
    assert empty["archived_snapshots"] == {}
    assert standin.requests["available"] == 2 and standin.requests["cdx"] == 0


class ForwardToStandin(requests.adapters.HTTPAdapter):
    """Sends what EDGI's client addresses to web.archive.org to the stand-in, and maps the answers back."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request, **kwargs):
        original = request.url
        request.url = self.target + original.split("web.archive.org", 1)[1]
        response = super().send(request, **kwargs)
        response.url = original
        for name in ("Location", "Link"):
            if name in response.headers:
                response.headers[name] = response.headers[name].replace(self.target, "https://web.archive.org")
        return response


class Refuse(requests.adapters.BaseAdapter):
    def send(self, request, **kwargs):
        raise AssertionError(f"test tried to leave 127.0.0.1: {request.url}")

    def close(self) -> None:
        pass


def test_edgi_wayback_client_reads_the_standin(standin):
    """EDGI's client was built against the real service: if it reads the stand-in, the formats are real."""
    standin.add(
        StandinCapture("https://www.agency.gov/foia/old.pdf", "20200229230000", 301, "text/html", b"moved",
                       {"Location": "https://www.agency.gov/foia/b.pdf"}),
    )
    session = wayback.WaybackSession(search_calls_per_second=0, memento_calls_per_second=0, retries=0)
    session.mount("http://", Refuse())
    session.mount("https://", Refuse())
    session.mount("https://web.archive.org/", ForwardToStandin(standin.url))
    with wayback.WaybackClient(session) as client:
        records = list(client.search("agency.gov/foia/", match_type="prefix", limit=2))
        assert len(records) == 7 and standin.requests["cdx"] == 4
        assert [r.statuscode for r in records if r.mimetype == "warc/revisit"] == [None]
        memento = client.get_memento("https://www.agency.gov/foia/old.pdf", "20200229230000")
        assert memento.url == "https://www.agency.gov/foia/b.pdf" and memento.status_code == 200
        assert memento.content == b"%PDF b" and [m.status_code for m in memento.history] == [301]
