"""Alerts without crawling: events written straight into the archive, delivered to a real local SMTP server and
webhook receiver. Retries, crash windows, SSRF and header-injection refusals, filters, operator alerts."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from foiawatch.alerts import outbox
from foiawatch.alerts.notify import run_alerts
from foiawatch.alerts.safety import RefusedTarget, check_email, check_webhook_url, mask_address, mask_url
from foiawatch.alerts.settings import AlertSettings, parse_duration
from foiawatch.alerts.subscriptions import SubscriptionError, confirm, subscribe, unsubscribe
from foiawatch.archive import Archive
from foiawatch.archive.pii import screen_pending
from foiawatch.archive.state import open_private
from foiawatch.archive.vocabulary import Channel, MessageStatus, SubscriptionStatus
from foiawatch.cli import cli

from .conftest import OPERATOR, PUBLIC_URL, SUBSCRIBER, Mailbox

EMAIL, WEBHOOK, PENDING = Channel.EMAIL, Channel.WEBHOOK, SubscriptionStatus.PENDING
AGENCY = "ice"


class Library:
    """An archive with one agency whose events the test writes itself."""

    def __init__(self, data_dir) -> None:
        self.data_dir = data_dir
        self.archive = Archive(data_dir)
        self.archive.register_agency(AGENCY, "U.S. Immigration and Customs Enforcement", ["https://www.ice.gov/foia"],
                                     "{}")
        self.count = 0

    def event(self, kind: str = "removed", title: str | None = "Detention standards", section: str = "Detention",
              agency: str = AGENCY, document_id: int | None = None, evidence: dict | None = None) -> int:
        self.count += 1
        with self.archive.db.conn:
            return self.archive.db.execute(
                "insert into events (agency_id, kind, document_id, url, title, section, detected_at, summary, "
                "evidence, dedupe_key) values (?, ?, ?, ?, ?, ?, '2017-02-01T12:00:00+00:00', ?, ?, ?)",
                [agency, kind, document_id, f"https://www.ice.gov/doclib/foia/{self.count}.pdf", title, section,
                 f"“{title}” was {kind}.", json.dumps(evidence or {"probe": {"outcome": "gone", "http_status": 404}}),
                 f"test:{self.count}"]).lastrowid

    def document_with_text(self, text: str) -> int:
        crawl = self.archive.start_crawl(AGENCY)
        self.archive.finish_crawl(crawl, "complete", "", {})
        document = self.archive.document_id(AGENCY, "https://www.ice.gov/doclib/foia/memo.pdf", "Memo", "Policy",
                                            crawl)
        with self.archive.db.conn:
            self.archive.db.execute("insert into blobs (sha256, size, path, source) values ('ab', 1, 'ab', 'test')")
            self.archive.db.execute("insert into texts (sha256, status, text) values ('ab', 'ok', ?)", [text])
            self.archive.db.execute("insert into sightings (crawl_id, document_id, listed, sha256) "
                                    "values (?, ?, 1, 'ab')", [crawl, document])
        screen_pending(self.archive)  # keyword filters read only public (screened, not withheld) text
        return document

    @property
    def latest(self) -> int:
        return self.archive.db.execute("select coalesce(max(id), 0) from events").fetchone()[0]


@pytest.fixture
def library(tmp_path) -> Library:
    return Library(tmp_path)


def settings_for(mailbox: Mailbox, **changes) -> AlertSettings:
    defaults = {"smtp_url": mailbox.url, "public_url": PUBLIC_URL, "allow_private_webhooks": True, "retry_base": 0,
                "operator_email": OPERATOR}
    return AlertSettings(**{**defaults, **changes})


def add(library: Library, channel: str, target: str, **filters):
    """An active subscription (email confirmed through its token) created before the test's events."""
    private = open_private(library.data_dir)
    subscription = subscribe(private, channel, target, latest_event_id=library.latest, allow_private_webhooks=True,
                             **filters)
    if subscription.status == PENDING:
        subscription = confirm(private, subscription.confirm_token, latest_event_id=library.latest)
    return subscription


def messages(library: Library, purpose: str = "digest") -> list[dict]:
    return list(open_private(library.data_dir).query("select * from messages where purpose = ? order by id", [purpose]))


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if anything opens a TCP connection, and records where it tried."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    return attempts


@pytest.fixture
def crash_after_sending(monkeypatch):
    """The process dies after a channel took a message and before the outbox recorded it."""
    finish = outbox._finish

    def crash_when_recording_sent(db, message_id, status, error):
        if status == MessageStatus.SENT:
            raise SystemExit("killed between sending and recording")
        finish(db, message_id, status, error)

    monkeypatch.setattr(outbox, "_finish", crash_when_recording_sent)
    yield
    monkeypatch.setattr(outbox, "_finish", finish)


@pytest.mark.parametrize("url, reason", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://localhost:8080/hook", "is a loopback address"),
    ("http://[::ffff:10.0.0.1]/hook", "is a private address"),
])
def test_webhooks_to_private_addresses_are_refused_before_any_request(tmp_path, no_connections, url, reason):
    result = CliRunner().invoke(cli, ["subscribe", "--webhook", url, "--data-dir", str(tmp_path)],
                                env={"FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS": ""})
    assert result.exit_code == 1
    assert reason in result.output and "FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS=1" in result.output
    assert no_connections == []
    assert list(open_private(tmp_path).query("select * from subscriptions")) == []


def test_webhook_refused_at_send_time_fails_without_a_request(library, mailbox, no_connections):
    add(library, WEBHOOK, "http://10.0.0.1/hook")  # allowed when subscribed; the setting was turned off since
    library.event()
    report = run_alerts(library.data_dir, settings_for(mailbox, allow_private_webhooks=False))
    assert (report.sent.sent, report.sent.failed) == (0, 1)
    (message,) = messages(library)
    assert message["status"] == "failed" and "10.0.0.1 is a private address" in message["last_error"]
    assert no_connections == []


@pytest.mark.parametrize("address", [
    "watcher@example.org\r\nBcc: everyone@example.org", "Watcher <watcher@example.org>",
    "watcher@example.org, other@example.org", "watcher@exa mple.org", "not-an-address", "@example.org",
])
def test_email_addresses_that_could_inject_headers_are_refused(address):
    with pytest.raises(RefusedTarget):
        check_email(address)


def test_webhook_urls_with_control_characters_are_refused():
    for url in ("http://example.org/hook\r\nX-Injected: 1", "ftp://example.org/", "http:///path", "hook"):
        with pytest.raises(RefusedTarget):
            check_webhook_url(url)


def test_scraped_title_cannot_add_headers_or_recipients(library, mailbox):
    add(library, EMAIL, SUBSCRIBER)
    library.event(title="Report\r\nBcc: everyone@example.org\r\nX-Evil: 1")
    run_alerts(library.data_dir, settings_for(mailbox))
    ((recipients, message),) = mailbox.received
    assert recipients == [SUBSCRIBER]
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in message["Subject"] and "Report Bcc: everyone@example.org" in message.get_content()


def test_masking():
    assert mask_address("watcher@example.org") == "w***@example.org"
    assert mask_url("https://hooks.example.org/services/T000/B000/SECRET?x=1") == "https://hooks.example.org/***"


@pytest.mark.parametrize("outage", ["refusing", "down"])
def test_smtp_failure_is_retried_on_a_later_run_and_delivered_once(library, mailbox, outage):
    add(library, EMAIL, SUBSCRIBER)
    library.event()
    if outage == "refusing":
        mailbox.refuse = True
    else:
        mailbox.stop()
    settings = settings_for(mailbox)
    first = run_alerts(library.data_dir, settings)
    assert (first.digests, first.sent.sent, first.sent.retrying) == (1, 0, 1)
    assert mailbox.refused == (1 if outage == "refusing" else 0) and not mailbox.received
    mailbox.refuse = False
    if outage == "down":
        mailbox.start()
    second = run_alerts(library.data_dir, settings)
    assert (second.digests, second.sent.sent) == (0, 1)
    run_alerts(library.data_dir, settings)
    (message,) = mailbox.to(SUBSCRIBER)
    assert "Detention standards" in message.get_content()
    assert [(m["status"], m["attempts"]) for m in messages(library)] == [("sent", 2)]


def test_failed_delivery_waits_for_its_back_off(library, mailbox):
    add(library, EMAIL, SUBSCRIBER)
    library.event()
    mailbox.refuse = True
    settings = settings_for(mailbox, retry_base=3600)
    run_alerts(library.data_dir, settings)
    mailbox.refuse = False
    assert run_alerts(library.data_dir, settings).sent.sent == 0, "not due for an hour"
    (message,) = messages(library)
    assert message["status"] == "queued" and message["attempts"] == 1 and message["next_attempt_at"] > message[
        "last_attempt_at"]


def test_webhook_lost_after_sending_is_resent_with_the_same_idempotency_key(library, mailbox, receiver, request):
    add(library, WEBHOOK, receiver.url)
    library.event()
    request.getfixturevalue("crash_after_sending")
    with pytest.raises(SystemExit):
        run_alerts(library.data_dir, settings_for(mailbox))
    request.getfixturevalue("monkeypatch").undo()
    assert messages(library)[0]["status"] == "sending"
    run_alerts(library.data_dir, settings_for(mailbox))
    run_alerts(library.data_dir, settings_for(mailbox))
    (first_headers, first), (second_headers, second) = receiver.posts
    assert first_headers["Idempotency-Key"] == second_headers["Idempotency-Key"] == first["id"]
    assert first == second, "a retry is the same message; the receiver dedupes it by its key"
    assert messages(library)[0]["status"] == "sent"


def test_email_lost_after_data_is_not_sent_twice(library, mailbox, request):
    add(library, EMAIL, SUBSCRIBER)
    library.event()
    request.getfixturevalue("crash_after_sending")
    with pytest.raises(SystemExit):
        run_alerts(library.data_dir, settings_for(mailbox))
    request.getfixturevalue("monkeypatch").undo()
    report = run_alerts(library.data_dir, settings_for(mailbox))
    assert report.conditions == ["delivery:1"]
    assert len(mailbox.to(SUBSCRIBER)) == 1, "at most once across the DATA window"
    assert messages(library)[0]["status"] == "unknown"
    (alert,) = mailbox.to(OPERATOR)
    assert "w***@example.org" in alert["Subject"] and SUBSCRIBER not in alert.as_string()


def test_email_lost_before_data_is_sent_after_restart(library, mailbox, monkeypatch):
    add(library, EMAIL, SUBSCRIBER)
    library.event()
    def crash(*args: object) -> None:
        raise SystemExit("killed before DATA")

    monkeypatch.setattr(outbox, "_set_phase", crash)
    with pytest.raises(SystemExit):
        run_alerts(library.data_dir, settings_for(mailbox))
    monkeypatch.undo()
    run_alerts(library.data_dir, settings_for(mailbox))
    assert len(mailbox.to(SUBSCRIBER)) == 1
    assert messages(library)[0]["status"] == "sent"


def test_delivery_that_keeps_failing_alerts_the_operator_once_then_recovers(library, mailbox, receiver):
    add(library, WEBHOOK, receiver.url)
    library.event()
    receiver.answers = [503, 503, 503]
    settings = settings_for(mailbox, delivery_failures=2)
    conditions = [run_alerts(library.data_dir, settings).conditions for _ in range(5)]
    assert conditions == [[], [], ["delivery:1"], [], ["delivery:1"]]
    problem, recovered = mailbox.to(OPERATOR)
    assert "PROBLEM: alerts to http://127.0.0.1/*** (subscription 1)" in problem["Subject"]
    assert "HTTP 503" in problem.get_content()
    assert "RECOVERED" in recovered["Subject"]
    assert len(receiver.posts) == 1


def test_permanent_refusal_and_too_many_attempts_give_up(library, mailbox, receiver):
    add(library, WEBHOOK, receiver.url)
    library.event()
    receiver.answers = [410]
    assert run_alerts(library.data_dir, settings_for(mailbox)).sent.failed == 1
    library.event()
    receiver.answers = [500, 500]
    settings = settings_for(mailbox, max_attempts=2)
    run_alerts(library.data_dir, settings)
    assert run_alerts(library.data_dir, settings).sent.failed == 1
    assert [(m["status"], m["attempts"]) for m in messages(library)] == [("failed", 1), ("failed", 2)]
    assert "HTTP 410" in messages(library)[0]["last_error"] and not receiver.posts


def test_filters_choose_the_events_each_subscriber_gets(library, mailbox, receiver):
    memo = library.document_with_text("Guidance on the use of solitary confinement in family detention.")
    subscriptions = {
        "all": add(library, WEBHOOK, receiver.url + "?all"),
        "ice-only": add(library, WEBHOOK, receiver.url + "?ice", agencies=["ice"]),
        "changes": add(library, WEBHOOK, receiver.url + "?changed", kinds=["changed"]),
        "section": add(library, WEBHOOK, receiver.url + "?section", section="Detention"),
        "part of a section": add(library, WEBHOOK, receiver.url + "?part", section="detention"),
        "keyword": add(library, WEBHOOK, receiver.url + "?keyword", keyword="SOLITARY"),
        "nothing": add(library, WEBHOOK, receiver.url + "?nothing", agencies=["fbi"]),
    }
    library.archive.register_agency("epa", "EPA", ["https://www.epa.gov/foia"], "{}")
    ids = {
        "removed": library.event(),
        "epa": library.event(agency="epa", section="Water"),
        "changed": library.event(kind="changed", section="Policy"),
        "added": library.event(kind="added"),
        "memo": library.event(title="Memo", section="Policy", document_id=memo),
    }
    run_alerts(library.data_dir, settings_for(mailbox))
    private = open_private(library.data_dir)
    got = {name: {event_id for (event_id,) in private.execute(
               "select event_id from deliveries where subscription_id = ?", [subscription.id])}
           for name, subscription in subscriptions.items()}
    assert got == {
        "all": {ids["removed"], ids["epa"], ids["memo"]},
        "ice-only": {ids["removed"], ids["memo"]},
        "changes": {ids["changed"]},
        "section": {ids["removed"]},
        "part of a section": set(),  # --section is a heading exactly, as in events and bundle
        "keyword": {ids["memo"]},
        "nothing": set(),
    }
    assert len(receiver.posts) == 5, "one digest per subscriber, none for a subscriber with nothing"


def test_pending_email_gets_nothing_and_events_before_confirming_are_not_sent(library, mailbox):
    private = open_private(library.data_dir)
    pending = subscribe(private, EMAIL, SUBSCRIBER, latest_event_id=library.latest)
    library.event(title="Before confirming")
    run_alerts(library.data_dir, settings_for(mailbox))
    assert messages(library) == []
    confirm(private, pending.confirm_token, latest_event_id=library.latest)
    library.event(title="After confirming")
    run_alerts(library.data_dir, settings_for(mailbox))
    (message,) = mailbox.to(SUBSCRIBER)
    assert "After confirming" in message.get_content() and "Before confirming" not in message.get_content()
    with pytest.raises(SubscriptionError):
        confirm(private, "no-such-token", latest_event_id=0)


def test_unsubscribe_with_the_token_a_message_carries(library, mailbox, tmp_path):
    subscription = add(library, EMAIL, SUBSCRIBER)
    library.event()
    settings = settings_for(mailbox, manage_url="https://alerts.example.org")
    run_alerts(library.data_dir, settings)
    (message,) = mailbox.to(SUBSCRIBER)
    link = f"https://alerts.example.org/unsubscribe/{subscription.unsubscribe_token}"
    assert message["List-Unsubscribe"].strip() == f"<{link}>" and f"Unsubscribe: {link}" in message.get_content()
    result = CliRunner().invoke(cli, ["unsubscribe", subscription.unsubscribe_token, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "w***@example.org" in result.output
    library.event()
    run_alerts(library.data_dir, settings)
    assert len(mailbox.to(SUBSCRIBER)) == 1
    assert unsubscribe(open_private(tmp_path), subscription_id=subscription.id).status == "unsubscribed"


def test_slack_webhook_gets_a_text_body(library, mailbox, receiver):
    private = open_private(library.data_dir)
    subscribe(private, WEBHOOK, receiver.url, latest_event_id=0, allow_private_webhooks=True, fmt="slack")
    library.event(title="Use of force <policy> & annex")
    run_alerts(library.data_dir, settings_for(mailbox))
    ((_, body),) = receiver.posts
    assert list(body) == ["text"]
    assert "Use of force &lt;policy&gt; &amp; annex" in body["text"]


def test_links_point_at_the_public_archive_and_the_recovered_copy(library, mailbox, receiver):
    add(library, WEBHOOK, receiver.url)
    event_id = library.event(kind="removed_before_monitoring")
    url = library.archive.db.execute("select url from events where id = ?", [event_id]).fetchone()[0]
    raw = f"https://web.archive.org/web/20170101000000id_/{url}"
    with library.archive.db.conn:
        library.archive.db.execute(
            "insert into recoveries (agency_id, url, capture_timestamp, original, capture_digest, raw_url, status, "
            "retrieved_at) values (?, ?, '20170101000000', ?, 'X', ?, 'ok', '2017-02-02')", [AGENCY, url, url, raw])
    run_alerts(library.data_dir, settings_for(mailbox))
    ((_, body),) = receiver.posts
    # The recovery has no screened copy: its capture calendar, not the direct (id_) link to unscreened bytes.
    assert body["events"][0]["links"] == {"archive": f"{PUBLIC_URL}/public/events/{event_id}",
                                          "recovered_copy": f"https://web.archive.org/web/*/{url}"}
    assert raw not in json.dumps(body)


def test_subscribe_and_list_from_the_command_line(tmp_path, mailbox):
    env = {"FOIAWATCH_SMTP_URL": mailbox.url}
    runner = CliRunner()
    result = runner.invoke(cli, ["subscribe", "--email", SUBSCRIBER, "--agency", "ice", "--kind", "removed",
                                 "--keyword", "detention", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    assert "the confirmation request was sent" in result.stdout and SUBSCRIBER not in result.stdout
    # Nor in foiawatch's own log lines (stderr also carries the test's SMTP server's log: it is in this process).
    own_logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert own_logs and not [line for line in own_logs
                             if line["logger"].startswith("foiawatch") and SUBSCRIBER in json.dumps(line)]
    listed = runner.invoke(cli, ["subscriptions", "--all", "--data-dir", str(tmp_path)]).output
    assert "pending" in listed and "w***@example.org" in listed and "mentions “detention”" in listed
    assert "No active subscriptions" in runner.invoke(cli, ["subscriptions", "--data-dir", str(tmp_path)]).output
    bad = runner.invoke(cli, ["subscribe", "--email", "x@example.org", "--webhook", "http://example.org/",
                              "--data-dir", str(tmp_path)])
    assert bad.exit_code == 2


def test_settings_from_the_environment():
    settings = AlertSettings.from_env({"FOIAWATCH_STALE_AFTER": "36h", "FOIAWATCH_FAILED_RUNS": "5",
                                       "FOIAWATCH_SMTP_URL": "smtp+starttls://user:p%40ss@mail.example.org",
                                       "FOIAWATCH_PUBLIC_URL": "https://foia.example.org/"})
    assert (settings.stale_after, settings.failed_runs, settings.public_url) == (36 * 3600, 5,
                                                                                 "https://foia.example.org")
    server = settings.smtp()
    assert (server.host, server.port, server.security, server.password) == ("mail.example.org", 587, "starttls",
                                                                            "p@ss")
    assert parse_duration("90") == 90 and parse_duration("2d") == 172800
    for bad in ({"FOIAWATCH_STALE_AFTER": "soon"}, {"FOIAWATCH_FAILED_RUNS": "0"},
                {"FOIAWATCH_SMTP_URL": "http://mail.example.org"}):
        with pytest.raises(ValueError):
            AlertSettings.from_env(bad)
