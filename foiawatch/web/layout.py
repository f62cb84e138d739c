"""Recognise how a library page lists its documents, so ``foiawatch init`` can write an agency config for it.

Journalists and researchers will not write CSS selectors. Given one listing page, this finds:

- the **document links**: by extension; by a ``type="application/pdf"`` hint; by the shapes download links take
  (``/media/123/dl``, Plone's ``at_download/file``, DNN's ``LinkClick.aspx?fileticket=``, a file name in the
  query); and, for links without any of those that repeat one URL template (``viewOpinion?docId=…``), by asking a
  few of them with HEAD what they serve (budgeted);
- the **site chrome** to leave out (header, navigation, footer), so a "Privacy policy PDF" is not a record;
- the **sections**: heading elements that group several documents, never an item's own title (a heading over
  exactly one document each, as on a list of opinions) nor a label repeated over every group;
- the **pagination**: numbered links to the same page that differ in one integer parameter, whatever its name
  (``?page=N``, ``?smdpage15701=N``), and a "Page X of Y" line;
- the **hosts** documents are served from.

It only reads (the HEAD questions go through the ``ask`` callable the caller gives it) and returns the config's
fields with the reason for each, for the config's comments and for the preview.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from ..archive.vocabulary import counted
from ..config import AgencyConfig, DocumentRules, ListingRules
from .html import collapse, parse_html, visible_text
from .parse import parse_listing, read_sitemap
from .urls import canonical_url, extension, is_document_url, query_values

DOCUMENT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "csv", "zip", "txt", "rtf", "ppt", "pptx", "odt", "ods",
                       "odp", "xml", "json", "wpd", "mp3", "mp4", "m4a", "wav")
# Download links without an extension, as CMSs write them; each a regex on the canonical URL and what it is.
DOWNLOAD_SHAPES: tuple[tuple[str, str], ...] = (
    (r"/dl(?:\?|$)", "download links ending in /dl (Drupal media, justice.gov)"),
    (r"/at_download/file$", "Plone file downloads (at_download/file)"),
    (r"(?i)/LinkClick\.aspx\?fileticket=", "DNN file tickets (LinkClick.aspx?fileticket=)"),
    (r"(?i)[?&][a-z_]*=[^&]*\.(?:pdf|docx?|xlsx?|zip|csv|txt|rtf|mp3)(?:&|$)", "a file name in the query"),
)
# Site chrome: where links are navigation, not records.
CHROME_SELECTORS = (
    "script", "style", "noscript", "template", "nav", "header", "footer",
    "[role=navigation]", "[role=banner]", "[role=contentinfo]", "[role=search]",
    "#header", "#footer", "#nav", "#navigation", "#menu", ".header", ".footer", ".navbar", ".breadcrumb",
    ".usa-banner", ".usa-alert", ".alert", "#sitewide-alert", "#wm-ipp-base", "#wm-ipp",
)
HEADING_SELECTORS = ("h2", "h3", "h4", "h5", "h6", ".view-grouping-header", "table caption")
DOCUMENT_TYPES = re.compile(r"(?i)^(?:application/(?:pdf|msword|vnd\.|zip|x-zip|rtf|octet-stream|x-download)"
                            r"|audio/|video/|text/csv|text/plain)")
_MENU_NAME = re.compile(r"(?i)menu|^(?:side|sub|left|local|section)[-_]?nav|^nav(?:bar|igation)?$|breadcrumb")
_CSS_NAME = re.compile(r"-?[_a-zA-Z][_a-zA-Z0-9-]*")
# "Page 1 of 34", not "Page 1 of 806257 results" (a count of results, whatever the page size).
_PAGE_OF = re.compile(r"(?i)\bpage\s+(\d+)\s+of\s+([\d,]+)\b(?!\s*(?:results?|items?|records?|documents?|matches|hits|"
                      r"entries|files|opinions|decisions))")
_DIGITS = re.compile(r"\d+")
# A query parameter named for a year (year=2023, fileYear=2025, yr=2024) picks a year's listing: a filter, however
# numeric its values, not the pages of this one.
_YEAR_PARAMETER = re.compile(r"(?i)year|(?:^|_)yr(?:$|_)")
# A query value that names a kind (Legistar's M=A agenda, M=M minutes, M=IC calendar entry), not an id.
_KIND_VALUE = re.compile(r"[A-Za-z]{1,12}")
_HEAD_SAMPLE = 2  # links of one URL template asked about
_RECORDS_MIN = 3  # links of one template before their pages are looked at as records


@dataclass(frozen=True)
class Finding:
    """One thing recognised, with why: it becomes a comment in the written config."""

    what: str
    why: str


@dataclass
class Layout:
    """What a page's layout is, as config fields, and how each was found."""

    url: str
    documents: DocumentRules
    listing: ListingRules
    allowed_hosts: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    head_requests: int = 0
    page_of: tuple[int, int] | None = None  # "Page X of Y"


Ask = Callable[[str], str | None]  # URL -> the content type a HEAD request answers (None: no answer)
Read = Callable[[str], bytes | None]  # URL -> the page's body (None: could not be read)


def detect(body: bytes, url: str, ask: Ask | None = None, head_budget: int = 20,
           base: AgencyConfig | None = None, read: Read | None = None) -> Layout:
    """The layout of the listing page (or XML sitemap) ``body`` fetched from ``url``; ``ask`` answers HEAD
    questions, ``read`` fetches one sample page when the links may be records with parts of their own."""
    layout = Layout(url, DocumentRules(), ListingRules(), ())
    sitemap = read_sitemap(body)
    document = None if sitemap is not None else parse_html(body)
    menus = _menus(document, url) if document is not None else ()
    chrome = _select_all(document, CHROME_SELECTORS + menus) if document is not None else set()
    if document is None:
        assert sitemap is not None
        links, typed = sitemap.urls, set()
        layout.findings.append(Finding("an XML sitemap", f"{counted(len(sitemap.urls), 'URL')}, "
                                       f"{counted(len(sitemap.sitemaps), 'further sitemap')}"))
    else:
        links, typed = _content_links(document, url, chrome), _typed_links(document, url, chrome)
    documents, pages = _documents(links, typed, url, ask, head_budget, layout)
    listing = replace(base.listing if base else ListingRules(), content_selector="body",
                      ignore_selectors=CHROME_SELECTORS + menus, section_selector="", item_selector="")
    if menus:
        layout.findings.append(Finding(f"left out as menus: {', '.join(menus)}", "navigation menus named by class"))
    if document is not None:
        listing = _page_structure(body, url, document, chrome, _config(url, documents, listing, base), layout)
    direct = sum(1 for link in links if is_document_url(link, documents))
    if read is not None and pages:
        documents, listing = _records(pages, read, documents, listing, direct, layout)
    config = _config(url, documents, listing, base)
    page_host = urlsplit(url).hostname or ""
    parsed = parse_listing(body, url, config)
    hosts = {page_host} | {urlsplit(d.url).hostname or "" for d in parsed.documents + parsed.records}
    layout.documents, layout.listing = documents, listing
    layout.allowed_hosts = tuple(sorted(h for h in hosts if h))
    if len(hosts) > 1:
        layout.findings.append(Finding(f"documents served from {', '.join(sorted(hosts - {page_host}))}",
                                       "links to other hosts"))
    return layout


def _documents(links: list[str], typed: set[str], url: str, ask: Ask | None, head_budget: int,
               layout: Layout) -> tuple[DocumentRules, dict[str, list[str]]]:
    """Which links are documents (the rules), and the URL templates whose links HEAD says are web pages."""
    extensions = sorted({extension(link) for link in links} & set(DOCUMENT_EXTENSIONS))
    patterns = [(pattern, why) for pattern, why in DOWNLOAD_SHAPES if any(re.search(pattern, u) for u in links)]
    layout.findings += [Finding(f"documents with extension {e}",
                                f"{counted(sum(extension(u) == e for u in links), 'link')} on the page")
                        for e in extensions]
    layout.findings += [Finding(f"download links: {why}", f"pattern {p!r}") for p, why in patterns]
    known = [u for u in links if extension(u) in extensions or any(re.search(p, u) for p, _ in patterns)
             or u in typed]
    here = urlsplit(canonical_url(url) or url)
    # Only this site's domain is asked (other sites' links count by their shape); never this page re-sorted.
    others = (u for u in links if u not in known and urlsplit(u)[1:3] != here[1:3]
              and _domain(urlsplit(u).hostname or "") == _domain(here.hostname or ""))
    pages: dict[str, list[str]] = {}
    for template, members in _templates(others).items():
        if layout.head_requests >= head_budget:
            layout.findings.append(Finding(f"unchecked link template {template}",
                                           f"HEAD budget of {head_budget} requests spent"))
            break
        answers = []
        for sample in members[:_HEAD_SAMPLE]:
            if layout.head_requests >= head_budget or ask is None:
                break
            layout.head_requests += 1
            answers.append(ask(sample))
        if answers and all(a and DOCUMENT_TYPES.match(a) for a in answers):
            patterns.append((template, f"{len(members)} links of one template; HEAD says {answers[0]}"))
            layout.findings.append(Finding(f"download links like {members[0]}",
                                           f"{len(members)} links of one template, HEAD answers {answers[0]}"))
        elif answers and all(a and a.startswith("text/html") for a in answers):
            pages[template] = members
    for link in sorted(typed):
        if extension(link) not in extensions and not any(re.search(p, link) for p, _ in patterns):
            patterns.append((re.escape(link) + "$", "a type=\"application/…\" hint on the link"))
    # The defaults stay: a file type the page lacks today may be posted tomorrow.
    defaults = DocumentRules().extensions
    rules = DocumentRules(extensions=defaults + tuple(e for e in extensions if e not in defaults),
                          url_patterns=tuple(p for p, _ in patterns))
    return rules, pages


def _domain(host: str) -> str:
    """The domain a host belongs to, as its last two labels (``supremecourt.nebraska.gov`` and
    ``www.nebraska.gov`` are both ``nebraska.gov``); an IP address is its own."""
    if host.replace(".", "").isdigit() or ":" in host:
        return host
    return ".".join(host.lower().split(".")[-2:])


def _page_structure(body: bytes, url: str, document: etree._Element, chrome: set[etree._Element],
                    config: AgencyConfig, layout: Layout) -> ListingRules:
    """The sections and the pagination of an HTML listing page."""
    listing = replace(config.listing, section_selector=_sections(body, url, config, layout.findings))
    pager = _pagination(document, url, chrome)
    if pager:
        name, pages = pager
        listing = replace(listing, page_parameter=name)
        layout.findings.append(Finding(f"pagination by ?{name}=N",
                                       f"{counted(len(pages), 'numbered link')} to this page"))
    match = _PAGE_OF.search(visible_text(document))  # text nodes apart: "…Title</a><p>Page 2 of 9"
    if match:
        layout.page_of = (int(match.group(1)), int(match.group(2).replace(",", "")))
        layout.findings.append(Finding(f"page {match.group(1)} of {match.group(2)}", "said on the page"))
    return listing


def _records(pages: dict[str, list[str]], read: Read, documents: DocumentRules, listing: ListingRules,
             direct: int, layout: Layout) -> tuple[DocumentRules, ListingRules]:
    """Links of one template that lead to web pages which themselves list files are records with parts (FBI
    Vault: a record's page lists its PDF parts): one sample page of the largest such template is read, when the
    page links more of those than files of its own."""
    template, members = max(pages.items(), key=lambda item: len(item[1]))
    if len(members) < _RECORDS_MIN or direct >= len(members):
        return documents, listing
    body = read(members[0])
    if body is None:
        return documents, listing
    sample = parse_html(body)
    links = _content_links(sample, members[0], _select_all(sample, CHROME_SELECTORS + _menus(sample, members[0])))
    parts, _ = _documents(links, set(), members[0], None, 0, Layout(members[0], documents, listing, ()))
    found = [u for u in links if is_document_url(u, parts)]
    if not found:
        return documents, listing
    layout.findings.append(Finding(f"records with parts: links like {members[0]}",
                                   f"{len(members)} links of one template lead to pages listing files "
                                   f"({len(found)} on the one read)"))
    url_patterns = tuple(dict.fromkeys(documents.url_patterns + parts.url_patterns))
    extensions = tuple(dict.fromkeys(documents.extensions + parts.extensions))
    return (replace(documents, url_patterns=url_patterns, extensions=extensions),
            replace(listing, record_patterns=(template,)))


def config_for(layout: Layout, agency_id: str, name: str, base: AgencyConfig | None = None) -> AgencyConfig:
    """An agency config watching the page as ``layout`` reads it."""
    config = _config(layout.url, layout.documents, layout.listing, base)
    return replace(config, id=agency_id, name=name, allowed_hosts=layout.allowed_hosts)


def _config(url: str, documents: DocumentRules, listing: ListingRules, base: AgencyConfig | None) -> AgencyConfig:
    host = urlsplit(url).hostname or ""
    config = base or AgencyConfig(id="init", name="init", library_urls=(url,), allowed_hosts=(host,))
    return replace(config, library_urls=(url,), documents=documents, listing=listing)


def _content_links(document: etree._Element, url: str, chrome: set[etree._Element]) -> list[str]:
    """Every link target outside the chrome, canonical, once each, in page order."""
    seen: dict[str, None] = {}
    for anchor in document.iter("a"):
        href = anchor.get("href")
        if not href or any(ancestor in chrome for ancestor in anchor.iterancestors()) or anchor in chrome:
            continue
        target = canonical_url(href, url)
        if target:
            seen[target] = None
    return list(seen)


def _menus(document: etree._Element, url: str) -> tuple[str, ...]:
    """Selectors of navigation menus the page names as such by class or id (``af2AccordionMenu``, ``sidenav``):
    the same menu repeats on every page of the site, so a PDF in it is navigation, not a record. A "menu" holding
    half the page's file links or more is the listing itself and stays."""
    files = [a for a in document.iter("a") if extension(canonical_url(a.get("href") or "", url) or "")
             in DOCUMENT_EXTENSIONS]
    selectors: dict[str, None] = {}
    taken: set[etree._Element] = set()
    for element in document.iter():
        if (not isinstance(element.tag, str) or element.tag in ("html", "body", "main", "a")
                or any(ancestor in taken for ancestor in element.iterancestors())):
            continue
        names = [("#", element.get("id") or "")] + [(".", c) for c in (element.get("class") or "").split()]
        named = sorted((prefix + name for prefix, name in names
                        if name and _MENU_NAME.search(name) and _CSS_NAME.fullmatch(name)),
                       key=lambda name: (bool(_DIGITS.search(name)), name[0] == "#", len(name)))
        inside = sum(1 for a in files if element in a.iterancestors())
        if named and (inside * 2 < len(files) or not files):
            taken.add(element)
            selectors.setdefault(named[0])
    return tuple(selectors)


def _typed_links(document: etree._Element, url: str, chrome: set[etree._Element]) -> set[str]:
    found = set()
    for anchor in document.iter("a"):
        kind = (anchor.get("type") or "").lower()
        if kind and DOCUMENT_TYPES.match(kind) and not any(a in chrome for a in anchor.iterancestors()):
            target = canonical_url(anchor.get("href") or "", url)
            if target:
                found.add(target)
    return found


def _templates(urls: Iterable[str]) -> dict[str, list[str]]:
    """Links without a recognised shape grouped by URL template, only templates several links share, most links
    first. Each template is a regex matching its members: digit runs and parameter values generalised
    (``viewOpinion?docId=…``) except values that name a kind (``View.ashx?M=A&ID=…``) where several links share
    them, or else, for links alike only in where they sit, the last path segment (``/vault/<record>``)."""
    groups: defaultdict[str, list[str]] = defaultdict(list)
    loose = []
    for url in urls:
        template = _template(url, kinds=True)
        if template is None:
            loose.append(url)
        else:
            groups[template].append(url)
    alone = [url for template, members in list(groups.items()) if len(members) < 2 for url in groups.pop(template)]
    for url in alone:  # a word that varies from link to link (``?name=budget``) was no kind: generalise it too
        groups[_template(url, kinds=False) or ""].append(url)
    for template, members in list(groups.items()):
        if len(members) < 2:
            loose += groups.pop(template)
    for url in loose:
        parts = urlsplit(url)
        folder, _, name = parts.path.rstrip("/").rpartition("/")
        if name and not parts.query and folder:
            groups[re.escape(f"{parts.scheme}://{parts.netloc}{folder}/") + r"[^/?#]+/?$"].append(url)
    return dict(sorted(((t, m) for t, m in groups.items() if len(m) >= 2), key=lambda item: -len(item[1])))


def _template(url: str, *, kinds: bool) -> str | None:
    """A link's template: digit runs and query values generalised, but with ``kinds`` a value that is a short word
    (``M=A``, ``M=IC``, ``type=minutes``) kept - Legistar's ``View.ashx`` serves an agenda PDF for ``M=A`` and an
    iCalendar entry for ``M=IC`` of the same meeting, so each kind is asked about apart. None for a link with no
    digits at all (nothing in it varies like an id)."""
    parts = urlsplit(url)
    if not _DIGITS.search(parts.path + parts.query):
        return None
    path = "".join(re.escape(piece) if not piece.isdigit() else r"\d+" for piece in re.split(r"(\d+)", parts.path))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(f"{re.escape(key)}={re.escape(value) if kinds and _KIND_VALUE.fullmatch(value) else '[^&]*'}"
                     for key, value in pairs)
    return re.escape(f"{parts.scheme}://{parts.netloc}") + path + (r"\?" + query if pairs else "") + "$"


def _sections(body: bytes, url: str, config: AgencyConfig, findings: list[Finding]) -> str:
    """The heading selectors whose headings group several documents: not items' own titles (one document each),
    not a label repeated over every group, not headings over nothing."""
    chosen = []
    for selector in HEADING_SELECTORS:
        trial = replace(config, listing=replace(config.listing, section_selector=selector))
        counts = Counter(link.section for link in parse_listing(body, url, trial).documents if link.section)
        if not counts:
            continue
        several = [name for name, n in counts.items() if n >= 2]
        single = [name for name, n in counts.items() if n == 1]
        if several and len(several) >= len(single) and not _repeated_label(body, selector):
            chosen.append(selector)
            findings.append(Finding(f"sections: {selector}", f"{counted(len(several), 'heading')} each over several "
                                    f"documents (e.g. “{several[0]}”)"))
        elif single and len(single) > len(several):
            findings.append(Finding(f"not sections: {selector}",
                                    f"{counted(len(single), 'heading')} over one document each: items' own titles"))
    return ", ".join(chosen)


def _repeated_label(body: bytes, selector: str) -> bool:
    """Most headings of ``selector`` read the same ("Opinion" over every table): a label, not a section."""
    document = parse_html(body)
    texts = [collapse(e.text_content()) for e in _select_all(document, (selector,))]
    texts = [t for t in texts if t]
    return len(texts) >= 3 and Counter(texts).most_common(1)[0][1] > len(texts) / 2


def _pagination(document: etree._Element, url: str, chrome: set[etree._Element]) -> tuple[str, list[str]] | None:
    """The parameter numbered links to this same page differ in, and those links."""
    here = urlsplit(canonical_url(url) or url)
    own = query_values(here.query)
    votes: defaultdict[str, set[str]] = defaultdict(set)
    for anchor in document.iter("a"):
        target = canonical_url(anchor.get("href") or "", url)
        if not target:
            continue
        parts = urlsplit(target)
        if (parts.netloc, parts.path) != (here.netloc, here.path):
            continue
        query = query_values(parts.query)
        changed = [key for key in set(query) | set(own) if query.get(key) != own.get(key)]
        if (len(changed) == 1 and len(values := query.get(changed[0], [])) == 1
                and re.fullmatch(r"\d+(?:,\d+)*", values[0]) and not _YEAR_PARAMETER.search(changed[0])):
            votes[changed[0]].add(target)
    if not votes:
        return None
    name, pages = max(votes.items(), key=lambda item: len(item[1]))
    return (name, sorted(pages)) if len(pages) >= 1 else None


def _select_all(document: etree._Element, selectors: Iterable[str]) -> set[etree._Element]:
    from cssselect import GenericTranslator, SelectorError

    found: set[etree._Element] = set()
    for selector in selectors:
        try:
            found.update(document.xpath(GenericTranslator().css_to_xpath(selector)))
        except SelectorError:
            continue
    return found
