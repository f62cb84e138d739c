"""One command line: --json on every command that reports something (a JSON document on stdout, logs on stderr),
--section meaning a section heading exactly everywhere, and one default data directory, the demo's included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive
from foiawatch.cli import cli
from foiawatch.config import bundled_config_dir
from foiawatch.demo.scenario import wayback_captures
from foiawatch.demo.wayback_standin import WaybackStandin

from .support.built import demo_story

# Commands that report nothing: they serve or run until stopped (their log lines are their record).
LONG_RUNNING = {"serve", "demo-site", "schedule"}


def leaf_commands():
    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(path), command
        for name, sub in (subcommands or {}).items():
            yield from walk(sub, [*path, name])
    return list(walk(cli, []))


def test_every_command_that_reports_something_has_json():
    missing = [name for name, command in leaf_commands() if name not in LONG_RUNNING
               and "--json" not in {opt for param in command.params for opt in getattr(param, "opts", [])}]
    assert missing == []
    assert {name for name, _ in leaf_commands()} >= LONG_RUNNING | {
        "crawl", "run", "wayback", "recover", "agencies", "subscriptions", "export", "publish", "status"}


def invoke_json(*args: str, env: dict[str, str] | None = None, code: int = 0):
    result = CliRunner().invoke(cli, [*args, "--json"], env=env)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory) -> Path:
    """`foiawatch demo` run with nothing but $FOIAWATCH_DATA (the default data directory, as for every command); a
    copy this module's commands may change."""
    story, report = demo_story(tmp_path_factory)
    assert report["data_dir"] == str(story)
    assert report["events"]["removed"] == 20 and report["wayback"]["recovered"] == 3
    assert [crawl["status"] for crawl in report["crawls"]] == ["complete", "outage", "complete", "complete"]
    data_dir = tmp_path_factory.mktemp("home") / "foiawatch-data"
    shutil.copytree(story, data_dir)
    return data_dir


def test_the_demo_uses_the_default_data_directory_and_other_commands_read_it(demo_archive):
    env = {"FOIAWATCH_DATA": str(demo_archive)}
    report = invoke_json("status", env=env)  # no --data-dir: the same default
    assert [agency["id"] for agency in report["agencies"]] == ["demo"]
    events = invoke_json("events", "--kind", "removed_before_monitoring", env=env)
    assert len(events["events"]) == 3


def test_the_demo_never_empties_an_archive_used_for_another_agency(tmp_path_factory, tmp_path):
    data_dir = tmp_path / "foiawatch-data"
    shutil.copytree(demo_story(tmp_path_factory)[0], data_dir)  # an archive the demo made
    with Archive(data_dir) as archive:  # then the operator crawls a real library into the same directory
        archive.register_agency("ice", "ICE", ["https://www.ice.gov/foia/library"], "{}")
    again = CliRunner().invoke(cli, ["demo", "--no-serve", "--data-dir", str(data_dir)])
    assert again.exit_code == 1 and "now also holds ice; the demo will not empty it" in again.output
    assert (data_dir / "archive.db").is_file()


def test_json_reports_of_the_archive_commands(demo_archive, tmp_path, mailbox):
    data = ["--data-dir", str(demo_archive)]
    published = invoke_json("publish", *data)
    # The demo's XLSX files are read and screened clean (issue 17); its ZIPs stay withheld, unscreenable.
    assert published["files"] == 54 and published["withheld"] == 3 and published["rows"]["events"] == 29
    exported = invoke_json("export", "demo", *data, "--bagit", str(tmp_path / "bag"), "--warc", str(tmp_path / "w"))
    assert exported["bag"]["blobs"] > 0 and len(exported["warcs"]["files"]) >= 4 and exported["failures"] == []
    bundle = invoke_json("bundle", "demo", *data, "--section", "Secure Communities", "--out", str(tmp_path))
    assert bundle["included"] > 0 and bundle["section"] == "Secure Communities" and bundle["zip"].endswith(".zip")
    agencies = invoke_json("agencies")
    assert {"ice", "epa-hfstudy", "demo"} <= {agency["id"] for agency in agencies}
    assert all(agency["valid"] for agency in agencies)
    listed = invoke_json("review", "list", *data)
    shown = invoke_json("review", "show", listed[0]["sha256"][:12], *data)
    assert shown["sha256"] == listed[0]["sha256"] and shown["state"] == "withheld"

    env = {"FOIAWATCH_SMTP_URL": mailbox.url}
    subscribed = invoke_json("subscribe", "--email", "reader@example.org", "--section", "Secure Communities", *data,
                             env=env)
    assert subscribed["subscription"]["target"] == "r***@example.org", "masked, as in every report"
    assert subscribed["confirmation_request"] == "sent" and subscribed["warnings"] == []
    token = subscribed["unsubscribe_token"]
    (subscription,) = invoke_json("subscriptions", "--all", *data)
    assert subscription["status"] == "pending" and subscription["section"] == "Secure Communities"
    ended = invoke_json("unsubscribe", token, *data)
    assert ended["status"] == "unsubscribed"


def test_section_means_the_heading_exactly_everywhere(demo_archive, mailbox, tmp_path):
    data = ["--data-dir", str(demo_archive)]
    exact = invoke_json("events", "--section", "Secure Communities", *data)["events"]
    assert exact and {event["section"] for event in exact} == {"Secure Communities"}
    assert invoke_json("events", "--section", "secure communities", *data)["events"] == []
    assert invoke_json("events", "--section", "Secure", *data)["events"] == [], "not a part of a heading"
    wrong = CliRunner().invoke(cli, ["bundle", "demo", *data, "--section", "Secure", "--out", str(tmp_path)])
    assert wrong.exit_code == 1 and "no document under section 'Secure'" in wrong.output
    subscribed = invoke_json("subscribe", "--email", "reader@example.org", "--section", "secure communities",
                             *data, env={"FOIAWATCH_SMTP_URL": mailbox.url})
    (warning,) = subscribed["warnings"]
    assert "No document or event is filed under the section “secure communities”" in warning
    assert "did you mean “Secure Communities”" in warning
    assert subscribed["subscription"]["filters"].endswith("section “secure communities”")


def test_json_reports_of_the_crawl_and_wayback_commands(demo_site, tmp_path):
    with WaybackStandin(wayback_captures(demo_site)) as standin:
        host = demo_site.url.removeprefix("http://")
        text = (bundled_config_dir() / "demo.toml").read_text().replace("127.0.0.1:8765", host)
        config = tmp_path / "demo.toml"
        config.write_text(text + f'base_url = "{standin.url}"\n')  # [wayback] is the file's last table
        data = ["--data-dir", str(tmp_path / "data")]
        crawled = invoke_json("crawl", str(config), *data)
        assert crawled["status"] == "complete" and crawled["crawl"]["documents"] == 54
        assert crawled["failure"] is None and crawled["extraction"]["ok"] > 0
        wayback = invoke_json("wayback", str(config), *data)
        assert wayback["sync"]["captures"] > 0 and wayback["baseline"]["created"] == 3
        recovered = invoke_json("recover", str(config), *data)
        assert recovered["documents"] == 3 and recovered["recovered"] == 3 and recovered["rejected"] == []
        run = invoke_json("run", str(config), *data, env={"FOIAWATCH_SMTP_URL": ""})
        assert run["status"] == "ok" and list(run["steps"]) == ["crawl", "diff", "preserve", "wayback", "recover",
                                                                 "publish", "alerts"]
        demo_site.set_state("outage")
        down = invoke_json("crawl", str(config), *data, code=3)
        assert down["status"] == "outage" and down["reason"].startswith("library root shows the notice")


def test_tokens_never_look_like_options(monkeypatch, tmp_path):
    """`foiawatch unsubscribe TOKEN`, as every message says: a token starting with "-" would be read as an option."""
    import secrets

    from foiawatch.alerts.subscriptions import subscribe
    from foiawatch.archive.state import open_private

    drawn = iter(["-starts-with-a-dash", "confirm-token", "--two-dashes", "unsubscribe-token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(drawn))
    subscription = subscribe(open_private(tmp_path), "email", "reader@example.org", latest_event_id=0)
    assert (subscription.confirm_token, subscription.unsubscribe_token) == ("confirm-token", "unsubscribe-token")
