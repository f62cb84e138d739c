"""Evidence that survives replay (issue 12, part 3): the WARCs foiawatch writes, indexed and replayed by pywb, show
the documents as they were: the latest capture of an unchanged document (a 304, written as a revisit record) gives
its bytes, and so does a copy recovered from the Wayback Machine."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from warcio.archiveiterator import ArchiveIterator

from foiawatch.archive import Archive
from foiawatch.archive.warc import NOT_MODIFIED_PROFILE
from foiawatch.crawler import crawl
from foiawatch.demo.library import document_bytes

from .conftest import demo_config, free_port

BIN = Path(sys.executable).parent


def records(path: Path) -> list:
    with open(path, "rb") as handle:
        return [(r.rec_type, r.rec_headers, r.content_stream().read()) for r in ArchiveIterator(handle)]


class Pywb:
    """pywb's own tools, as an archivist would run them: a collection, the WARCs added to it, a replay server."""

    def __init__(self, workdir: Path, warcs: list[Path]):
        self.workdir, self.port = workdir, free_port()
        for tool in ("wb-manager", "wayback"):
            if not (BIN / tool).exists():
                pytest.fail(f"pywb's {tool} is not installed (it is in the test extra)")
        subprocess.run([BIN / "wb-manager", "init", "evidence"], cwd=workdir, check=True, capture_output=True)
        subprocess.run([BIN / "wb-manager", "add", "evidence", *map(str, warcs)], cwd=workdir, check=True,
                       capture_output=True)

    def __enter__(self) -> Pywb:
        self.server = subprocess.Popen([BIN / "wayback", "-p", str(self.port), "-b", "127.0.0.1"], cwd=self.workdir,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.server.kill()
        raise RuntimeError(f"pywb did not start: {self.server.stderr.read() if self.server.stderr else ''}")

    def __exit__(self, *exc: object) -> None:
        self.server.kill()
        self.server.wait()

    def latest(self, url: str) -> requests.Response:
        """The raw bytes of the newest capture of ``url`` (``id_``: no rewriting, no banner)."""
        return requests.get(f"http://127.0.0.1:{self.port}/evidence/2999id_/{url}", timeout=30)


def test_unchanged_documents_replay_from_their_revisit_records(demo_site, tmp_path):
    config = demo_config(demo_site.url)
    assert crawl(config, tmp_path / "data").status == "complete"
    second = crawl(config, tmp_path / "data")
    assert second.crawl["not_modified"] > 0
    with Archive(tmp_path / "data") as archive:
        warcs = [archive.data_dir.root / row["warc_path"] for row in archive.db.query(
            "select warc_path from crawls order by id")]
    revisits = [(headers, body) for kind, headers, body in records(warcs[1]) if kind == "revisit"]
    assert len(revisits) == second.crawl["not_modified"], "every 304 is a revisit record"
    for headers, body in revisits:
        assert headers.get_header("WARC-Profile") == NOT_MODIFIED_PROFILE and body == b""
        assert headers.get_header("WARC-Refers-To-Target-URI") == headers.get_header("WARC-Target-URI")
        assert headers.get_header("WARC-Refers-To").startswith("<urn:uuid:")
        assert headers.get_header("WARC-Foiawatch-Response") == "HTTP/1.1 304 Not Modified", "the 304 is kept"
    for warc in warcs:
        check = subprocess.run([BIN / "warcio", "check", str(warc)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    documents = [d for d in demo_site.library.documents() if d.kind == "pdf" and d.link_style == "root"][:3]
    shutil.rmtree(tmp_path / "replay", ignore_errors=True)
    (tmp_path / "replay").mkdir()
    with Pywb(tmp_path / "replay", warcs) as pywb:
        for document in documents:
            replayed = pywb.latest(demo_site.url + document.path)
            assert replayed.status_code == 200, (document.path, replayed.status_code)
            assert replayed.content == document_bytes(document, document.text), document.path


def test_recovered_copies_replay_from_their_recovery_warc(tmp_path):
    from click.testing import CliRunner

    from foiawatch.cli import cli

    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path / "data"), "--no-serve"])
    assert result.exit_code == 0, result.output
    with Archive(tmp_path / "data") as archive:
        recovered = list(archive.db.query("select original, sha256, warc_path from recoveries where status = 'ok'"))
        bodies = {row["original"]: archive.blobs.path(row["sha256"]).read_bytes() for row in recovered}
        warcs = sorted({archive.data_dir.root / row["warc_path"] for row in recovered})
    assert recovered and warcs
    (tmp_path / "replay").mkdir()
    with Pywb(tmp_path / "replay", warcs) as pywb:
        for url, body in bodies.items():
            replayed = pywb.latest(url)
            assert replayed.status_code == 200 and replayed.content == body, url
