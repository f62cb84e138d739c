"""Read one listing page: its documents and the section each is listed under, its further pages, its visible text.

Pure functions of (bytes, URL, config) so the spider, the demo and the tests read a page the same way. The page is
walked once in document order, keeping the current section heading as it goes, so a page with tens of thousands of
links costs one linear pass rather than a "find the preceding heading" search per link.

``classify_response`` feeds the removal rule (docs/DESIGN.md): only 404/410 and "page not found" pages can mean gone;
bot blocks, challenge pages and 5xx never do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import cssselect
from lxml import etree

from ..config import AgencyConfig
from .answers import block_reason, says_not_found
from .html import NEVER_VISIBLE, WHITESPACE, collapse, looks_like_html, parse_html
from .urls import canonical_url, is_document_url, query_values

# Verdicts of classify_response.
OK, GONE, BLOCKED, ERROR, NOT_FOUND_PAGE = "ok", "gone", "blocked", "error", "not_found_page"

# A page with more document links than this is a library page whatever notice or block marker it shows.
OUTAGE_MAX_DOCUMENTS = 2
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
_PROSE_TAGS = frozenset({"p", "blockquote", "dd", "figcaption", "address"})
# Classes that hide an element from sight (screen-reader text) or altogether.
_HIDDEN_CLASSES = frozenset({"element-invisible", "visually-hidden", "visuallyhidden", "sr-only", "usa-sr-only",
                             "screen-reader-text", "show-for-sr", "hidden", "hide", "display-none", "d-none",
                             "offscreen"})
_PAGE_NUMBER = re.compile(r"^\d+(?:,\d+)*$")  # Drupal writes "page=0,2" when a page has two pagers
_PATH_PAGE = re.compile(r"/page/(\d+)/?$")  # WordPress numbers pages in the path: /opinions/page/2/
_WORD = re.compile(r"\w")
_FEED_LINKS = etree.XPath(
    "//link[contains(concat(' ', translate(@rel, 'ALTERNATE', 'alternate'), ' '), ' alternate ')]"
    "[contains(translate(@type, 'RSATOMXL', 'rsatomxl'), 'rss+xml') or"
    " contains(translate(@type, 'RSATOMXL', 'rsatomxl'), 'atom+xml')][@href]"
)
_ITEM_HEADING = etree.XPath(
    "(.//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6"
    " or contains(@class, 'heading') or contains(@class, 'title')])[1]"
)

_DATE = (
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
    r"(?:[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{4}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})"
    r"(?:(?:,?\s+(?:-\s+|at\s+)?|T)\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*[a-z]{2,4}\b)?)?"
)
_STAMP = r"(?:(?:page|content|date|this page was)\s+)?last\s+(?:updated|reviewed|modified|revised)(?:\s+on)?\s*:?"
# Bits of page text that change without the page changing.
_VOLATILE = (
    re.compile(r"(?i)\b" + _STAMP + r"\s*" + _DATE),
    re.compile(r"(?i)^(?:showing|displaying|viewing|results?)\s+(?:results?\s+|items?\s+|records?\s+)?\d[\d,]*\s*"
               r"(?:-|–|to)\s*\d[\d,]*\s+of\s+\d[\d,]*\b.*$"),
)

# Drupal prints the label and the date of a stamp as separate elements, hence separate lines.
_STAMP_LABEL = re.compile(r"(?i)^" + _STAMP + "$")
_DATE_LINE = re.compile(r"(?i)^" + _DATE + "$")

@dataclass(frozen=True)
class DocumentLink:
    """One document link as listed: the URL is canonical, the texts whitespace-collapsed."""

    url: str
    title: str
    link_text: str
    section: str


@dataclass
class ListingParse:
    """What one listing page says. ``occurrences`` keeps every (url, section) pair; ``documents`` one per URL."""

    documents: list[DocumentLink] = field(default_factory=list)
    occurrences: list[DocumentLink] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)
    follow_pages: list[str] = field(default_factory=list)
    text: str = ""
    paragraphs: list[str] = field(default_factory=list)
    outage_notice: str | None = None
    blocked: str | None = None
    items_without_link: int = 0  # elements of the item selector holding no document link
    records: list[DocumentLink] = field(default_factory=list)  # record pages, whose own pages list their parts


def parse_listing(body: bytes, url: str, config: AgencyConfig, *, encoding: str | None = None) -> ListingParse:
    """Parse a listing page fetched from ``url`` (the final URL, which relative links resolve against).

    ``encoding`` is the charset the server declared, if any. A byte-order mark overrides it; when it is missing or
    bogus, the page's own meta charset and then UTF-8 are used (undecodable bytes become U+FFFD, never an error).
    """
    sitemap = read_sitemap(body)
    if sitemap is not None:
        return _sitemap_listing(sitemap, config)
    document = parse_html(body, encoding)
    base = _base_url(document, url)
    listing = config.listing
    next_pages, follow_pages = _further_pages(document, base, url, config)
    reader = _Reader(config, base, feeds=_feeds(document, base),
                     ignored=set(_select(document, ", ".join(listing.ignore_selectors))),
                     headings=set(_select(document, listing.section_selector)),
                     items=set(_select(document, listing.item_selector)))
    for root in _content_roots(document, listing.content_selector):
        reader.read(root)
    lines = _normalise(reader.lines())
    result = ListingParse(
        documents=list(reader.documents.values()),
        occurrences=list(reader.occurrences.values()),
        next_pages=next_pages,
        follow_pages=follow_pages,
        text="\n".join(lines),
        paragraphs=reader.paragraphs,
        items_without_link=reader.items_without_link,
        records=list(reader.records.values()),
    )
    if len(result.documents) <= OUTAGE_MAX_DOCUMENTS:
        result.blocked = block_reason(200, {"content-type": "text/html"}, body)
        result.outage_notice = _outage_notice(document, config)
    return result


@dataclass(frozen=True)
class Sitemap:
    """What an XML sitemap lists: page or file URLs (``<url><loc>``), and further sitemaps (a sitemap index)."""

    urls: list[str]
    sitemaps: list[str]


def read_sitemap(body: bytes) -> Sitemap | None:
    """The sitemap ``body`` is (sitemaps.org protocol), or None if it is not one. Read with entities, DTDs and the
    network off: a sitemap is web input like any other."""
    start = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"<?xml") and not start.startswith(b"<urlset") and not start.startswith(b"<sitemapindex"):
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return None
    if root is None or etree.QName(root).localname not in ("urlset", "sitemapindex"):
        return None
    locs = [collapse(loc.text or "") for loc in root.iter("{*}loc")]
    canonical = [url for url in (canonical_url(loc) for loc in locs if loc) if url]
    if etree.QName(root).localname == "sitemapindex":
        return Sitemap([], canonical)
    return Sitemap(canonical, [])


def _sitemap_listing(sitemap: Sitemap, config: AgencyConfig) -> ListingParse:
    documents = [DocumentLink(url, unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]), "", "")
                 for url in dict.fromkeys(sitemap.urls) if is_document_url(url, config.documents)]
    return ListingParse(documents=documents, occurrences=list(documents),
                        next_pages=[url for url in sitemap.sitemaps if config.host_allowed(url)],
                        text="\n".join(sitemap.urls))


def page_text(body: bytes, url: str, config: AgencyConfig, *, encoding: str | None = None) -> str:
    """The main text of a web page that is itself a record: what a reader sees in its content area, site chrome
    left out and volatile stamps ("Last updated …", "Showing 1–20 of 340") dropped, so a page is ``changed`` only
    when what it says changes."""
    document = parse_html(body, encoding)
    listing = config.listing
    reader = _Reader(config, url, ignored=set(_select(document, ", ".join(listing.ignore_selectors))))
    for root in _content_roots(document, listing.content_selector):
        reader.read(root)
    return "\n".join(_normalise(reader.lines()))


def classify_response(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """For a listing page: ``ok``, ``gone`` (404/410), ``blocked`` (a block, challenge or access page, whatever
    its status: see ``answers.block_reason``), ``error`` (other failures, 5xx included) or ``not_found_page`` (a 2xx
    whose HTML says "page not found"). Answers at documents' URLs are judged by ``answers.judge_document_answer``.
    """
    if status in (404, 410):
        return GONE
    if block_reason(status, headers, body):
        return BLOCKED
    if not 200 <= status < 300:
        return ERROR
    if looks_like_html(dict((k.lower(), v) for k, v in headers.items()).get("content-type", ""), body) \
            and says_not_found(body):
        return NOT_FOUND_PAGE
    return OK


@dataclass
class _Prose:
    """An open prose block: it is a paragraph if it holds no document link and no nested prose block."""

    element: etree._Element
    links_before: int
    has_prose_child: bool = False


class _Reader:
    """One pass over content: visible text lines, prose paragraphs, and document links with their section."""

    def __init__(self, config: AgencyConfig, base: str, *, ignored: Set[etree._Element] = frozenset(),
                 headings: Set[etree._Element] = frozenset(), items: Set[etree._Element] = frozenset(),
                 feeds: Set[str] = frozenset()):
        self.config = config
        self.base = base
        self.feeds = feeds
        self.ignored = ignored
        self.headings = headings
        self.items = items
        self.documents: dict[str, DocumentLink] = {}
        self.occurrences: dict[tuple[str, str], DocumentLink] = {}
        self.records: dict[str, DocumentLink] = {}  # record pages (listing.record_patterns), listing their parts
        self._record_patterns = [re.compile(pattern) for pattern in config.listing.record_patterns]
        self.paragraphs: list[str] = []
        self._chunks: list[str] = []
        # Open section headings, innermost last: (text, the element whose end closes it).
        self._sections: list[tuple[str, etree._Element]] = []
        self._items: list[tuple[etree._Element, str, int]] = []  # (item, its heading's text, links before it)
        self.items_without_link = 0
        self._prose: list[_Prose] = []
        self._links = 0  # document links seen so far

    def read(self, root: etree._Element) -> None:
        walker = etree.iterwalk(root, events=("start", "end"))
        for event, element in walker:
            tag = element.tag
            if not isinstance(tag, str):
                continue
            if event == "start":
                if element in self.ignored or tag in NEVER_VISIBLE:
                    walker.skip_subtree()
                    continue
                self._start(element, tag)
            else:
                self._end(element, tag)

    def lines(self) -> list[str]:
        return "".join(self._chunks).split("\n")

    def _start(self, element: etree._Element, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._chunks.append("\n")
        if element.text:
            self._chunks.append(WHITESPACE.sub(" ", element.text))
        if element in self.headings:
            self._open_section(element, tag)
        if element in self.items:
            heading = _ITEM_HEADING(element)
            self._items.append((element, collapse(heading[0].text_content()) if heading else "", self._links))
        if tag in _PROSE_TAGS:
            if self._prose:
                self._prose[-1].has_prose_child = True
            self._prose.append(_Prose(element, self._links))
        if tag == "a" and element.get("href"):
            self._link(element)

    def _end(self, element: etree._Element, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._chunks.append("\n")
        if self._prose and self._prose[-1].element is element:
            prose = self._prose.pop()
            if not prose.has_prose_child and self._links == prose.links_before:
                self.paragraphs.extend(_normalise([element.text_content()]))
        if self._items and self._items[-1][0] is element:
            self.items_without_link += self._items.pop()[2] == self._links
        for index, (_, scope) in enumerate(self._sections):
            if scope is element:
                del self._sections[index:]
                break
        if element.tail:
            self._chunks.append(WHITESPACE.sub(" ", element.tail))

    def _open_section(self, element: etree._Element, tag: str) -> None:
        """A heading names the documents after it until its scope ends or a heading of the same scope follows."""
        if _hidden(element) or _item_title(element) or _prose_label(element):
            return
        scope = _section_scope(element, tag)
        for index, (_, open_scope) in enumerate(self._sections):
            if open_scope is scope:
                del self._sections[index:]
                break
        self._sections.append((collapse(element.text_content()), scope))

    def _link(self, element: etree._Element) -> None:
        url = canonical_url(element.get("href"), self.base)
        if url is None or url in self.feeds:
            return
        if not is_document_url(url, self.config.documents):
            if any(pattern.search(url) for pattern in self._record_patterns):
                self.records.setdefault(url, self._listed_as(element, url))
            return
        self._links += 1
        link = self._listed_as(element, url)
        self.documents.setdefault(url, link)
        self.occurrences.setdefault((url, link.section), link)

    def _listed_as(self, element: etree._Element, url: str) -> DocumentLink:
        """How a link lists its target: title, link text and section."""
        link_text = collapse(element.text_content())
        title = (self._items[-1][1] if self._items else "") or link_text or collapse(
            element.get("title") or element.get("aria-label") or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        )
        section = self._sections[-1][0] if self._sections else ""
        separator = self.config.listing.title_section_separator
        if separator and separator in title:
            head, _, category = title.rpartition(separator)
            if head.strip() and category.strip():
                title, section = head.strip(), category.strip()
        return DocumentLink(url=url, title=title, link_text=link_text, section=section)


def _prose_label(heading: etree._Element) -> bool:
    """A heading that ends in a colon and is followed straight by a paragraph without links ("Directions:" over
    how to use the table below) labels that prose, not the documents after it; they stay under the heading above.
    A colon heading followed straight by its list or table ("MEETING SCHEDULE:") still heads the documents."""
    if not collapse(heading.text_content()).endswith(":"):
        return False
    following = heading.getnext()
    while following is not None and not isinstance(following.tag, str):  # comments between
        following = following.getnext()
    return following is not None and following.tag == "p" and not following.xpath(".//a[@href]")


def _feeds(document: etree._Element, base: str) -> frozenset[str]:
    """The page's own news feeds, as its ``<link rel="alternate" type="application/rss+xml">`` (or Atom) declares
    them: a link to one (an RSS icon beside the page title, ``/feed.xml``) subscribes to the site, it is no
    document of the listing, whatever its ``.xml`` extension says."""
    feeds = set()
    for element in _FEED_LINKS(document):
        url = canonical_url(element.get("href") or "", base)
        if url:
            feeds.add(url)
    return frozenset(feeds)


def _section_scope(heading: etree._Element, tag: str) -> etree._Element:
    """The element a heading is confined to: a caption names only its table, a Drupal grouping header only its
    group, and an h2–h6 heading the block it stands in (climbing wrappers that hold nothing else), so a sidebar's
    "Filter by date" heading ends with the sidebar instead of naming the listing after it."""
    parent = heading.getparent()
    if tag == "caption" or "view-grouping-header" in (heading.get("class") or "").split() or parent is None:
        return parent if parent is not None else heading
    while len(parent) == 1 and parent.getparent() is not None and not collapse(_own_text(parent)):
        parent = parent.getparent()
    return parent


def _own_text(element: etree._Element) -> str:
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _hidden(element: etree._Element) -> bool:
    """Whether an element is there for screen readers or switched off: a "You are here" breadcrumb title is not
    a section of the listing."""
    for node in (element, *element.iterancestors()):
        classes = set((node.get("class") or "").lower().split())
        style = (node.get("style") or "").replace(" ", "").lower()
        if (classes & _HIDDEN_CLASSES or node.get("hidden") is not None or node.get("aria-hidden") == "true"
                or "display:none" in style or "visibility:hidden" in style):
            return True
    return False


def _item_title(heading: etree._Element) -> bool:
    """A heading inside a list item or table cell that holds no list of its own titles that one item (a table
    used for layout, a cell with a year over its list of minutes, still has sections)."""
    for node in heading.iterancestors():
        if node.tag in ("li", "td", "th"):
            return not any(child.tag in ("ul", "ol", "table", "dl") for child in node.iterdescendants())
    return False


def _further_pages(document: etree._Element, base: str, url: str, config: AgencyConfig) -> tuple[list[str], list[str]]:
    """Pagination and section pages, looked for in the whole page (pagers usually sit in a <nav>)."""
    here = canonical_url(url) or url
    here_parts = urlsplit(here)
    name = config.listing.page_parameter
    here_filters = query_values(here_parts.query, leave_out=name)
    first_page = name not in dict(parse_qsl(here_parts.query))
    listing = config.listing

    def candidate(href: str | None) -> str | None:
        target = canonical_url(href, base) if href else None
        if (target is None or target == here or not config.host_allowed(target)
                or is_document_url(target, config.documents)):
            return None
        return target

    next_pages: dict[str, None] = {}
    for element in _select(document, listing.next_page_selector):
        anchor = element if element.get("href") else next(iter(element.iterfind(".//a[@href]")), None)
        target = candidate(anchor.get("href")) if anchor is not None else None
        if target:
            next_pages[target] = None
    follow = [re.compile(p) for p in listing.follow_patterns]
    follow_pages: dict[str, None] = {}
    for anchor in document.iter("a"):
        target = candidate(anchor.get("href"))
        if target is None:
            continue
        parts = urlsplit(target)
        numbers = [value for key, value in parse_qsl(parts.query) if key == name and _PAGE_NUMBER.match(value)]
        if _path_page(parts, here_parts):
            next_pages[target] = None
        elif ((parts.netloc, parts.path) == (here_parts.netloc, here_parts.path) and numbers
                and query_values(parts.query, leave_out=name) == here_filters):
            if set(numbers[0].split(",")) != {"0"}:
                next_pages[target] = None
            elif not first_page:  # "?page=0" is the first page, which the library lists without the parameter
                first = urlunsplit(parts._replace(query=urlencode(_without_page(parts.query, name))))
                next_pages[canonical_url(first) or first] = None
        elif any(pattern.search(target) for pattern in follow):
            follow_pages[target] = None
    return list(next_pages), [page for page in follow_pages if page not in next_pages]


def _path_page(target: SplitResult, here: SplitResult) -> bool:
    """Whether ``target`` is another numbered page of ``here`` in the path rather than the query, as WordPress
    numbers archive and listing pages (``/opinions/page/2?yr=2024``; page 1 is the path without ``/page/N``):
    same host, same path once ``/page/N`` is taken off, same query."""
    if (target.netloc, target.query) != (here.netloc, here.query):
        return False
    target_match, here_match = _PATH_PAGE.search(target.path), _PATH_PAGE.search(here.path)
    target_base = target.path[:target_match.start()] if target_match else target.path
    here_base = here.path[:here_match.start()] if here_match else here.path
    if target_base.rstrip("/") != here_base.rstrip("/") or target.path == here.path:
        return False
    if target_match:  # /page/1 is the first page again, which a first page does not list as another
        return target_match.group(1) != "1" or here_match is not None
    return here_match is not None  # the first page, linked from page N


def _without_page(query: str, name: str) -> list[tuple[str, str]]:
    """The other parameters of a query, in its order (the first page's URL is built from them)."""
    return [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if key != name]


def _outage_notice(document: etree._Element, config: AgencyConfig) -> str | None:
    """The line of the page (banners included) that carries a configured outage notice, if any."""
    notices = [notice.lower() for notice in config.outage.notices if notice.strip()]
    if not notices:
        return None
    body = document.find("body")
    reader = _Reader(config, "")
    reader.read(body if body is not None else document)
    for line in _normalise(reader.lines()):
        lowered = line.lower()
        if any(notice in lowered for notice in notices):
            return line
    return None


def _base_url(document: etree._Element, url: str) -> str:
    base = document.find(".//base[@href]")
    return (canonical_url(base.get("href"), url) or url) if base is not None else url


def _content_roots(document: etree._Element, content_selector: str) -> list[etree._Element]:
    """Elements matched by the first alternative of ``content_selector`` that matches (outermost only).

    Skip-link targets don't count: Drupal themes often mark ``<a id="main-content"></a>`` rather than a container.
    """
    for xpath in _alternatives(content_selector) if content_selector.strip() else ():
        matches = [m for m in xpath(document) if m.tag != "a" and (len(m) or (m.text or "").strip())]
        if matches:
            roots: list[etree._Element] = []
            for element in matches:
                if not any(root in element.iterancestors() for root in roots):
                    roots.append(element)
            return roots
    body = document.find("body")
    return [body if body is not None else document]


def _select(document: etree._Element, selector: str) -> list[etree._Element]:
    return _xpath(selector)(document) if selector.strip() else []


@lru_cache(maxsize=128)
def _xpath(selector: str) -> etree.XPath:
    return etree.XPath(cssselect.HTMLTranslator().css_to_xpath(selector))


@lru_cache(maxsize=32)
def _alternatives(selector: str) -> tuple[etree.XPath, ...]:
    translator = cssselect.HTMLTranslator()
    return tuple(etree.XPath(translator.selector_to_xpath(s)) for s in cssselect.parse(selector))


def _normalise(lines: Iterable[str]) -> list[str]:
    """Collapse whitespace and strip volatile stamps, so two fetches of an unchanged page read the same."""
    out: list[str] = []
    after_label = False
    for line in lines:
        line = collapse(line)
        stripped = line
        for pattern in _VOLATILE:
            stripped = collapse(pattern.sub("", stripped))
        if stripped != line and not _WORD.search(stripped):  # nothing left but punctuation
            continue
        line = stripped
        if not line:
            continue
        if after_label and _DATE_LINE.match(line):
            after_label = False
            continue
        after_label = bool(_STAMP_LABEL.match(line))
        if not after_label:
            out.append(line)
    return out
