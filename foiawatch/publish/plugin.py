"""foiawatch's Datasette plugin: file downloads, the Atom format, download links in tables, and the home page's
latest takedowns. Registered by ``serve.make_datasette``; it does nothing for databases other than the public one.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from markupsafe import Markup, escape

from ..archive.published import FILES_ROUTE, PUBLIC_DB_NAME
from . import atom, files

NAME = "foiawatch"
LATEST_TAKEDOWNS = 10


def register() -> None:
    """Add this module to Datasette's plugins once per process."""
    if pm.get_plugin(NAME) is None:
        pm.register(sys.modules[__name__], name=NAME)


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
