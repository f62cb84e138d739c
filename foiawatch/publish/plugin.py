"""foiawatch's Datasette plugin: file downloads, the Atom format, download links in tables, the home page's
latest takedowns, and the limits of a server open to anyone. Registered by ``serve.make_datasette``; it does
nothing for databases other than the public one.

Anyone may send SQL (``?sql=``), so every connection to the public database caps the size of a value
(``SQLITE_LIMIT_LENGTH``: ``select randomblob(300000000)`` is an error, not 300 MB of memory and 400 MB of JSON)
and shadows ``fts3_tokenizer``, whose one-argument form answers the address of a tokenizer in the server's memory
(and whose two-argument form registers a tokenizer from a pointer): it answers NULL.
Client errors (404 and the other 4xx) are answered quietly: Datasette's own handler prints a ``rich`` traceback
with the local variables of every frame for each one, and fails (a 500) for a 404 of a path no route matches.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

from ..archive.published import FILES_ROUTE, PUBLIC_DB_NAME
from . import atom, files

NAME = "foiawatch"
LATEST_TAKEDOWNS = 10
MAX_VALUE_BYTES = 10_000_000  # the longest string or blob a query may make (more if a published text is longer)

_value_limits: WeakKeyDictionary[Datasette, int] = WeakKeyDictionary()


def register() -> None:
    """Add this module to Datasette's plugins once per process."""
    if pm.get_plugin(NAME) is None:
        pm.register(sys.modules[__name__], name=NAME)


def limit_values(datasette: Datasette, longest_published: int) -> None:
    """Cap the values queries of this instance may make at ``MAX_VALUE_BYTES``, or at the longest value the public
    database holds if that is longer (SQLite refuses to read a stored value beyond the limit too)."""
    _value_limits[datasette] = max(MAX_VALUE_BYTES, longest_published)


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Datasette) -> None:
    if database != PUBLIC_DB_NAME:
        return
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _value_limits.get(datasette, MAX_VALUE_BYTES))
    for arguments in (1, 2):  # shadows SQLite's own: an application's function of the same name and arity wins
        conn.create_function("fts3_tokenizer", arguments, _refuse_fts3_tokenizer)


def _refuse_fts3_tokenizer(*_arguments: object) -> None:
    """NULL, whatever it is asked: no tokenizer's address, and no tokenizer registered from a pointer. (An error
    would do too, but Datasette turns on callback tracebacks: every call would print one.)"""
    return None


@hookimpl(wrapper=True)
def handle_exception(datasette: Datasette, request: Request, exception: Exception
                     ) -> Generator[None, list[Any], list[Any]]:
    """Answer client errors of the public instance without Datasette's default handler, which prints a traceback
    per error (and raises for an exception that is not being handled, as the 404 of an unrouted path is)."""
    responses = yield
    status = getattr(exception, "status", 500)
    if (PUBLIC_DB_NAME in datasette.databases and isinstance(exception, (Base400, DatasetteError))
            and isinstance(status, int) and 400 <= status < 500):
        return [_client_error(datasette, request, exception, status)]
    return responses


def _client_error(datasette: Datasette, request: Request, exception: Exception, status: int
                  ) -> Callable[[], Awaitable[Response]]:
    """The page (or JSON) Datasette's default handler answers for a client error, rendered the same way."""

    async def respond() -> Response:
        title, info = None, {}
        message: str | Markup = exception.args[0] if exception.args else ""
        if isinstance(exception, DatasetteError):
            info, title = dict(exception.error_dict), exception.title
            message = Markup(exception.message) if exception.message_is_html else exception.message
        info.update({"ok": False, "error": message, "status": status, "title": title})
        headers: dict[str, str] = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.path.split("?")[0].endswith(".json"):
            return Response.json(info, status=status, headers=headers)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        page = await template.render_async(dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(),
                                                menu_links=lambda: []))
        return Response.html(page, status=status, headers=headers)

    return respond


@hookimpl
def register_routes(datasette: Datasette) -> list[tuple[str, Callable[..., Any]]]:
    return [(files.ROUTE, files.download)]


@hookimpl
def register_output_renderer(datasette: Datasette) -> dict[str, Any]:
    return {"extension": "atom", "render": atom.render_atom, "can_render": atom.can_render_atom}


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Datasette) -> Markup | None:
    """Copies as download links, and document ids in canned queries as links to the document's page (tables
    declare document_id a foreign key, which Datasette links itself)."""
    if database != PUBLIC_DB_NAME:
        return None
    if isinstance(value, str) and value.startswith(FILES_ROUTE):
        return Markup('<a href="{}" download>Download</a>').format(datasette.urls.path(value))
    if column == "document_id" and isinstance(value, int) and table is None:
        return Markup('<a href="{}">{}</a>').format(datasette.urls.row(PUBLIC_DB_NAME, "documents", str(value)),
                                                    escape(value))
    return None


@hookimpl
def extra_template_vars(view_name: str, datasette: Datasette) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    if view_name != "index" or PUBLIC_DB_NAME not in datasette.databases:
        return None

    async def home_page() -> dict[str, Any]:
        db = datasette.get_database(PUBLIC_DB_NAME)
        takedowns = await db.execute(
            "select t.*, a.name as agency from takedowns t left join agencies a on a.id = t.agency_id "
            "order by t.detected_at desc, t.id desc limit ?", [LATEST_TAKEDOWNS])
        agencies = await db.execute("select id, name from agencies order by name")
        return {"latest_takedowns": [dict(row) for row in takedowns.rows],
                "agencies": [dict(row) for row in agencies.rows], "public_db": PUBLIC_DB_NAME}

    return home_page
