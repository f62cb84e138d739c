"""The PII screen's tables (archive/pii.py says what each holds and which are private)."""

from __future__ import annotations

import sqlite_utils

from ..db import table


def create_tables(db: sqlite_utils.Database) -> None:
    table(db, "pii_screens").create(
        {"sha256": str, "screened_at": str, "screener": str, "hits": int, "withheld": int},
        pk="sha256", foreign_keys=[("sha256", "blobs", "sha256")], if_not_exists=True,
    )
    table(db, "pii_findings").create(
        {"id": int, "sha256": str, "kind": str, "page": int, "count": int, "risk": str, "excerpt": str},
        pk="id", foreign_keys=[("sha256", "blobs", "sha256")], if_not_exists=True,
    )
    table(db, "withholdings").create(
        {"sha256": str, "withheld": int, "decided_by": str, "reason": str, "updated_at": str},
        pk="sha256", foreign_keys=[("sha256", "blobs", "sha256")], if_not_exists=True,
    )
    table(db, "review_decisions").create(
        {"id": int, "sha256": str, "action": str, "reviewer": str, "reason": str, "decided_at": str,
         "was_withheld": int},
        pk="id", foreign_keys=[("sha256", "blobs", "sha256")], if_not_exists=True,
    )
    table(db, "pii_findings").create_index(["sha256"], if_not_exists=True)
    table(db, "pii_findings").create_index(["kind", "risk"], if_not_exists=True)
    table(db, "review_decisions").create_index(["sha256", "id"], if_not_exists=True)
