"""An archive written by foiawatch 0.1.0 opens with today's code, migrates, passes the fixity audit, and keeps its
events, blobs and subscriptions exactly as they were (tests/fixtures/archive-0.1.0/README.md says how it was made)."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive, schema
from foiawatch.archive.state import open_private
from foiawatch.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "archive-0.1.0" / "archive.tar.gz"

# What must survive: table -> the columns 0.1.0 wrote (later migrations may add columns, never change these).
KEPT = {
    "archive.db": {
        "events": ("id", "agency_id", "kind", "crawl_id", "document_id", "url", "title", "section", "detected_at",
                   "summary", "evidence", "dedupe_key"),
        "blobs": ("sha256", "size", "mimetype", "path", "source", "stored_at"),
        "documents": ("id", "agency_id", "url", "title", "section", "first_seen_crawl", "last_listed_crawl",
                      "sha256"),
        "crawls": ("id", "agency_id", "status", "status_reason", "warc_path"),
        "recoveries": ("agency_id", "url", "sha256", "capture_timestamp", "capture_digest"),
        "review_decisions": ("sha256", "action", "reviewer", "reason"),
    },
    "private.db": {
        "subscriptions": ("id", "channel", "target", "format", "agencies", "kinds", "section", "keyword", "status",
                          "confirm_token", "unsubscribe_token", "after_event_id", "created_at"),
        "deliveries": ("event_id", "subscription_id", "agency_id", "message_id"),
        "messages": ("id", "subscription_id", "purpose", "idempotency_key", "status", "body"),
        "runs": ("id", "agency_id", "status", "steps"),
    },
}


def snapshot(data: Path) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for database, tables in KEPT.items():
        with sqlite3.connect(data / database) as connection:
            for table, columns in tables.items():
                listed = ", ".join(columns)
                rows[f"{database}:{table}"] = connection.execute(
                    f"select {listed} from {table} order by {listed}").fetchall()
    return rows


@pytest.fixture
def old_archive(tmp_path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "archive-0.1.0"


def test_an_archive_written_by_0_1_0_opens_migrates_and_keeps_everything(old_archive):
    before = snapshot(old_archive)
    assert len(before["archive.db:events"]) == 29 and len(before["private.db:subscriptions"]) == 2

    runner = CliRunner()
    verified = runner.invoke(cli, ["verify", "--data-dir", str(old_archive), "--json"])
    assert verified.exit_code == 0, verified.output
    audit = json.loads(verified.output)
    assert audit["blobs"] == len(before["archive.db:blobs"]) and audit["problems"] == []

    listed = runner.invoke(cli, ["events", "--data-dir", str(old_archive), "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)["events"]) == 29
    subscriptions = runner.invoke(cli, ["subscriptions", "--data-dir", str(old_archive), "--all"])
    assert subscriptions.exit_code == 0 and subscriptions.output.count("\n") == 2, subscriptions.output

    assert snapshot(old_archive) == before

    with Archive(old_archive) as archive:
        assert schema.ARCHIVE.pending(archive.db) == []
        roots = archive.db.execute("select count(*), sum(is_root) from listing_pages where page_number = 0").fetchone()
        assert roots[0] > 0 and roots == (roots[0], roots[0])  # the facts the crawl verdict reads, backfilled
    assert schema.PRIVATE.pending(open_private(old_archive)) == []
