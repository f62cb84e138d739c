"""OCR speed, accuracy, and the PII screen on OCR'd forms, all on scans generated here (tests/support/scans.py).

    .venv/bin/python bench/ocr.py                  # 24 letter pages, 200 forms, 2 workers
    .venv/bin/python bench/ocr.py --pages 8 --forms 40

Speed: full US-letter pages of prose (about 2,000 characters each), rendered at 200 and 300 dpi, skewed by up to a
degree, speckled and softened, saved as image-only PDFs and read through the extraction pool (PDFium rendering,
Tesseract, one worker = one core); pages per second per core. Accuracy: 1 - (Levenshtein distance / length) between
the known text and what OCR read, whitespace collapsed. Screen: forms with SSNs, A-numbers and birth dates, and clean
ones (a third of them blank templates), OCR'd and screened as the archive does; a form counts as withheld when the
screen keeps it out of the public archive for any reason, and recall and precision are over the forms.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.archive.ocr import ocr_settings  # noqa: E402
from foiawatch.archive.pii import screen_pending  # noqa: E402
from foiawatch.archive.store import Archive  # noqa: E402
from foiawatch.archive.text import ExtractorPool, extract_pending  # noqa: E402
from tests.support.scans import form, install_tesseract, page_image, scan_pdf  # noqa: E402

WORDS = ("the detainee was transferred to the facility on March under the agreement with county officials records "
         "show that staff reviewed every request within days and forwarded appeals to headquarters for decision "
         "inspection found overcrowded holding cells medical screening was incomplete for several arrivals").split()


def prose(rng: random.Random, lines: int = 38) -> list[str]:
    words = [rng.choice(WORDS) for _ in range(lines * 12)]
    words[::9] = [str(rng.randrange(1, 3000)) for _ in words[::9]]
    return textwrap.wrap(" ".join(words), 80)[:lines]


def distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time."""
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def squeeze(text: str) -> str:
    return " ".join(text.split())


def speed_and_accuracy(folder: Path, pages: int, workers: int) -> None:
    rng = random.Random(2017)
    jobs, truths = [], {}
    for number in range(pages):
        dpi = (200, 300)[number % 2]
        lines = prose(rng)
        image = page_image(lines, dpi=dpi, skew=rng.uniform(-1, 1), speckles=rng.randrange(200, 800), blur=0.5,
                           seed=number)
        path = folder / f"page{number}.pdf"
        path.write_bytes(scan_pdf([image], dpi))
        jobs.append(((number, dpi), path, None))
        truths[number] = squeeze("\n".join(lines))
    for size in sorted({1, workers}):
        with ExtractorPool(size, timeout=120, ocr=ocr_settings()) as pool:
            pool.extract(folder / "page0.pdf")  # workers started, model on disk cached
            started = time.perf_counter()
            results = dict(pool.map(jobs))
            seconds = time.perf_counter() - started
        print(f"speed: {pages} letter pages with {size} worker(s): {seconds:.1f} s, {pages / seconds:.2f} pages/s, "
              f"{pages / seconds / size:.2f} pages/s per core")
    for dpi in (200, 300):
        chosen = [(n, r) for (n, d), r in results.items() if d == dpi]
        errors = sum(distance(squeeze(r.text), truths[n]) for n, r in chosen)
        chars = sum(len(truths[n]) for n, _ in chosen)
        confidence = sum(r.page_info[0].confidence or 0 for _, r in chosen) / len(chosen)
        print(f"accuracy at {dpi} dpi: {len(chosen)} pages, {chars:,} characters, {errors:,} wrong, "
              f"character accuracy {1 - errors / chars:.4f}, mean page confidence {confidence:.1f}")


def screen(folder: Path, forms: int, workers: int) -> None:
    rng = random.Random(170)
    generated = {}
    with Archive(folder / "data") as archive:
        for number in range(forms):
            made = form(rng, personal=number % 2 == 0)
            dpi = (200, 300)[number // 2 % 2]
            image = page_image(made.lines, dpi=dpi, skew=rng.uniform(-1, 1), speckles=rng.randrange(100, 600),
                               blur=0.5, seed=number)
            path = folder / f"form{number}.pdf"
            path.write_bytes(scan_pdf([image], dpi))
            stored = archive.blobs.put_bytes(path.read_bytes())
            archive.record_blob(stored, "application/pdf", "bench")
            generated[stored.sha256] = made
        archive.db.conn.commit()
        started = time.perf_counter()
        extract_pending(archive, workers=workers, timeout=120)
        seconds = time.perf_counter() - started
        screen_pending(archive)
        reasons = dict(archive.db.execute("select sha256, reason from withholdings where withheld = 1"))
        statuses = Counter(row[0] for row in archive.db.execute("select status from texts"))
    counts: Counter[str] = Counter()
    ways: Counter[str] = Counter()
    for sha, made in generated.items():
        held = sha in reasons
        counts[("tp" if held else "fn") if made.high_risk else ("fp" if held else "tn")] += 1
        if held:
            ways[reasons[sha].split(":")[0] if reasons[sha].startswith("high-risk") else reasons[sha][:32]] += 1
    recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    print(f"screen: {forms} forms OCR'd in {seconds:.1f} s ({dict(statuses)}); with high-risk values "
          f"{counts['tp'] + counts['fn']}, withheld {counts['tp']} (recall {recall:.3f}); clean "
          f"{counts['tn'] + counts['fp']}, withheld {counts['fp']} (precision {precision:.3f}); why: {dict(ways)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--forms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    problem = install_tesseract()
    if problem:
        sys.exit(problem)
    with tempfile.TemporaryDirectory() as folder:
        speed_and_accuracy(Path(folder), args.pages, args.workers)
        screen(Path(folder), args.forms, args.workers)


if __name__ == "__main__":
    main()
