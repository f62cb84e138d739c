"""The tables behind the reader's pages, derived while building the public database from its published tables.

A reader asks "what is this document's status now, which copies do we hold, what went in that takedown"; answering
from the events at request time would scan a million rows per page. So each answer is a table written at publish
time and indexed for its page:

- ``catalogue``: one row per document a reader can open (every archived document, and every document found removed
  before monitoring, which has no ``documents`` row), with its status now: listed, changed, removed, restored,
  unlisted or moved, decided by its latest event (a change after a restore keeps it "restored").
- ``copies``: every preserved copy of each, ours or recovered from the Wayback Machine, published or withheld.
- ``takedown_groups``: takedowns as a reader counts them: a section with the documents that went with it, the
  documents one crawl confirmed removed, one deleted paragraph however many listing pages repeated it.
- ``agency_counts`` and ``section_counts``: what each library and section held, what is left, what is withheld.

Everything reads the public tables only (``main.*``), so nothing withheld can reach them: a withheld copy is a
row with its reason and no size, download or text.
"""

from __future__ import annotations

import sqlite_utils

from ..archive.published import FILES_ROUTE
from ..archive.vocabulary import EventKind

# The events that say where a document stands, and what each makes its status.
LIFECYCLE = {EventKind.ADDED: "listed", EventKind.REMOVED: "removed", EventKind.REMOVED_BEFORE_MONITORING: "removed",
             EventKind.RESTORED: "restored", EventKind.UNLISTED: "unlisted", EventKind.MOVED: "moved"}
STATUSES = ("listed", "changed", "removed", "restored", "unlisted", "moved")
CURRENTLY_LISTED = ("listed", "changed", "restored")
EXCERPT_CHARS = 1500
GROUP_ITEMS = 5  # documents named in a takedown group; the rest are counted

_GROUPING_KINDS = f"'{EventKind.SECTION_REMOVED}', '{EventKind.PAGE_TEXT_REMOVED}'"
_STATUS_OF = " ".join(f"when '{kind}' then '{status}'" for kind, status in LIFECYCLE.items())

_STATEMENTS = (
    # The latest lifecycle event of each document, and whether it changed after being (first) listed.
    f"""create temp table lifecycle as
    select document_id, id as event_id, kind, detected_at from (
        select document_id, id, kind, detected_at,
               row_number() over (partition by document_id order by detected_at desc, id desc) as n
        from main.events where document_id is not null and kind in ({", ".join(f"'{k}'" for k in LIFECYCLE)}))
    where n = 1""",
    "create unique index temp.lifecycle_document on lifecycle (document_id)",
    """create temp table last_change as
    select document_id, max(id) as event_id, max(detected_at) as detected_at from main.events
    where kind = 'changed' and document_id is not null group by document_id""",
    "create unique index temp.last_change_document on last_change (document_id)",
    # Recovered copies by the URL they were captured at, newest capture first, published ones before withheld.
    """create temp table recovered as
    select r.agency_id, r.url, r.sha256, r.capture_timestamp, r.original, r.retrieved_at,
           r.sha256 in (select sha256 from main.blobs) as published
    from main.recoveries r where r.status = 'ok' and r.sha256 is not null""",
    "create index temp.recovered_url on recovered (agency_id, url, published, capture_timestamp)",
    """create table catalogue (
        key text primary key,              -- the page's name: the document id, or w<event id> for a document
        document_id integer,               -- the Wayback Machine saw and we never did (no documents row)
        event_id integer,                  -- the event that gave it its status
        agency_id text, title text, section text, url text,
        status text not null,              -- listed, changed, removed, restored, unlisted or moved
        status_at text,                    -- when it took that status
        first_seen text, last_listed text,
        sha256 text,                       -- the last copy we fetched (published or not)
        copy text,                         -- download route of the copy a reader gets: ours, else recovered
        copy_sha256 text,
        withheld text,                     -- why our last copy (or the only recovered one) is withheld
        wayback text,                      -- the Wayback Machine's captures of its address
        text_rowid integer                 -- texts row of the copy's text (published copies only)
    )""",
    f"""insert into catalogue
    select d.id, d.id, coalesce(l.event_id, c.event_id), d.agency_id, d.title, d.section, d.url,
           case when l.kind is null or l.kind = 'added'
                then case when c.event_id is not null then 'changed' else 'listed' end
                else case l.kind {_STATUS_OF} end end,
           coalesce(case when l.kind is null or l.kind = 'added' then c.detected_at end, l.detected_at,
                    first.started_at),
           first.started_at, last.started_at, d.sha256,
           coalesce(d.download, ({{recovered}})), coalesce(b.sha256, ({{recovered_sha}})),
           case when d.download is null and ({{recovered}}) is null then d.withheld end,
           d.wayback, coalesce(d.text_id, (select t.rowid from main.texts t where t.sha256 = ({{recovered_sha}})))
    from main.documents d
    left join lifecycle l on l.document_id = d.id
    left join last_change c on c.document_id = d.id
    left join main.crawls first on first.id = d.first_seen_crawl
    left join main.crawls last on last.id = d.last_listed_crawl
    left join main.blobs b on b.sha256 = d.sha256""",
    f"""insert into catalogue
    select 'w' || e.id, null, e.id, e.agency_id, e.title, e.section, e.url, 'removed', e.detected_at, null, null,
           null, ({{recovered_e}}), ({{recovered_sha_e}}),
           case when ({{recovered_e}}) is null then (select w.reason from main.withholdings w where w.sha256 = (
               select r.sha256 from recovered r where r.agency_id = e.agency_id and r.url = e.url
               order by r.capture_timestamp desc limit 1)) end,
           {{wayback_e}}, (select t.rowid from main.texts t where t.sha256 = ({{recovered_sha_e}}))
    from main.events e
    where e.kind = '{EventKind.REMOVED_BEFORE_MONITORING}'
      and not exists (select 1 from main.documents d where d.agency_id = e.agency_id and d.url = e.url)""",
    "create index catalogue_status on catalogue (status, status_at desc, key desc)",
    "create index catalogue_agency_status on catalogue (agency_id, status, status_at desc, key desc)",
    "create index catalogue_section on catalogue (agency_id, section, status, status_at desc, key desc)",
    "create index catalogue_document on catalogue (document_id)",
    "create index catalogue_event on catalogue (event_id)",
    "create index catalogue_url on catalogue (agency_id, url)",
    # Every copy: what our crawls fetched (by sightings, and the documents' last copy), and what was recovered.
    """create table copies (
        key text not null,                 -- catalogue.key
        sha256 text not null,
        source text not null,              -- crawl, or wayback
        first_captured text,               -- our first fetch of these bytes, or the capture's time
        last_captured text,
        capture_timestamp text,            -- wayback: the capture's 14 digits
        original text,                     -- wayback: the URL as captured
        size integer, mimetype text,       -- published copies only
        download text,                     -- published copies only
        withheld text                      -- why the copy is withheld, if it is
    )""",
    """insert into copies (key, sha256, source, first_captured, last_captured)
    select cast(s.document_id as text), s.sha256, 'crawl', min(coalesce(s.fetched_at, c.started_at)),
           max(coalesce(s.fetched_at, c.started_at))
    from main.sightings s left join main.crawls c on c.id = s.crawl_id
    where s.sha256 is not null group by s.document_id, s.sha256""",
    """insert into copies (key, sha256, source, first_captured, last_captured)
    select cast(d.id as text), d.sha256, 'crawl', first.started_at, last.started_at from main.documents d
    left join main.crawls first on first.id = d.first_seen_crawl
    left join main.crawls last on last.id = d.last_listed_crawl
    where d.sha256 is not null
      and not exists (select 1 from main.sightings s where s.document_id = d.id and s.sha256 = d.sha256)""",
    """insert into copies (key, sha256, source, first_captured, last_captured, capture_timestamp, original)
    select k.key, r.sha256, 'wayback', r.capture_timestamp, r.retrieved_at, r.capture_timestamp, r.original
    from recovered r join catalogue k on k.agency_id = r.agency_id and k.url = r.url""",
    f"""update copies set size = b.size, mimetype = b.mimetype, download = '{FILES_ROUTE}' || b.sha256
    from main.blobs b where b.sha256 = copies.sha256""",
    """update copies set withheld = w.reason from main.withholdings w where w.sha256 = copies.sha256""",
    "create index copies_key on copies (key, first_captured)",
    "create index copies_sha256 on copies (sha256)",
    # Takedowns as a reader counts them. A removal confirmed after its section vanished belongs to that section's
    # takedown (the document was last listed before the section went); a deleted block of text is one takedown
    # per crawl, whichever listing pages (``?page=0`` beside the bare first page, in older crawls) repeated it.
    f"""create temp table grouped as
    select t.*, coalesce(
        case when t.kind = '{EventKind.SECTION_REMOVED}' then 'section:' || t.id end,
        case when t.kind = '{EventKind.REMOVED}' then (
            select 'section:' || s.id from main.takedowns s join main.documents d on d.id = t.document_id
            where s.agency_id = t.agency_id and s.kind = '{EventKind.SECTION_REMOVED}' and s.section = t.section
              and s.detected_at <= t.detected_at and s.crawl_id > coalesce(d.last_listed_crawl, 0)
            order by s.detected_at desc limit 1) end,
        case when t.kind = '{EventKind.PAGE_TEXT_REMOVED}'
             then 'text:' || t.crawl_id || ':' || coalesce(json_extract(e.evidence, '$.deleted'), t.url) end,
        t.kind || ':' || t.crawl_id) as grp,
        k.key
    from main.takedowns t join main.events e on e.id = t.id
    left join catalogue k on k.key = case when t.document_id is not null then cast(t.document_id as text)
                                          when t.kind = '{EventKind.REMOVED_BEFORE_MONITORING}' then 'w' || t.id end""",
    """create table takedown_groups (
        id integer primary key,            -- newest first
        agency_id text, grp text, kind text,
        detected_at text,                  -- when it was seen: a section's vanishing, else the confirmation
        section text,
        event_id integer,                  -- the section_removed or page_text_removed event, if any
        documents integer,                 -- documents confirmed removed in it
        summary text,
        items text                         -- JSON: up to five [key, title] of its documents
    )""",
    "create index temp.grouped_grp on grouped (agency_id, grp, id)",
    f"""insert into takedown_groups (agency_id, grp, kind, detected_at, section, event_id, documents, summary, items)
    select agency_id, grp, kind, detected_at, section, event_id, documents,
           (select x.summary from main.takedowns x where x.id = event_id),
           (select json_group_array(json_array(i.key, coalesce(i.title, i.url))) from (
                select i.key, i.title, i.url from grouped i where i.agency_id = g.agency_id and i.grp = g.grp
                and i.key is not null order by i.id limit {GROUP_ITEMS}) i)
    from (select agency_id, grp, max(id) as newest,
                 coalesce(max(case when kind in ({_GROUPING_KINDS}) then kind end), max(kind)) as kind,
                 coalesce(min(case when kind = '{EventKind.SECTION_REMOVED}' then detected_at end),
                          max(detected_at)) as detected_at,
                 max(section) as section,
                 min(case when kind in ({_GROUPING_KINDS}) then id end) as event_id,
                 sum(kind in ('{EventKind.REMOVED}', '{EventKind.REMOVED_BEFORE_MONITORING}')) as documents
          from grouped group by agency_id, grp) g
    order by detected_at desc, newest desc""",
    "create index takedown_groups_agency on takedown_groups (agency_id, id)",
    "create index takedown_groups_section on takedown_groups (agency_id, section, id)",
    f"""create table agency_counts as
    select a.id as agency_id, a.name,
           count(k.key) as documents,
           coalesce(sum(k.status = 'removed'), 0) as removed,
           coalesce(sum(k.status = 'restored'), 0) as restored,
           coalesce(sum(k.status in ({", ".join(f"'{s}'" for s in CURRENTLY_LISTED)})), 0) as listed,
           coalesce(sum(k.withheld is not null), 0) as withheld,
           count(distinct k.section) as sections
    from main.agencies a left join catalogue k on k.agency_id = a.id group by a.id order by a.name""",
    f"""create table section_counts as
    select k.agency_id, k.section,
           count(*) as documents,
           sum(k.status in ({", ".join(f"'{s}'" for s in CURRENTLY_LISTED)})) as listed,
           sum(k.status = 'removed') as removed,
           sum(k.status = 'restored') as restored,
           sum(k.withheld is not null) as withheld,
           min(k.first_seen) as first_seen,
           max(case when k.status = 'removed' then k.status_at end) as last_removal
    from catalogue k where k.section is not null and k.section != '' group by k.agency_id, k.section""",
    "create unique index section_counts_key on section_counts (agency_id, section)",
    # A section named only by takedowns (its documents are filed under another heading now) has a page too.
    """insert into section_counts (agency_id, section, documents, listed, removed, restored, withheld)
    select distinct agency_id, section, 0, 0, 0, 0, 0 from main.takedowns t
    where section is not null and section != ''
      and not exists (select 1 from section_counts s where s.agency_id = t.agency_id and s.section = t.section)""",
)


def build_reader_tables(db: sqlite_utils.Database, wayback_calendar: str) -> dict[str, int]:
    """Write the reader's tables into the public database being built; ``wayback_calendar`` is the SQL of a URL's
    capture calendar given the agency row ``a`` and the URL ``e.url``."""
    recovered = ("select {} from recovered r where r.agency_id = {}.agency_id and r.url = {}.url and r.published "
                 "order by r.capture_timestamp desc limit 1")
    fragments = {
        "recovered": recovered.format(f"'{FILES_ROUTE}' || r.sha256", "d", "d"),
        "recovered_sha": recovered.format("r.sha256", "d", "d"),
        "recovered_e": recovered.format(f"'{FILES_ROUTE}' || r.sha256", "e", "e"),
        "recovered_sha_e": recovered.format("r.sha256", "e", "e"),
        "wayback_e": f"(select {wayback_calendar} from archive.agencies a where a.id = e.agency_id)",
    }
    for statement in _STATEMENTS:
        db.execute(statement.format(**fragments))
    for name in ("lifecycle", "last_change", "recovered", "grouped"):
        db.execute(f"drop table temp.{name}")
    return {name: db.execute(f"select count(*) from [{name}]").fetchone()[0]
            for name in ("catalogue", "copies", "takedown_groups")}

