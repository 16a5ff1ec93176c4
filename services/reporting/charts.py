"""Charts as inline SVG, drawn on the server: the page needs no script and no network.

Pure functions returning markup; every label is escaped here, since the result is
inserted into the page as safe markup.

- One colour per meaning on every chart (received, resolved, rejected, open, overdue,
  escalated, carried over), from the Okabe-Ito palette, which stays distinguishable
  with the common colour-vision deficiencies; every chart has a legend, every bar its
  number and every line its latest value, so colour is never the only carrier of one.
- A chart has a viewBox and no fixed size: the page's style draws it at 100% of the
  column, so it never makes a phone scroll sideways. Group labels are written in full
  above their bars, wrapped, rather than cut off beside them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Okabe & Ito (2008), "Color Universal Design"; grey for rejected (closed, not resolved).
COLOURS: dict[str, str] = {
    "received": "#0072B2",  # blue
    "resolved": "#009E73",  # bluish green
    "rejected": "#767676",  # grey
    "open": "#E69F00",  # orange
    "overdue": "#D55E00",  # vermillion
    "escalated_central": "#CC79A7",  # reddish purple
    "carried_over": "#56B4E9",  # sky blue
}
WIDTH = 480  # viewBox units; about 0.75 px each on a 390 px phone, 1.5 on a desktop
LABEL_CHARS = 54  # a wrapped label line at 15 units
Series = tuple[str, str]  # (meaning, its name on the page)


def _svg_open(height: float, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart"'
            f' viewBox="0 0 {WIDTH} {height:.0f}" preserveAspectRatio="xMinYMin meet">'
            f'<title>{escape(title)}</title>'
            f'<text x="0" y="17" font-weight="bold" font-size="17">{escape(title)}</text>')


def legend(series: Sequence[Series], y: float) -> tuple[list[str], float]:
    """Swatches and names in rows across the chart; returns the parts and the next y."""
    parts, x = [], 0.0
    for key, name in series:
        w = 20 + 7.4 * len(name) + 14
        if x and x + w > WIDTH:
            x, y = 0.0, y + 20
        parts.append(f'<rect x="{x:.0f}" y="{y - 11:.0f}" width="13" height="13"'
                     f' fill="{COLOURS[key]}"/><text x="{x + 18:.0f}" y="{y:.0f}"'
                     f' font-size="14">{escape(name)}</text>')
        x += w
    return parts, y + 14


def bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[Series], *, title: str,
) -> Markup:
    """Horizontal grouped bars: per row its full label (wrapped) above one bar per series."""
    bar_h, bar_gap, group_gap, label_h = 14, 2, 14, 19
    head, y = legend(series, 40)
    peak = max((v for _, vals in rows for v in vals), default=0) or 1
    scale = (WIDTH - 44) / peak
    parts: list[str] = []
    y += 6
    for label, vals in rows:
        for line in textwrap.wrap(label, LABEL_CHARS) or [""]:
            y += label_h
            parts.append(f'<text x="0" y="{y - 4:.0f}" font-size="15">{escape(line)}</text>')
        for (key, name), v in zip(series, vals, strict=True):
            w = v * scale
            parts.append(f'<rect x="0" y="{y:.0f}" width="{w:.1f}" height="{bar_h}"'
                         f' fill="{COLOURS[key]}"><title>{escape(name)}: {v}</title></rect>'
                         f'<text x="{w + 4:.1f}" y="{y + bar_h - 2:.0f}" font-size="13">{v}'
                         '</text>')
            y += bar_h + bar_gap
        y += group_gap
    return Markup(_svg_open(y, title) + "".join(head + parts) + "</svg>")


def trend_chart(
    points: Sequence[tuple[str, Sequence[int]]], series: Sequence[Series], *, title: str,
    height: int = 240,
) -> Markup:
    """Lines over weeks (oldest first), one per series; x labels as given (short dates)."""
    head, top = legend(series, 40)
    left, right, bottom = 34, 36, 28  # room on the right for the latest values
    top += 8
    peak = max((v for _, vals in points for v in vals), default=0) or 1
    n = len(points)
    step = (WIDTH - left - right) / max(1, n - 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - v / peak)

    parts = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - right}" y2="{height - bottom}"'
        ' stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="13">{peak}</text>',
        f'<text x="{left - 4}" y="{height - bottom + 4}" text-anchor="end"'
        ' font-size="13">0</text>',
    ]
    for si, (key, name) in enumerate(series):
        colour = COLOURS[key]
        coords = [xy(i, vals[si]) for i, (_, vals) in enumerate(points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"'
                         f' points="{path}"/>')
        for (x, y), (label, vals) in zip(coords, points, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                         f'<title>{escape(label)} · {escape(name)}: {vals[si]}</title></circle>')
        if coords:
            x, y = coords[-1]
            parts.append(f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" font-size="13"'
                         f' fill="#1f2328">{points[-1][1][si]}</text>')
    for i, (label, _) in enumerate(points):
        x, _y = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 17}" text-anchor="middle"'
                     f' font-size="13">{escape(label)}</text>')
    return Markup(_svg_open(height, title) + "".join(head + parts) + "</svg>")


def sparkline(values: Sequence[float | None], *, target: float, label: str) -> Markup:
    """A share (0-100 %) over weeks, oldest first, in the colour of "resolved", beside the
    target (dashed); a week without a figure leaves a gap. `label` says every value in
    words, for those who do not see the line."""
    w, h, pad = 120, 32, 4
    step = (w - 2 * pad) / max(1, len(values) - 1)

    def y(v: float) -> float:
        return pad + (h - 2 * pad) * (1 - v / 100)

    parts = [f'<line x1="0" y1="{y(target):.1f}" x2="{w}" y2="{y(target):.1f}" stroke="#767676"'
             ' stroke-dasharray="3 3"/>']
    run: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            run.append(f"{pad + i * step:.1f},{y(v):.1f}")
            parts.append(f'<circle cx="{pad + i * step:.1f}" cy="{y(v):.1f}" r="2.5"'
                         f' fill="{COLOURS["resolved"]}"/>')
        elif run:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{COLOURS["resolved"]}"'
                             f' stroke-width="2" points="{" ".join(run)}"/>')
            run = []
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img"'
                  f' aria-label="{escape(label)}" viewBox="0 0 {w} {h}">'
                  + "".join(parts) + "</svg>")
