"""Tiny server-side charts as inline SVG (no JavaScript, no chart library).

Each function returns markup safe to embed (`Markup`): labels are escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of ten) at least `raw`: readable bin edges."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-9)


def bins(values: Sequence[float], *, top: float, count: int = 10) -> list[tuple[float, float, int]]:
    """About `count` bins of a round width from 0; the last one includes `top` (full marks)."""
    top = top or 1.0
    width = nice_step(top / count)
    count = max(math.ceil(top / width - 1e-9), 1)  # top on an edge joins the last bin
    counts = [0] * count
    for v in values:
        counts[min(max(int(v // width), 0), count - 1)] += 1
    return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def histogram(values: Sequence[float], *, top: float, count: int = 10, title: str = "") -> Markup:
    """Vertical bars: how many values fall in each bin of [0, top]."""
    data = bins(values, top=top, count=count)
    w, h, pad, base = 480, 200, 28, 170
    peak = max((c for _, _, c in data), default=0) or 1
    step = (w - 2 * pad) / len(data)
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
             f'aria-label="{escape(title or "histogram")}" data-total="{len(values)}">']
    for i, (lo, hi, c) in enumerate(data):
        x = pad + i * step
        bar = (base - 20) * c / peak
        parts.append(f'<rect class="bar" x="{x + 2:.1f}" y="{base - bar:.1f}"'
                     f' width="{step - 4:.1f}" height="{bar:.1f}" data-count="{c}">'
                     f'<title>{lo:g}–{hi:g}: {c}</title></rect>')
        if c:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{base - bar - 4:.1f}" '
                         f'class="count">{c}</text>')
        parts.append(f'<text x="{x:.1f}" y="{base + 16}" class="axis">{lo:g}</text>')
    parts.append(f'<text x="{w - pad:.1f}" y="{base + 16}" class="axis end">{data[-1][1]:g}</text>')
    parts.append(f'<line x1="{pad}" y1="{base}" x2="{w - pad}" y2="{base}" class="baseline"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_colour(rate: float) -> str:
    """A pass rate's bar colour: red at 0 %, through amber, to green at 100 %; squared, since
    most tests' rates are high and 69 % must not look like 100 %."""
    return f"hsl({120 * max(0.0, min(1.0, rate)) ** 2:.0f}, 62%, 40%)"


def rate_bars(items: Sequence[tuple[str, float, str]], *, label_width: int = 220) -> Markup:
    """Horizontal bars of fractions in [0, 1], one labelled row each (pass rates), coloured by
    the rate (rate_colour) and written as a number; each row links to its URL."""
    row, w = 20, 520
    h = row * len(items) + 4
    bar_w = w - label_width - 50
    parts = [f'<svg class="chart rates" viewBox="0 0 {w} {h}" '
             'aria-label="pass rate per test">']
    for i, (label, rate, url) in enumerate(items):
        y = i * row + 2
        parts.append(f'<a href="{escape(url)}">')  # named by its texts: the label, the rate
        parts.append(f'<text x="{label_width - 6}" y="{y + 13}" class="label end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect class="track" x="{label_width}" y="{y + 3}" width="{bar_w}" '
                     f'height="{row - 6}"/>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 3}" '
                     f'width="{bar_w * rate:.1f}" height="{row - 6}" '
                     f'style="fill: {rate_colour(rate)}"/>')
        parts.append(f'<text x="{label_width + bar_w + 6}" y="{y + 13}" class="pct">'
                     f'{rate:.0%}</text></a>')
    parts.append("</svg>")
    return Markup("".join(parts))
