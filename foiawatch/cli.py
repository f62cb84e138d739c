"""The ``foiawatch`` command: one group that assembles the commands of ``foiawatch.commands``, and nothing else."""

from __future__ import annotations

import click

from . import __version__
from .commands import alerts, archive, check, crawl, demo, diff, export, init, ocr, publish, run, wayback
from .commands.options import with_logging


@click.group()
@click.version_option(__version__, prog_name="foiawatch")
def cli() -> None:
    """Watch government FOIA libraries: archive every document, detect takedowns, recover what was removed."""


for _command in (
    init.init, check.check, crawl.crawl, crawl.agencies, diff.diff, diff.events, wayback.wayback, wayback.recover,
    export.bundle, archive.verify, export.export, archive.review, ocr.ocr, publish.publish, publish.serve,
    alerts.subscribe, alerts.confirm, alerts.unsubscribe, alerts.subscriptions, run.status, run.run_once,
    run.schedule, demo.demo, demo.demo_site,
):
    cli.add_command(_command)

# -v/--verbose, -q/--quiet and --log-format on the group and on every command; logging configured once, before a
# command's work starts (stderr as chosen, JSON lines in the data directory's logs/).
with_logging(cli)
