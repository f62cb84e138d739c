"""Precision and recall of the PII screen on the labelled synthetic set (bench/pii_dataset.py).

    .venv/bin/python bench/pii.py                 # the held-out families: the figures to report
    .venv/bin/python bench/pii.py --split dev     # the families the screen was developed against
    .venv/bin/python bench/pii.py --split stress  # OCR noise, values in prose, unlabelled look-alikes

A hit counts as true when it overlaps a labelled value of the same kind; each labelled value is matched once.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pii_dataset import build  # noqa: E402

from foiawatch.archive.pii_patterns import KINDS, find_pii  # noqa: E402


def evaluate(samples, show: int = 0) -> tuple[Counter, Counter, Counter]:
    tp, fp, fn = Counter(), Counter(), Counter()
    shown = 0
    for sample in samples:
        gold = list(sample.spans)
        for hit in find_pii(sample.text):
            match = next((g for g in gold if g[0] == hit.kind and g[1] < hit.end and hit.start < g[2]), None)
            if match:
                gold.remove(match)
                tp[hit.kind] += 1
            else:
                fp[hit.kind] += 1
                if shown < show:
                    shown += 1
                    print(f"FP {hit.kind:8} {_context(sample.text, hit.start, hit.end)}")
        for kind, start, end in gold:
            fn[kind] += 1
            if shown < show:
                shown += 1
                print(f"FN {kind:8} {_context(sample.text, start, end)}")
    return tp, fp, fn


def _context(text: str, start: int, end: int) -> str:
    return repr(text[max(0, start - 40):start] + "[[" + text[start:end] + "]]" + text[end:end + 20])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "heldout", "stress"], default="heldout")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--seed", type=int, help="override the split's seed")
    parser.add_argument("--show", type=int, default=0, help="print up to N errors (dev only: keep heldout blind)")
    args = parser.parse_args()
    samples = build(args.split, args.documents, args.seed)
    started = time.perf_counter()
    tp, fp, fn = evaluate(samples, args.show)
    seconds = time.perf_counter() - started
    chars = sum(len(s.text) for s in samples)
    print(f"{args.split}: {len(samples)} documents, {sum(s.text.count(chr(10)) for s in samples)} lines, "
          f"{chars:,} chars, screened in {seconds:.2f}s")
    print(f"{'kind':10} {'labelled':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for kind in (*KINDS, "overall"):
        t, p, n = (sum(c.values()) for c in (tp, fp, fn)) if kind == "overall" else (tp[kind], fp[kind], fn[kind])
        precision = t / (t + p) if t + p else 1.0
        recall = t / (t + n) if t + n else 1.0
        print(f"{kind:10} {t + n:8} {t + p:6} {precision:9.3f} {recall:7.3f}")


if __name__ == "__main__":
    main()
