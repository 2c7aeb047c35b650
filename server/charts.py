"""Small bar charts drawn on the server as SVG: no script, no CDN, readable without colour (each bar carries its
value as text), and the same drawing goes into evidence packs as a file."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

ROW = 22
LABEL_WIDTH = 230
BAR_WIDTH = 300
VALUE_WIDTH = 70


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown ("56%", "42")
    href: str = ""


def bar_chart(title: str, bars: list[Bar], maximum: float | None = None) -> Markup:
    """A horizontal bar chart: one row per bar, its label left, the bar, its value right."""
    top = maximum if maximum is not None else max((b.value for b in bars), default=0) or 1
    height = ROW * len(bars) + 30
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(title, {chr(34): "&quot;"})}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for i, bar in enumerate(bars):
        y = 30 + i * ROW
        length = max(0.0, min(1.0, bar.value / top)) * BAR_WIDTH
        label = escape(bar.label if len(bar.label) <= 34 else bar.label[:33] + "…")
        text = f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" font-size="12" text-anchor="end" fill="#222">{label}</text>'
        if bar.href:
            text = f'<a href="{escape(bar.href)}">{text}</a>'
        parts += [
            text,
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{BAR_WIDTH}" height="{ROW - 8}" fill="#eef1f5"/>',
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" fill="#2a6f97"/>',
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 14}" font-size="12" fill="#222">'
            f"{escape(bar.text)}</text>",
        ]
    parts.append("</svg>")
    return Markup("\n".join(parts))
