"""Compile ``data/`` and ``ontology/`` into one RDF dataset: one named graph per source file, plus a
provenance graph that describes each of them. The dataset is validated with SHACL before it may replace the
store's content, so invalid data never reaches the store.

Source files:
- ``ontology/*.ttl`` and ``ontology/schemes/*.ttl``: Turtle.
- ``data/**/*.yaml``: our editable format, turned into RDF through ``data/context.jsonld`` (JSON-LD 1.1).
- ``data/**/*.{ttl,nt,nq,trig}``: RDF as it is (for bulk or generated data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
import yaml
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from . import paths
from .errors import DataFileError, ShapesInvalid
from .rdfio import guess_format, parse_file
from .settings import DEFAULT_BASE_IRI, Settings, rebase_iri, rebase_text
from .validate import ValidationReport, nquads_text, validate_text
from .vocab import N2M, SCHEMA, VOID

ONTOLOGY_NS = str(N2M._NS)

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

    def graph_iri(self, base: str) -> str:
        """``{base}graph/practices/x`` for data files, ``{base}graph/ontology/next2met`` for the ontology."""
        return f"{base}graph/{self.path.relative_to(self.root).as_posix().rsplit('.', 1)[0]}"


@dataclass
class BuildResult:
    files: int
    quads: int
    graphs: list[str]
    report: ValidationReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    written: bool = False


def discover_sources(data_dir: Path = paths.DATA_DIR, ontology_dir: Path = paths.ONTOLOGY_DIR) -> list[SourceFile]:
    """All source files, in a stable order: the ontology, the schemes, the shapes, then the data."""
    root = ontology_dir.parent
    found = sorted(ontology_dir.glob("*.ttl")) + sorted((ontology_dir / "schemes").glob("*.ttl"))
    data_files = [
        p for p in sorted(data_dir.rglob("*"))
        if p.is_file() and (p.suffix in (".yaml", ".yml") or guess_format(p) is not None)
        and p.name != paths.CONTEXT_FILE.name
    ]
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
    if isinstance(value, int | float):
        return str(value)
    return value


def read_yaml(path: Path, context: dict) -> rdflib.Graph:
    """Parse one YAML source file into an rdflib graph through the JSON-LD context."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(f"{path}: cannot read: {e}") from None
    return parse_yaml(text, context, source=str(path))


def parse_yaml(text: str, context: dict, *, source: str = "input") -> rdflib.Graph:
    """Parse YAML (or JSON, which is YAML) in our source format into an rdflib graph."""
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise DataFileError(f"{source}: YAML error at {where}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise DataFileError(f"{source}: cannot read: {e}") from None
    if doc is None:
        raise DataFileError(f"{source}: the file is empty")
    nodes = doc if isinstance(doc, list) else [doc]
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise DataFileError(f"{source}: item {i + 1} is not a mapping with an 'id'")
        unknown = [k for k in node if k not in context and not str(k).startswith("@")]
        if unknown:
            raise DataFileError(f"{source}: {node['id']}: unknown field(s) {', '.join(map(str, unknown))}")
    g = rdflib.Graph()
    try:
        g.parse(data=json.dumps({"@context": context, "@graph": _plain(nodes)}), format="json-ld")
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
        out.add((mapping.get(s, s), p, mapping.get(o, o)))  # type: ignore[arg-type]
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


def read_source(src: SourceFile, settings: Settings, context: dict) -> list[ox.Quad]:
    """Read one source file into the quads of its named graph."""
    graph = src.graph_iri(settings.base_iri)
    if src.path.suffix in (".yaml", ".yml"):
        return yaml_quads(read_yaml(src.path, context), graph)
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


def provenance(sources: list[SourceFile], per_graph: dict[str, list[ox.Quad]], base: str) -> list[ox.Quad]:
    """Describe each named graph: the file it came from, the web sources of its facts, its size, its date."""
    g = rdflib.Graph()
    build = rdflib.URIRef(f"{base}graph/provenance#build")
    g.add((build, RDF.type, PROV.Activity))
    g.add((build, rdflib.RDFS.label, rdflib.Literal("next2met build", lang="en")))
    for src in sources:
        name = src.graph_iri(base)
        node = rdflib.URIRef(name)
        quads = per_graph.get(name, [])
        g.add((node, RDF.type, PROV.Entity))
        g.add((node, RDF.type, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#Graph")))
        g.add((node, DCTERMS.identifier, rdflib.Literal(src.relative)))
        g.add((node, PROV.wasGeneratedBy, build))
        g.add((node, VOID.triples, rdflib.Literal(len(quads), datatype=XSD.integer)))
        file_node = rdflib.URIRef(f"{base}graph/provenance#file-{src.relative}")
        g.add((node, PROV.wasDerivedFrom, file_node))
        g.add((file_node, RDF.type, PROV.Entity))
        g.add((file_node, DCTERMS.identifier, rdflib.Literal(src.relative)))
        modified = [q.object.value for q in quads if q.predicate.value == str(DCTERMS.modified)]
        if modified:
            g.add((node, DCTERMS.modified, rdflib.Literal(max(modified), datatype=XSD.date)))
        for url in sorted({q.object.value for q in quads if q.predicate.value == str(DCTERMS.source)}):
            g.add((node, DCTERMS.source, rdflib.URIRef(url)))
        subjects = {
            q.subject.value for q in quads
            if isinstance(q.subject, ox.NamedNode) and q.predicate.value == str(RDF.type) and "#" not in q.subject.value
        }
        for s in sorted(subjects):
            g.add((node, DCTERMS.subject, rdflib.URIRef(s)))
    return _rdflib_quads(g, f"{base}graph/provenance")


def compile_dataset(
    settings: Settings, sources: list[SourceFile] | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None,
) -> tuple[list[ox.Quad], dict[str, list[ox.Quad]]]:
    """Read every source file; return all quads and the quads per named graph."""
    sources = discover_sources(settings.data_path) if sources is None else sources
    context = load_context(settings.base_iri, settings.data_path)
    per_graph: dict[str, list[ox.Quad]] = {}
    for src in progress(sources) if progress else sources:
        per_graph[src.graph_iri(settings.base_iri)] = read_source(src, settings, context)
    per_graph[f"{settings.base_iri}graph/provenance"] = provenance(sources, per_graph, settings.base_iri)
    everything = [q for quads in per_graph.values() for q in quads]
    return everything, per_graph


def harvested_quads(store, base: str) -> list[ox.Quad]:
    """The graphs that ``next2met harvest`` added, with their provenance: a rebuild from the sources keeps them."""
    if store is None or store.is_empty():
        return []
    prov = f"{base}graph/provenance"
    rows = store.query(
        f"SELECT ?g WHERE {{ GRAPH <{prov}> {{ ?g <http://www.w3.org/ns/prov#wasGeneratedBy> <{prov}#harvest> }} }}"
    ).rows()
    harvested = {r["g"].value for r in rows}
    kept = [q for g in sorted(harvested) for q in store.quads(g)]
    return kept + [q for q in store.quads(prov) if q.subject.value in harvested]


def build_dataset(
    store, settings: Settings, *, sources: list[SourceFile] | None = None, engine: str | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None, dry_run: bool = False,
) -> BuildResult:
    """Compile, validate and (if it conforms) write the dataset to ``store``; raise ShapesInvalid otherwise.

    Harvested graphs already in the store are kept and validated together with the rebuilt sources.
    """
    t0 = time.perf_counter()
    quads, per_graph = compile_dataset(settings, sources, progress)
    quads += harvested_quads(store, settings.base_iri)
    result = BuildResult(files=len(per_graph) - 1, quads=len(quads), graphs=sorted(per_graph))
    del per_graph
    t1 = time.perf_counter()
    # The text the SHACL engine reads is made first and the quads are written aside (not yet the store's content),
    # so that they can be dropped before the validation, the step that needs most memory (at 1M triples the peak
    # fell from 2.45 GB to 2.07 GB).
    text = nquads_text(quads)
    t_text = time.perf_counter()
    staged = None if dry_run else store.stage_dataset(quads)
    del quads
    t2 = time.perf_counter()
    try:
        result.report = validate_text(text, engine=engine or settings.shacl_engine, base=settings.base_iri)
        del text
        t3 = time.perf_counter()
        if not result.report.conforms:
            raise ShapesInvalid(
                f"the data does not conform to the shapes ({result.report.violation_count} violations); "
                "the store is unchanged",
                result.report,
            )
        if staged is not None:
            staged.commit()
            result.written = True
    finally:
        if staged is not None:
            staged.discard()  # nothing when committed
    result.seconds = {"compile": t1 - t0, "validate": t_text - t1 + t3 - t2,
                      "write": t2 - t_text + time.perf_counter() - t3}
    return result
