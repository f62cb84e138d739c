"""Queries over the Wayback tables (archive/schema/wayback.py) that more than one layer asks: the captured URLs no
crawl ever listed, and the newest live probe of each.

Only a capture whose archived answer was 2xx, or a revisit of one (same digest), shows that a document was there:
an archived redirect, "not found" or error page is kept as history and never makes a URL "captured".
"""

from __future__ import annotations

from .vocabulary import FetchOutcome


def is_document_capture(status: int | None, revisit: bool) -> bool:
    """A 2xx capture, or a revisit (whose body is an earlier capture's; the query checks it was a 2xx one)."""
    return status is None and revisit or status is not None and 200 <= status < 300


# SQL of the same rule for a captures row ``c``.
DOCUMENT_CAPTURE = """
    (c.status between 200 and 299
     or (c.status is null and exists (select 1 from captures o where o.agency_id = c.agency_id and o.url = c.url
                                      and o.digest = c.digest and o.status between 200 and 299)))
"""

# The captured URLs that no crawl of the agency (``:agency``) ever listed or reached. "Reached" covers documents
# linked through a redirect: their captures are filed under the URL the link led to, which the crawl recorded as
# the final URL of a successful fetch.
NEVER_LISTED = f"""
    select c.url, count(*) as captures, min(c.timestamp) as first_capture, max(c.timestamp) as last_capture
    from captures c
    where c.agency_id = :agency and {DOCUMENT_CAPTURE}
      and c.url not in (
          select url from documents where agency_id = :agency
          union
          select s.final_url from sightings s join documents d on d.id = s.document_id
          where d.agency_id = :agency and s.final_url is not null
            and s.outcome in ('{FetchOutcome.FETCHED}', '{FetchOutcome.NOT_MODIFIED}')
      )
    group by c.url
"""

# The newest probe of each URL of the agency (``:agency``), looked up by URL through the (agency_id, url, id) index
# when joined on the URL (a list of every URL's newest id made the join quadratic).
LATEST_PROBES = """
    select p.* from wayback_probes p
    where p.agency_id = :agency
      and not exists (select 1 from wayback_probes q where q.agency_id = p.agency_id and q.url = p.url and q.id > p.id)
"""
