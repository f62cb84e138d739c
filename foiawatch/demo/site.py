"""The demo FOIA library served over HTTP on 127.0.0.1, switchable between states while it runs.

It is deliberately as awkward as real agency sites: three listing layouts (2017 ICE sectioned page, Drupal 7
grouped views table, paginated USWDS collection), root-relative, relative, absolute and redirected links, mixed-case
file names, volatile form tokens and "last updated" stamps, and on request every way a document fetch goes wrong.
Documents carry strong ETags and Last-Modified and answer conditional requests with 304, so tests can check that
the crawler revalidates rather than re-downloads.

Layout:
    /                                 agency home page, links to the library
    /robots.txt                       allows everything
    /foia/library                     explanatory paragraphs; list and table sections; link to the collection
    /foia/library/collection[?page=N] USWDS collection of the "collection" sections, 0-based pages
    /doclib/foia/<section>/<File>     documents
    /doclib/redirect/<id>             301 to the document's current path
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import posixpath
import secrets
import socket
import struct
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .library import DemoLibrary, LibraryState, LibraryView, Section, ServedDocument, document_bytes
from .library import preset as preset_state
from .serving import BackgroundServer, bound_address

LIBRARY_PATH = "/foia/library"
COLLECTION_PATH = "/foia/library/collection"
REDIRECT_PREFIX = "/doclib/redirect/"
OUTAGE_NOTICE = "The ICE FOIA library is temporarily unavailable while it undergoes review."
ROBOTS_TXT = b"User-agent: *\nDisallow:\n"


@dataclass(frozen=True)
class RequestRecord:
    """One request the site answered, for tests to assert on (e.g. that a revalidation got a 304)."""

    method: str
    path: str  # path and query string as requested
    status: int
    headers: Mapping[str, str]  # request headers, names lower-cased


class DemoSite(BackgroundServer):
    """A threaded HTTP server for a `DemoLibrary`; bound on construction, serving after `start()` or `with`."""

    thread_name = "demo-site"

    def __init__(
        self,
        library: DemoLibrary | None = None,
        state: LibraryState | str = "v1",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.library = library or DemoLibrary.ice_2017()
        self.latency = latency  # seconds every answer waits: real agency servers are not on loopback
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._edit_times: dict[tuple[int, str], dt.datetime] = {}
        self.set_state(state)
        server = _Server((host, port), _Handler)
        super().__init__(server)
        server.site = self

    @property
    def library_url(self) -> str:
        return self.url + LIBRARY_PATH

    @property
    def state(self) -> LibraryState:
        return self._state

    @property
    def view(self) -> LibraryView:
        return self._view

    def set_state(self, state: LibraryState | str) -> None:
        """Switch what the site serves; takes effect for the next request. Accepts a preset name."""
        state = preset_state(state) if isinstance(state, str) else state
        view = self.library.view(state)
        with self._lock:
            for served in view.files.values():
                self._note_edit(served)
            self._state, self._view = state, view

    def _note_edit(self, served: ServedDocument) -> None:
        """Give edited text a Last-Modified later than anything served before, so If-Modified-Since sees it."""
        key = (served.document.id, served.text)
        if served.text != served.document.text and key not in self._edit_times:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            latest = max(self._edit_times.values(), default=now - dt.timedelta(seconds=1))
            self._edit_times[key] = max(now, latest + dt.timedelta(seconds=1))

    def last_modified(self, served: ServedDocument) -> dt.datetime:
        published = dt.datetime.fromisoformat(served.document.date).replace(tzinfo=dt.UTC)
        return self._edit_times.get((served.document.id, served.text), published)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._requests.append(entry)


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8765,
    preset: str = "v1",
    synthetic_documents: int = 0,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the demo library until interrupted (the `foiawatch demo-site` command).

    With `synthetic_documents` it serves a benchmark-sized library instead; presets other than v1 name sections of
    the bundled library, so only v1, outage and blocked apply to it."""
    library = DemoLibrary.synthetic(synthetic_documents) if synthetic_documents else DemoLibrary.ice_2017()
    with DemoSite(library, preset, host, port) as site:
        announce(f"Serving {library.name} ({preset}) at {site.library_url}; press Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a crawler opening many connections at once must not see SYNs dropped
    site: DemoSite

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        """Clients dropping connections (aborted downloads, timeouts) is routine here; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each keep-alive response stalls ~40 ms on the
    # client's delayed ACK, and the demo, not the crawler, would set the pace of every benchmark.
    disable_nagle_algorithm = True
    server_version = "Apache"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr log: `DemoSite.requests` is the log."""

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def send_response(self, code: int, message: str | None = None) -> None:
        """Log as the status goes out, before the client can see it, so the log order is the answer order."""
        if hasattr(self, "headers"):  # unset when the request could not be parsed: nothing worth logging
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.server.site.record(RequestRecord(self.command, self.path, int(code), headers))
        super().send_response(code, message)

    def _handle(self) -> None:
        site = self.server.site
        if site.latency:
            site.wait(site.latency)
        try:
            self._route(site, site.state, site.view)
        except ConnectionError:
            self.close_connection = True  # the client gave up (e.g. on an oversize body); nothing to answer

    # --- routing ---------------------------------------------------------------------------------------------

    def _route(self, site: DemoSite, state: LibraryState, view: LibraryView) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if path == "/robots.txt":
            return self._send(200, "text/plain; charset=utf-8", ROBOTS_TXT)
        if state.outage:
            return self._html(200, _page("FOIA Library", f"<h1>FOIA Library</h1>\n<p>{OUTAGE_NOTICE}</p>"))
        if state.blocked:
            return self._challenge(state.blocked_status)
        target = path + (f"?{parts.query}" if parts.query else "")
        if target in state.failing_pages:
            return self._html(500, _page("Error", "<h1>Error</h1>\n<p>The website encountered an unexpected "
                                                  "error. Please try again later.</p>"))
        if path == "/":
            return self._html(200, _home_page())
        if path == LIBRARY_PATH:
            return self._html(200, _library_page(view, self._base()))
        if path == COLLECTION_PATH:
            return self._html(200, _collection_page(view, _page_number(parts.query), self._base()))
        if path.startswith(REDIRECT_PREFIX):
            node = path[len(REDIRECT_PREFIX):]
            served = view.by_id.get(int(node)) if node.isdigit() else None
            if served is None:
                return self._not_found()
            return self._redirect(301, self._base() + served.path)
        return self._document(site, state, path, parts.query, view.files.get(path))

    def _document(
        self, site: DemoSite, state: LibraryState, path: str, query: str, served: ServedDocument | None
    ) -> None:
        fault = state.document_faults.get(path)
        if fault == "timeout":
            site.wait(state.fault_delay)
        elif fault == "500":
            return self._html(500, _page("Error", "<h1>Error</h1>\n<p>The website encountered an unexpected "
                                                  "error. Please try again later.</p>"))
        elif fault == "410":
            return self._html(410, _page("Gone", "<h1>Gone</h1>\n<p>This record is no longer available.</p>"))
        elif fault == "html":
            return self._html(200, _not_found_page())
        elif fault == "soft404":
            return self._redirect(301, self._base() + "/")
        elif fault == "redirect_loop":
            return self._redirect(302, self._base() + (path if "loop" in parse_qs(query) else path + "?loop=1"))
        if served is None:
            return self._not_found()
        body = document_bytes(served.document, served.text)
        if fault == "oversize":
            return self._oversize(served, body, state.oversize_bytes)
        if fault in ("reset", "truncate"):
            return self._broken(served, body, reset=fault == "reset")
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        modified = site.last_modified(served)
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if self._not_modified(etag, modified):
            return self._send(304, None, b"", headers)
        self._send(200, served.document.content_type, body, headers)

    def _not_modified(self, etag: str, modified: dt.datetime) -> bool:
        """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since does."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                return modified <= parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
        return False

    # --- responses -------------------------------------------------------------------------------------------

    def _base(self) -> str:
        if host := self.headers.get("Host"):
            return f"http://{host}"
        bound_host, port = bound_address(self.server)
        return f"http://{bound_host}:{port}"

    def _send(
        self, status: int, content_type: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, status: int, page: str) -> None:
        self._send(status, "text/html; charset=utf-8", page.encode(), {"Cache-Control": "no-cache"})

    def _not_found(self) -> None:
        self._html(404, _not_found_page())

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, "text/html; charset=utf-8", b"", {"Location": location})

    def _challenge(self, status: int) -> None:
        host = escape(self.headers.get("Host") or "this site")
        page = (
            '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
            '<meta name="robots" content="noindex,nofollow"></head><body><div class="main-wrapper">'
            f'<h1 class="zone-name-title">{host}</h1>'
            f'<h2 id="challenge-running">Checking your browser before accessing {host}.</h2>'
            "<noscript>Enable JavaScript and cookies to continue</noscript></div>"
            f"<script>window._cf_chl_opt={{cRay: '{secrets.token_hex(8)}'}};</script></body></html>"
        )
        self._send(status, "text/html; charset=UTF-8", page.encode(),
                   {"Server": "cloudflare", "cf-mitigated": "challenge", "Cache-Control": "no-store"})

    def _oversize(self, served: ServedDocument, body: bytes, size: int) -> None:
        """A document far larger than it should be: the real bytes, padded with a PDF comment, streamed."""
        self.send_response(200)
        self.send_header("Content-Type", served.document.content_type)
        self.send_header("Content-Length", str(max(size, len(body))))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(body)
        chunk = b"%" + b" " * 65534 + b"\n"
        for offset in range(len(body), size, len(chunk)):
            self.wfile.write(chunk[: size - offset])

    def _broken(self, served: ServedDocument, body: bytes, reset: bool) -> None:
        """Promise the whole body, send half, then close (cleanly for "truncate", with a TCP RST for "reset")."""
        self.send_response(200)
        self.send_header("Content-Type", served.document.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


def _page_number(query: str) -> int:
    value = parse_qs(query).get("page", ["0"])[0]
    return int(value) if value.isdigit() else 0


# --- markup ----------------------------------------------------------------------------------------------------


def _page(title: str, main: str) -> str:
    """Full agency chrome around a main region, with the volatile bits real Drupal pages carry."""
    return f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<title>{escape(title)} | ICE</title>
<script>window.drupalSettings = {{"ajaxPageState": {{"libraries": "{secrets.token_hex(6)}"}}}};</script>
</head>
<body>
<section class="usa-banner" aria-label="Official website of the United States government">
<p>An official website of the United States government. (foiawatch demo site: all records are synthetic.)</p>
</section>
<header class="usa-header">
<nav class="usa-nav"><ul><li><a href="/">Home</a></li><li><a href="{LIBRARY_PATH}">FOIA Library</a></li></ul></nav>
<form class="usa-search" action="/search" method="get" accept-charset="UTF-8">
<input type="search" name="keys" aria-label="Search">
<input type="hidden" name="form_build_id" value="form-{secrets.token_urlsafe(32)}">
<input type="hidden" name="form_id" value="search_block_form">
</form>
</header>
<main id="main-content" class="region-content">
{main}
</main>
<footer class="usa-footer"><p>U.S. Immigration and Customs Enforcement</p>
<a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""


def _last_updated() -> str:
    now = dt.datetime.now(dt.UTC)
    return (f'<div class="last-updated">Last Reviewed/Updated: <time datetime="{now.isoformat(timespec="seconds")}">'
            f'{now:%m/%d/%Y %H:%M:%S}</time></div>')


def _home_page() -> str:
    return _page("Home", "<h1>U.S. Immigration and Customs Enforcement</h1>\n"
                         f'<p>Records released under FOIA are in the <a href="{LIBRARY_PATH}">FOIA Library</a>.</p>')


def _not_found_page() -> str:
    return _page("Page not found", "<h1>Page not found</h1>\n<p>The requested page could not be found.</p>")


def _href(served: ServedDocument, page_path: str, base: str) -> str:
    """The link a listing page uses for a document, in the document's link style."""
    style = served.document.link_style
    if style == "absolute":
        return base + served.path
    if style == "relative":
        return posixpath.relpath(served.path, posixpath.dirname(page_path))
    if style == "redirect":
        return f"{REDIRECT_PREFIX}{served.document.id}"
    return served.path


def _us_date(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%m/%d/%Y")


def _long_date(iso: str) -> str:
    date = dt.date.fromisoformat(iso)
    return f"{date:%B} {date.day}, {date.year}"


def _list_section(section: Section, documents: tuple[ServedDocument, ...], base: str) -> str:
    items = "\n".join(
        f'<li><a href="{escape(_href(d, LIBRARY_PATH, base))}">{escape(d.document.title)}</a> '
        f"({d.document.kind.upper()})</li>"
        for d in documents
    )
    return (f'<h2 id="{section.slug}">{escape(section.title)}</h2>\n<p>{escape(section.description)}</p>\n'
            f"<ul>\n{items}\n</ul>")


def _table_sections(groups: list[tuple[Section, tuple[ServedDocument, ...]]], base: str) -> str:
    """Drupal 7 views output grouped by section: one .view-grouping with a header and a .views-table each."""
    groupings = []
    for section, documents in groups:
        rows = "\n".join(
            f'<tr class="{"odd" if i % 2 == 0 else "even"}">'
            f'<td class="views-field views-field-title"><a href="{escape(_href(d, LIBRARY_PATH, base))}">'
            f"{escape(d.document.title)}</a></td>"
            f'<td class="views-field views-field-field-display-date"><span class="date-display-single">'
            f"{_us_date(d.document.date)}</span></td>"
            f'<td class="views-field views-field-type">{d.document.kind.upper()}</td></tr>'
            for i, d in enumerate(documents)
        )
        groupings.append(
            f'<div class="view-grouping">\n<div class="view-grouping-header">{escape(section.title)}</div>\n'
            f'<div class="view-grouping-content">\n<table class="views-table cols-3">\n<thead><tr>'
            f'<th class="views-field views-field-title">Title</th>'
            f'<th class="views-field views-field-field-display-date">Date</th>'
            f'<th class="views-field views-field-type">Type</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n'
            "</table>\n</div>\n</div>"
        )
    return ('<div class="view view-foia-library view-id-foia_library view-display-id-block_1">\n'
            '<div class="view-content">\n' + "\n".join(groupings) + "\n</div>\n</div>")


def _library_page(view: LibraryView, base: str) -> str:
    parts = ["<h1>FOIA Library</h1>", '<div class="field--name-body">']
    parts += [f"<p>{escape(p.text)}</p>" for p in view.paragraphs]
    parts.append(f'<p class="library-more"><a href="{COLLECTION_PATH}">Browse more FOIA library records</a></p>')
    shown = [s for s in view.sections if s.section.layout != "collection"]
    for is_table, run in itertools.groupby(shown, key=lambda s: s.section.layout == "table"):
        if is_table:
            parts.append(_table_sections([(s.section, s.documents) for s in run], base))
        else:
            parts += [_list_section(s.section, s.documents, base) for s in run]
    parts += ["</div>", _last_updated()]
    return _page("FOIA Library", "\n".join(parts))


def _collection_page(view: LibraryView, page: int, base: str) -> str:
    items, has_next = view.collection_page(page)
    rendered = "\n".join(
        '<li class="usa-collection__item"><div class="usa-collection__body">'
        f'<h4 class="usa-collection__heading"><a class="usa-link" '
        f'href="{escape(_href(d, COLLECTION_PATH, base))}">{escape(d.document.title)} | {escape(section.title)}</a>'
        f'</h4>\n<p class="usa-collection__description">{escape(d.document.summary)}</p>\n'
        '<ul class="usa-collection__meta"><li class="usa-collection__meta-item">'
        f'<time datetime="{d.document.date}">{_long_date(d.document.date)}</time>'
        "</li></ul></div></li>"
        for section, d in items
    )
    pager = []
    if page > 0:
        previous = COLLECTION_PATH if page == 1 else f"?page={page - 1}"
        pager.append(f'<li class="usa-pagination__item usa-pagination__arrow"><a href="{previous}" '
                     'class="usa-pagination__link usa-pagination__previous-page">Previous</a></li>')
    pager.append(f'<li class="usa-pagination__item"><span class="usa-current">{page + 1}</span></li>')
    if has_next:
        pager.append(f'<li class="usa-pagination__item usa-pagination__arrow"><a href="?page={page + 1}" '
                     'class="usa-pagination__link usa-pagination__next-page" aria-label="Next page">Next</a></li>')
    main = (
        "<h1>FOIA Library</h1>\n<p>Records released under the Freedom of Information Act.</p>\n"
        f'<ul class="usa-collection">\n{rendered}\n</ul>\n'
        f'<nav aria-label="Pagination" class="usa-pagination"><ul class="usa-pagination__list">{"".join(pager)}'
        f"</ul></nav>\n{_last_updated()}"
    )
    return _page("FOIA Library", main)
