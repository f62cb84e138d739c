"""OCR of page images with Tesseract: scans without a text layer, and TIFF, PNG or JPEG records.

Only the extraction worker (:mod:`.text_worker`) calls the functions that read images: they decode hostile bytes.
The worker runs the ``tesseract`` program once per page through pytesseract, under the worker's memory cap (the
program inherits it) and a per-page timeout; the pool kills the worker's whole process group when a page overruns,
so no ``tesseract`` outlives it. :func:`ocr_settings` runs in the parent: it decides once whether OCR is possible.

Why the ``tesseract`` program (pytesseract) rather than tesserocr or OCRmyPDF: it is Debian's ``tesseract-ocr``
package and nothing else, so OCR is there or not at run time (without it scans wait as ``needs_ocr``); a page that
crashes or hangs Tesseract costs that page, not the worker; and ``image_to_data`` gives every word's confidence,
which the PII screen needs. tesserocr keeps the model loaded (about 0.15 s of CPU saved per page, a few per cent
of a 300-dpi page) but ships its own copy of libtesseract and Leptonica, patched only when it is released. OCRmyPDF
writes a new PDF with its own pool of processes, outside the worker's bounds, and says nothing per page we could
screen on.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter, ImageSequence

from .text_clean import clean_text

TESSERACT_ENV = "FOIAWATCH_TESSERACT"  # the tesseract program; "" or "off" turns OCR off
LANGUAGE_ENV = "FOIAWATCH_OCR_LANG"  # Tesseract's language codes, "eng" by default ("eng+spa" for two)
INSTALL_HINT = "apt-get install tesseract-ocr"

DPI = 300  # what Tesseract reads best; scans are mostly made at 200-300 dpi
MAX_PIXELS = 80_000_000  # one page image: a 24x36-inch poster at 300 dpi is 78 M; a decompression bomb is billions
# Tesseract's words below this confidence are kept (with their place in the page's text) for the PII screen, which
# holds a file when one of them stands where a high-risk value is labelled; its threshold is at most this.
LOW_WORD_CEILING = 90.0
_PAGE_SEGMENTATION = "--psm 6"  # one block of text: forms and tables keep their rows (auto layout reads columns)
_INK_LEVEL, _INK_SHARE = 128, 0.0005  # a page with fewer dark pixels than this share is blank
_SPECK_CONFIDENCE = 50.0
_TAB_GAP = 2.5  # a gap between words wider than this many characters separates cells: written as a tab


@dataclass(frozen=True)
class OcrSettings:
    """What the worker needs to run OCR: the program and the language; ``command`` None when OCR is unavailable."""

    command: str | None
    language: str = "eng"
    unavailable: str = ""  # why not, for the needs_ocr hint

    def as_json(self) -> list[Any]:
        return [self.command, self.language, self.unavailable]

    @classmethod
    def from_json(cls, value: list[Any]) -> OcrSettings:
        command, language, unavailable = value
        return cls(command, language, unavailable)


def ocr_settings() -> OcrSettings:
    """Whether Tesseract can run here, with the language asked for ($FOIAWATCH_TESSERACT, $FOIAWATCH_OCR_LANG)."""
    language = os.environ.get(LANGUAGE_ENV, "").strip() or "eng"
    wanted = os.environ.get(TESSERACT_ENV, "tesseract").strip()
    if wanted.lower() in ("", "off", "0", "no"):
        return OcrSettings(None, language, f"OCR is off (${TESSERACT_ENV})")
    command = shutil.which(wanted)
    if command is None:
        return OcrSettings(None, language, f"Tesseract is not installed ({INSTALL_HINT})")
    try:
        listed = subprocess.run([command, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return OcrSettings(None, language, f"Tesseract does not run: {error}")
    missing = set(language.split("+")) - set(listed.split()[1:])
    if missing:
        return OcrSettings(None, language, f"Tesseract has no {'+'.join(sorted(missing))} language data "
                                           f"(apt-get install tesseract-ocr-{sorted(missing)[0]})")
    return OcrSettings(command, language)


@dataclass(frozen=True)
class PageText:
    """One page as OCR read it: its text, the mean confidence of its characters (None with no words), how many
    words, and the unsure words."""

    text: str
    confidence: float | None
    words: int
    low_words: tuple[tuple[int, int, float], ...] = ()


class ImageTooLarge(ValueError):
    """An image whose pixels would not fit the worker's memory: refused before it is decoded."""


def check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"image of {width:,}x{height:,} pixels, over the limit of {MAX_PIXELS:,} "
                            "(decompression bomb?)")


def has_ink(image: Image.Image) -> bool:
    """Whether a page shows anything: blank pages (the backs of double-sided scans) need no OCR."""
    gray = image.convert("L")
    if gray.width > 1000:
        gray = gray.reduce(gray.width // 500)  # only a share is counted: a coarse image says as much, faster
    histogram = gray.histogram()
    return sum(histogram[:_INK_LEVEL]) >= _INK_SHARE * gray.width * gray.height


def read_page(image: Image.Image, settings: OcrSettings, timeout: float) -> PageText:
    """OCR one page image; RuntimeError when Tesseract overran ``timeout`` or failed."""
    import pytesseract  # here: a worker reading no scans never loads it

    assert settings.command is not None
    pytesseract.pytesseract.tesseract_cmd = settings.command
    try:
        # A 3x3 median filter first: scanner speckles read as stray marks, and a speck by a number adds a digit.
        cleaned = image.convert("L").filter(ImageFilter.MedianFilter(3))
        data = pytesseract.image_to_data(cleaned, lang=settings.language, config=_PAGE_SEGMENTATION,
                                         timeout=max(timeout, 1.0), output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError as error:
        raise RuntimeError(f"Tesseract failed: {str(error.message).strip()[:200]}") from None
    except RuntimeError as error:  # pytesseract's only word for a timeout
        raise RuntimeError(f"Tesseract timed out after {max(timeout, 1.0):.0f} s") from error
    return page_from_words(data)


def page_from_words(data: dict[str, list[Any]]) -> PageText:
    """A page's text from Tesseract's words: its lines in order, wide gaps as tabs (the cells of forms and tables,
    which the PII screen reads with their column headers), and the confidence of what was read."""
    lines: dict[tuple[int, int, int], list[tuple[int, int, str, float]]] = {}
    for index, raw in enumerate(data["text"]):
        word, confidence = "".join((clean_text(str(raw)) or "").split()), float(data["conf"][index])
        if not word or confidence < 0 or confidence < _SPECK_CONFIDENCE and not any(c.isalnum() for c in word):
            continue  # a stray mark read unsurely as punctuation: a speck, not text
        key = (int(data["block_num"][index]), int(data["par_num"][index]), int(data["line_num"][index]))
        left = int(data["left"][index])
        lines.setdefault(key, []).append((left, left + int(data["width"][index]), word, confidence))
    parts: list[str] = []
    low: list[tuple[int, int, float]] = []
    confidences: list[tuple[float, int]] = []
    offset = 0
    for words in lines.values():
        char_width = sum(right - left for left, right, text, _ in words) / max(1, sum(len(w[2]) for w in words))
        previous_right: int | None = None
        for left, right, text, confidence in words:
            if previous_right is not None:
                gap = "\t" if left - previous_right > _TAB_GAP * char_width else " "
                parts.append(gap)
                offset += 1
            if confidence < LOW_WORD_CEILING:
                low.append((offset, offset + len(text), round(confidence, 1)))
            confidences.append((confidence, len(text)))
            parts.append(text)
            offset += len(text)
            previous_right = right
        parts.append("\n")
        offset += 1
    # Weighted by length: a speck read as "a" or "oe" at confidence 0 says less about the page than a sentence.
    weight = sum(length for _, length in confidences)
    mean = round(sum(confidence * length for confidence, length in confidences) / weight, 1) if weight else None
    return PageText("".join(parts).rstrip("\n"), mean, len(confidences), tuple(low))


class PdfPages:
    """A PDF opened with PDFium, to render pages one at a time (pypdf reads text; it cannot draw)."""

    def __init__(self, path: str | os.PathLike[str]):
        import pypdfium2  # here: only scans need it

        self.document = pypdfium2.PdfDocument(path)

    def __enter__(self) -> PdfPages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.document.close()

    def __len__(self) -> int:
        return len(self.document)

    def render(self, index: int, dpi: int = DPI) -> Image.Image:
        """Page ``index`` (0-based) in grayscale at ``dpi``, scaled down to stay under MAX_PIXELS."""
        page = self.document[index]
        try:
            width, height = page.get_size()
            scale = min(dpi / 72, math.sqrt(MAX_PIXELS / max(width * height, 1.0)))
            bitmap = page.render(scale=scale, grayscale=True)
            try:
                return bitmap.to_pil().copy()  # the copy owns its pixels: the bitmap's buffer is freed now
            finally:
                bitmap.close()
        finally:
            page.close()


def image_frames(path: str | os.PathLike[str]) -> Iterator[Image.Image]:
    """Every frame of an image file (the pages of a multi-page TIFF), each checked for size before it is decoded."""
    with Image.open(path) as image:
        for frame in ImageSequence.Iterator(image):
            check_size(frame.width, frame.height)
            yield frame.convert("L")
