"""Data that a request posts (the write API, /validate): our YAML source format (or JSON with the same keys), or
RDF, read into quads within bounds.

Whatever the format, nothing posted makes the server reach out: YAML and JSON map to RDF through our own context
only (a JSON-LD keyword key is refused, ``graph/build.py``), JSON-LD posted as RDF goes to pyoxigraph's parser,
which loads no remote context, and RDF/XML with a DOCTYPE or entity declaration is refused before parsing
(``graph/rdfio.py``). The body is capped in bytes (``max_body``), in triples (``max_posted_triples``) and in depth
(YAML nesting and aliases, XML elements).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from next2met.graph.errors import InputError, PayloadTooLarge, UnsupportedMediaType
from next2met.graph.formats import PLAIN_JSON, RDF_FORMATS, SOURCE_YAML, by_media_type
from next2met.graph.rdfio import parse_bytes
from next2met.graph.sources import load_context, parse_yaml, yaml_quads

# Our source format as YAML, or as JSON with the same keys (JSON is YAML).
YAML_TYPES = {SOURCE_YAML.media_type, *SOURCE_YAML.synonyms, PLAIN_JSON.media_type}


def read_posted(
    data: bytes,
    mimetype: str,
    graph: str,
    *,
    base_iri: str,
    data_dir: Path | None,
    max_triples: int,
    source: str = "request body",
    places: dict | None = None,
) -> list[ox.Quad]:
    """The quads of a posted body, all in ``graph``; 400 for what cannot be read (a key the source format does not
    have, at any depth, with its line), 413 past ``max_triples``. ``places`` receives where each resource of a
    YAML body is written."""
    if not data.strip():
        raise InputError(f"the {source} is empty")
    if mimetype in YAML_TYPES:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"the {source} is not UTF-8 text") from None
        quads = yaml_quads(parse_yaml(text, load_context(base_iri, data_dir), source=source, places=places), graph)
        if len(quads) > max_triples:
            raise PayloadTooLarge(f"{source}: {len(quads)} triples; the limit is {max_triples}", limit=max_triples)
        return quads
    fmt = by_media_type(mimetype or "")
    if fmt is not None:
        return parse_bytes(data, fmt, source=source, graph=graph, max_triples=max_triples)
    raise UnsupportedMediaType(
        f"cannot read {mimetype or 'a body without Content-Type'}; send YAML (application/yaml), JSON, or RDF ("
        + ", ".join(sorted(f.media_type for f in RDF_FORMATS))
        + ")"
    )
