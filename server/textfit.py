"""Shorten a label to the width it has in a drawing, not to a number of characters: "Gesundheit und Lebens…"
and "information and commu…" had the same 22 characters but not the same width. Widths are those of a
sans-serif face in em, taken on the wide side (DejaVu Sans, the widest of the usual system faces), so a label
never runs into its bar whichever face the reader's system-ui is."""

from __future__ import annotations

NARROW = set("fijlrtI.,;:!|'()[] ")
WIDE = set("mwMW@%")
ELLIPSIS = 1.0  # em


def em_width(text: str) -> float:
    """The width of ``text`` in em."""
    width = 0.0
    for c in text:
        if c in NARROW:
            width += 0.34
        elif c in WIDE:
            width += 0.98
        elif c.isupper() or c.isdigit():
            width += 0.74 if c.isupper() else 0.64
        else:
            width += 0.62
    return width


def fit(text: str, pixels: float, font_px: float = 14) -> str:
    """``text`` cut with an ellipsis so that it is at most ``pixels`` wide at ``font_px``."""
    room = pixels / font_px
    if em_width(text) <= room:
        return text
    out = ""
    for c in text:
        if em_width(out + c) + ELLIPSIS * 0.6 > room:
            break
        out += c
    return out.rstrip() + "…"
