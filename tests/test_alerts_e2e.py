"""Alerts end to end on loopback: the demo library crawled for real, a real SMTP server (aiosmtpd) and a webhook
receiver started here, the whole chain run as the scheduler runs it (issue 6 acceptance)."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import time
from dataclasses import replace

from click.testing import CliRunner

from foiawatch.alerts.settings import AlertSettings
from foiawatch.archive import Archive
from foiawatch.cli import cli
from foiawatch.demo.library import LibraryState
from foiawatch.demo.site import DemoSite
from foiawatch.pipeline import run_pipeline

from .conftest import OPERATOR, PUBLIC_URL, SUBSCRIBER, Mailbox, WebhookReceiver, demo_config

REMOVED_PATH = "/doclib/foia/removal-statistics/ERO_Removals_FY2015.pdf"


def alert_env(mailbox: Mailbox, **extra: str) -> dict[str, str]:
    return {"FOIAWATCH_SMTP_URL": mailbox.url, "FOIAWATCH_PUBLIC_URL": PUBLIC_URL,
            "FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS": "1", "FOIAWATCH_RETRY_BASE": "0",
            "FOIAWATCH_OPERATOR_EMAIL": OPERATOR, **extra}


def local_config(site_url: str, **politeness: float):
    """The demo config without a Wayback prefix, and a Wayback base on a closed local port: no test run may
    reach the real Wayback Machine."""
    config = demo_config(site_url, **politeness)
    return replace(config, wayback=replace(config.wayback, prefix="", base_url="http://127.0.0.1:9"))


def cli_ok(data_dir, env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(data_dir)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def subscribe_both(data_dir, env: dict[str, str], mailbox: Mailbox, receiver: WebhookReceiver) -> None:
    """An email subscription confirmed through the token its confirmation request carried, and a webhook."""
    cli_ok(data_dir, env, "subscribe", "--email", SUBSCRIBER)
    (request,) = mailbox.to(SUBSCRIBER)
    assert request["Subject"] == "[foiawatch] Confirm your alert subscription"
    token = re.search(r"operator of this foiawatch instance: (\S+)", request.get_content()).group(1)
    assert "active" in cli_ok(data_dir, env, "confirm", token)
    cli_ok(data_dir, env, "subscribe", "--webhook", receiver.url)
    mailbox.received.clear()


def digests_to(mailbox: Mailbox, address: str) -> list[email.message.EmailMessage]:
    return [m for m in mailbox.to(address) if not m["Subject"].startswith("[foiawatch operator]")]


def test_removed_document_is_mailed_and_posted_once(demo_site, tmp_path, mailbox, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    env = alert_env(mailbox)
    settings = AlertSettings.from_env(env)
    config = local_config(demo_site.url)
    subscribe_both(tmp_path, env, mailbox, receiver)

    def run(state=None) -> None:
        if state is not None:
            demo_site.set_state(state)
        report = run_pipeline(config, tmp_path, settings=settings)
        assert report.status == "ok", report.steps

    run("v1")
    run(LibraryState().remove(REMOVED_PATH))
    assert not mailbox.received and not receiver.posts, "missing once is not removed yet"
    run()
    (message,) = digests_to(mailbox, SUBSCRIBER)
    (post,) = receiver.posts

    with Archive(tmp_path) as archive:
        (event,) = archive.db.execute("select id, title, url from events where kind = 'removed'").fetchall()
    event_id, title, url = event
    archive_link = f"{PUBLIC_URL}/public/events/{event_id}"
    body = message.get_content()
    assert title in body and url in body and archive_link in body
    assert f"Archived copy: {PUBLIC_URL}/-/files/" in body
    assert "1 document removed" in message["Subject"]
    assert message["Message-ID"] and message["Auto-Submitted"] == "auto-generated"
    assert "To unsubscribe" in body

    headers, payload = post
    assert headers["Idempotency-Key"] == payload["id"]
    (posted,) = payload["events"]
    assert (posted["kind"], posted["title"], posted["url"]) == ("removed", title, url)
    assert posted["links"]["archive"] == archive_link
    assert posted["evidence"]["confirmations"] == 2

    run()
    assert len(digests_to(mailbox, SUBSCRIBER)) == 1 and len(receiver.posts) == 1, "nothing is sent twice"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("foiawatch"))
    assert SUBSCRIBER not in ours and receiver.url not in ours, "subscriber addresses are logged masked"
    assert "w***@example.org" in ours


def test_outage_and_takedown_make_one_digest_per_subscriber_per_run(demo_site, tmp_path, mailbox, receiver):
    from foiawatch.demo.library import SECURE_COMMUNITIES_SECTIONS

    env = alert_env(mailbox)
    settings = AlertSettings.from_env(env)
    config = local_config(demo_site.url)
    subscribe_both(tmp_path, env, mailbox, receiver)
    counts = []
    for state in ("v1", "outage", "v2_takedown", "v2_takedown"):
        before = (len(digests_to(mailbox, SUBSCRIBER)), len(receiver.posts))
        demo_site.set_state(state)
        run_pipeline(config, tmp_path, settings=settings)
        counts.append((len(digests_to(mailbox, SUBSCRIBER)) - before[0], len(receiver.posts) - before[1]))
    assert counts == [(0, 0), (1, 1), (1, 1), (1, 1)]

    outage, sections, removed = (p for _, p in receiver.posts)
    assert [e["kind"] for e in outage["events"]] == ["outage"]
    assert sorted(e["kind"] for e in sections["events"]) == ["section_removed"] * 3
    taken_down = {d.title for s in demo_site.library.sections if s.slug in SECURE_COMMUNITIES_SECTIONS
                  for d in s.documents}
    assert {e["title"] for e in removed["events"]} == taken_down
    last_mail = digests_to(mailbox, SUBSCRIBER)[-1]
    assert f"{len(taken_down)} documents removed" in last_mail["Subject"]
    assert all(title in last_mail.get_content() for title in taken_down)


def test_library_down_too_long_raises_one_operator_alert_and_one_recovery(tmp_path, mailbox):
    settings = AlertSettings.from_env(alert_env(mailbox, FOIAWATCH_STALE_AFTER="3s"))
    site = DemoSite().start()
    port = site._server.server_address[1]
    config = local_config(site.url, retries=0)
    # The first run's own steps (publishing, alerts) may outlast 3 s: it is not stale by then.
    run_pipeline(config, tmp_path, settings=AlertSettings.from_env(alert_env(mailbox, FOIAWATCH_STALE_AFTER="1h")))
    site.stop()
    time.sleep(1.5)
    for _ in range(2):
        report = run_pipeline(config, tmp_path, settings=settings)
        assert report.steps[0].detail.endswith("outage (library root unreachable (connection refused))")
    (problem,) = mailbox.to(OPERATOR)
    assert problem["Subject"].startswith("[foiawatch operator] PROBLEM: demo: no complete crawl for")
    assert "connection refused" in problem.get_content()

    with DemoSite(port=port):
        run_pipeline(config, tmp_path, settings=settings)
    _, recovered = mailbox.to(OPERATOR)
    assert recovered["Subject"].startswith("[foiawatch operator] RECOVERED: demo: complete crawls again")
    status = cli_ok(tmp_path, {}, "status")
    assert "Operator conditions: none" in status and re.search(r"last complete crawl:\s+4 at", status)
