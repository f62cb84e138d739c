"""The home page's chart of takedowns per month: an SVG drawn at publish time, readable without JavaScript.

Drawn here rather than in the browser so that it costs the server nothing per request, works with scripts off, and
can be read by a screen reader: the SVG has a title and description, each bar its own title, and the page shows
the same numbers as a table beside it.
"""

from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

MONTHS = 24  # the chart's span, ending with the latest month that had a takedown
WIDTH, HEIGHT = 720, 240
_LEFT, _BOTTOM, _TOP = 40, 28, 12


def month_span(months_with_counts: dict[str, int], span: int = MONTHS) -> list[tuple[str, int]]:
    """``span`` consecutive months ("YYYY-MM") ending with the latest one counted, zeros filled in."""
    if not months_with_counts:
        return []
    year, month = map(int, max(months_with_counts).split("-"))
    months = []
    for _ in range(span):
        key = f"{year:04d}-{month:02d}"
        months.append((key, months_with_counts.get(key, 0)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_label(month: str) -> str:
    """"2017-10" as "Oct 2017"."""
    return date.fromisoformat(month + "-01").strftime("%b %Y")


def takedowns_svg(months: list[tuple[str, int]]) -> str:
    """Bars of documents removed per month, labelled at each quarter (January and the first label with the year)."""
    if not months:
        return ""
    top = max(count for _, count in months) or 1
    scale = _nice_ceiling(top)
    plot_width, plot_height = WIDTH - _LEFT - 8, HEIGHT - _BOTTOM - _TOP
    step = plot_width / len(months)
    total = sum(count for _, count in months)
    first, last = month_label(months[0][0]), month_label(months[-1][0])
    labelled = _quarters(months)
    first_label = min(labelled)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="chart" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">Documents removed per month, {escape(first)} to {escape(last)}</title>',
        f'<desc id="chart-desc">{total:,} documents removed in these {len(months)} months; the most in one '
        f'month was {top:,}.</desc>',
    ]
    for tick in (0, scale // 2, scale):
        y = _TOP + plot_height - plot_height * tick / scale
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    for index, (month, count) in enumerate(months):
        height = plot_height * count / scale
        x = _LEFT + index * step
        label = month_label(month)
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{_TOP + plot_height - height:.1f}" '
                     f'width="{step * 0.7:.1f}" height="{height:.1f}" class="bar">'
                     f'<title>{escape(label)}: {count:,} removed</title></rect>')
        if index in labelled:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                         f'{escape(label if month.endswith("-01") or index == first_label else label[:3])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _quarters(months: list[tuple[str, int]]) -> set[int]:
    """The bars to label: January, April, July and October, and the first bar (with its year) when the first
    quarter's label is far enough from it not to overlap."""
    quarters = [index for index, (month, _) in enumerate(months) if month[5:] in ("01", "04", "07", "10")]
    return set(quarters) | ({0} if not quarters or quarters[0] >= 3 else set())


def _nice_ceiling(value: int) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100 ... at or above ``value``, so the axis has round, even ticks."""
    magnitude = 1
    while True:
        for nice in (2, 4, 10):
            if nice * magnitude >= value:
                return nice * magnitude
        magnitude *= 10
