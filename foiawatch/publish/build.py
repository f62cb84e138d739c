"""Build the public database that the public Datasette instance serves, and nothing else.

Everything in it comes from an allow-list of archive tables and columns: a table or column added to the archive
later stays private until it is listed here (only the Wayback tables, metadata by design, are copied whole).
Subscriptions, deliveries, review decisions and PII findings are never listed. The archive is attached read-only
and read in one transaction (a consistent snapshot even while a crawl writes), and the result is written under a
temporary name and renamed into place, so a running instance never sees a half-built file.

Withholding fails closed as in ``archive/pii.py``: a blob is published only when its ``withholdings`` row says
``withheld = 0``. The text, bytes and text diffs of every other blob are left out, so no URL and no SQL query of
the public instance can reach them; their documents' metadata stays public, with the reason they are withheld.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlite_utils

from ..archive.datadir import DataDir, DataDirLike
from ..archive.published import FILES_ROUTE
from ..archive.text_clean import clean_text
from ..archive.vocabulary import EventKind
from ..config import WAYBACK_BASE_URL
from .chart import month_label, month_span, takedowns_svg
from .preview import DEFAULT_BUDGET, PreviewBudget, build_previews
from .reader import build_reader_tables

TAKEDOWN_KINDS = (EventKind.REMOVED, EventKind.SECTION_REMOVED, EventKind.REMOVED_BEFORE_MONITORING,
                  EventKind.PAGE_TEXT_REMOVED)
DOCUMENT_REMOVALS = (EventKind.REMOVED, EventKind.REMOVED_BEFORE_MONITORING)

_ALL = None  # every column: for tables whose owner declares them public metadata


@dataclass(frozen=True)
class Table:
    """One published table: which archive columns, which rows, and columns computed while copying.

    Expressions in ``where``, ``computed`` and ``masked`` see the archive row as ``src`` and the tables copied before
    this one as ``main.<name>``; ``published`` is the temp table of publishable sha256s.
    """

    name: str
    columns: tuple[str, ...] | None
    where: str = ""
    computed: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (SQL type, SQL expression)
    source: str = ""  # the archive table read, when it is not ``name``
    # Copied columns whose value is replaced (same name and type): what must not be published of some rows.
    masked: dict[str, str] = field(default_factory=dict)  # column -> SQL expression

    @property
    def archive_table(self) -> str:
        return self.source or self.name


_PUBLISHED_COPY = f"case when src.sha256 in (select sha256 from main.blobs) then '{FILES_ROUTE}' || src.sha256 end"


def _cleaned(*columns: str) -> dict[str, str]:
    """Titles and headings as the site shows them, in pages and the Atom feed: without control characters
    (``archive.text_clean``), whatever an older crawl stored. Not sightings' and links' copies: far more rows, for
    pages nobody reads first."""
    return {column: f"clean_text(src.[{column}])" for column in columns}


_BOTH_PUBLISHED = ("src.old_sha256 in (select sha256 from published) "
                   "and src.new_sha256 in (select sha256 from published)")

# In dependency order: computed columns read tables copied before them.
def _wayback_captures(agency: str, url: str) -> str:
    """SQL for the page listing a URL's captures in the agency's configured Wayback Machine, so a mirror or a local
    stand-in links to itself."""
    return (f"coalesce(json_extract({agency}.config, '$.wayback.base_url'), '{WAYBACK_BASE_URL}') "
            f"|| '/web/*/' || {url}")


TABLES = (
    Table("agencies", ("id", "name", "library_urls", "created_at")),  # not config: contacts, user agents
    Table("crawls", ("id", "agency_id", "started_at", "finished_at", "status", "status_reason", "pages_ok",
                     "pages_failed", "documents", "documents_new", "documents_unchanged", "not_modified",
                     "documents_failed", "probes", "bytes", "duration_s")),  # not pid, warc_path
    Table("listing_pages", ("id", "crawl_id", "url", "final_url", "http_status", "error", "fetched_at",
                            "page_number", "document_links", "outage_notice", "blocked", "sha256")),  # not text
    Table("blobs", ("sha256", "size", "mimetype", "source", "stored_at"),
          where="src.sha256 in (select sha256 from published)",
          computed={"filename": ("TEXT", "public_file_name(src.sha256, src.mimetype, {blob_url})"),
                    "download": ("TEXT", f"'{FILES_ROUTE}' || src.sha256")}),
    Table("texts", ("sha256", "status", "text", "pages", "chars", "extracted_at", "source", "ocr_confidence"),
          where="src.sha256 in (select sha256 from published)"),
    # Every blob not published, with why: unscreened blobs have no row in archive.withholdings.
    Table("withholdings", ("sha256",), source="blobs", where="src.sha256 not in (select sha256 from published)",
          computed={"decided_by": ("TEXT", "{decided_by}"), "reason": ("TEXT", "{withheld_reason}"),
                    "updated_at": ("TEXT", "{updated_at}")}),
    Table("documents", ("id", "agency_id", "url", "title", "section", "first_seen_crawl", "last_listed_crawl",
                        "sha256", "mimetype"), masked=_cleaned("title", "section"),
          computed={"download": ("TEXT", _PUBLISHED_COPY),
                    "wayback": ("TEXT", "(select " + _wayback_captures("a", "src.url")
                                + " from archive.agencies a where a.id = src.agency_id)"),
                    "withheld": ("TEXT", "(select reason from main.withholdings w where w.sha256 = src.sha256)"),
                    "text_id": ("INTEGER", "(select rowid from main.texts t where t.sha256 = src.sha256)")}),
    Table("sightings", ("id", "crawl_id", "document_id", "listed", "listing_page", "section", "link_text",
                        "http_status", "final_url", "etag", "last_modified", "content_type", "sha256", "size",
                        "not_modified", "outcome", "error", "fetched_at")),
    Table("links", ("crawl_id", "document_id", "listing_page", "section", "link_text")),
    Table("events", ("id", "agency_id", "kind", "crawl_id", "document_id", "url", "title", "section",
                     "detected_at", "summary", "evidence", "dedupe_key"),
          masked=_cleaned("title", "section", "summary")),
    # The diff and its size (line counts, whether it was cut) only when both versions are public: the counts of a
    # withheld version's diff would say how much of it changed.
    Table("text_diffs", ("event_id", "old_sha256", "new_sha256", "lines_added", "lines_removed", "truncated"),
          computed={"diff": ("TEXT", f"case when {_BOTH_PUBLISHED} then src.diff end")},
          masked={column: f"case when {_BOTH_PUBLISHED} then src.[{column}] end"
                  for column in ("lines_added", "lines_removed", "truncated")}),
    # Wayback provenance: "all three are metadata and may be public" (archive/captures.py). A recovery's direct
    # (id_) link leads to the bytes as captured: given only for a published copy, else the capture calendar.
    Table("captures", _ALL),
    Table("wayback_probes", _ALL),
    Table("recoveries", _ALL,
          masked={"raw_url": "case when src.sha256 in (select sha256 from published) then src.raw_url else "
                             "coalesce((select " + _wayback_captures("a", "src.original") + " from archive.agencies a "
                             f"where a.id = src.agency_id), '{WAYBACK_BASE_URL}/web/*/' || src.original) end"}),
    Table("listing_captures", _ALL),
    Table("archived_links", _ALL, masked=_cleaned("title", "section", "link_text")),
)
# Indexes for canned queries and facets, on top of the archive's own indexes (copied where they fit).
_INDEXES = (
    "create index if not exists events_kind_detected on events (kind, detected_at)",
    "create index if not exists events_crawl_kind on events (crawl_id, kind)",
    "create index if not exists events_section on events (section)",
    "create index if not exists documents_text on documents (text_id)",
    "create index if not exists documents_section on documents (section)",
    # The byte length of every text, so the public instance finds the longest at once (``LONGEST_VALUE_SQL``).
    "create index if not exists texts_bytes on texts (length(cast(text as blob)))",
)
# The longest value of the public database (texts are its only long ones): the public instance lets no query make
# a longer one, and must let it read this one.
LONGEST_VALUE_SQL = "select max(length(cast(text as blob))) from texts"


@dataclass(frozen=True)
class Derived:
    """A table computed from the published ones while building: what a journalist opens first, cheap to page
    through even over a million events (a view would scan them for every count and facet).

    Rows are inserted newest first, so rowid order is the reading order: Datasette pages by ``rowid > ?``, and its
    counts and facets on later pages read covering indexes instead of testing a sort column row by row.
    """

    name: str
    columns: dict[str, tuple[str, str]]  # column -> (SQL type and constraints, expression over ``source``)
    source: str
    order_by: str
    indexes: tuple[tuple[str, ...], ...]
    after_reader: bool = False  # reads the reader's tables (``reader.py``), so is derived after them


def _kinds(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


DERIVED = (
    Derived("takedowns", {
        "id": ("INTEGER REFERENCES events(id)", "e.id"),
        "detected_at": ("TEXT", "e.detected_at"),
        "kind": ("TEXT", "e.kind"),
        "agency_id": ("TEXT REFERENCES agencies(id)", "e.agency_id"),
        "section": ("TEXT", "e.section"),
        "title": ("TEXT", "e.title"),
        "url": ("TEXT", "e.url"),
        "summary": ("TEXT", "e.summary"),
        "document_id": ("INTEGER REFERENCES documents(id)", "e.document_id"),
        "crawl_id": ("INTEGER REFERENCES crawls(id)", "e.crawl_id"),
    }, f"events e where e.kind in ({_kinds(TAKEDOWN_KINDS)})", "e.detected_at desc, e.id desc",
        (("id",), ("detected_at", "id"), ("agency_id", "section", "kind", "detected_at"), ("kind",), ("section",))),
    Derived("removed_documents", {
        "event_id": ("INTEGER REFERENCES events(id)", "e.id"),
        "removed_at": ("TEXT", "e.detected_at"),
        "kind": ("TEXT", "e.kind"),
        "agency_id": ("TEXT REFERENCES agencies(id)", "e.agency_id"),
        "section": ("TEXT", "e.section"),
        "title": ("TEXT", "e.title"),
        "url": ("TEXT", "e.url"),
        "first_seen": ("TEXT", "first_seen.started_at"),
        "last_listed": ("TEXT", "last_listed.started_at"),
        "wayback": ("TEXT", _wayback_captures("a", "e.url")),
        "recovered_copy": ("TEXT", "coalesce(d.download, {recovered})"),
        "copy_from": ("TEXT", "case when d.download is not null then 'crawl' when {recovered} is not null "
                              "then 'wayback' end"),
        "withheld": ("TEXT", "case when coalesce(d.download, {recovered}) is null "
                             "then coalesce(d.withheld, {recovered_withheld}) end"),
        "document_id": ("INTEGER REFERENCES documents(id)", "e.document_id"),
        "key": ("TEXT REFERENCES catalogue(key)", "k.key"),
    }, "events e left join documents d on d.id = e.document_id left join archive.agencies a on a.id = e.agency_id "
       "left join crawls first_seen on first_seen.id = d.first_seen_crawl "
       "left join crawls last_listed on last_listed.id = d.last_listed_crawl "
       "join catalogue k on k.event_id = e.id and k.status = 'removed' "
       f"where e.kind in ({_kinds(DOCUMENT_REMOVALS)})", "e.detected_at desc, e.id desc",
        (("event_id",), ("agency_id",), ("kind",), ("section",)), after_reader=True),
    # Listed again after a removal (or after being delisted while still served): never under removed_documents.
    Derived("restored_documents", {
        "key": ("TEXT REFERENCES catalogue(key)", "k.key"),
        "restored_at": ("TEXT", "k.status_at"),
        "agency_id": ("TEXT REFERENCES agencies(id)", "k.agency_id"),
        "section": ("TEXT", "k.section"),
        "title": ("TEXT", "k.title"),
        "url": ("TEXT", "k.url"),
        # "+r.kind": by the document's events, not by scanning every removal (the planner's choice for max()).
        "removed_at": ("TEXT", f"(select max(r.detected_at) from events r where r.document_id = k.document_id "
                               f"and +r.kind in ({_kinds(DOCUMENT_REMOVALS)}))"),
        "copy": ("TEXT", "k.copy"),
        "document_id": ("INTEGER REFERENCES documents(id)", "k.document_id"),
    }, "catalogue k where k.status = 'restored'", "k.status_at desc, k.key desc",
        (("agency_id",), ("section",)), after_reader=True),
)


@dataclass
class PublishStats:
    """What a build published, for the CLI to report."""

    path: Path
    rows: dict[str, int]
    files: int  # blobs downloadable
    withheld: int  # blobs whose text and bytes were left out
    seconds: float = 0.0


def build_public(data_dir: DataDirLike, preview_budget: PreviewBudget = DEFAULT_BUDGET) -> PublishStats:
    """Write ``<data_dir>/public/public.db`` from the archive in ``data_dir``, replacing any earlier one atomically;
    PDF previews are rendered within ``preview_budget``.

    Reads the archive and writes nothing to it.
    """
    started = time.perf_counter()
    data_dir = DataDir.at(data_dir)
    database = data_dir.archive_db
    if not database.is_file():
        raise FileNotFoundError(f"no archive database at {database}")
    output = data_dir.public_db
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        # uri=True: without it, SQLite may take the archive's read-only URI below for a new file's name.
        connection = sqlite3.connect(partial.resolve().as_uri(), uri=True, isolation_level=None)
        try:
            connection.create_function("public_file_name", 3, public_file_name, deterministic=True)
            connection.create_function("clean_text", 1, clean_text, deterministic=True)
            connection.execute("attach database ? as archive", [f"{database.as_uri()}?mode=ro"])
            rows = _build(sqlite_utils.Database(connection), data_dir, output, preview_budget)
            connection.execute("detach database archive")
            connection.execute("analyze")
        finally:
            connection.close()
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return PublishStats(output, rows, files=rows["blobs"], withheld=rows["withholdings"],
                        seconds=time.perf_counter() - started)


def _build(db: sqlite_utils.Database, data_dir: DataDir, previous: Path, preview_budget: PreviewBudget
           ) -> dict[str, int]:
    archive_tables = {row[0] for row in db.execute("select name from archive.sqlite_master where type = 'table'")}
    db.execute("begin")  # one read snapshot of the archive for the whole build
    db.execute("create temp table published (sha256 text primary key)")
    db.execute("insert into published select b.sha256 from archive.blobs b "
               "join archive.withholdings w on w.sha256 = b.sha256 where w.withheld = 0")
    placeholders = _placeholders()
    rows: dict[str, int] = {}
    for table in TABLES:
        if table.archive_table not in archive_tables:
            raise ValueError(f"the archive has no {table.archive_table} table: open it with this version of "
                             "foiawatch (any command does) to migrate it, then publish again")
        rows[table.name] = _copy(db, table, placeholders)
    # Only published texts were copied, so the index can only ever find those.
    db.execute("create virtual table texts_fts using fts5 (text, content=[texts], tokenize='porter')")
    db.execute("insert into texts_fts (rowid, text) select rowid, text from texts")
    db.execute("insert into texts_fts (texts_fts) values ('optimize')")
    rows.update(_derive(db))
    previews = build_previews(db, data_dir, previous, preview_budget)
    rows.update({f"previews {name}": count for name, count in previews.items()})
    db.execute("commit")
    return rows


def _placeholders() -> dict[str, str]:
    """SQL fragments shared by several published tables' computed columns."""
    decision = "(select {} from archive.withholdings w where w.sha256 = src.sha256)"
    # Reviewers' own reasons are private (review_decisions); the screen's name only kinds of PII.
    reason = ("case when w.decided_by = 'review' then 'withheld by a reviewer' "
              "else coalesce(w.reason, 'withheld by the PII screen') end")
    unscreenable = ("(select 'no text to screen (' || t.status || ')' from archive.texts t "
                    "where t.sha256 = src.sha256 and t.status != 'ok')")
    crawled_url = ("(select d.url from archive.sightings s join archive.documents d on d.id = s.document_id "
                   "where s.sha256 = src.sha256 order by s.crawl_id desc limit 1)")
    return {"decided_by": decision.format("w.decided_by"), "updated_at": decision.format("w.updated_at"),
            "withheld_reason": f"coalesce({decision.format(reason)}, {unscreenable}, 'not screened yet')",
            "blob_url": f"coalesce({crawled_url}, "
                        "(select r.url from archive.recoveries r where r.sha256 = src.sha256))"}


def _copy(db: sqlite_utils.Database, table: Table, placeholders: dict[str, str]) -> int:
    source = table.archive_table
    info = db.execute(f"pragma archive.table_info([{source}])").fetchall()  # cid, name, type, notnull, default, pk
    types = {row[1]: row[2] or "" for row in info}
    missing = sorted(set(table.columns or ()) - set(types))
    if missing:
        raise ValueError(f"the archive's {source} table has no {', '.join(missing)}: update publish/build.py")
    expressions = {column: f"src.[{column}]" for column in table.columns or types}
    for column, expression in table.masked.items():
        if column not in expressions:
            raise ValueError(f"{table.name}.{column} is masked but not copied")
        expressions[column] = expression
    for column, (sql_type, expression) in table.computed.items():
        if column in expressions:
            raise ValueError(f"{table.name}.{column} is both copied and computed")
        types[column] = sql_type
        expressions[column] = expression.format(**placeholders)
    pks = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5] and row[1] in expressions]
    definitions = [f"[{column}] {types[column]}".strip() for column in expressions]
    if pks:
        definitions.append(f"primary key ({', '.join(f'[{pk}]' for pk in pks)})")
    if source == table.name:
        definitions += _foreign_keys(db, source, set(expressions))
    db.execute(f"create table [{table.name}] ({', '.join(definitions)})")
    where = f" where {table.where}" if table.where else ""
    db.execute(f"insert into [{table.name}] ({', '.join(f'[{c}]' for c in expressions)}) "
               f"select {', '.join(expressions.values())} from archive.[{source}] as src{where}")
    if source == table.name:
        _copy_indexes(db, table.name, set(expressions))
    return db.execute(f"select count(*) from [{table.name}]").fetchone()[0]


def _foreign_keys(db: sqlite_utils.Database, table: str, columns: set[str]) -> list[str]:
    """The archive's foreign keys that stay true in the public copy: Datasette turns them into links."""
    keys = []
    for _id, _seq, other, column, other_column, *_ in db.execute(f"pragma archive.foreign_key_list([{table}])"):
        if column in columns and other in {t.name for t in TABLES}:
            target = f"[{other}]([{other_column}])" if other_column else f"[{other}]"
            keys.append(f"foreign key ([{column}]) references {target}")
    return keys


def _copy_indexes(db: sqlite_utils.Database, table: str, columns: set[str]) -> None:
    for _seq, name, unique, origin, partial in db.execute(f"pragma archive.index_list([{table}])").fetchall():
        if origin == "pk" or partial:
            continue
        indexed = [row[2] for row in db.execute(f"pragma archive.index_info([{name}])")]
        if indexed and None not in indexed and set(indexed) <= columns:
            kind = "unique index" if unique else "index"
            index_name = name if not name.startswith("sqlite_") else f"{table}_{'_'.join(indexed)}"
            db.execute(f"create {kind} [{index_name}] on [{table}] ({', '.join(f'[{c}]' for c in indexed)})")


def _derive(db: sqlite_utils.Database) -> dict[str, int]:
    for statement in _INDEXES:
        db.execute(statement)
    db.execute("create index if not exists recoveries_url on recoveries (url)")
    recovery = "(select {} from recoveries r join {} on x.sha256 = r.sha256 where r.url = e.url " \
               "order by r.rowid desc limit 1)"
    recoveries = {"recovered": recovery.format(f"'{FILES_ROUTE}' || r.sha256", "blobs x"),
                  "recovered_withheld": recovery.format("x.reason", "withholdings x")}
    rows: dict[str, int] = {}
    for table in (t for t in DERIVED if not t.after_reader):
        rows[table.name] = _derive_table(db, table, recoveries)
    rows.update(build_reader_tables(db, _wayback_captures("a", "e.url")))
    _chart(db)
    for table in (t for t in DERIVED if t.after_reader):
        rows[table.name] = _derive_table(db, table, recoveries)
    return rows


def _chart(db: sqlite_utils.Database) -> None:
    """The home page's chart, drawn once here (``chart.py``), with the numbers it shows."""
    counts = dict(db.execute(f"select substr(detected_at, 1, 7), count(*) from takedowns where kind = "
                             f"'{EventKind.REMOVED}' group by 1").fetchall())
    months = month_span(counts)
    db.execute("create table charts (name text primary key, svg text, months text)")
    db.execute("insert into charts values ('takedowns_per_month', ?, ?)",
               [takedowns_svg(months), json.dumps([[month_label(m), n] for m, n in months])])


def _derive_table(db: sqlite_utils.Database, table: Derived, recoveries: dict[str, str]) -> int:
    columns = ", ".join(f"[{name}] {sql_type}" for name, (sql_type, _) in table.columns.items())
    db.execute(f"create table [{table.name}] ({columns})")
    expressions = ", ".join(expression.format(**recoveries) for _, expression in table.columns.values())
    db.execute(f"insert into [{table.name}] select {expressions} from {table.source} order by {table.order_by}")
    for indexed in table.indexes:
        db.execute(f"create index [{table.name}_{'_'.join(indexed)}] on [{table.name}] "
                   f"({', '.join(f'[{c}]' for c in indexed)})")
    return db.execute(f"select count(*) from [{table.name}]").fetchone()[0]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {
    "application/pdf": ".pdf", "application/zip": ".zip", "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls", "text/plain": ".txt", "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


def public_file_name(sha256: str, mimetype: str | None, url: str | None) -> str:
    """A download's file name: the last segment of the document's URL, reduced to characters safe in a header."""
    name = _UNSAFE.sub("_", unquote(urlsplit(url).path.rsplit("/", 1)[-1])).strip("._")[:200] if url else ""
    if "." not in name:  # e.g. /doclib/redirect/1009: name it by its type
        name = (name or sha256) + _EXTENSIONS.get((mimetype or "").split(";")[0].strip().lower(), "")
    return name
