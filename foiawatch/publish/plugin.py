"""foiawatch's Datasette plugin: the reader's pages (``pages.py``), file downloads and previews, the Atom format,
download links in tables, the home page, and the limits of a server open to anyone. Registered by
``serve.make_datasette``, and by Datasette itself through the ``datasette`` entry point, so that
``datasette public.db -m metadata.yaml`` with foiawatch installed serves the same site (the archive's files are
found beside the public database, at ``<data-dir>/public/public.db``); it does nothing for other databases.

Anyone may send SQL (``?sql=``), so every connection to the public database caps the size of a value
(``SQLITE_LIMIT_LENGTH``: ``select randomblob(300000000)`` is an error, not 300 MB of memory and 400 MB of JSON)
and shadows ``fts3_tokenizer``, whose one-argument form answers the address of a tokenizer in the server's memory
(and whose two-argument form registers a tokenizer from a pointer): it answers NULL.
Client errors (404 and the other 4xx) are answered quietly: Datasette's own handler prints a ``rich`` traceback
with the local variables of every frame for each one, and fails (a 500) for a 404 of a path no route matches.

Datasette imports this module while it loads its plugins, before ``datasette.app`` can be imported: everything
from the rest of Datasette is imported where it is used.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Request, Response
from markupsafe import Markup, escape

from ..archive.datadir import DataDir
from ..archive.published import FILES_ROUTE, PUBLIC_DB_NAME
from . import atom, files, pages, wording

if TYPE_CHECKING:
    from datasette.app import Datasette
    from jinja2 import Environment

NAME = "foiawatch"
TEMPLATES = Path(__file__).resolve().parents[1] / "datasette_config" / "templates"
LATEST_TAKEDOWNS = 10
MAX_VALUE_BYTES = 10_000_000  # the longest string or blob a query may make (more if a published text is longer)

_value_limits: WeakKeyDictionary[Datasette, int] = WeakKeyDictionary()


def register() -> None:
    """Add this module to Datasette's plugins once per process (Datasette has done it if foiawatch is installed)."""
    from datasette.plugins import pm

    if pm.get_plugin(NAME) is None:
        pm.register(sys.modules[__name__], name=NAME)


def limit_values(datasette: Datasette, longest_published: int) -> None:
    """Cap the values queries of this instance may make at ``MAX_VALUE_BYTES``, or at the longest value the public
    database holds if that is longer (SQLite refuses to read a stored value beyond the limit too)."""
    _value_limits[datasette] = max(MAX_VALUE_BYTES, longest_published)


@hookimpl
def prepare_jinja2_environment(env: Environment, datasette: Datasette) -> None:
    """foiawatch's templates, after any ``--template-dir`` and before Datasette's own; and the filters they use."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    if PUBLIC_DB_NAME not in datasette.databases:
        return
    loader = env.loader
    if isinstance(loader, ChoiceLoader) and isinstance(loader.loaders[0], FileSystemLoader):
        paths = loader.loaders[0].searchpath
        if str(TEMPLATES) not in paths:
            paths.insert(len(paths) - 1, str(TEMPLATES))  # the last is Datasette's default templates
    env.filters.update(plain_date=wording.plain_date, file_size=wording.file_size, section_path=pages.section_path)


@hookimpl
def startup(datasette: Datasette) -> None:
    """Under plain ``datasette public.db``: the archive beside the public database, and the value limit its
    longest value needs (``serve.make_datasette`` has done both for ``foiawatch serve``)."""
    from .serve import longest_value

    database = datasette.databases.get(PUBLIC_DB_NAME)
    if database is None or database.path is None or files.has_archive(datasette):
        return
    public_db = Path(database.path).resolve()
    data_dir = DataDir.at(public_db.parent.parent)
    if data_dir.public_db.resolve() == public_db and data_dir.archive_db.is_file():
        files.attach_archive(datasette, data_dir)
    limit_values(datasette, longest_value(public_db))


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
    from datasette.views.base import DatasetteError

    responses = yield
    status = getattr(exception, "status", 500)
    if (PUBLIC_DB_NAME in datasette.databases and isinstance(exception, (Base400, DatasetteError))
            and isinstance(status, int) and 400 <= status < 500):
        return [_client_error(datasette, request, exception, status)]
    return responses


def _client_error(datasette: Datasette, request: Request, exception: Exception, status: int
                  ) -> Callable[[], Awaitable[Response]]:
    """The page (or JSON) Datasette's default handler answers for a client error, rendered the same way."""

    from datasette.views.base import DatasetteError

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
    return [(files.ROUTE, files.download), (files.PREVIEW_ROUTE, files.preview), *pages.routes()]


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
        groups = await db.execute("select * from takedown_groups order by id limit ?", [LATEST_TAKEDOWNS])
        agencies = await db.execute("select * from agency_counts order by name")
        chart = await db.execute("select svg, months from charts where name = 'takedowns_per_month'")
        return {"groups": [dict(row, items=json.loads(row["items"] or "[]")) for row in groups.rows],
                "agencies": [dict(row) for row in agencies.rows], "public_db": PUBLIC_DB_NAME,
                "chart": Markup(chart.first()["svg"]) if chart.first() else None,
                "chart_months": json.loads(chart.first()["months"]) if chart.first() else []}

    return home_page
