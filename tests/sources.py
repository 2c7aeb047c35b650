"""Read the curated YAML sources directly, so tests can state what the pages and analyses must show without
going through the code under test."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def records(pattern: str) -> list[dict]:
    """Every record in the files matching ``pattern`` (relative to the repository), a file holding one or many."""
    out = []
    for path in sorted(ROOT.glob(pattern)):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        out.extend(doc if isinstance(doc, list) else [doc])
    return out


def as_list(value) -> list[str]:
    """A YAML value that may be absent, one value or a list, as a list of strings."""
    return [] if value is None else [str(v) for v in (value if isinstance(value, list) else [value])]
