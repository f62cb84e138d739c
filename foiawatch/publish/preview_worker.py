"""Render the first page of one PDF to a PNG, in a process of its own (started by :mod:`.preview`).

PDFium is C++ reading hostile input: a file can make it loop, allocate without end or crash. Run as
``python preview_worker.py PATH``, under the memory cap and timeout the parent sets; the PNG goes
to stdout, a one-line reason to stderr with exit status 1 when the file cannot be rendered. It imports nothing of
foiawatch, so it can be started by its path without loading the package.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys

import pypdfium2

WIDTH = 600  # pixels: the page's column on the document page
MAX_HEIGHT = 1200  # a strip of a page many times taller than wide is cut to this
MAX_SCALE = 2.0  # a page smaller than a business card is not blown up beyond this


def render(path: str, max_bytes: int) -> bytes:
    """The first page as PNG bytes, at most ``WIDTH`` pixels wide; ValueError (with the reason) if it cannot be."""
    from PIL import Image

    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as error:
        raise ValueError(f"PDFium cannot open it: {error}") from None
    try:
        if len(document) == 0:
            raise ValueError("the PDF has no pages")
        page = document[0]
        width, height = page.get_size()
        if not (0 < width < 20_000 and 0 < height < 20_000):
            raise ValueError(f"the first page's size is implausible ({width:.0f} x {height:.0f} points)")
        scale = min(WIDTH / width, MAX_SCALE)
        image = page.render(scale=scale).to_pil()
        if image.height > MAX_HEIGHT:
            image = image.crop((0, 0, image.width, MAX_HEIGHT))
        image = image.convert("L") if _is_grey(image) else image.convert("RGB")
        for colours in (None, 64, 16):  # fewer colours until it fits the budget
            output = io.BytesIO()
            (image if colours is None else image.quantize(colours, dither=Image.Dither.NONE)).save(
                output, "PNG", optimize=True)
            if output.tell() <= max_bytes:
                return output.getvalue()
        raise ValueError(f"the preview would be {output.tell():,} bytes, over the {max_bytes:,}-byte budget")
    finally:
        document.close()


def _is_grey(image: object) -> bool:
    """Most pages are black on white: a grey image is a third of the size."""
    from PIL import Image, ImageChops

    assert isinstance(image, Image.Image)
    rgb = image.convert("RGB")
    red, green, blue = rgb.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="foiawatch PDF preview worker (started by foiawatch publish)")
    parser.add_argument("path")
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--memory-limit", type=int, required=True, help="address space cap in bytes")
    parser.add_argument("--cpu-seconds", type=int, required=True)
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_seconds, args.cpu_seconds + 1))
    try:
        png = render(args.path, args.max_bytes)
    except MemoryError:
        print(f"out of memory (limit {args.memory_limit >> 20} MiB)", file=sys.stderr)
        return 1
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
