"""Every table of foiawatch's two databases, as numbered migrations applied when a database is opened.

Each subsystem's tables are defined in a module of their own here (``crawls``, ``privacy``, ``wayback``,
``events``, ``fixity``, ``private``), beside the others: the archive layer owns the schema, so opening an archive
creates every table whichever command runs first, and no other layer runs DDL. The first migrations are the schema
of foiawatch 0.1.0, written to apply cleanly over an archive it left (where tables appeared lazily).
"""

from __future__ import annotations

from ..migrations import Migration, MigrationSet
from . import crawls, events, fixity, privacy, private, wayback

ARCHIVE = MigrationSet("archive.db", [
    Migration("0001_crawls", crawls.create_tables),
    Migration("0002_pii_screen", privacy.create_tables),
    Migration("0003_wayback", wayback.create_tables),
    Migration("0004_events", events.create_tables),
    Migration("0005_fixity", fixity.create_tables),
    Migration("0006_removal_views", events.create_removal_views),
    Migration("0007_listing_page_facts", crawls.add_listing_page_facts),
    Migration("0008_not_found_signatures", crawls.add_not_found_signatures),
    Migration("0009_unverified_streak", events.add_unverified_streak),
    Migration("0010_text_titles", crawls.add_text_titles),
    Migration("0011_wayback_saves", wayback.add_saves),
    Migration("0012_sighting_warc_records", crawls.add_sighting_warc_records),
    Migration("0013_recovery_warcs", wayback.add_recovery_warcs),
    Migration("0014_record_parts", crawls.add_record_parts),
    Migration("0015_removed_record_parts", events.add_removed_record_parts),
    Migration("0016_crawl_kinds", crawls.add_crawl_kinds),
    Migration("0017_text_sources", crawls.add_text_sources),
])

PRIVATE = MigrationSet("private.db", [
    Migration("0001_alerts_and_runs", private.create_tables),
    Migration("0002_condition_headlines", private.add_condition_headlines),
])

__all__ = ["ARCHIVE", "PRIVATE"]
