"""Scans made here, for the OCR tests and bench/ocr.py: text drawn on page images at 200-300 dpi, skewed a little
and speckled as a photocopy comes out of a scanner, saved as image-only PDFs (or TIFF/PNG); forms that carry SSNs,
A-numbers and dates of birth, and clean ones; and Debian's Tesseract, installed when it is missing (as the browser
test installs Chromium).
"""

from __future__ import annotations

import io
import random
import shutil
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from . import debian


def install_tesseract() -> str | None:
    """Install Debian's tesseract-ocr if it is missing; why it cannot be had, or None once it is there."""
    return debian.install("tesseract-ocr", lambda: shutil.which("tesseract") is not None)


def page_image(lines: list[str], *, dpi: int = 300, inches: tuple[float, float] = (8.5, 11.0), points: float = 11,
               skew: float = 0.0, speckles: int = 0, blur: float = 0.0, seed: int = 0) -> Image.Image:
    """A grayscale page showing ``lines`` from its top-left margin, then rotated by ``skew`` degrees, sprinkled
    with ``speckles`` dark dots and softened by a ``blur`` radius: a scanned photocopy."""
    width, height = int(inches[0] * dpi), int(inches[1] * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(8, round(points * dpi / 72)))
    margin, leading = min(dpi // 2, width // 10), round(points * 1.6 * dpi / 72)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * leading), line, fill=0, font=font)
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    rng = random.Random(seed)
    for _ in range(speckles):
        x, y, size = rng.randrange(width), rng.randrange(height), rng.choice((1, 1, 2, 3))
        draw = ImageDraw.Draw(image)
        draw.ellipse((x, y, x + size, y + size), fill=rng.randrange(0, 120))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return image


def scan_pdf(pages: list[Image.Image], dpi: int = 300) -> bytes:
    """An image-only PDF of the pages, as a scanner writes one (no text layer)."""
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buffer.getvalue()


def encode(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


# Forms ------------------------------------------------------------------------------------------------------

FIRST = ["Maria", "Jose", "Ana", "Luis", "Wei", "Fatima", "John", "Grace", "Samuel", "Rosa", "Ahmed", "Elena"]
LAST = ["Garcia", "Hernandez", "Lopez", "Nguyen", "Smith", "Okafor", "Martinez", "Chen", "Ramirez", "Haddad"]
SSN_LABELS = ["Social Security Number:", "SSN:", "Soc. Sec. No.:", "SSN #"]
A_LABELS = ["A-Number:", "Alien Registration No.", "A-Number", "A#"]
DOB_LABELS = ["Date of Birth:", "DOB:", "Birth date:", "D.O.B."]


@dataclass(frozen=True)
class Form:
    """The lines of one generated form and the high-risk values on it (empty for a clean form)."""

    lines: list[str]
    high_risk: tuple[str, ...]


def _ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def form(rng: random.Random, personal: bool) -> Form:
    """A benefits or detention form: with ``personal`` data some of SSN, A-number and date of birth are filled in;
    without it the form is a clean one (case numbers, office phone, filing dates) or a blank template."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    title = rng.choice(["APPLICATION FOR TRAVEL DOCUMENT", "DETAINEE TRANSFER RECORD", "REQUEST FOR RECORDS",
                        "CASE INTAKE WORKSHEET"])
    lines = [title, f"Form I-{rng.randrange(100, 999)}  Page 1 of 1", ""]
    values: list[str] = []
    if personal:
        kinds = rng.sample(["ssn", "a", "dob"], rng.randint(1, 3))
        lines.append(f"Name: {name}")
        if "ssn" in kinds:
            values.append(_ssn(rng))
            lines.append(f"{rng.choice(SSN_LABELS)} {values[-1]}")
        if "a" in kinds:
            digits = f"{rng.randrange(10**8, 10**9):09d}"
            values.append(rng.choice([f"A{digits}", f"A-{digits[:3]}-{digits[3:6]}-{digits[6:]}", digits]))
            lines.append(f"{rng.choice(A_LABELS)} {values[-1]}")
        if "dob" in kinds:
            values.append(f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}/{rng.randrange(1940, 2005)}")
            lines.append(f"{rng.choice(DOB_LABELS)} {values[-1]}")
    elif rng.random() < 0.3:  # a blank template: the fields are there, nothing is filled in
        lines += ["Name: ______________", f"{rng.choice(SSN_LABELS)} ___-__-____", f"{rng.choice(DOB_LABELS)}"]
    else:
        lines += [f"Case No. {rng.randrange(2010, 2020)}-{rng.randrange(1000, 99999)}",
                  f"Received: {rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}/{rng.randrange(2010, 2020)}",
                  f"Office phone: (202) 555-{rng.randrange(100, 199):04d}",
                  f"Field office: {rng.choice(['Atlanta', 'Chicago', 'Dallas', 'Newark', 'Seattle'])}"]
    lines += ["", "Remarks: the applicant was informed of the decision in writing.",
              f"Reviewed by officer {rng.choice(LAST)}, badge {rng.randrange(1000, 9999)}."]
    return Form(lines, tuple(values))
