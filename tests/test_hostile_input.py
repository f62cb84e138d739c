"""Hostile input and the public server (issue 12, section 5): titles full of control characters and markup, SQL
that asks for huge values or memory addresses, unrouted paths, forged Host headers, webhook addresses that embed a
private IPv4 address, SMTP replies that echo an address, and command-line arguments that cannot work."""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import httpx
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from foiawatch.alerts.notify import run_alerts
from foiawatch.alerts.safety import non_public_reason
from foiawatch.alerts.settings import AlertSettings
from foiawatch.alerts.subscriptions import confirm, subscribe
from foiawatch.archive import Archive
from foiawatch.archive.state import open_private
from foiawatch.archive.text_clean import clean_text
from foiawatch.archive.vocabulary import Channel
from foiawatch.cli import cli
from foiawatch.publish import build_public
from foiawatch.publish.pages import section_path

from .conftest import free_port
from .support.datasette import answering
from .test_publish import Served
from .test_side_channels import AGENCY, Library

HOSTILE_TITLE = "Report\x00\x1b[31m <script>alert(1)</script> \u202egnp.exe\u202c & \x7f\x85\x9b done\x0bnext\r\nline"
CLEANED_TITLE = "Report[31m <script>alert(1)</script> gnp.exe &   done next\nline"
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# 5. control characters and markup in titles ---------------------------------------------------------------------


@pytest.mark.parametrize("value, cleaned", [
    (None, None),
    ("", ""),
    ("Plain title, “quoted” – fine é 中文", "Plain title, “quoted” – fine é 中文"),
    ("tab\tand\nnewline kept", "tab\tand\nnewline kept"),
    ("CR LF\r\nand CR\ralone", "CR LF\nand CR\nalone"),
    ("NUL\x00BEL\x07ESC\x1b[2J DEL\x7f", "NULBELESC[2J DEL"),
    ("C1\x80\x9f and NEL\x85here", "C1 and NEL here"),
    ("vertical\x0btab, form\x0cfeed, unit\x1fsep", "vertical tab, form feed, unit sep"),
    ("bidi \u202eevil\u202c \u2066isolate\u2069 \u202a\u202b\u202d", "bidi evil isolate "),
    ("XML-forbidden \ufffe\uffff\ud800", "XML-forbidden "),
    ("<b>markup</b> & stays", "<b>markup</b> & stays"),
])
def test_clean_text(value, cleaned):
    assert clean_text(value) == cleaned


def hostile_archive(tmp_path: Path) -> tuple[Library, int, int]:
    """A published archive whose document, section, link text and events carry control characters and markup."""
    library = Library(tmp_path)
    document, _ = library.document("report.txt", "Nothing personal in here.")
    with library.db.conn:
        library.db.execute("update documents set title = ?, section = ? where id = ?",
                           [HOSTILE_TITLE, "Section\x1b]0;pwned\x07 <i>x</i>", document])
        library.db.execute("update sightings set section = ?, link_text = ? where document_id = ?",
                           ["Section\x1b", HOSTILE_TITLE, document])
        library.db.execute("insert into links (crawl_id, document_id, listing_page, section, link_text) "
                           "values (?, ?, 'https://www.ice.gov/foia', 'Section\x1b', ?)",
                           [library.crawl, document, HOSTILE_TITLE])
    events = [library.event("removed", document_id=document, title=HOSTILE_TITLE),
              library.event("section_removed", title=HOSTILE_TITLE)]
    with library.db.conn:
        library.db.execute("update events set summary = ?, section = ? where id in (?, ?)",
                           [f"“{HOSTILE_TITLE}” was removed.", "Section\x1b <i>x</i>", *events])
    from foiawatch.archive.pii import screen_pending

    screen_pending(library.archive)
    build_public(library.data_dir)
    return library, document, events[0]


def test_hostile_titles_leave_every_page_and_the_feed_valid(tmp_path):
    library, document, event = hostile_archive(tmp_path)
    with Served(library.data_dir) as public:
        pages = ["/", "/public", "/public/documents", f"/public/documents/{document}", "/public/events",
                 f"/public/events/{event}", "/public/takedowns", "/public/removed_documents",
                 "/public/takedown_feed", "/public/takedowns_by_section", "/public/sightings", "/public/links",
                 "/public/documents.json", "/public/events.json", "/public/takedowns.json"]
        for path in pages:
            response = public.get(path)
            assert response.status_code == 200, (path, response.status_code)
            if not path.endswith(".json"):  # markup is escaped in pages, never live (JSON holds it as data)
                assert "<script>alert(1)</script>" not in response.text, path
            if path not in ("/public/sightings", "/public/links"):  # their copies are cleaned at ingest
                assert not CONTROLS.search(response.text), (path, CONTROLS.findall(response.text))
        (row,) = public.rows("/public/documents")
        assert row["title"] == CLEANED_TITLE and row["section"] == "Section]0;pwned <i>x</i>"
        response = public.get("/public/takedown_feed.atom")
        feed = feedparser.parse(response.content)
        assert response.status_code == 200 and feed.bozo == 0, feed.get("bozo_exception")
        assert {entry.title for entry in feed.entries} == {
            f"U.S. Immigration and Customs Enforcement: removed “{CLEANED_TITLE}”",
            "U.S. Immigration and Customs Enforcement: section “Section <i>x</i>” removed"}
        assert b"<script>" not in response.content and b"&lt;script&gt;" in response.content


def test_the_feed_is_valid_xml_whatever_a_query_gives_it(tmp_path):
    library, _, _ = hostile_archive(tmp_path)
    sql = ("select 'urn:x:' || char(1) as atom_id, 'A' || char(0, 27, 11, 127, 133, 65534) || '<b>&' as atom_title, "
           "'2020-01-01T00:00:00Z' as atom_updated, 'body' || char(2, 8) as atom_content, "
           "'/public/events/1' || char(1) as atom_link")
    with Served(library.data_dir) as public:
        response = public.get("/public.atom", sql=sql)
    feed = feedparser.parse(response.content)
    assert response.status_code == 200 and feed.bozo == 0, feed.get("bozo_exception")
    (entry,) = feed.entries
    assert (entry.id, entry.title, entry.link) == ("urn:x:", "A  <b>&", public.url + "/public/events/1")


# 6. the public server ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Served, int]]:
    library, document, _ = hostile_archive(tmp_path_factory.mktemp("hostile"))
    with Served(library.data_dir) as public:
        yield public, document


def test_queries_cannot_make_huge_values(served):
    public, _ = served
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for sql in ("select length(randomblob(300000000))", "select randomblob(300000000)",
                "select length(zeroblob(300000000))", "select length(replace(hex(zeroblob(20000000)), '0', 'xx'))"):
        answer = public.sql(sql)
        assert answer.status_code == 400 and "string or blob too big" in answer.text, (sql, answer.text[:300])
    assert public.sql("select length(printf('%.*c', 300000000, 'x')) as n").json() == [{"n": None}]
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the server grew by {grown_mb:.0f} MB"
    assert public.sql("select length(randomblob(1000000))").json() == [{"length(randomblob(1000000))": 1000000}]


def test_a_published_text_longer_than_the_cap_stays_readable(tmp_path):
    library = Library(tmp_path)
    text = "lorem ipsum dolor " * 700_000  # 12.6 MB
    _, sha256 = library.document("long.txt", text)
    with library.db.conn:  # released by a reviewer (screening 12 MB of text takes a while)
        library.db.execute("insert into withholdings (sha256, withheld, decided_by, updated_at) "
                           "values (?, 0, 'review', '2030-01-01')", [sha256])
    build_public(library.data_dir)
    with Served(library.data_dir) as public:
        assert public.sql("select length(text) from texts").json() == [{"length(text)": len(text)}]
        assert public.sql(f"select length(randomblob({len(text) + 1000}))").status_code == 400


def test_fts3_tokenizer_gives_no_address(served):
    public, _ = served
    for sql in ("select hex(fts3_tokenizer('simple')) as x", "select hex(fts3_tokenizer('porter')) as x",
                "select hex(fts3_tokenizer('unicode61')) as x", "select fts3_tokenizer('simple', x'00') as x"):
        answer = public.sql(sql)
        assert answer.status_code in (200, 400), sql
        if answer.status_code == 200:
            assert answer.json() in ([{"x": ""}], [{"x": None}]), (sql, answer.text)


def test_not_found_prints_no_traceback_and_unknown_paths_are_404(served, capfd):
    public, document = served
    capfd.readouterr()
    for path in ("/public/nope", "/public/nope.json", "/public/documents/999999", "/nope",
                 f"/public/documents/{document}/x/y", "/a/b/c/d", "/a/b/c", "/public/events/1/2/3/4/5",
                 "/-/files/x/y", "/public/-/x/y"):
        response = public.get(path)
        assert response.status_code == 404, (path, response.status_code)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "locals" not in out + err, (out + err)[-2000:]
    assert public.get("/public/nope.json").json()["error"] == "Table not found"
    assert "Error 404" in public.get("/public/nope").text  # Datasette's own error page, as before


@contextmanager
def serving(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``foiawatch serve`` in its own process, as deployed."""
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if key != "FOIAWATCH_PUBLIC_URL"}
    command = [sys.executable, "-c", "from foiawatch.cli import cli; cli()", "serve", "--data-dir", str(data_dir),
               "--port", str(port), *args]
    with answering(command, port, {**environment, **(env or {})}) as url:
        yield url


def feed_urls(url: str, host: str, path: str) -> tuple[str, list[str], list[str]]:
    response = httpx.get(url + path, headers={"Host": host})
    feed = feedparser.parse(response.content)
    assert response.status_code == 200 and not feed.bozo
    return (feed.feed.id, [entry.id for entry in feed.entries],
            [link.href for link in feed.feed.links if link.rel != "self"] + [entry.link for entry in feed.entries])


@pytest.mark.parametrize("how, public_url", [
    ({"env": {"FOIAWATCH_PUBLIC_URL": "https://foia.example.org/"}}, "https://foia.example.org"),
    ({"args": ("--public-url", "https://mirror.example.org/archive/")}, "https://mirror.example.org/archive"),
    ({}, None),  # nothing configured: the address it serves on
])
def test_feed_ids_and_links_come_from_the_public_url_not_the_host_header(tmp_path, how, public_url):
    library, document, event = hostile_archive(tmp_path)
    feeds = {"global": ("/public/takedown_feed.atom", "urn:foiawatch:feed:public:takedown_feed"),
             "agency": (f"/agencies/{AGENCY}.atom", f"urn:foiawatch:feed:agency:{AGENCY}"),
             "section": (section_path(AGENCY, "Section <i>x</i>") + ".atom",
                         f"urn:foiawatch:feed:section:{AGENCY}:Section+~3Ci~3Ex~3C~2Fi~3E")}
    with serving(library.data_dir, *how.get("args", ()), env=how.get("env")) as url:
        public_url = public_url or url
        for path, feed_id in feeds.values():
            forged = feed_urls(url, "evil.example", path + "?_size=10&utm_source=x")
            # The same feed whatever the Host header or the query string: same id, same entry ids, same links.
            assert feed_urls(url, url.removeprefix("http://"), path) == forged
            assert forged[0] == feed_id
            assert f"urn:foiawatch:event:{AGENCY}:{event}" in forged[1] and len(forged[1]) == 2
            assert f"{public_url}/documents/{document}" in forged[2]
            assert all(link.startswith(public_url + "/") for link in forged[2]), forged[2]


def test_a_bad_public_url_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path), "--public-url", "javascript:alert(1)"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "is not an http(s) URL" in result.output


# 7. webhook addresses embedding a private IPv4 address ---------------------------------------------------------


@pytest.mark.parametrize("address, reason", [
    ("2002:a00:1::", "6to4 address of 10.0.0.1, a private"),
    ("2002:7f00:1:1234::1", "6to4 address of 127.0.0.1, a loopback"),
    ("2002:a9fe:a9fe::", "6to4 address of 169.254.169.254, a link-local"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo address of 10.0.0.1, a private"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address of 127.0.0.1, a loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address of 169.254.169.254, a link-local"),
    ("64:ff9b::c0a8:101", "NAT64 address of 192.168.1.1, a private"),
    ("64:ff9b:1::a00:1", "NAT64 address of 10.0.0.1, a private"),
    ("64:ff9b:1:a00:1::", "local-use NAT64"),
])
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(address, reason):
    assert non_public_reason(address) == reason


def test_6to4_of_a_public_address_is_public():
    assert non_public_reason("2002:808:808::") is None  # 8.8.8.8


def test_a_webhook_on_a_6to4_form_of_the_metadata_address_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, **kwargs: [
        (10, 1, 6, "", ("2002:a9fe:a9fe::", port, 0, 0))])  # what a DNS name could resolve to
    result = CliRunner().invoke(cli, ["subscribe", "--webhook", "http://hook.example.org/x", "--data-dir",
                                      str(tmp_path)], env={"FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS": ""})
    assert result.exit_code == 1
    assert "2002:a9fe:a9fe:: is a 6to4 address of 169.254.169.254, a link-local address" in result.output


# 8. SMTP replies echoing the recipient ---------------------------------------------------------------------------


class EchoingMailServer:
    """Refuses every recipient, echoing the address upper-cased, as some servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        return f"550 5.1.1 <{address.upper()}>: Recipient address rejected: unknown user {address.title()}"


def test_smtp_replies_echoing_the_recipient_in_another_case_are_masked(library, caplog):
    controller = Controller(EchoingMailServer(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        private = open_private(library.data_dir)
        pending = subscribe(private, Channel.EMAIL, "watcher@example.org", latest_event_id=0)
        confirm(private, pending.confirm_token, latest_event_id=0)
        library.event("removed", title="Detention standards")
        with caplog.at_level(logging.DEBUG):
            report = run_alerts(library.data_dir, AlertSettings(
                smtp_url=f"smtp://127.0.0.1:{controller.port}", retry_base=0))
    finally:
        controller.stop()
    assert report.sent.failed == 1
    (error,) = [row[0] for row in open_private(library.data_dir).execute(
        "select last_error from messages where purpose = 'digest'")]
    assert "550" in error and "w***@example.org" in error
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("foiawatch"))
    assert "w***@example.org" in logged
    for text in (error, logged):
        assert "watcher@example.org" not in text.lower(), text


# 9. the command line ---------------------------------------------------------------------------------------------


def one_line_error(output: str) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def run_cli(*args: str, env: dict[str, str] | None = None, unprivileged: bool = False
            ) -> tuple[int, str]:
    """``foiawatch ARGS`` in its own process; ``unprivileged`` runs it as a user without root's right to write
    anywhere (in a user namespace when the tests run as root)."""
    command = [sys.executable, "-c", "from foiawatch.cli import cli; cli()", *args]
    if unprivileged and os.geteuid() == 0:
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("running as root without unshare: cannot make a directory read-only to the test")
        command = [unshare, "--user", "--map-user=65534", "--map-group=65534", *command]
    result = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def read_only_archive(tmp_path) -> Iterator[Path]:
    data_dir = tmp_path / "data"
    with Archive(data_dir) as archive:
        archive.register_agency(AGENCY, "ICE", ["https://www.ice.gov/foia"], "{}")
    data_dir.chmod(0o555)
    yield data_dir
    data_dir.chmod(0o755)


@pytest.mark.parametrize("command", [
    ("events",), ("status",), ("subscriptions",), ("publish",), ("review", "list"),
    ("subscribe", "--webhook", "https://hooks.example.org/x"), ("crawl", "demo"),
])
def test_a_read_only_data_dir_is_one_line_error(read_only_archive, command):
    code, output = run_cli(*command, "--data-dir", str(read_only_archive), unprivileged=True)
    assert code != 0
    assert f"the data directory {read_only_archive} is not writable" in one_line_error(output)


def test_a_data_dir_that_cannot_be_created_is_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for command in (("subscriptions",), ("events",), ("crawl", "demo")):
        result = CliRunner().invoke(cli, [*command, "--data-dir", str(blocker / "data")])
        assert result.exit_code != 0, command
        line = one_line_error(result.output)
        assert f"cannot use {blocker / 'data'} as the data directory: {blocker} is not a directory" in line


def test_a_missing_config_dir_is_one_line_error_not_a_fallback(tmp_path):
    missing = tmp_path / "no-such-configs"
    for command, env in ((["agencies", "--config-dir", str(missing)], {}),
                         (["crawl", "demo", "--config-dir", str(missing), "--data-dir", str(tmp_path / "d")], {}),
                         (["agencies"], {"FOIAWATCH_CONFIG_DIR": str(missing)})):
        result = CliRunner().invoke(cli, command, env=env)
        assert result.exit_code != 0, (command, result.output)
        assert f"the config directory {missing} does not exist" in one_line_error(result.output)
    assert not (tmp_path / "d").exists()


def test_an_unknown_agency_in_events_is_one_line_error(library):
    library.event("removed")
    runner = CliRunner()
    result = runner.invoke(cli, ["events", "--agency", "nope", "--data-dir", str(library.data_dir)])
    assert result.exit_code != 0
    assert f"no agency 'nope' in the archive in {library.data_dir}; known: ice" in one_line_error(result.output)
    known = runner.invoke(cli, ["events", "--agency", AGENCY, "--data-dir", str(library.data_dir)])
    assert known.exit_code == 0 and "Memo" in known.output


@pytest.fixture
def library(tmp_path) -> Library:
    return Library(tmp_path)


def test_public_db_values_are_cleaned_at_publish(tmp_path):
    library, document, event = hostile_archive(tmp_path)
    with sqlite3.connect(library.data_dir / "public" / "public.db") as public:
        assert public.execute("select title from documents where id = ?", [document]).fetchone() == (CLEANED_TITLE,)
        assert public.execute("select title, summary from events where id = ?", [event]).fetchone() == (
            CLEANED_TITLE, f"“{CLEANED_TITLE}” was removed.")
