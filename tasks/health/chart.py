"""The health watch's picture of one app: daily success rate (line) and active customers (bars)
over the last days, with the threshold line; an SVG rasterised by resvg as the catalog tile is
(tasks/catalog/render.py), then carried as a PNG data: URL inside a markdown artifact."""

from __future__ import annotations

import base64
import io
from xml.sax.saxutils import escape

from partner_review.tasks.catalog.render import rasterise
from partner_review.tasks.health.delivery import Day

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 664, 28, 212  # the plot area


def svg(slug: str, series: list[Day], *, threshold: float) -> str:
    rates = [d.success_rate for d in series if d.success_rate is not None]
    low = min([threshold - 0.05, *rates])
    low = max(0.0, int(low * 10) / 10)  # down to a tenth
    most = max([3, *(d.active_customers for d in series)])
    step = (RIGHT - LEFT) / max(1, len(series))

    def y_rate(rate: float) -> float:
        return BOTTOM - (rate - low) / (1 - low or 1) * (BOTTOM - TOP)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" fill="#111">{escape(slug[:60])}: daily success rate and '
        f"active customers, last {len(series)} days</text>",
    ]
    for i, day in enumerate(series):  # bars: active customers, on the right-hand scale
        h = day.active_customers / most * (BOTTOM - TOP)
        parts.append(
            f'<rect x="{LEFT + i * step:.1f}" y="{BOTTOM - h:.1f}" width="{max(1.0, step - 1):.1f}" '
            f'height="{h:.1f}" fill="#c9d6ea"/>'
        )
    ty = y_rate(threshold)
    parts.append(
        f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{RIGHT}" y2="{ty:.1f}" stroke="#d62728" stroke-width="1.5" '
        'stroke-dasharray="6 4"/>'
    )
    parts.append(f'<text x="{RIGHT + 4}" y="{ty + 4:.1f}" font-size="11" fill="#d62728">{threshold:.0%}</text>')
    points: list[str] = []
    segments: list[list[str]] = []
    for i, day in enumerate(series):
        if day.success_rate is None:
            if points:
                segments.append(points)
            points = []
            continue
        points.append(f"{LEFT + (i + 0.5) * step:.1f},{y_rate(day.success_rate):.1f}")
    if points:
        segments.append(points)
    for seg in segments:
        parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1f4e9c" stroke-width="2"/>')
    for rate in (low, (low + 1) / 2, 1.0):  # left scale: success rate
        parts.append(
            f'<text x="{LEFT - 6}" y="{y_rate(rate) + 4:.1f}" font-size="11" text-anchor="end">{rate:.0%}</text>'
        )
    parts += [
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="#444"/>',
        f'<text x="{RIGHT + 4}" y="{TOP + 4}" font-size="11" fill="#5a6f91">{most}</text>',
        f'<text x="{LEFT}" y="{BOTTOM + 16}" font-size="11">{series[0].day if series else ""}</text>',
        f'<text x="{RIGHT}" y="{BOTTOM + 16}" font-size="11" text-anchor="end">{series[-1].day if series else ""}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 12}" font-size="11" fill="#1f4e9c">line: success rate (left)</text>',
        f'<text x="{LEFT + 190}" y="{HEIGHT - 12}" font-size="11" fill="#5a6f91">bars: active customers (right)</text>',
        f'<text x="{LEFT + 420}" y="{HEIGHT - 12}" font-size="11" fill="#d62728">dashed: threshold</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def png_data_url(svg_text: str) -> str:
    image = rasterise(svg_text, width=WIDTH, height=HEIGHT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
