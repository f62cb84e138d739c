"""The README's first command: `foiawatch demo` replays the ICE story offline and publishes the archive."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from foiawatch.archive import Archive, DataDir
from foiawatch.cli import cli
from foiawatch.demo.scenario import PILOT_RECORDS


def test_demo_replays_the_ice_takedown_and_publishes(tmp_path):
    data_dir = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(data_dir), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "20 removed, 3 section_removed, 3 removed_before_monitoring, 1 page_text_removed, 1 outage, " \
           "1 outage_ended" in result.output
    assert "3 recovered with provenance" in result.output
    assert "Secure Communities pilot\n" in result.output, "pilot records are filed as the archived library listed them"
    public = sqlite3.connect(DataDir.at(data_dir).public_db)
    titles = {title for (title,) in public.execute(
        "select title from removed_documents where kind = 'removed_before_monitoring'")}
    assert titles == {title for _, title, _ in PILOT_RECORDS}
    assert public.execute("select count(*) from archived_links where section = 'Secure Communities pilot'"
                          ).fetchone()[0] == len(PILOT_RECORDS)
    with Archive(data_dir) as archive:
        statuses = [row["status"] for row in archive.crawls("demo")]
    assert statuses == ["complete", "outage", "complete", "complete"]


def test_demo_refuses_to_empty_a_directory_it_did_not_create(tmp_path):
    (tmp_path / "precious.txt").write_text("not a demo archive")
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path), "--no-serve"])
    assert result.exit_code != 0 and "is not a demo archive" in result.output
    assert (tmp_path / "precious.txt").exists()
