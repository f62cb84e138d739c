"""What the Wayback baseline needs to know, gathered in one pass: every capture under the agency's prefix, the
library's archived listing pages (what removed documents were called, and where they were listed), what the live
library answers for the captured URLs no crawl ever listed, and, for those found gone that no archived listing
names, a verified copy of the document itself (its own title is then the best name it has).

These are facts; ``diff.baseline`` decides from them which documents were removed before monitoring began (the
pipeline joins the two, since diff sits above this layer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..archive import Archive
from ..config import AgencyConfig
from .cdx_sync import SyncStats, sync_captures
from .client import WaybackClient
from .listings import ListingStats, read_archived_listings
from .probes import ProbeStats, probe_never_listed
from .recovery import RecoveryStats, recover_never_listed_gone


@dataclass
class BaselineEvidence:
    sync: SyncStats
    listings: ListingStats | None = None  # None when there was nothing to list
    probes: ProbeStats | None = None
    recovered: RecoveryStats | None = None  # copies of never-listed documents found gone, nowhere named


def gather_evidence(archive: Archive, config: AgencyConfig, client: WaybackClient, *,
                    on_listing: Callable[[int], None] | None = None,
                    on_pages: Callable[[int, int], None] | None = None,
                    on_probe: Callable[[int, int], None] | None = None) -> BaselineEvidence:
    """List the captures, read the archived listing pages, probe the captured URLs never listed."""
    evidence = BaselineEvidence(sync_captures(archive, config, client, progress=on_listing))
    if evidence.sync.skipped:
        return evidence
    evidence.listings = read_archived_listings(archive, config, client, progress=on_pages)
    evidence.probes = probe_never_listed(archive, config, progress=on_probe)
    if not evidence.probes.skipped:
        evidence.recovered = recover_never_listed_gone(archive, config, client)
    return evidence


def wayback_client(config: AgencyConfig) -> WaybackClient:
    """A client for the agency's configured Wayback Machine (``[wayback] base_url``), as the agency's crawler."""
    return WaybackClient(config.wayback.base_url, user_agent=config.politeness.user_agent,
                         allow_save=config.wayback.save_new)
