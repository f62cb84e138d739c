"""``foiawatch subscribe``, ``confirm``, ``unsubscribe``, ``subscriptions``, ``status``, ``run`` and ``schedule``.

Registered at the bottom of cli.py (they reuse its shared options). Addresses are shown masked: the operator's
terminal scrollback and CI logs are logs too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from ..archive import Archive
from ..archive.store import COMPLETE
from ..cli import config_dir_option, data_dir_option, load_agency, open_archive
from ..diff.schema import EVENT_KINDS
from ..pipeline import FAILED, RunInProgress, run_pipeline
from ..schedule import serve
from .digests import queue_confirmation, queued_deliveries
from .notify import send_pending
from .safety import mask_target
from .settings import SETTINGS_HELP, AlertSettings
from .store import open_private
from .subscriptions import DEFAULT_KINDS, EMAIL, FORMATS, WEBHOOK, SubscriptionError
from .subscriptions import confirm as confirm_subscription
from .subscriptions import subscribe as add_subscription
from .subscriptions import subscriptions as list_subscriptions
from .subscriptions import unsubscribe as end_subscription
from .watch import active_conditions, age_seconds, duration_text, failed_streak


def _settings() -> AlertSettings:
    try:
        return AlertSettings.from_env()
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _latest_event_id(data_dir: Path) -> int:
    """The newest event in the archive: a subscription receives only the events after it."""
    archive = data_dir / "archive.db"
    if not archive.is_file():
        return 0
    with Archive(data_dir) as opened:
        if "events" not in opened.db.table_names():
            return 0
        return opened.db.execute("select coalesce(max(id), 0) from events").fetchone()[0]


@click.command(epilog=SETTINGS_HELP)
@data_dir_option
@click.option("--email", help="Send digests to this address (after it confirms).")
@click.option("--webhook", help="POST digests as JSON to this URL.")
@click.option("--slack", is_flag=True, help="Webhook body in Slack's format ({\"text\": ...}).")
@click.option("--agency", "agencies", multiple=True, help="Only this agency (repeatable; default: all).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(EVENT_KINDS),
              help=f"Event kinds (repeatable; default: {', '.join(DEFAULT_KINDS)}).")
@click.option("--section", help="Only events whose section heading contains this (case-insensitive).")
@click.option("--keyword", help="Only events whose title, summary, evidence or document text mention this.")
def subscribe(data_dir: Path, email: str | None, webhook: str | None, slack: bool, agencies: tuple[str, ...],
              kinds: tuple[str, ...], section: str | None, keyword: str | None) -> None:
    """Subscribe an email address or a webhook to alerts: one digest per run listing every matching event.

    Email is double opt-in: a confirmation request is sent now, and nothing else until it is confirmed. Webhooks
    on loopback, private or link-local addresses are refused unless FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS=1.
    """
    if bool(email) == bool(webhook):
        raise click.UsageError("give exactly one of --email or --webhook")
    settings = _settings()
    private = open_private(data_dir)
    try:
        subscription = add_subscription(
            private, EMAIL if email else WEBHOOK, email or webhook, latest_event_id=_latest_event_id(data_dir),
            allow_private_webhooks=settings.allow_private_webhooks, agencies=agencies,
            kinds=kinds or DEFAULT_KINDS, section=section, keyword=keyword, fmt=FORMATS[1] if slack else FORMATS[0])
        if subscription.channel == EMAIL:
            queue_confirmation(private, settings, subscription)
    except ValueError as error:  # SubscriptionError, RefusedTarget
        raise click.ClickException(str(error)) from None
    finally:
        private.close()
    who = mask_target(subscription.channel, subscription.target)
    click.echo(f"Subscription {subscription.id}: {who} ({subscription.describe_filters()}).")
    if subscription.channel == EMAIL:
        report = send_pending(data_dir, settings)
        state = "sent" if report.sent else "queued (it is retried on the next run)"
        click.echo(f"Pending until confirmed; the confirmation request was {state}.")
    click.echo(f"Unsubscribe token: {subscription.unsubscribe_token}")


@click.command()
@data_dir_option
@click.argument("token")
def confirm(data_dir: Path, token: str) -> None:
    """Confirm an email subscription with the TOKEN from its confirmation request."""
    private = open_private(data_dir)
    try:
        subscription = confirm_subscription(private, token, latest_event_id=_latest_event_id(data_dir))
    except SubscriptionError as error:
        raise click.ClickException(str(error)) from None
    finally:
        private.close()
    click.echo(f"Subscription {subscription.id} ({mask_target(subscription.channel, subscription.target)}) "
               f"is {subscription.status}.")


@click.command()
@data_dir_option
@click.argument("token", required=False)
@click.option("--id", "subscription_id", type=int, help="End the subscription with this id instead (operator).")
def unsubscribe(data_dir: Path, token: str | None, subscription_id: int | None) -> None:
    """End a subscription, by the TOKEN every message carries or by --id; its queued messages are dropped."""
    if bool(token) == (subscription_id is not None):
        raise click.UsageError("give a TOKEN or --id")
    private = open_private(data_dir)
    try:
        subscription = end_subscription(private, token, subscription_id)
    except SubscriptionError as error:
        raise click.ClickException(str(error)) from None
    finally:
        private.close()
    click.echo(f"Subscription {subscription.id} ({mask_target(subscription.channel, subscription.target)}) ended.")


@click.command()
@data_dir_option
@click.option("--all", "show_all", is_flag=True, help="Include pending and ended subscriptions.")
def subscriptions(data_dir: Path, show_all: bool) -> None:
    """List subscriptions (addresses masked) with their filters and queued deliveries."""
    private = open_private(data_dir)
    try:
        queued = queued_deliveries(private, "subscription")
        found = list_subscriptions(private, None if show_all else "active")
    finally:
        private.close()
    if not found:
        click.echo("No subscriptions." if show_all else "No active subscriptions (see --all).")
    for subscription in found:
        click.echo(f"{subscription.id:>4}  {subscription.status:<12} {subscription.channel:<8} "
                   f"{mask_target(subscription.channel, subscription.target):<32} "
                   f"{queued.get(subscription.id, 0):>5} queued  {subscription.describe_filters()}")


@click.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(data_dir: Path, as_json: bool) -> None:
    """Per agency: last complete crawl, last event, failed runs in a row, queued deliveries; then the operator
    conditions in force and the messages waiting."""
    report = status_report(data_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for agency in report["agencies"]:
        crawl, event = agency["last_complete_crawl"], agency["last_event"]
        facts = {
            "last complete crawl": f"{crawl['id']} at {crawl['finished_at']} "
                                   f"({duration_text(age_seconds(crawl['finished_at']))} ago)" if crawl else "none",
            "last event": f"{event['kind']} at {event['detected_at']}: {event['summary']}" if event else "none",
            "failed runs in a row": agency["failed_runs"],
            "queued deliveries": agency["queued_deliveries"],
        }
        click.echo(agency["id"] + "".join(f"\n  {label + ':':<22}{value}" for label, value in facts.items()))
    conditions = report["conditions"]
    click.echo("Operator conditions: " + ("none" if not conditions else ""))
    for condition in conditions:
        click.echo(f"  {condition['key']} since {condition['since']}: {condition['detail']}")
    messages = report["messages"]
    click.echo("Messages: " + (", ".join(f"{n} {state}" for state, n in sorted(messages.items())) or "none"))


def status_report(data_dir: Path) -> dict:
    """The facts ``foiawatch status`` prints."""
    with open_archive(data_dir) as archive:
        private = open_private(data_dir)
        try:
            db = archive.db
            has_events = "events" in db.table_names()
            queued = queued_deliveries(private, "agency")
            agencies = []
            for (agency_id,) in db.execute("select id from agencies order by id").fetchall():
                crawl = archive.last_crawl(agency_id, COMPLETE)
                event = next(db.query("select id, kind, detected_at, summary from events where agency_id = ? "
                                      "order by id desc limit 1", [agency_id]), None) if has_events else None
                agencies.append({"id": agency_id, "last_complete_crawl": _pick(crawl, "id", "finished_at", "status"),
                                 "last_event": event,
                                 "failed_runs": failed_streak(private, agency_id)[0],
                                 "queued_deliveries": queued.get(agency_id, 0)})
            messages = dict(private.execute("select status, count(*) from messages group by status").fetchall())
            return {"agencies": agencies, "conditions": active_conditions(private), "messages": messages}
        finally:
            private.close()


def _pick(row: dict | None, *keys: str) -> dict | None:
    return {key: row[key] for key in keys} if row else None


@click.command(epilog=SETTINGS_HELP)
@click.argument("agencies", nargs=-1, required=True)
@data_dir_option
@config_dir_option
def schedule(agencies: tuple[str, ...], data_dir: Path, config_dir: Path | None) -> None:
    """Run the chain for each AGENCY on the schedule of its config, in the foreground (SIGTERM stops it).

    Each run: crawl, diff, Wayback baseline (on the config's [wayback] schedule), recovery, publish, alerts.
    Runs missed while stopped are made up by one run. Cron expressions are in UTC.
    """
    configs = [load_agency(agency, config_dir) for agency in agencies]
    _settings()  # bad settings fail now, not at the first run
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(configs, data_dir)


@click.command("run", epilog=SETTINGS_HELP)
@click.argument("agency")
@data_dir_option
@config_dir_option
def run_once(agency: str, data_dir: Path, config_dir: Path | None) -> None:
    """Run the chain once for AGENCY: crawl, diff, Wayback baseline (when due), recovery, publish, alerts.

    Exits 1 if a step failed.
    """
    config = load_agency(agency, config_dir)
    settings = _settings()
    try:
        report = run_pipeline(config, data_dir, settings=settings)
    except RunInProgress as error:
        raise click.ClickException(str(error)) from None
    for step in report.steps:
        click.echo(f"{step.name:<8} {step.status:<8} {step.seconds:6.1f}s  {step.detail or step.error or ''}")
    if report.status == FAILED:
        raise SystemExit(1)

