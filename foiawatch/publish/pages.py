"""The reader's pages: a document, a change, the removed and restored lists, an agency, a section, search, and
the agency and section feeds. Each is a route of foiawatch's Datasette plugin rendering a template of
``datasette_config/templates`` from the tables ``reader.py`` derived at publish time, with a few indexed queries.

Every page reads the public database only, so nothing withheld can appear on one; a withheld copy is shown as
withheld, with its reason, and no size, preview, text or link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from datasette.database import QueryInterrupted
from datasette.utils import tilde_decode, tilde_encode
from datasette.utils.asgi import NotFound, Response

from ..archive.published import PUBLIC_DB_NAME
from ..archive.vocabulary import EventKind
from . import atom, diffview
from .reader import CURRENTLY_LISTED, EXCERPT_CHARS
from .wording import KIND_WORDS, STATUS_EXPLAINED, evidence_words, plain_date

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.utils.asgi import Request

PAGE_SIZE = 50
FEED_SIZE = 100
TIMELINE_LIMIT = 500
CAPTURES_LIMIT = 200
SEARCH_LIMIT = 50
SNIPPET_WORDS = 24
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # private-use characters: snippet() marks, escaped text around them
_SEARCH_TERM = re.compile(r'"([^"]+)"|(\w+)')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATUS_FILTERS = {"removed": ("removed",), "restored": ("restored",), "listed": CURRENTLY_LISTED,
                  "unlisted": ("unlisted",), "moved": ("moved",)}
_TAKEDOWN_TITLE = f"""coalesce(a.name, t.agency_id) || ': ' || case t.kind
    when '{EventKind.REMOVED}' then 'removed “' || coalesce(t.title, t.url) || '”'
    when '{EventKind.REMOVED_BEFORE_MONITORING}' then 'removed before monitoring “' || coalesce(t.title, t.url) || '”'
    when '{EventKind.SECTION_REMOVED}' then 'section “' || t.section || '” removed'
    else 'text deleted from ' || t.url end"""
# The feeds' entries: the columns of atom.Entry.from_row, over ``takedowns t``, its agency ``a`` and catalogue ``k``.
FEED_COLUMNS = f"""'urn:foiawatch:event:' || t.agency_id || ':' || t.id as atom_id, {_TAKEDOWN_TITLE} as atom_title,
    t.detected_at as atom_updated, t.summary as atom_content, t.kind as atom_category, t.url as atom_original,
    coalesce('/documents/' || k.key, '/agencies/' || t.agency_id) as atom_link, k.copy as atom_copy"""
FEED_JOINS = """left join agencies a on a.id = t.agency_id
    left join catalogue k on k.key = case when t.document_id is not null then cast(t.document_id as text)
                                          when t.kind = 'removed_before_monitoring' then 'w' || t.id end"""

View = Callable[["Datasette", "Request"], Awaitable[Response]]


def routes() -> list[tuple[str, View]]:
    """The reader's routes, feeds before the pages whose paths they extend."""
    return [
        (r"^/documents/(?P<key>w?[0-9]+)$", document_page),
        (r"^/changes/(?P<event_id>[0-9]+)$", change_page),
        (r"^/(?P<status>removed|restored)$", list_page),
        (r"^/agencies/(?P<agency>[^/.]+)\.atom$", agency_feed),
        (r"^/agencies/(?P<agency>[^/.]+)/sections/(?P<section>[^/.]+)\.atom$", section_feed),
        (r"^/agencies/(?P<agency>[^/.]+)$", agency_page),
        (r"^/agencies/(?P<agency>[^/.]+)/sections/(?P<section>[^/.]+)$", section_page),
        (r"^/search$", search_page),
    ]


def section_path(agency_id: str, section: str) -> str:
    """A section page's path: its heading, tilde-encoded (Datasette's encoding of names with slashes and dots)."""
    return f"/agencies/{agency_id}/sections/{tilde_encode(section)}"


def _public(datasette: Datasette) -> Database:
    if PUBLIC_DB_NAME not in datasette.databases:
        raise NotFound("This instance serves no foiawatch public database.")
    return datasette.get_database(PUBLIC_DB_NAME)


async def _rows(db: Database, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in (await db.execute(sql, params)).rows]


async def _one(db: Database, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
    rows = await _rows(db, sql, params)
    return rows[0] if rows else None


async def _render(datasette: Datasette, request: Request, template: str, context: dict[str, Any]) -> Response:
    page = await datasette.render_template(template, {"public_db": PUBLIC_DB_NAME, **context}, request=request)
    return Response.html(page)


async def _crawl_dates(db: Database, crawl_ids: set[int]) -> dict[int, str]:
    if not crawl_ids:
        return {}
    rows = await _rows(db, "select id, coalesce(finished_at, started_at) as at from crawls "
                           "where id in (select value from json_each(?))", [json.dumps(sorted(crawl_ids))])
    return {row["id"]: row["at"] for row in rows}


def _crawl_ids(evidence_json: str | None) -> set[int]:
    """Crawls an event's evidence names: the last listing, and each direct check."""
    try:
        evidence = json.loads(evidence_json or "{}")
    except ValueError:
        return set()
    if not isinstance(evidence, dict):
        return set()
    ids = {evidence.get("last_listed_crawl")}
    ids.update(probe.get("crawl_id") for probe in evidence.get("crawls") or [] if isinstance(probe, dict))
    return {crawl for crawl in ids if isinstance(crawl, int)}


# a document ----------------------------------------------------------------------------------------------------


async def document_page(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    key = request.url_vars["key"]
    document = await _one(db, "select k.*, a.name as agency from catalogue k left join agencies a "
                              "on a.id = k.agency_id where k.key = ?", [key])
    if document is None:
        raise NotFound("No such document in the archive.")
    if document["document_id"] is not None:
        events = await _rows(db, "select e.id, e.kind, e.detected_at, e.summary, e.evidence, e.crawl_id, "
                                 "d.lines_added, d.lines_removed, d.diff is not null as has_diff from events e "
                                 "left join text_diffs d on d.event_id = e.id where e.document_id = ? "
                                 "order by e.detected_at, e.id limit ?", [document["document_id"], TIMELINE_LIMIT])
    else:
        events = await _rows(db, "select id, kind, detected_at, summary, evidence, crawl_id from events "
                                 "where id = ?", [document["event_id"]])
    crawl_dates = await _crawl_dates(db, set().union(*(_crawl_ids(e["evidence"]) for e in events)))
    for event in events:
        event["words"] = evidence_words(event["kind"], event["evidence"], crawl_dates)
        event["label"] = KIND_WORDS.get(event["kind"], event["kind"])
    copies = await _rows(db, "select * from copies where key = ? order by first_captured", [key])
    captures = await _rows(db, "select timestamp, original, status, mimetype, length from captures "
                               "where agency_id = ? and url = ? order by timestamp desc limit ?",
                           [document["agency_id"], document["url"], CAPTURES_LIMIT])
    excerpt = await _one(db, "select substr(text, 1, ?) as text, length(text) > ? as more from texts "
                             "where rowid = ?", [EXCERPT_CHARS, EXCERPT_CHARS, document["text_rowid"]])
    preview = await _one(db, "select sha256, width, height from previews where sha256 = ? and png is not null",
                         [document["copy_sha256"]])
    wayback_base = (document["wayback"] or "").split("/web/*/", 1)[0]
    # A capture's playback shows the bytes as captured: not for a document whose recovered copy is withheld.
    playback = wayback_base and not any(c["source"] == "wayback" and c["withheld"] for c in copies)
    # The copy a citation names: the one a reader downloads, else our last one (withheld, but its hash is public).
    copy = next((c for c in copies if c["sha256"] == document["copy_sha256"]),
                next((c for c in copies if c["sha256"] == document["sha256"]), None))
    root = atom.site_root(datasette, request)
    return await _render(datasette, request, "foiawatch_document.html", {
        "document": document, "events": events, "copies": copies, "captures": captures, "excerpt": excerpt,
        "preview": preview, "copy": copy, "wayback_base": wayback_base, "playback": playback,
        "status_explained": STATUS_EXPLAINED, "permalink": f"{root}/documents/{key}",
        "accessed": plain_date(datetime.now(UTC).isoformat()),
        "section_path": section_path(document["agency_id"], document["section"]) if document["section"] else None,
    })


# a change --------------------------------------------------------------------------------------------------------


async def change_page(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    change = await _one(db, """
        select e.id, e.agency_id, e.document_id, e.title, e.url, e.detected_at, e.crawl_id, e.evidence,
               d.old_sha256, d.new_sha256, d.diff, d.lines_added, d.lines_removed, d.truncated, a.name as agency,
               old.download as old_download, new.download as new_download,
               old.first_captured as old_captured, new.first_captured as new_captured
        from events e join text_diffs d on d.event_id = e.id left join agencies a on a.id = e.agency_id
        left join copies old on old.key = cast(e.document_id as text) and old.sha256 = d.old_sha256
        left join copies new on new.key = cast(e.document_id as text) and new.sha256 = d.new_sha256
        where e.id = ? and e.kind = 'changed'""", [int(request.url_vars["event_id"])])
    if change is None:
        raise NotFound("No such change in the archive.")
    withheld = change["diff"] is None and bool(await _one(
        db, "select 1 from withholdings where sha256 in (?, ?)", [change["old_sha256"], change["new_sha256"]]))
    return await _render(datasette, request, "foiawatch_change.html", {
        "change": change, "withheld": withheld,
        "diff": diffview.readable(change["diff"]) if change["diff"] else None,
    })


# lists -----------------------------------------------------------------------------------------------------------


async def list_page(datasette: Datasette, request: Request) -> Response:
    """Removed or restored documents, newest first, filtered by agency and section, paged by keyset."""
    db = _public(datasette)
    status = request.url_vars["status"]
    where, params = ["status = :status"], {"status": status, "limit": PAGE_SIZE + 1}
    agency, section = request.args.get("agency") or "", request.args.get("section") or ""
    if agency:
        where.append("agency_id = :agency")
        params["agency"] = agency
    if section:
        where.append("section = :section")
        params["section"] = section
    if request.args.get("before") == "1" and status == "removed":
        where.append("document_id is null")
    total = (await db.execute(f"select count(*) from catalogue where {' and '.join(where)}", params)).first()[0]
    after = (request.args.get("after") or "").split(" ", 1)
    if len(after) == 2:
        where.append("(status_at, key) < (:after_at, :after_key)")
        params.update(after_at=after[0], after_key=after[1])
    rows = await _rows(db, f"""select k.*, a.name as agency from catalogue k left join agencies a on a.id = k.agency_id
                               where {' and '.join(where)} order by status_at desc, key desc limit :limit""", params)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    agencies = await _rows(db, "select agency_id, name from agency_counts order by name")
    sections = await _rows(db, f"select section from section_counts where agency_id = ? and {status} > 0 "
                               "order by section", [agency]) if agency else []
    next_args = {k: v for k, v in {"agency": agency, "section": section,
                                   "before": request.args.get("before")}.items() if v}
    if more:
        next_args["after"] = f"{rows[-1]['status_at']} {rows[-1]['key']}"
    return await _render(datasette, request, "foiawatch_list.html", {
        "status": status, "rows": rows, "total": total, "agency": agency, "section": section,
        "agencies": agencies, "sections": sections, "next_args": next_args if more else None,
        "before": request.args.get("before") == "1",
    })


# agencies and sections ------------------------------------------------------------------------------------------


async def _groups(db: Database, where: str, params: Sequence[Any], limit: int = 10) -> list[dict[str, Any]]:
    rows = await _rows(db, f"select * from takedown_groups where {where} order by id limit ?", [*params, limit])
    for row in rows:
        row["items"] = json.loads(row["items"] or "[]")
    return rows


async def agency_page(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    agency_id = request.url_vars["agency"]
    agency = await _one(db, "select c.*, a.library_urls, a.created_at from agency_counts c join agencies a "
                            "on a.id = c.agency_id where c.agency_id = ?", [agency_id])
    if agency is None:
        raise NotFound("No such library in the archive.")
    sections = await _rows(db, "select * from section_counts where agency_id = ? "
                               "order by last_removal is null, last_removal desc, section", [agency_id])
    for section in sections:
        section["path"] = section_path(agency_id, section["section"])
    return await _render(datasette, request, "foiawatch_agency.html", {
        "agency": agency, "sections": sections, "groups": await _groups(db, "agency_id = ?", [agency_id]),
        "library_urls": json.loads(agency["library_urls"] or "[]"),
    })


async def section_page(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    agency_id, name = request.url_vars["agency"], tilde_decode(request.url_vars["section"])
    section = await _one(db, "select s.*, a.name as agency from section_counts s join agencies a "
                             "on a.id = s.agency_id where s.agency_id = ? and s.section = ?", [agency_id, name])
    if section is None:
        raise NotFound("No such section in the archive.")
    documents = await _rows(db, "select * from catalogue where agency_id = ? and section = ? "
                                "order by status_at desc, key desc limit 1000", [agency_id, name])
    return await _render(datasette, request, "foiawatch_section.html", {
        "section": section, "path": section_path(agency_id, name),
        "remaining": [d for d in documents if d["status"] in CURRENTLY_LISTED],
        "gone": [d for d in documents if d["status"] not in CURRENTLY_LISTED],
        "groups": await _groups(db, "agency_id = ? and section = ?", [agency_id, name]),
    })


# feeds -----------------------------------------------------------------------------------------------------------


async def agency_feed(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    agency_id = request.url_vars["agency"]
    agency = await _one(db, "select name from agencies where id = ?", [agency_id])
    if agency is None:
        raise NotFound("No such library in the archive.")
    rows = await db.execute(f"select {FEED_COLUMNS} from takedowns t {FEED_JOINS} where t.agency_id = ? "
                            "order by t.detected_at desc, t.id desc limit ?", [agency_id, FEED_SIZE])
    return atom.feed_response(datasette, request, feed_id=f"{atom.FEED_URN}agency:{agency_id}",
                              title=f"Takedowns from {agency['name']}", alternate=f"/agencies/{agency_id}",
                              entries=[atom.Entry.from_row(row) for row in rows.rows])


async def section_feed(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    agency_id, name = request.url_vars["agency"], tilde_decode(request.url_vars["section"])
    agency = await _one(db, "select name from agencies where id = ?", [agency_id])
    known = await _one(db, "select 1 from section_counts where agency_id = ? and section = ?", [agency_id, name])
    if agency is None or known is None:
        raise NotFound("No such section in the archive.")
    rows = await db.execute(f"select {FEED_COLUMNS} from takedowns t {FEED_JOINS} where t.agency_id = ? "
                            "and t.section = ? order by t.detected_at desc, t.id desc limit ?",
                            [agency_id, name, FEED_SIZE])
    return atom.feed_response(datasette, request,
                              feed_id=f"{atom.FEED_URN}section:{agency_id}:{tilde_encode(name)}",
                              title=f"Takedowns from {agency['name']}, section “{name}”",
                              alternate=section_path(agency_id, name),
                              entries=[atom.Entry.from_row(row) for row in rows.rows])


# search ----------------------------------------------------------------------------------------------------------


def fts_query(text: str) -> str:
    """The reader's words (and "quoted phrases") as an FTS5 query of quoted terms, all required: no FTS5 syntax
    a reader types by accident (a hyphen, a colon, AND) can make it an error."""
    terms = [phrase or word for phrase, word in _SEARCH_TERM.findall(text)][:20]
    return " ".join('"' + term.replace('"', "") + '"' for term in terms if term.strip())


def _snippet(text: str) -> str:
    """A snippet's HTML: the text escaped, the matched words in ``<mark>``."""
    from markupsafe import escape

    html = str(escape(text))
    html = re.sub(f"{_MARK_OPEN}(.*?){_MARK_CLOSE}", r"<mark>\1</mark>", html, flags=re.S)
    return html.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")


async def search_page(datasette: Datasette, request: Request) -> Response:
    db = _public(datasette)
    text = (request.args.get("q") or "").strip()
    filters = {name: (request.args.get(name) or "").strip() for name in ("agency", "section", "status", "from", "to")}
    query = fts_query(text)
    where, params = ["texts_fts match :query"], {"query": query, "limit": SEARCH_LIMIT * 4,
                                                  "open": _MARK_OPEN, "close": _MARK_CLOSE}
    for name, column in (("agency", "k.agency_id"), ("section", "k.section")):
        if filters[name]:
            where.append(f"{column} = :{name}")
            params[name] = filters[name]
    if filters["status"] in STATUS_FILTERS:
        where.append("k.status in (select value from json_each(:statuses))")
        params["statuses"] = json.dumps(STATUS_FILTERS[filters["status"]])
    for name, operator in (("from", ">="), ("to", "<=")):
        if _DATE.match(filters[name]):
            where.append(f"substr(k.status_at, 1, 10) {operator} :{name}")
            params[name] = filters[name]
    results: list[dict[str, Any]] = []
    too_slow = False
    if query:
        try:
            rows = await _rows(db, f"""
            select k.key, k.title, k.url, k.status, k.status_at, k.section, k.withheld, a.name as agency,
                   c.source, c.first_captured, c.sha256,
                   snippet(texts_fts, 0, :open, :close, '…', {SNIPPET_WORDS}) as snippet
            from texts_fts join texts t on t.rowid = texts_fts.rowid
            join copies c on c.sha256 = t.sha256 join catalogue k on k.key = c.key
            left join agencies a on a.id = k.agency_id
            where {' and '.join(where)} order by texts_fts.rank limit :limit""", params)
        except QueryInterrupted:  # words in nearly every text, ranked past the time limit: say so, not a 500
            rows, too_slow = [], True
        seen: set[str] = set()
        for row in rows:
            if row["key"] not in seen and len(results) < SEARCH_LIMIT:
                seen.add(row["key"])
                results.append({**row, "snippet": _snippet(row["snippet"] or "")})
    agencies = await _rows(db, "select agency_id, name from agency_counts order by name")
    sections = await _rows(db, "select section from section_counts where agency_id = ? order by section",
                           [filters["agency"]]) if filters["agency"] else []
    return await _render(datasette, request, "foiawatch_search.html", {
        "q": text, "filters": filters, "results": results, "too_slow": too_slow, "agencies": agencies,
        "sections": sections, "statuses": list(STATUS_FILTERS),
    })
