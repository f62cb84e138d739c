"""What a server's answer at a document's URL says about the document: gone, still served, or no conclusion.

A false "removed" is the worst bug foiawatch can have, so an answer counts as **gone** only on evidence (docs/DESIGN.md
rule 3): a 404 or 410; a redirect to the library listing, the site's home page or its not-found page; or an HTML
page that matches **this site's own not-found page**. That page is learned the way soft-404 research does it
(Bar-Yossef et al., "Sic transit gloria telae", WWW 2004): ask the same site for a random URL that certainly does not
exist, beside the document, and compare what comes back (status, where it redirects, its text) with the answer.

Everything else that is not the document is **no conclusion**: a block, challenge or access page (WAF "Request
Access" forms, CAPTCHAs, "Access Denied ... Reference #", content-filter portals, CDN challenge headers), whatever
its status, and any other HTML page where a document was. Those break a run of confirmations instead of extending it.
"""

from __future__ import annotations

import difflib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from lxml import etree

from ..archive.vocabulary import ProbeOutcome
from .html import NEVER_VISIBLE, collapse, looks_like_html, page_title, parse_html, visible_text
from .sniff import sniff_mimetype
from .urls import canonical_url

HEAD_BYTES = 256 * 1024  # what is read of an answer's body to judge it
BLOCK_STATUSES = frozenset({401, 403, 407, 429, 202})  # 202: Akamai Bot Manager's interstitial
SIMILAR = 0.85  # token-sequence similarity above which two pages are the same page with a different URL in it
_SMALL_PAGE = 5000  # characters of visible text: block pages are small; a long page that mentions one is content
_TOKENS_COMPARED = 4000

# Headers a CDN or WAF sets only on an answer it blocked or challenged.
_BLOCK_HEADERS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("cf-mitigated", re.compile(r"(?i)^challenge"), "Cloudflare challenge"),
    ("x-amzn-waf-action", re.compile(r"(?i)^(challenge|captcha|block)"), "AWS WAF"),
    ("x-dd-b", re.compile(r"."), "DataDome block"),
    ("x-sucuri-block", re.compile(r"."), "Sucuri firewall"),
)
# Markup only a challenge or block page carries, whatever its size.
_BLOCK_MARKUP = (
    ("cf-browser-verification", "Cloudflare challenge"),
    ("_cf_chl_opt", "Cloudflare challenge"),
    ("px-captcha", "PerimeterX challenge"),
    ("captcha-delivery.com", "DataDome challenge"),
    ("sucuri_cloudproxy_js", "Sucuri CloudProxy challenge"),
    ("/cdn-cgi/l/chk_jschl", "Cloudflare challenge"),  # the 2015-2020 "I'm Under Attack" form and its fields
    ("jschl_answer", "Cloudflare challenge"),
    ("/cdn-cgi/l/chk_captcha", "Cloudflare CAPTCHA"),
)
# Markup these services also inject into ordinary pages (bot detection scripts): telling only on a small page.
_SMALL_PAGE_MARKUP = (
    ("/cdn-cgi/challenge-platform/", "Cloudflare challenge"),
    ("_Incapsula_Resource", "Incapsula block"),
    ("AwsWafIntegration", "AWS WAF challenge"),
    ("awswaf.com", "AWS WAF challenge"),
    ("/cdn-cgi/bm/cv/", "Cloudflare bot management"),
    ("__CF$cv$params", "Cloudflare bot management"),
    ("anubis_challenge", "Anubis proof-of-work challenge"),
    ("/.within.website/", "Anubis proof-of-work challenge"),
)
# On a small page only: titles, texts and forms of block, challenge, access and content-filter pages.
_VENDOR_TITLES = (
    (re.compile(r"(?i)^just a moment(?:\.\.\.|…)?$"), "Cloudflare challenge"),
    (re.compile(r"(?i)attention required! \| cloudflare"), "Cloudflare block"),
    (re.compile(r"(?i)^request rejected$"), "F5 firewall rejection"),
    (re.compile(r"(?i)sucuri website firewall"), "Sucuri firewall"),
    (re.compile(r"(?i)\bby zscaler$"), "Zscaler content filter"),
    # CloudFront answers this for what it refused and for an origin it could not reach: never the document.
    (re.compile(r"(?i)^error: the request could not be satisfied$"), "CloudFront error page"),
)
# Vendors' texts come first in _BLOCK_TEXTS, generic ones after; generic titles are checked after both.
_GENERIC_TITLES = (
    (re.compile(r"(?i)^(?:403 )?(?:access denied|forbidden)\b"), "access denied page"),
    (re.compile(r"(?i)^(?:request access|access request|access restricted|restricted access)$"), "access page"),
    (re.compile(r"(?i)web (?:page|site) blocked|blocked (?:page|site|url)|url block"), "content filter"),
    (re.compile(r"(?i)^(?:security check|captcha|are you (?:a )?human|human verification|bot (?:check|protection))"),
     "CAPTCHA page"),
    # Interstitials that run a script and reload: "Loading... please wait 5 seconds", "Please Wait... | Cloudflare",
    # a visitor-check gate ("Sina Visitor System"). Their title is sometimes all that fits in HEAD_BYTES.
    (re.compile(r"(?i)^(?:loading\W*)?(?:please wait|one moment,? please)\b|\bvisitor (?:system|verification|check)$"),
     "challenge interstitial"),
)
_BLOCK_TEXTS = (
    (re.compile(r"(?i)checking (?:your browser before accessing|if the site connection is secure)"),
     "Cloudflare challenge"),
    (re.compile(r"(?i)sorry, you have been blocked|you are unable to access|error 10(?:0\d|1\d|20)\b"),
     "Cloudflare block"),
    (re.compile(r"(?i)you don['’]t have permission to access .{0,500}? on this server"), "Akamai access denied"),
    (re.compile(r"(?i)request unsuccessful\. incapsula incident id"), "Incapsula block"),
    (re.compile(r"(?i)the requested url was rejected|your support id is"), "F5 firewall rejection"),
    (re.compile(r"(?i)pardon our interruption|press (?:&|and) hold"), "bot challenge"),
    (re.compile(r"(?i)verify(?:ing)? (?:that )?you are (?:a )?human|are you a robot|not a (?:ro)?bot\b|"
                r"prove (?:that )?(?:you(?:['’]re| are) (?:a )?human|your humanity)|"
                r"complete the security check|unusual traffic from your|enable javascript and cookies to continue|"
                r"enable javascript before you are allowed"),
     "CAPTCHA or bot check"),
    (re.compile(r"(?i)access (?:to (?:this|the) (?:page|site|web ?site|resource|url) )?(?:has been |is |was )?"
                r"(?:denied|restricted|blocked|forbidden)"), "access denied page"),
    (re.compile(r"(?i)\brequest access\b|\baccess request form\b"), "access page"),
    # A WAF that says so in one sentence and nothing else (ngx_waf: "WAF is blocking this request.", titled "WAF").
    (re.compile(r"(?i)\b(?:waf|(?:web application |web ?site )?firewall) (?:is |has )?block(?:ing|ed) (?:this|your) "
                r"request|\brequest (?:was |has been |is )?(?:blocked|rejected|denied) by (?:the |our |a )?"
                r"(?:web application firewall|waf|(?:web ?site )?firewall)\b"), "firewall block page"),
    (re.compile(r"(?i)web (?:page|site) blocked|(?:site|page|url|request|content) (?:has been|is|was) blocked|"
                r"blocked by (?:your )?(?:network|system|it|web) ?(?:administrator|admin|policy|filter)|"
                r"url (?:filtering|category)|content filter"), "content filter"),
    (re.compile(r"(?i)reference\s*#\s*\d+\.[0-9a-f]+\.\d+\.[0-9a-f]+|support id is:?\s*\d{6,}|"
                r"incident id:?\s*[\d-]{8,}|ray id:?\s*[0-9a-f]{16}|block(?:ed)? (?:id|reference):?\s*[0-9a-z-]{6,}|"
                r"errors\.edgesuite\.net/\d+\.[0-9a-f]+"),
     "firewall page with a reference id"),
)
_CAPTCHA_FORM = re.compile(r"(?i)g-recaptcha|recaptcha/api|h-captcha|hcaptcha\.com|cf-turnstile|name=[\"']?captcha")
_NOT_FOUND = re.compile(
    r"(?i)\b(?:page|file|document|resource|content)\s+(?:was\s+)?not\s+found\b"
    r"|^\s*(?:error\s*)?404\b|\b(?:error|http)\s+404\b|\b404\s*[-:|–]\s*(?:error|not found|page)"
    r"|\bpage (?:you(?:['’]re| are| were)? (?:requested|looking for|trying to reach)|requested)\b.{0,80}?"
    r"(?:not (?:be )?found|no longer (?:available|exists)|(?:been|was) (?:moved|removed|deleted)"
    r"|do(?:es)?(?: not|n['’]t) exist|(?:could(?: not|n['’]t)|can(?:not| not|['’]t)) be found)"
    r"|\bpage (?:does not|doesn['’]t|no longer) exists?\b"
    r"|\bhelp (?:you )?find(?:ing)? (?:information|what you(?:['’]re| are) looking for)"
)
_NOT_FOUND_PATH = re.compile(r"(?i)(?:^|/)(?:404|not[-_]?found|page[-_]?not[-_]?found|pagenotfound|error[-_]?404|"
                             r"404[-_]?error|errors?/404)(?:\.\w{2,5})?/?$")
_HOME_PATH = re.compile(r"(?i)^/?(?:(?:index|default|home)(?:\.\w{2,5})?)?/?$")
_TOKEN = re.compile(r"\w+")
_TEXT_EXTENSIONS = frozenset({"txt", "csv", "tsv", "json", "xml", "md", "log"})


@dataclass(frozen=True)
class Answer:
    """What a server answered for one URL: status, where redirects ended, headers (lower-case names) and the first
    bytes of the body."""

    url: str
    status: int
    final_url: str
    headers: Mapping[str, str]
    body: bytes = b""

    @classmethod
    def of(cls, url: str, status: int, final_url: str | None, headers: Mapping[str, str], body: bytes) -> Answer:
        return cls(url, status, final_url or url, {k.lower(): v for k, v in headers.items()}, body[:HEAD_BYTES])

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def redirected(self) -> bool:
        return _without_fragment(self.final_url) != _without_fragment(self.url)

    @property
    def is_html(self) -> bool:
        return looks_like_html(self.content_type, self.body)


@dataclass(frozen=True)
class Judgement:
    outcome: ProbeOutcome  # gone, soft_404 (gone, by a not-found page), served, blocked or failed
    reason: str


def block_reason(status: int, headers: Mapping[str, str], body: bytes, url: str = "") -> str | None:
    """Name the block, challenge or access page an answer is, if it is one; None if it is not one. ``url`` is
    what was asked for: a plain-text answer is read as a possible block page only where text was not expected."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, pattern, what in _BLOCK_HEADERS:
        if name in lowered and pattern.search(lowered[name]):
            return f"{what} ({name} header)"
    if status in BLOCK_STATUSES:
        return f"HTTP {status}"
    content_type = lowered.get("content-type", "")
    if not looks_like_html(content_type, body):
        return None if _extension(url) in _TEXT_EXTENSIONS else _plain_text_block(content_type, body)
    head = body[:HEAD_BYTES]
    markup = head.decode("utf-8", "replace")
    for marker, what in _BLOCK_MARKUP:
        if marker in markup:
            return what
    document = parse_html(head)
    etree.strip_elements(document, *NEVER_VISIBLE, with_tail=False)
    title, text = page_title(document), collapse(document.text_content())
    if len(text) > _SMALL_PAGE:
        return None
    for marker, what in _SMALL_PAGE_MARKUP:
        if marker in markup:
            return what
    for pattern, what in _VENDOR_TITLES:
        if pattern.search(title):
            return what
    for pattern, what in _BLOCK_TEXTS:
        if pattern.search(text):
            return what
    for pattern, what in _GENERIC_TITLES:
        if pattern.search(title):
            return what
    if _CAPTCHA_FORM.search(markup):
        return "CAPTCHA page"
    return None


def _plain_text_block(content_type: str, body: bytes) -> str | None:
    """Some servers refuse in plain text ("Your IP address is on this server's blacklist"); a body that is a
    document (a PDF, a ZIP, an Office file: its first bytes say so) never is a block page."""
    head = body[:HEAD_BYTES]
    if not head or b"\x00" in head[:1024] or sniff_mimetype(head, None) != "application/octet-stream":
        return None
    if not content_type.lower().startswith("text/") and not head[:1024].isascii():
        return None
    text = collapse(head.decode("utf-8", "replace"))
    if len(text) > _SMALL_PAGE:
        return None
    return next((what for pattern, what in _BLOCK_TEXTS if pattern.search(text)), None)


def says_not_found(body: bytes) -> bool:
    """A page whose title or main heading says "page not found" (or is a "help finding information" signpost)."""
    document = parse_html(body[:HEAD_BYTES])
    texts = [page_title(document)] + [collapse(h.text_content()) for h in document.iter("h1")]
    return any(_NOT_FOUND.search(text) for text in texts if text)


def nonexistent_url(url: str) -> str:
    """A URL beside ``url`` (same scheme, host and folder, same extension) that certainly does not exist."""
    parts = urlsplit(url)
    folder = parts.path.rpartition("/")[0]
    extension = _extension(url)
    random = f"foiawatch{secrets.token_hex(8)}" + (f".{extension}" if extension else "")
    return urlunsplit((parts.scheme, parts.netloc, f"{folder}/{random}", "", ""))


def signature_key(url: str) -> str:
    """Which not-found page a URL shares with others: per host and top folder (a library's files often live under
    another application, /doclib/ or /sites/default/files/, than its pages)."""
    parts = urlsplit(url)
    top = parts.path.lstrip("/").split("/", 1)[0] if parts.path.count("/") > 1 else ""
    return f"{parts.scheme}://{parts.netloc.lower()}/{top}"


@dataclass(frozen=True)
class NotFoundSignature:
    """How a site answers a URL that does not exist, learned from one such URL (kept with the crawl as evidence)."""

    probe_url: str
    status: int
    final_url: str
    content_type: str
    title: str
    tokens: tuple[str, ...]  # the page's words, the asked URL's own words left out
    blocked: str | None = None  # the probe itself met a block page: this signature can match nothing

    @classmethod
    def learn(cls, answer: Answer) -> NotFoundSignature:
        title, tokens = _page_words(answer)
        return cls(answer.url, answer.status, answer.final_url, answer.content_type, title, tokens,
                   block_reason(answer.status, answer.headers, answer.body))

    @property
    def redirected(self) -> bool:
        return _without_fragment(self.final_url) != _without_fragment(self.probe_url)

    def match(self, answer: Answer) -> str | None:
        """Why ``answer`` is this site's not-found page, or None when it is not (or nothing can be told)."""
        if self.blocked:
            return None
        if self.redirected and answer.redirected and _same_page(self.final_url, answer.final_url):
            return f"redirected to {answer.final_url}, where this site sends URLs that do not exist"
        if not answer.is_html or not self.tokens:
            return None
        title, tokens = _page_words(answer)
        if _similarity(self.tokens, tokens) >= SIMILAR:
            return "the same page this site answers for URLs that do not exist"
        if self.title and title == self.title and says_not_found(answer.body):
            return f"a page titled “{title}” saying the page was not found, as this site's not-found page does"
        return None

    def as_evidence(self) -> dict[str, Any]:
        return {"probe_url": self.probe_url, "http_status": self.status, "final_url": self.final_url,
                "content_type": self.content_type, "title": self.title, "words": len(self.tokens),
                "blocked": self.blocked}


def judge_document_answer(answer: Answer, signature: NotFoundSignature | None,
                          library_urls: Iterable[str] = (), *, pages: bool = False) -> Judgement:
    """Gone, served, or no conclusion, for the answer at a document's URL (see the module's docstring).

    ``pages``: the library's records are web pages, so an HTML page that is neither a block page, nor a redirect
    to the listing or the home page, nor this site's not-found page, is the record being served."""
    if answer.status in (404, 410):
        return Judgement(ProbeOutcome.GONE, f"HTTP {answer.status}")
    blocked = block_reason(answer.status, answer.headers, answer.body, answer.url)
    if blocked:
        return Judgement(ProbeOutcome.BLOCKED, f"{blocked}: no conclusion")
    if not 200 <= answer.status < 300:
        return Judgement(ProbeOutcome.FAILED, f"HTTP {answer.status}: no conclusion")
    if not answer.is_html:
        return Judgement(ProbeOutcome.SERVED, f"HTTP {answer.status}, {answer.content_type or 'untyped'} body")
    if answer.redirected:
        final = canonical_url(answer.final_url) or answer.final_url
        if final in {canonical_url(url) or url for url in library_urls}:
            return Judgement(ProbeOutcome.SOFT_404, f"redirected to the library listing {answer.final_url}")
        path = urlsplit(answer.final_url).path
        if _HOME_PATH.match(path) and not urlsplit(answer.final_url).query:
            return Judgement(ProbeOutcome.SOFT_404, f"redirected to the site's home page {answer.final_url}")
        if _NOT_FOUND_PATH.search(path):
            return Judgement(ProbeOutcome.SOFT_404, f"redirected to the site's not-found page {answer.final_url}")
    matched = signature.match(answer) if signature else None
    if matched:
        assert signature is not None
        return Judgement(ProbeOutcome.SOFT_404, f"{matched} (learned from {signature.probe_url})")
    if pages:
        return Judgement(ProbeOutcome.SERVED, f"HTTP {answer.status}, a web page that is not this site's "
                         "not-found page")
    what = "this site's not-found page could not be learned" if signature is None or signature.blocked else \
        "it is not this site's not-found page"
    return Judgement(ProbeOutcome.BLOCKED, f"an HTML page where the document was, and {what}: no conclusion")


def _page_words(answer: Answer) -> tuple[str, tuple[str, ...]]:
    if not answer.is_html:
        return "", ()
    document = parse_html(answer.body)
    echoed = {word for url in (answer.url, answer.final_url) for word in _words(_file_name(url))}
    words = [word for word in _words(visible_text(document)) if word not in echoed]
    return page_title(document).lower(), tuple(words[:_TOKENS_COMPARED])


def _file_name(url: str) -> str:
    """The last segment of a URL's path: what a not-found page echoes back that differs between two URLs."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def _extension(url: str) -> str:
    name = _file_name(url)
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def _words(text: str) -> list[str]:
    return [re.sub(r"\d", "0", word) for word in _TOKEN.findall(text.lower())]


def _similarity(first: tuple[str, ...], second: tuple[str, ...]) -> float:
    if not first or not second:
        return 0.0
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def _same_page(first: str, second: str) -> bool:
    return (canonical_url(first) or first) == (canonical_url(second) or second)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]
