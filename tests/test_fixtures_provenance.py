"""Every third-party fixture travels with its licence and a provenance row: which repository, commit and path it was
copied from, and its size. A file without a row, or a row without its file, fails here."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# Folders of data foiawatch made itself (their README says how); they carry no third-party licence or provenance.
OWN_DATA = {"archive-0.1.0", "schema"}
NOT_FIXTURES = {"README.md", "LICENSE", "PROVENANCE.tsv"}
COLUMNS = {"saved_file", "repo", "commit", "source_path", "bytes"}
THIRD_PARTY = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in OWN_DATA)


def provenance(folder: Path) -> list[dict[str, str]]:
    with open(folder / "PROVENANCE.tsv", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        assert COLUMNS <= set(reader.fieldnames or ()), f"{folder.name}/PROVENANCE.tsv lacks {COLUMNS}"
        return list(reader)


def test_the_third_party_folders_are_all_there():
    assert {"wayback", "cdx", "realpages", "pdfs"} <= set(THIRD_PARTY)


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_each_fixture_has_a_licence_and_a_provenance_row(name):
    folder = FIXTURES / name
    assert (folder / "LICENSE").is_file() and (folder / "README.md").is_file()
    rows = provenance(folder)
    named = [row["saved_file"] for row in rows]
    assert len(named) == len(set(named)), "a file with two provenance rows"
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - NOT_FIXTURES
    assert files - set(named) == set(), "fixtures without a provenance row"
    assert set(named) - files == set(), "provenance rows naming no file"
    for row in rows:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", row["repo"]) and re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row
        assert row["source_path"], row
        assert int(row["bytes"]) == (folder / row["saved_file"]).stat().st_size, row["saved_file"]


def test_own_data_says_how_it_was_made():
    for name in OWN_DATA:
        assert (FIXTURES / name / "README.md").is_file()
