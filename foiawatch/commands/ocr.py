"""``foiawatch ocr``: read the scans that waited for Tesseract (``needs_ocr``), then screen them."""

from __future__ import annotations

import click

from ..archive import DataDir
from ..archive.db import transaction
from ..archive.pii import screen_pending
from ..archive.text import OcrUnavailable, ocr_pending
from ..archive.vocabulary import counted
from ..diff.engine import backfill_text_diffs
from .options import check_agency, data_dir_option, echo_json, json_option, open_archive, quiet
from .progress import progress_bars


@click.command()
@data_dir_option
@click.option("--agency", default=None, help="Only the scans of this agency's documents and recovered copies.")
@json_option
def ocr(data_dir: DataDir, agency: str | None, as_json: bool) -> None:
    """OCR the scans recorded as needs_ocr while Tesseract was missing (or $FOIAWATCH_TESSERACT was off).

    Each is extracted again, page by page in the bounded workers, then screened for personal data; text diffs of
    changed documents that waited on it are computed. Run `foiawatch publish` afterwards to update the public
    archive. Exits 1 when Tesseract still cannot run.
    """
    with open_archive(data_dir) as archive:
        check_agency(archive, agency)
        try:
            with progress_bars(quiet() or as_json) as bars:
                task = bars.add_task("OCR", total=None)
                stats = ocr_pending(archive, agency, progress=lambda done, total: bars.update(
                    task, completed=done, total=total))
        except OcrUnavailable as error:
            raise click.ClickException(f"cannot OCR: {error}") from None
        screened = screen_pending(archive)
        with transaction(archive.db):
            diffs = backfill_text_diffs(archive, agency)
        left = archive.db.execute("select count(*) from texts where status = 'needs_ocr'").fetchone()[0]
    if as_json:
        echo_json({"extracted": stats.as_dict(), "screened": screened.screened, "withheld": screened.withheld,
                   "text_diffs": diffs, "needs_ocr_left": left})
        return
    done = ", ".join(f"{count} {status}" for status, count in stats.as_dict().items()) or "nothing waited for OCR"
    click.echo(f"OCR: {done}; {screened.screened} screened ({screened.withheld} withheld), "
               f"{counted(diffs, 'text diff')}. Run `foiawatch publish --data-dir {data_dir}` to update the public "
               "archive.")
