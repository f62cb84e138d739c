"""An ``.atom`` output format for any query or view with ``atom_id``, ``atom_title`` and ``atom_updated`` columns.

The same column contract as the datasette-atom plugin (optional ``atom_link``, ``atom_content``), without its
extra dependencies, and valid for an empty result too: a new instance's takedown feed has no entries yet and
must still be a feed a reader can subscribe to. Relative links become absolute, as feed readers need.

The feed's id and every link start with the instance's public URL (``set_public_url``; ``foiawatch serve
--public-url``, default ``$FOIAWATCH_PUBLIC_URL``), never with the Host header of the request, which the client
chooses: a feed cached by a proxy or a reader must not point at a host a visitor made up. Whatever the rows hold,
the feed is well-formed XML: characters XML 1.0 forbids (and other controls) are dropped (``clean_text``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from weakref import WeakKeyDictionary
from xml.etree import ElementTree

from datasette.app import Datasette
from datasette.utils.asgi import Request, Response

from ..archive.text_clean import clean_text

ATOM_NS = "http://www.w3.org/2005/Atom"
REQUIRED_COLUMNS = frozenset({"atom_id", "atom_title", "atom_updated"})
ElementTree.register_namespace("", ATOM_NS)

_public_urls: WeakKeyDictionary[Datasette, str] = WeakKeyDictionary()


def set_public_url(datasette: Datasette, public_url: str) -> None:
    """The URL this instance is reached at (scheme, host, port): feed ids and links start with it."""
    _public_urls[datasette] = public_url.rstrip("/")


def _root(datasette: Datasette, request: Request) -> str:
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
    title = query_name or table or database
    if query_name:
        query = await datasette.get_canned_query(database, query_name, request.actor)
        title = (query or {}).get("title") or title
    root = _root(datasette, request)
    url = root + request.path + (f"?{request.query_string}" if request.query_string else "")
    feed = _element(None, "feed")
    _element(feed, "title", f"{datasette.metadata('title') or 'Datasette'}: {title}")
    _element(feed, "id", url)
    _element(feed, "link", href=url, rel="self")
    _element(feed, "link", href=root + request.path.rsplit(".atom", 1)[0], rel="alternate")
    updated = [str(row["atom_updated"]) for row in rows if row["atom_updated"]]
    _element(feed, "updated", max(updated, default=datetime.now(UTC).isoformat(timespec="seconds")))
    author = _element(feed, "author")
    _element(author, "name", datasette.metadata("title") or "Datasette")
    for row in rows:
        entry = _element(feed, "entry")
        _element(entry, "id", str(row["atom_id"]))
        _element(entry, "title", str(row["atom_title"]))
        _element(entry, "updated", str(row["atom_updated"]))
        if "atom_link" in columns and row["atom_link"]:
            _element(entry, "link", href=_absolute(root, url, str(row["atom_link"])))
        if "atom_content" in columns and row["atom_content"]:
            _element(entry, "content", str(row["atom_content"]), type="text")
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
