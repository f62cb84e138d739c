"""Block, challenge and access pages are "no conclusion", never "gone" (issue 12, part 1).

Real bodies from tests/fixtures/blockpages/ and generated variants of the kinds no licensed copy was found of
(a WAF "Request Access" form with a CAPTCHA, content-filter portals, short untitled "access restricted" pages with a
reference id, F5, Incapsula, AWS WAF, CloudFront, Zscaler, DataDome), served with HTTP 200 at listing and document
URLs, directly and through a redirect. A delisted document behind any of them is never removed; one that is really
gone still is.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from foiawatch.alerts.notify import run_alerts
from foiawatch.alerts.settings import AlertSettings
from foiawatch.archive import Archive
from foiawatch.crawler import crawl
from foiawatch.pipeline import diff_agency
from foiawatch.web.answers import Answer, NotFoundSignature, block_reason, judge_document_answer, nonexistent_url

from .conftest import OPERATOR, Mailbox, StaticSite, demo_config

FIXTURES = Path(__file__).parent / "fixtures"
HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF = {"Content-Type": "application/pdf"}
NOT_FOUND = b"<html><head><title>Page not found</title></head><body><h1>Page not found</h1></body></html>"
SITE_404 = b"<html><title>Page not found</title></html>"  # what conftest.StaticSite answers an unknown path with

# Generated, in the shape of real pages of each kind (no copy was found under a licence that allows vendoring).
GENERATED: dict[str, bytes] = {
    "waf-request-access-captcha": b"""<!DOCTYPE html><html><head><title>Request Access</title>
<script src="https://www.google.com/recaptcha/api.js" async defer></script></head><body>
<h1>Request Access</h1><p>Your request has been flagged by our security system. To continue, complete the form.</p>
<form method="post" action="/request-access"><input type="email" name="email">
<div class="g-recaptcha" data-sitekey="6Lc_generated"></div><button>Submit</button></form></body></html>""",
    "content-filter-fortiguard": b"""<html><head><title>Web Page Blocked</title></head><body>
<h2>Web Page Blocked!</h2><p>The page you have requested has been blocked, because the URL is banned.</p>
<p>URL: www.agency.gov/doclib/foia/records.pdf</p><p>Category: Government and Legal Organizations</p>
<p>Client IP: 10.1.2.3</p></body></html>""",
    "content-filter-network-admin": b"""<html><body><h1>Access to this site is blocked</h1>
<p>This site has been blocked by your network administrator.</p><p>Policy: URL Filtering</p></body></html>""",
    "access-restricted-untitled": b"""<html><body><p>Access restricted.</p>
<p>Reference #18.9c2f1d17.1716912345.4a1b2c3</p></body></html>""",
    "f5-asm-rejected": b"""<html><head><title>Request Rejected</title></head><body>The requested URL was rejected.
Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789<br><br>
<a href="javascript:history.back();">[Go Back]</a></body></html>""",
    "incapsula-incident": b"""<html style="height:100%"><head><META NAME="ROBOTS" CONTENT="NOINDEX, NOFOLLOW"></head>
<body style="margin:0px;height:100%"><iframe id="main-iframe" src="/_Incapsula_Resource?CWUDNSAI=23&xinfo=1"
frameborder=0 width="100%" height="100%">Request unsuccessful. Incapsula incident ID: 123000560100847960-1234</iframe>
</body></html>""",
    "aws-waf-challenge": b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title></title>
<script>window.awsWafCookieDomainList = [];window.gokuProps = {"key":"AQIDAHjcYu"};</script>
<script src="https://abc123.edge.sdk.awswaf.com/abc123/challenge.js"></script></head>
<body><div id="challenge-container"></div><script>AwsWafIntegration.checkForceRefresh()</script></body></html>""",
    "datadome-captcha": b"""<html><head><title>agency.gov</title></head><body style="margin:0">
<script>var dd={'rt':'c','cid':'AHrlqAAAAAM','hsh':'A1','t':'fe','host':'geo.captcha-delivery.com'}</script>
<iframe src="https://geo.captcha-delivery.com/captcha/?initialCid=AHrlqAAAAAM" width="100%" height="100%">
</iframe></body></html>""",
    "cloudflare-sorry-blocked": b"""<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>
<body><h1>Sorry, you have been blocked</h1><h2>You are unable to access agency.gov</h2>
<p>Cloudflare Ray ID: 7d9f1a2b3c4d5e6f</p></body></html>""",
    "content-filter-zscaler": b"""<html><head><title>Internet Security by Zscaler</title></head><body>
<p>Sorry, you don't have permission to visit this site.</p><p>Your organization has selected Zscaler to protect you
from internet threats.</p></body></html>""",
    "cloudfront-request-blocked": b"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>403 ERROR</H1>
<H2>The request could not be satisfied.</H2><HR noshade size="1px">Request blocked. We can't connect to the server
for this app or website at this time.<BR clear="all"><HR noshade size="1px"><PRE>Generated by cloudfront (CloudFront)
Request ID: 6Yq8mKq1t2Q==</PRE></BODY></HTML>""",
    "verify-human": b"""<html><head><title>Security check</title></head><body><h1>Please verify you are a human</h1>
<p>Press &amp; Hold to confirm you are a human (and not a bot).</p><div id="px-captcha"></div></body></html>""",
}


def real_bodies() -> dict[str, bytes]:
    folder = FIXTURES / "blockpages"
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.suffix in (".html", ".txt")}


REAL_BODIES = real_bodies()
ALL_BODIES = {**REAL_BODIES, **GENERATED}


def one_of_each_kind() -> dict[str, bytes]:
    """A body of each kind (real block, CAPTCHA and challenge pages, plain text, and every generated family): the
    crawls below run on these, since every body goes through the same ``block_reason`` the tests above check one by
    one, and a crawl per body costs a child process each."""
    kinds: dict[str, bytes] = {}
    for name, body in REAL_BODIES.items():
        kinds.setdefault(name.split("__")[0] + Path(name).suffix, body)
    return {**{f"real {kind}": body for kind, body in kinds.items()}, **GENERATED}


@pytest.mark.parametrize("name", sorted(ALL_BODIES))
def test_every_block_page_is_recognised_served_with_200(name):
    assert block_reason(200, HTML, ALL_BODIES[name]), name


@pytest.mark.parametrize("name", sorted(ALL_BODIES))
def test_a_block_page_at_a_document_url_is_no_conclusion_even_where_the_site_has_soft_404s(name):
    """A site answering every unknown URL with a 200 page (the worst case): the block page is still not it."""
    soft = NotFoundSignature.learn(Answer.of(nonexistent_url("https://www.x.gov/doclib/a.pdf"), 200, None, HTML,
                                             NOT_FOUND))
    answer = Answer.of("https://www.x.gov/doclib/a.pdf", 200, None, HTML, ALL_BODIES[name])
    assert judge_document_answer(answer, soft).outcome == "blocked"


def test_ordinary_pages_are_not_block_pages():
    """Real government pages, the real listing pages among them, are never called block pages."""
    pages = [*(FIXTURES / "realpages").rglob("*.html"), *(FIXTURES / "listingpages").glob("*.html")]
    assert len(pages) > 30
    for path in pages:
        if "403" in path.name:
            continue
        assert block_reason(200, HTML, path.read_bytes()) is None, path.name


class TestJudgement:
    URL = "https://www.x.gov/doclib/foia/records.pdf"

    def judge(self, status, body, final=None, signature=None, headers=HTML):
        return judge_document_answer(Answer.of(self.URL, status, final, headers, body), signature,
                                     ["https://www.x.gov/foia/library"])

    def signature(self, status, body, final=None):
        probe = nonexistent_url(self.URL)
        return NotFoundSignature.learn(Answer.of(probe, status, final, HTML, body))

    def test_only_evidence_means_gone(self):
        hard = self.signature(404, NOT_FOUND)
        assert self.judge(404, b"").outcome == "gone" and self.judge(410, b"").outcome == "gone"
        assert self.judge(200, b"%PDF-1.7 ...", headers=PDF).outcome == "served"
        assert self.judge(200, NOT_FOUND, signature=hard).outcome == "soft_404"  # the site's own 404 page, as 200
        assert self.judge(200, b"<html><title>Home</title></html>", final="https://www.x.gov/").outcome == "soft_404"
        assert self.judge(200, b"<html>x</html>", final="https://www.x.gov/foia/library").outcome == "soft_404"
        assert self.judge(200, b"<html>x</html>", final="https://www.x.gov/errors/404.html").outcome == "soft_404"

    def test_other_html_is_no_conclusion(self):
        hard = self.signature(404, NOT_FOUND)
        other = b"<html><head><title>Records | X</title></head><body><h1>Records</h1><p>Our records.</p></body></html>"
        assert self.judge(200, other, signature=hard).outcome == "blocked"
        assert self.judge(200, NOT_FOUND, signature=None).outcome == "blocked"  # the not-found page was not learned
        assert self.judge(503, NOT_FOUND, signature=hard).outcome == "failed"
        assert self.judge(403, NOT_FOUND, signature=hard).outcome == "blocked"

    def test_a_soft_404_site_is_recognised_by_its_page_and_its_redirect(self):
        page = (b"<html><head><title>Sorry</title></head><body><nav>Home About Contact Records Data</nav>"
                b"<p>We could not find /doclib/foia/%s. Try the search box or the site map.</p></body></html>")
        soft = self.signature(200, page % b"foiawatch5f3a9c1d2e4b6a70.pdf")
        assert self.judge(200, page % b"records.pdf", signature=soft).outcome == "soft_404"
        redirected = self.signature(200, b"<html>gone</html>", final="https://www.x.gov/missing?from=x")
        assert self.judge(200, b"<html>gone</html>", final="https://www.x.gov/missing?from=y",
                          signature=redirected).outcome == "soft_404"

    def test_a_signature_learned_from_a_block_page_matches_nothing(self):
        blocked = self.signature(200, GENERATED["f5-asm-rejected"])
        assert blocked.blocked and self.judge(200, NOT_FOUND, signature=blocked).outcome == "blocked"


# end to end ---------------------------------------------------------------------------------------------------


def listing(names: list[str]) -> bytes:
    items = "".join(f'<li><a href="/doclib/foia/{name}.pdf">Record {name}</a></li>' for name in names)
    return f'<html><body><main id="main-content"><h2>Records</h2><ul>{items}</ul></main></body></html>'.encode()


def events(data: Path, kind: str) -> list[dict]:
    with Archive(data) as archive:
        return [dict(row, evidence=json.loads(row["evidence"])) for row in archive.db.query(
            "select * from events where kind = ? order by id", [kind])]


def test_delisted_documents_behind_block_pages_are_never_removed(tmp_path):
    blocked = sorted(ALL_BODIES)
    gone = ["gone-404", "gone-own-404-page", "gone-to-home"]
    kept = [f"kept-{n}" for n in range(6)]
    names = kept + blocked + gone
    routes = {"/foia/library": (200, HTML, listing(names)), "/": (200, HTML, b"<html><title>Home</title></html>")}
    routes.update({f"/doclib/foia/{name}.pdf": (200, PDF, b"%PDF-1.4 " + name.encode()) for name in names})
    with StaticSite(routes) as site:
        config = demo_config(site.url)
        config = replace(config, library_urls=(site.url + "/foia/library",), removal_confirmations=2)
        assert crawl(config, tmp_path).status == "complete"
        with Archive(tmp_path) as archive:
            diff_agency(archive, config)
        site.routes["/foia/library"] = (200, HTML, listing(kept))
        for index, name in enumerate(blocked):
            body = ALL_BODIES[name]
            if index % 2:  # through a redirect to a page that is a block page
                site.routes[f"/doclib/foia/{name}.pdf"] = (302, {"Location": f"/blocked/{index}"}, b"")
                site.routes[f"/blocked/{index}"] = (200, HTML, body)
            else:
                site.routes[f"/doclib/foia/{name}.pdf"] = (200, HTML, body)
        site.routes["/doclib/foia/gone-404.pdf"] = (404, HTML, NOT_FOUND)
        site.routes["/doclib/foia/gone-own-404-page.pdf"] = (200, HTML, SITE_404)
        site.routes["/doclib/foia/gone-to-home.pdf"] = (301, {"Location": "/"}, b"")
        for _ in range(3):
            assert crawl(config, tmp_path).status == "complete"
            with Archive(tmp_path) as archive:
                diff_agency(archive, config)

    removed = {event["url"].rsplit("/", 1)[1][:-4] for event in events(tmp_path, "removed")}
    assert removed == set(gone), "only the documents really gone are removed"
    unverified = {event["url"].rsplit("/", 1)[1][:-4]: event for event in events(tmp_path, "unlisted")}
    assert set(unverified) == set(blocked), "every blocked document shows as unlisted, with the reason"
    for event in unverified.values():
        assert event["evidence"]["unverified"] and "cannot be verified" in event["summary"]
    with Archive(tmp_path) as archive:
        signatures = list(archive.db.query("select * from not_found_signatures"))
        assert signatures and all(row["http_status"] == 404 for row in signatures), "the site's 404, kept as evidence"

    mailbox = Mailbox().start()
    try:
        settings = AlertSettings(smtp_url=mailbox.url, operator_email=OPERATOR, retry_base=0)
        run_alerts(tmp_path, settings, config.id)
        host = urlsplit(site.url).netloc
        (alert,) = mailbox.to(OPERATOR)
        assert f"cannot verify {len(blocked)} delisted documents on {host}: blocked" in alert["Subject"]
    finally:
        mailbox.stop()


def test_a_block_page_at_the_listing_url_is_an_outage_not_removals(tmp_path):
    names = [f"doc-{n}" for n in range(8)]
    routes = {"/foia/library": (200, HTML, listing(names))}
    routes.update({f"/doclib/foia/{name}.pdf": (200, PDF, b"%PDF-1.4 " + name.encode()) for name in names})
    with StaticSite(routes) as site:
        config = replace(demo_config(site.url), library_urls=(site.url + "/foia/library",), removal_confirmations=1)
        assert crawl(config, tmp_path).status == "complete"
        for index, (name, body) in enumerate(one_of_each_kind().items()):
            if index % 2:  # through a redirect
                site.routes["/foia/library"] = (302, {"Location": "/security-check"}, b"")
                site.routes["/security-check"] = (200, HTML, body)
            else:
                site.routes["/foia/library"] = (200, HTML, body)
            for path in list(site.routes):
                if path.startswith("/doclib/"):
                    site.routes[path] = (200, HTML, body)
            result = crawl(config, tmp_path)
            assert result.status == "outage" and "blocked" in result.reason, (name, result.reason)
        with Archive(tmp_path) as archive:
            diff_agency(archive, config)
    assert events(tmp_path, "removed") == [] and events(tmp_path, "section_removed") == []
    (outage,) = events(tmp_path, "outage")
    assert outage["evidence"]["blocked"] is True


def test_a_captured_url_behind_a_block_page_is_not_removed_before_monitoring(tmp_path):
    from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
    from foiawatch.diff.baseline import run_baseline
    from foiawatch.wayback import WaybackClient
    from foiawatch.wayback.cdx_sync import sync_captures
    from foiawatch.wayback.probes import probe_never_listed

    fast = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01)
    routes = {"/foia/library": (200, HTML, listing(["listed"])), "/doclib/foia/listed.pdf": (200, PDF, b"%PDF-1.4")}
    behind = {name: f"block-{n}.pdf" for n, name in enumerate(sorted(ALL_BODIES))}
    for n, (name, file) in enumerate(behind.items()):
        if n % 2:
            routes[f"/doclib/foia/{file}"] = (302, {"Location": f"/check/{n}"}, b"")
            routes[f"/check/{n}"] = (200, HTML, ALL_BODIES[name])
        else:
            routes[f"/doclib/foia/{file}"] = (200, HTML, ALL_BODIES[name])
    routes["/doclib/foia/own-404-page.pdf"] = (200, HTML, SITE_404)
    files = [*behind.values(), "own-404-page.pdf", "hard-404.pdf"]
    with StaticSite(routes) as site, WaybackStandin(
            [StandinCapture(f"{site.url}/doclib/foia/{file}", "20150101000000", 200, "application/pdf",
                            file.encode()) for file in files]) as standin:
        config = replace(demo_config(site.url), library_urls=(site.url + "/foia/library",))
        config = replace(config, wayback=replace(config.wayback, base_url=standin.url,
                                                 prefix=f"{urlsplit(site.url).netloc}/doclib/foia/"))
        assert crawl(config, tmp_path).status == "complete"
        archive = Archive(tmp_path)
        assert sync_captures(archive, config, WaybackClient(standin.url, **fast)).captures == len(files)
        probes = probe_never_listed(archive, config)
        result = run_baseline(archive, config.id, config.wayback.all_prefixes)
    assert probes.outcomes == {"blocked": len(behind), "soft_404": 1, "gone": 1}
    flagged = {row["url"].rsplit("/", 1)[1] for row in archive.db.query(
        "select url from events where kind = 'removed_before_monitoring'")}
    assert flagged == {"own-404-page.pdf", "hard-404.pdf"} and result.inconclusive == len(behind)
    learned = list(archive.db.query("select * from not_found_signatures where crawl_id is null"))
    assert len(learned) == 1 and learned[0]["http_status"] == 404
