"""The source files of the dataset and how each becomes RDF: which files there are (the ontology, the schemes, the
data), the JSON-LD context of the YAML format, and one file read into the quads of its named graph.

Source files:
- ``ontology/*.ttl`` and ``ontology/schemes/*.ttl``: Turtle.
- ``data/**/*.yaml``: our editable format, turned into RDF through ``data/context.jsonld`` (JSON-LD 1.1), checked by
  ``sourceformat`` first.
- ``data/**/*.{ttl,nt,nq,trig}``: RDF as it is (for bulk or generated data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import DCTERMS, PROV, RDF

from . import paths, sourceformat
from .errors import DataFileError
from .rdfio import parse_file
from .settings import DEFAULT_BASE_IRI, Settings, rebase_iri, rebase_text
from .sourceformat import Place
from .vocab import N2M, SCHEMA

# Nested YAML nodes become blank nodes without a type; the build types them from the property that holds them.
NESTED_TYPES = {
    N2M.budget: SCHEMA.MonetaryAmount,
    N2M.successIndicator: N2M.Indicator,
    N2M.milestone: N2M.Milestone,
    PROV.qualifiedAttribution: N2M.StakeholderInvolvement,
}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    root: Path  # the folder the graph name is relative to: data/ for data, the package root for ontology/

    @property
    def relative(self) -> str:
        """The path as people see it in the repository: ``data/practices/x.yaml``, ``ontology/next2met.ttl``."""
        if self.root.name == "data":
            return "data/" + self.path.relative_to(self.root).as_posix()
        return self.path.relative_to(self.root).as_posix()

    @property
    def shown(self) -> str:
        """The path for messages: as in the repository, or as given for a data folder of another name."""
        return self.relative if self.root.name == "data" else str(self.path)

    def graph_iri(self, base: str) -> str:
        """``{base}graph/practices/x`` for data files, ``{base}graph/ontology/next2met`` for the ontology."""
        return f"{base}graph/{self.path.relative_to(self.root).as_posix().rsplit('.', 1)[0]}"


def discover_sources(data_dir: Path = paths.DATA_DIR, ontology_dir: Path = paths.ONTOLOGY_DIR) -> list[SourceFile]:
    """All source files, in a stable order: the ontology, the schemes, the shapes, then the data."""
    root = ontology_dir.parent
    found = sorted(ontology_dir.glob("*.ttl")) + sorted((ontology_dir / "schemes").glob("*.ttl"))
    from .changes.files import is_source

    data_files = [p for p in sorted(data_dir.rglob("*")) if is_source(p, data_dir)]
    return [SourceFile(p, root) for p in found] + [SourceFile(p, data_dir) for p in data_files]


def load_context(base: str, data_dir: Path | None = None) -> dict:
    """The JSON-LD context of the YAML format, with our base IRI substituted when it is not the default."""
    own = data_dir / paths.CONTEXT_FILE.name if data_dir else None
    text = (own if own and own.is_file() else paths.CONTEXT_FILE).read_text(encoding="utf-8")
    if base != DEFAULT_BASE_IRI:
        text = rebase_text(text, base)
    return json.loads(text)["@context"]


def _plain(value: object) -> object:
    """Turn YAML values into what the JSON-LD context expects: dates and numbers as their lexical form."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return _decimal_text(value)
    if isinstance(value, int):
        return str(value)
    return value


def _decimal_text(value: float) -> str:
    """A YAML number with a point as the canonical lexical form of the decimal it is (``1358584.00`` is
    "1358584", ``0.50`` is "0.5", ``1e-7`` is "0.0000001"): the form the store keeps, so that what the build
    compiles and what the store holds are the same literal. Infinity and NaN stay as YAML read them (the shapes
    refuse them as decimals)."""
    if not math.isfinite(value):
        return str(value)
    text = format(Decimal(repr(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def read_yaml(
    path: Path, context: dict, *, source: str | None = None, places: dict[str, Place] | None = None
) -> rdflib.Graph:
    """Parse one YAML source file into an rdflib graph through the JSON-LD context."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(f"{source or path}: cannot read: {e}") from None
    return parse_yaml(text, context, source=source or str(path), places=places)


def parse_yaml(
    text: str, context: dict, *, source: str = "input", places: dict[str, Place] | None = None
) -> rdflib.Graph:
    """Parse YAML (or JSON, which is YAML) in our source format into an rdflib graph.

    The document is checked first (``sourceformat.load``): a key the format cannot hold, at any depth, is refused
    with its line rather than dropped. ``places``, when given, receives where each resource is written.
    """
    doc = sourceformat.load(text, context, source=source)
    if places is not None:
        places.update(doc.places)
    g = rdflib.Graph()
    try:
        g.parse(data=json.dumps({"@context": context, "@graph": _plain(doc.items)}), format="json-ld")
    except Exception as e:  # the JSON-LD processor raises plain exceptions for context errors
        raise DataFileError(f"{source}: cannot map to RDF: {e}") from None
    return g


def yaml_quads(g: rdflib.Graph, graph: str) -> list[ox.Quad]:
    """Finish a graph read from YAML (types of nested nodes, stable IRIs) and put it in the named graph."""
    type_nested_nodes(g)
    return _rdflib_quads(skolemize(g), graph)


def type_nested_nodes(g: rdflib.Graph) -> None:
    """Give the blank nodes of nested YAML mappings the class their property implies."""
    for prop, cls in NESTED_TYPES.items():
        for node in list(g.objects(None, prop)):
            if isinstance(node, rdflib.BNode):
                g.add((node, RDF.type, cls))


def skolemize(g: rdflib.Graph) -> rdflib.Graph:
    """Replace blank nodes by stable IRIs ``{parent}#{property}-{hash of content}``.

    Stable IRIs keep dumps byte-identical between builds (harvesters re-import only on change), make each
    nested node addressable, and let the change feed say exactly what changed.
    """
    mapping: dict[rdflib.BNode, rdflib.URIRef] = {}
    for s, p, o in g:
        if isinstance(o, rdflib.BNode) and isinstance(s, rdflib.URIRef) and o not in mapping:
            content = sorted(
                f"{pp.n3()} {oo.n3() if not isinstance(oo, rdflib.BNode) else '[]'}"
                for pp, oo in g.predicate_objects(o)
            )
            digest = hashlib.sha1("\n".join(content).encode()).hexdigest()[:10]
            local = str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            mapping[o] = rdflib.URIRef(f"{s}#{local}-{digest}")
    if not mapping:
        return g
    out = rdflib.Graph()
    for s, p, o in g:
        out.add(
            (
                mapping.get(s, s) if isinstance(s, rdflib.BNode) else s,
                p,
                mapping.get(o, o) if isinstance(o, rdflib.BNode) else o,
            )
        )
    return out


def rebase(g: rdflib.Graph, base: str) -> rdflib.Graph:
    """Move IRIs under the default base to the configured base (our ontology namespace stays)."""
    if base == DEFAULT_BASE_IRI:
        return g

    def move(t):
        return rdflib.URIRef(rebase_iri(str(t), base)) if isinstance(t, rdflib.URIRef) else t

    out = rdflib.Graph()
    for s, p, o in g:
        out.add((move(s), p, move(o)))
    return out


def read_source(
    src: SourceFile, settings: Settings, context: dict, places: dict[str, Place] | None = None
) -> list[ox.Quad]:
    """Read one source file into the quads of its named graph (``places``: see :func:`parse_yaml`)."""
    graph = src.graph_iri(settings.base_iri)
    if src.path.suffix in (".yaml", ".yml"):
        return yaml_quads(read_yaml(src.path, context, source=src.shown, places=places), graph)
    quads = parse_file(src.path, graph=graph)
    if settings.base_iri != DEFAULT_BASE_IRI:
        g = rebase(_to_rdflib(quads), settings.base_iri)
        return _rdflib_quads(g, graph)
    return quads


def _to_rdflib(quads: list[ox.Quad]) -> rdflib.Graph:
    from .rdfio import quads_to_rdflib

    return quads_to_rdflib(quads)


def _rdflib_quads(g: rdflib.Graph, graph: str) -> list[ox.Quad]:
    from .rdfio import rdflib_to_quads

    return rdflib_to_quads(g, graph)


def source_places(settings: Settings, store=None) -> dict[str, Place]:
    """Where each resource of the data is written, for a report on data already built: the file of every typed
    resource from the store's provenance graph, and the line from the YAML files of the data folder."""
    places: dict[str, Place] = {}
    if store is not None:
        prov = f"{settings.base_iri}graph/provenance"
        rows = store.query(
            f"SELECT ?s ?file WHERE {{ GRAPH <{prov}> {{ ?g <{DCTERMS.subject}> ?s ; <{DCTERMS.identifier}> ?file }} }}"
        ).rows()
        places = {r["s"].value: Place(r["file"].value) for r in rows}
    context = load_context(settings.base_iri, settings.data_path)
    for src in discover_sources(settings.data_path):
        if src.path.suffix in (".yaml", ".yml"):
            try:
                places.update(sourceformat.load(src.path.read_text(encoding="utf-8"), context, source=src.shown).places)
            except (OSError, UnicodeDecodeError, DataFileError):
                continue  # a file changed since the build: its resources keep the place the store knows
    return places
