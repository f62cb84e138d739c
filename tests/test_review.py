"""`foiawatch review`: a reviewer lists what the PII screen withheld, reads the masked findings, releases or
withholds a file, and the next publish follows the decision (issue 5, part 1)."""

from __future__ import annotations

import re
import sqlite3

import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive, DataDir
from foiawatch.cli import cli
from foiawatch.crawler import crawl
from foiawatch.demo.library import preset
from foiawatch.demo.site import DemoSite
from foiawatch.diff.engine import run_diff
from foiawatch.pipeline import publish_archive

from .conftest import demo_config
from .test_publish import WITHHELD_PATH, WITHHELD_SSN, WITHHELD_TEXT, WITHHELD_TITLE

REVIEWER, REASON = "Reviewer Ann Example", "the SSN is a published test number"


@pytest.fixture
def data_dir(tmp_path):
    with DemoSite(state=preset("v1").edit(WITHHELD_PATH, WITHHELD_TEXT)) as site:
        assert crawl(demo_config(site.url), tmp_path / "data").status == "complete"
    with Archive(tmp_path / "data") as archive:
        run_diff(archive, "demo")
    publish_archive(tmp_path / "data")  # screens every blob first
    return tmp_path / "data"


def review(data_dir, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["review", *args, "--data-dir", str(data_dir)])
    assert result.exit_code == code, result.output
    return result.output


def published(data_dir, sha256: str) -> bool:
    public = sqlite3.connect(DataDir.at(data_dir).public_db)
    try:
        return public.execute("select count(*) from blobs where sha256 = ?", [sha256]).fetchone()[0] == 1
    finally:
        public.close()


def test_a_reviewer_reads_the_findings_releases_and_withholds_again(data_dir):
    with Archive(data_dir) as archive:
        (sha256,) = archive.db.execute("select sha256 from documents where title = ?", [WITHHELD_TITLE]).fetchone()
    withheld = review(data_dir, "list")
    assert re.search(rf"{sha256[:12]}  withheld  high-risk PII: ssn  \[.*ssn x1.*\]", withheld)
    assert "no text to screen (unsupported)" in withheld  # spreadsheets and ZIPs: nothing was screened
    assert WITHHELD_TITLE in withheld and WITHHELD_SSN not in withheld
    assert sha256[:12] not in review(data_dir, "list", "--state", "public")

    shown = review(data_dir, "show", sha256[:12])
    assert f"Blob {sha256}: application/pdf" in shown and f"“{WITHHELD_TITLE}” under “Secure Communities”" in shown
    assert "ssn (high risk) x1" in shown and "SSN: ***-**-6789" in shown and WITHHELD_SSN not in shown
    assert not published(data_dir, sha256)

    assert f"Released {sha256[:12]}" in review(data_dir, "release", sha256[:12], "--reviewer", REVIEWER,
                                                  "--reason", REASON)
    assert sha256[:12] not in review(data_dir, "list") and sha256[:12] in review(data_dir, "list", "--state", "public")
    shown = review(data_dir, "show", sha256)
    assert "Now: public, released by a reviewer" in shown
    assert re.search(rf"Decision \S+: release by {REVIEWER} \(was withheld\): {REASON}", shown)
    publish_archive(data_dir)
    assert published(data_dir, sha256), "the next publish follows the reviewer"

    review(data_dir, "withhold", sha256[:12], "--reviewer", REVIEWER, "--reason", "second thoughts")
    assert "Now: withheld, withheld by a reviewer" in review(data_dir, "show", sha256[:12])
    publish_archive(data_dir)
    assert not published(data_dir, sha256)
    with Archive(data_dir) as archive:
        assert [row[0] for row in archive.db.execute("select action from review_decisions order by id")] == [
            "release", "withhold"]


def test_review_errors_say_what_to_do(data_dir):
    assert "no blob 0000000" in review(data_dir, "show", "0000000", code=1)
    assert "not a sha256" in review(data_dir, "release", "xyz", "--reviewer", REVIEWER, "--reason", REASON, code=1)
    assert "--reason" in review(data_dir, "withhold", "abcdef", "--reviewer", REVIEWER, code=2)
    assert "needs a reviewer and a reason" in review(
        data_dir, "withhold", review(data_dir, "list").split()[0], "--reviewer", " ", "--reason", REASON, code=1)
    with Archive(data_dir) as archive:
        assert archive.db["review_decisions"].count == 0
