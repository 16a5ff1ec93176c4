"""Charts as inline SVG, drawn on the server: the page needs no script and no network.

Pure functions returning markup; every label is escaped here, since the result is
inserted into the page as safe markup."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_COLOURS = ("#1f6feb", "#d1242f", "#9a6700")


def bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str], *, title: str,
    width: int = 640,
) -> Markup:
    """Horizontal grouped bars: one group per row label, one bar per series."""
    label_w, bar_h, gap, top = 230, 12, 10, 28
    n = max(1, len(series))
    group_h = n * bar_h + gap
    height = top + max(1, len(rows)) * group_h + 24
    peak = max((v for _, vals in rows for v in vals), default=0) or 1
    scale = (width - label_w - 50) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    for gi, (label, vals) in enumerate(rows):
        y0 = top + gi * group_h
        parts.append(f'<text x="{label_w - 6}" y="{y0 + n * bar_h / 2 + 4:.0f}"'
                     f' text-anchor="end" font-size="12">{escape(label[:40])}</text>')
        for si, v in enumerate(vals):
            y = y0 + si * bar_h
            w = max(0.0, v * scale)
            colour = BAR_COLOURS[si % len(BAR_COLOURS)]
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}"'
                         f' fill="{colour}"><title>{escape(series[si])}: {v}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}"'
                         f' font-size="10">{v}</text>')
    ly = height - 8
    for si, name in enumerate(series):
        x = label_w + si * 130
        parts.append(f'<rect x="{x}" y="{ly - 9}" width="10" height="10"'
                     f' fill="{BAR_COLOURS[si % len(BAR_COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="{ly}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(
    points: Sequence[tuple[str, Sequence[int]]], series: Sequence[str], *, title: str,
    width: int = 640, height: int = 220,
) -> Markup:
    """Lines over weeks (oldest first), one per series."""
    left, right, top, bottom = 40, 20, 28, 46
    peak = max((v for _, vals in points for v in vals), default=0) or 1
    n = len(points)
    step = (width - left - right) / max(1, n - 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - v / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"'
        ' stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{peak}</text>',
    ]
    for si, name in enumerate(series):
        colour = BAR_COLOURS[si % len(BAR_COLOURS)]
        coords = [xy(i, vals[si]) for i, (_, vals) in enumerate(points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"'
                         f' points="{path}"/>')
        for (x, y), (label, vals) in zip(coords, points, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(label)} {escape(name)}: {vals[si]}</title></circle>')
        parts.append(f'<rect x="{left + si * 130}" y="{height - 14}" width="10" height="10"'
                     f' fill="{colour}"/><text x="{left + si * 130 + 14}" y="{height - 5}"'
                     f' font-size="11">{escape(name)}</text>')
    for i, (label, _) in enumerate(points):
        x, _y = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
                     f' font-size="10">{escape(label[-3:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
