"""``foiawatch subscribe``, ``confirm``, ``unsubscribe`` and ``subscriptions``: who hears about takedowns.

Addresses are shown masked: the operator's terminal scrollback and CI logs are logs too.
"""

from __future__ import annotations

import click

from ..alerts.digests import queue_confirmation, queued_deliveries
from ..alerts.notify import send_pending
from ..alerts.safety import mask_target
from ..alerts.settings import SETTINGS_HELP
from ..alerts.subscriptions import DEFAULT_KINDS, FORMATS, SubscriptionError
from ..alerts.subscriptions import confirm as confirm_subscription
from ..alerts.subscriptions import subscribe as add_subscription
from ..alerts.subscriptions import subscriptions as list_subscriptions
from ..alerts.subscriptions import unsubscribe as end_subscription
from ..archive import Archive, DataDir
from ..archive.state import open_private
from ..archive.vocabulary import Channel, SubscriptionStatus
from .options import EVENT_KINDS, SECTION_HELP, alert_settings, data_dir_option, echo_json, json_option


def _unknown_section(data_dir: DataDir, section: str) -> str | None:
    """A warning when no event or document in the archive is filed under ``section`` (it may appear later)."""
    if not data_dir.has_archive():
        return None
    with Archive(data_dir) as archive:
        known = [row[0] for row in archive.db.execute(
            "select section from documents where section is not null union "
            "select section from events where section is not null order by 1")]
    if section in known:
        return None
    close = [name for name in known if section.casefold() in name.casefold()]
    hint = f"; did you mean {', '.join(f'“{name}”' for name in close[:5])}?" if close else ""
    return (f"No document or event is filed under the section “{section}” yet (--section is a heading exactly as "
            f"the library shows it){hint}")


def _latest_event_id(data_dir: DataDir) -> int:
    """The newest event in the archive: a subscription receives only the events after it."""
    if not data_dir.has_archive():
        return 0
    with Archive(data_dir) as archive:
        return archive.latest_event_id()


@click.command(epilog=SETTINGS_HELP)
@data_dir_option
@click.option("--email", help="Send digests to this address (after it confirms).")
@click.option("--webhook", help="POST digests as JSON to this URL.")
@click.option("--slack", is_flag=True, help="Webhook body in Slack's format ({\"text\": ...}).")
@click.option("--agency", "agencies", multiple=True, help="Only this agency (repeatable; default: all).")
@click.option("--kind", "kinds", multiple=True, type=EVENT_KINDS,
              help=f"Event kinds (repeatable; default: {', '.join(DEFAULT_KINDS)}).")
@click.option("--section", help="Only events under this section. " + SECTION_HELP)
@click.option("--keyword", help="Only events whose title, summary, evidence or document text mention this "
                                "(the text of a document only when it is public: never a withheld one).")
@json_option
def subscribe(data_dir: DataDir, email: str | None, webhook: str | None, slack: bool, agencies: tuple[str, ...],
              kinds: tuple[str, ...], section: str | None, keyword: str | None, as_json: bool) -> None:
    """Subscribe an email address or a webhook to alerts: one digest per run listing every matching event.

    Email is double opt-in: a confirmation request is sent now, and nothing else until it is confirmed. Webhooks
    on loopback, private or link-local addresses are refused unless FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS=1.
    """
    if bool(email) == bool(webhook):
        raise click.UsageError("give exactly one of --email or --webhook")
    target = email or webhook
    assert target, "exactly one of --email and --webhook is given (checked above)"
    settings = alert_settings()
    private = open_private(data_dir)
    try:
        subscription = add_subscription(
            private, Channel.EMAIL if email else Channel.WEBHOOK, target, latest_event_id=_latest_event_id(data_dir),
            allow_private_webhooks=settings.allow_private_webhooks, agencies=agencies,
            kinds=kinds or DEFAULT_KINDS, section=section, keyword=keyword, fmt=FORMATS[1] if slack else FORMATS[0])
        if subscription.channel == Channel.EMAIL:
            queue_confirmation(private, settings, subscription)
    except ValueError as error:  # SubscriptionError, RefusedTarget
        raise click.ClickException(str(error)) from None
    finally:
        private.close()
    warning = _unknown_section(data_dir, section) if section else None
    confirmation = None
    if subscription.channel == Channel.EMAIL:
        confirmation = "sent" if send_pending(data_dir, settings).sent else "queued"
    if as_json:
        echo_json({"subscription": subscription.public_dict(), "confirmation_request": confirmation,
                   "unsubscribe_token": subscription.unsubscribe_token, "warnings": [warning] if warning else []})
        return
    who = mask_target(subscription.channel, subscription.target)
    click.echo(f"Subscription {subscription.id}: {who} ({subscription.describe_filters()}).")
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    if confirmation:
        state = "sent" if confirmation == "sent" else "queued (it is retried on the next run)"
        click.echo(f"Pending until confirmed; the confirmation request was {state}.")
    click.echo(f"Unsubscribe token: {subscription.unsubscribe_token}")


@click.command()
@data_dir_option
@click.argument("token")
@json_option
def confirm(data_dir: DataDir, token: str, as_json: bool) -> None:
    """Confirm an email subscription with the TOKEN from its confirmation request."""
    private = open_private(data_dir)
    try:
        subscription = confirm_subscription(private, token, latest_event_id=_latest_event_id(data_dir))
    except SubscriptionError as error:
        raise click.ClickException(str(error)) from None
    finally:
        private.close()
    if as_json:
        echo_json(subscription.public_dict())
        return
    click.echo(f"Subscription {subscription.id} ({mask_target(subscription.channel, subscription.target)}) "
               f"is {subscription.status}.")


@click.command()
@data_dir_option
@click.argument("token", required=False)
@click.option("--id", "subscription_id", type=int, help="End the subscription with this id instead (operator).")
@json_option
def unsubscribe(data_dir: DataDir, token: str | None, subscription_id: int | None, as_json: bool) -> None:
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
    if as_json:
        echo_json(subscription.public_dict())
        return
    click.echo(f"Subscription {subscription.id} ({mask_target(subscription.channel, subscription.target)}) ended.")


@click.command()
@data_dir_option
@click.option("--all", "show_all", is_flag=True, help="Include pending and ended subscriptions.")
@json_option
def subscriptions(data_dir: DataDir, show_all: bool, as_json: bool) -> None:
    """List subscriptions (addresses masked) with their filters and queued deliveries."""
    private = open_private(data_dir)
    try:
        queued = queued_deliveries(private, "subscription")
        found = list_subscriptions(private, None if show_all else SubscriptionStatus.ACTIVE)
    finally:
        private.close()
    if as_json:
        echo_json([subscription.public_dict(queued.get(subscription.id, 0)) for subscription in found])
        return
    if not found:
        click.echo("No subscriptions." if show_all else "No active subscriptions (see --all).")
    for subscription in found:
        click.echo(f"{subscription.id:>4}  {subscription.status:<12} {subscription.channel:<8} "
                   f"{mask_target(subscription.channel, subscription.target):<32} "
                   f"{queued.get(subscription.id, 0):>5} queued  {subscription.describe_filters()}")
