"""``foiawatch verify`` and ``foiawatch review``: audit the archive's files, and review what the PII screen withheld."""

from __future__ import annotations

import json
import sys

import click

from ..archive import DataDir
from ..archive.fixity import FAILURES, TRUNCATED, Audit, audit
from ..archive.pii import release as release_blob
from ..archive.pii import withhold as withhold_blob
from ..archive.review import STATES, WITHHELD, blob_details, blobs_for_review, resolve
from ..archive.vocabulary import counted
from ..wayback.repair import WaybackRepair
from .options import data_dir_option, echo_json, json_option, open_archive, quiet
from .progress import progress_bars


@click.command()
@data_dir_option
@click.option("--repair-from-wayback", "repair", is_flag=True,
              help="Fetch missing or corrupt recovered blobs again from the Wayback capture they came from.")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
def verify(data_dir: DataDir, repair: bool, as_json: bool) -> None:
    """Fixity audit: re-hash every blob and WARC record against its recorded sha256 or WARC digest.

    Reports missing, corrupt and orphaned files and records the audit in the archive. Exits 1 if any problem is
    left (a truncated last record in the WARC of an interrupted crawl is reported but is not a problem).
    """
    archive = open_archive(data_dir)
    repairer = WaybackRepair(archive) if repair else None
    try:
        with progress_bars(quiet() or as_json) as bars:
            tasks = {"blobs": bars.add_task("re-hashing blobs", total=None),
                     "warcs": bars.add_task("checking WARC records", total=None)}
            result = audit(archive, repair=repairer, progress=lambda kind, done, total: bars.update(
                tasks[kind], completed=done, total=total))
    finally:
        if repairer:
            repairer.close()
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else _report(result))
    if not result.ok:
        sys.exit(1)


def _report(result: Audit) -> str:
    lines = [f"Fixity audit {result.id}: {counted(result.blobs, 'blob')}, {counted(result.warcs, 'WARC file')} "
             f"({result.warc_records} records) checked."]
    for problem in result.problems:
        state = " (repaired)" if problem.repaired else ""
        lines.append(f"  {problem.kind:<9} {problem.file_type:<4} {problem.path}: {problem.detail}{state}")
    counts = ", ".join(f"{result.count(kind)} {kind}" for kind in (*FAILURES, TRUNCATED))
    verdict = "OK" if result.ok else "PROBLEMS FOUND"
    lines.append(f"{verdict}: {counts}, {result.repaired} repaired.")
    return "\n".join(lines)


@click.group()
def review() -> None:
    """Review what the PII screen withheld: list, show, release, withhold.

    A blob is withheld (its bytes and text kept out of the public archive) when the screen found an SSN, an
    A-number or a date of birth, when its text could not be read, or when a reviewer said so. Every decision is
    recorded with who made it, when and why; run `foiawatch publish` afterwards to update the public archive.
    """


@review.command("list")
@data_dir_option
@click.option("--state", type=click.Choice(STATES), default=WITHHELD, show_default=True,
              help="withheld: kept out of the public archive; public: published; all: both.")
@click.option("--limit", type=int, default=None, help="At most this many, newest decisions first.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def review_list(data_dir: DataDir, state: str, limit: int | None, as_json: bool) -> None:
    """List blobs with their decision, why, the screen's findings and the document they belong to."""
    with open_archive(data_dir) as archive:
        rows = blobs_for_review(archive.db, state, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No {state} blobs." if state != "all" else "No blobs.")
        return
    for row in rows:
        named = f"“{row['title']}” " if row["title"] else ""
        click.echo(f"{row['sha256'][:12]}  {row['state']:<8}  {row['why']}"
                   + (f"  [{row['findings']}]" if row["findings"] else ""))
        click.echo(f"              {named}{row['url'] or '(no document names it)'}")
    click.echo(f"{counted(len(rows), 'blob')}. `foiawatch review show SHA256` shows one; a 12-digit prefix will do.")


@review.command("show")
@click.argument("sha256")
@data_dir_option
@json_option
def review_show(sha256: str, data_dir: DataDir, as_json: bool) -> None:
    """Everything known about one blob: document, decision, findings (masked) and the decisions made on it."""
    with open_archive(data_dir) as archive:
        try:
            blob = blob_details(archive.db, resolve(archive.db, sha256))
        except LookupError as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        echo_json(blob)
        return
    click.echo(f"Blob {blob['sha256']}: {blob['mimetype'] or 'unknown type'}, {blob['size']:,} bytes")
    if blob["url"]:
        where = f" under “{blob['section']}”" if blob["section"] else ""
        click.echo(f"Document: “{blob['title'] or blob['url']}”{where} ({blob['agency_id']}), {blob['url']}")
    click.echo(f"Now: {blob['state']}, {blob['why']}")
    screen = blob["screen"]
    click.echo(f"Screened: {screen['screened_at']} by {screen['screener']}, {counted(screen['hits'], 'hit')}" if screen
               else "Screened: not yet")
    for finding in blob["findings_by_page"]:
        page = f" on page {finding['page']}" if finding["page"] else ""
        click.echo(f"  {finding['kind']} ({finding['risk']} risk) x{finding['count']}{page}: {finding['excerpt']}")
    for decision in blob["decisions"]:
        before = "withheld" if decision["was_withheld"] else "public"
        click.echo(f"Decision {decision['decided_at']}: {decision['action']} by {decision['reviewer']} "
                   f"(was {before}): {decision['reason']}")


def _decision(action: str):
    """``review release`` and ``review withhold``: the same options, one decision each."""
    decide = {"release": release_blob, "withhold": withhold_blob}[action]
    done = {"release": "Released", "withhold": "Withheld"}[action]
    what = {"release": "Publish SHA256 (or a prefix of it) despite the screen's findings",
            "withhold": "Keep SHA256 (or a prefix of it) out of the public archive, whatever the screen found"}[action]

    @review.command(action, help=f"{what}; recorded with --reviewer and --reason.")
    @click.argument("sha256")
    @data_dir_option
    @click.option("--reviewer", envvar="FOIAWATCH_REVIEWER", required=True,
                  help="Who decides (a name or address; default $FOIAWATCH_REVIEWER). Private: never published.")
    @click.option("--reason", required=True, help="Why, for the record. Private: never published.")
    @json_option
    def command(sha256: str, data_dir: DataDir, reviewer: str, reason: str, as_json: bool) -> None:
        with open_archive(data_dir) as archive:
            try:
                full = resolve(archive.db, sha256)
                decide(archive, full, reviewer, reason)
            except (LookupError, ValueError) as error:
                raise click.ClickException(str(error).strip("'\"")) from None
        if as_json:
            echo_json({"sha256": full, "action": action, "withheld": action == "withhold"})
            return
        click.echo(f"{done} {full[:12]}. Run `foiawatch publish --data-dir {data_dir}` to update the public "
                   "archive.")

    return command


review_release = _decision("release")
review_withhold = _decision("withhold")
