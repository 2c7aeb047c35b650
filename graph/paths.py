"""Where the ontology, the canned queries and the curated data live.

The folders sit next to the ``graph`` package both in a checkout (editable install) and in an installed wheel
(``next2met/ontology`` beside ``next2met/graph``), so a path relative to this file works in both cases, while
``importlib.resources`` fails for a mapped data-only folder in editable mode.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_DIR = ROOT / "ontology"
QUERIES_DIR = ROOT / "queries"
DATA_DIR = ROOT / "data"

ONTOLOGY_FILE = ONTOLOGY_DIR / "next2met.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
SCHEMES_DIR = ONTOLOGY_DIR / "schemes"
CONTEXT_FILE = DATA_DIR / "context.jsonld"
