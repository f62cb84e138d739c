"""Atom feeds: the ``.atom`` output format of any query or view with ``atom_id``, ``atom_title`` and
``atom_updated`` columns, and the per-agency and per-section takedown feeds (``pages.py``) built the same way.

The column contract is the datasette-atom plugin's (optional ``atom_link``, ``atom_content``) plus
``atom_category`` (the kind of event), ``atom_original`` (the document's address at the agency) and ``atom_copy``
(our archived copy), without its extra dependencies, and valid for an empty result too: a new instance's takedown
feed has no entries yet and must still be a feed a reader can subscribe to. Relative links become absolute, as
feed readers need.

A feed's id names what the feed is (``urn:foiawatch:feed:...``), never the address it was fetched at: the same
feed read through another host name, with ``?_size=10`` or any other query string, is the same feed to a reader.
Its links start with the instance's public URL (``set_public_url``; ``foiawatch serve --public-url``, default
``$FOIAWATCH_PUBLIC_URL``), never with the Host header of the request, which the client chooses: a feed cached by
a proxy or a reader must not point at a host a visitor made up. Whatever the rows hold, the feed is well-formed XML:
characters XML 1.0 forbids (and other controls) are dropped (``clean_text``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin
from weakref import WeakKeyDictionary
from xml.etree import ElementTree

from datasette.utils.asgi import Response

from ..archive.text_clean import clean_text

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_URN = "urn:foiawatch:feed:"
REQUIRED_COLUMNS = frozenset({"atom_id", "atom_title", "atom_updated"})
_NAMED_PARAMETER = re.compile(r"(?<!:):(\w+)")
ElementTree.register_namespace("", ATOM_NS)

_public_urls: WeakKeyDictionary[Datasette, str] = WeakKeyDictionary()


@dataclass(frozen=True)
class Entry:
    """One feed entry; links may be site paths (``/documents/12``) or absolute URLs."""

    id: str
    title: str
    updated: str
    link: str | None = None
    content: str | None = None
    category: str | None = None
    original: str | None = None  # rel="related": the document at the agency
    copy: str | None = None  # rel="enclosure": our archived copy

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        def column(name: str) -> str | None:
            value = row[name] if name in row.keys() else None
            return str(value) if value not in (None, "") else None

        return cls(str(row["atom_id"]), str(row["atom_title"]), str(row["atom_updated"]), column("atom_link"),
                   column("atom_content"), column("atom_category"), column("atom_original"), column("atom_copy"))


def set_public_url(datasette: Datasette, public_url: str) -> None:
    """The URL this instance is reached at (scheme, host, port): feed links and citations start with it."""
    _public_urls[datasette] = public_url.rstrip("/")


def site_root(datasette: Datasette, request: Request) -> str:
    """Where the site's paths start: the configured public URL (which may end in a path, behind a proxy); the
    request's scheme and host only for an instance given none (``PublicApp`` used directly, as in tests)."""
    return _public_urls.get(datasette) or f"{request.scheme}://{request.host}"


def _absolute(root: str, base: str, link: str) -> str:
    """A link of a row made absolute: a site path under ``root``, anything else relative to ``base``."""
    return root + link if link.startswith("/") and not link.startswith("//") else urljoin(base, link)


def can_render_atom(columns: Iterable[str]) -> bool:
    return REQUIRED_COLUMNS <= set(columns)


async def render_atom(datasette: Datasette, request: Request, columns: list[str], rows: list[Any],
                      database: str, query_name: str | None, table: str | None) -> Response:
    if not can_render_atom(columns):
        return Response.text(f"An Atom feed needs the columns {', '.join(sorted(REQUIRED_COLUMNS))}.", status=400)
    title, parameters = query_name or table or database, None
    if query_name:
        query = await datasette.get_canned_query(database, query_name, request.actor) or {}
        title = query.get("title") or title
        parameters = set(_NAMED_PARAMETER.findall(query.get("sql") or ""))
    return feed_response(datasette, request, feed_id=_feed_id(request, database, query_name or table, parameters),
                         title=title, alternate=request.path.rsplit(".atom", 1)[0],
                         entries=[Entry.from_row(row) for row in rows])


def _feed_id(request: Request, database: str, name: str | None, parameters: set[str] | None) -> str:
    """A canned query is named with the values of its own parameters, a table with its filters (never Datasette's
    ``_size``, ``_next`` ... nor anything else in the query string); arbitrary SQL by a hash of the SQL."""
    if name is None:
        sql = request.args.get("sql") or ""
        return f"{FEED_URN}{database}:sql:{hashlib.sha256(sql.encode()).hexdigest()[:16]}"
    keys = sorted(key for key in request.args.keys()
                  if not key.startswith("_") and (parameters is None or key in parameters))
    return f"{FEED_URN}{database}:{name}" + "".join(f";{key}={request.args[key]}" for key in keys)


def feed_response(datasette: Datasette, request: Request, *, feed_id: str, title: str, alternate: str,
                  entries: list[Entry]) -> Response:
    """The Atom document of a feed; ``alternate`` is the site path of the page the feed follows."""
    root = site_root(datasette, request)
    url = root + request.path + (f"?{request.query_string}" if request.query_string else "")
    site = datasette.metadata("title") or "Datasette"
    feed = _element(None, "feed")
    _element(feed, "title", f"{site}: {title}")
    _element(feed, "id", feed_id)
    _element(feed, "link", href=url, rel="self")
    _element(feed, "link", href=root + alternate, rel="alternate", type="text/html")
    updated = [entry.updated for entry in entries if entry.updated]
    _element(feed, "updated", max(updated, default=datetime.now(UTC).isoformat(timespec="seconds")))
    author = _element(feed, "author")
    _element(author, "name", site)
    for entry in entries:
        item = _element(feed, "entry")
        _element(item, "id", entry.id)
        _element(item, "title", entry.title)
        _element(item, "updated", entry.updated)
        if entry.link:
            _element(item, "link", href=_absolute(root, url, entry.link), rel="alternate", type="text/html")
        if entry.original:
            _element(item, "link", href=_absolute(root, url, entry.original), rel="related",
                     title="The document at the agency")
        if entry.copy:
            _element(item, "link", href=_absolute(root, url, entry.copy), rel="enclosure",
                     title="The archived copy")
        if entry.category:
            _element(item, "category", term=entry.category, label=entry.category.replace("_", " "))
        if entry.content:
            _element(item, "content", entry.content, type="text")
    body = ElementTree.tostring(feed, encoding="unicode", xml_declaration=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def _element(parent: ElementTree.Element | None, tag: str, text: str | None = None,
             **attributes: str) -> ElementTree.Element:
    name = f"{{{ATOM_NS}}}{tag}"
    attributes = {key: clean_text(value) or "" for key, value in attributes.items()}
    element = ElementTree.Element(name, attributes) if parent is None else ElementTree.SubElement(
        parent, name, attributes)
    element.text = clean_text(text)
    return element
