"""Compile ``data/`` and ``ontology/`` into one RDF dataset: one named graph per source file, plus a
provenance graph that describes each of them. The dataset is validated with SHACL before it may replace the
store's content, so invalid data never reaches the store.

Source files:
- ``ontology/*.ttl`` and ``ontology/schemes/*.ttl``: Turtle.
- ``data/**/*.yaml``: our editable format, turned into RDF through ``data/context.jsonld`` (JSON-LD 1.1).
- ``data/**/*.{ttl,nt,nq,trig}``: RDF as it is (for bulk or generated data).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import DCTERMS, PROV, RDF

from . import paths, profile, sourceformat
from .errors import DataFileError, RDFSyntaxError, ShapesInvalid
from .rdfio import ascii_ntriples, parse_file, scope_blank_nodes
from .settings import DEFAULT_BASE_IRI, Settings, rebase_iri, rebase_text
from .sourceformat import Place
from .validate import ResultRow, ValidationReport, nquads_text, validate_text
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
    if isinstance(value, int | float):
        return str(value)
    return value


def read_yaml(path: Path, context: dict, *, source: str | None = None,
              places: dict[str, Place] | None = None) -> rdflib.Graph:
    """Parse one YAML source file into an rdflib graph through the JSON-LD context."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(f"{source or path}: cannot read: {e}") from None
    return parse_yaml(text, context, source=source or str(path), places=places)


def parse_yaml(text: str, context: dict, *, source: str = "input",
               places: dict[str, Place] | None = None) -> rdflib.Graph:
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
        out.add((mapping.get(s, s) if isinstance(s, rdflib.BNode) else s, p,
                 mapping.get(o, o) if isinstance(o, rdflib.BNode) else o))
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


def read_source(src: SourceFile, settings: Settings, context: dict,
                places: dict[str, Place] | None = None) -> list[ox.Quad]:
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


@dataclass
class GraphFacts:
    """What the provenance graph says of one named graph, gathered from its quads."""

    triples: int = 0
    modified: str | None = None
    sources: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)  # typed IRIs without a #fragment: the resources described

    @classmethod
    def of(cls, quads: list[ox.Quad]) -> GraphFacts:
        facts = cls(triples=len(quads))
        modified, source, rdf_type = str(DCTERMS.modified), str(DCTERMS.source), str(RDF.type)
        for q in quads:
            p = q.predicate.value
            if p == rdf_type:
                if isinstance(q.subject, ox.NamedNode) and "#" not in q.subject.value:
                    facts.subjects.add(q.subject.value)
            elif p == modified:
                facts.modified = max(facts.modified or "", q.object.value)
            elif p == source:
                facts.sources.add(q.object.value)
        return facts

    @classmethod
    def of_ntriples(cls, data: bytes) -> GraphFacts:
        """The facts of N-Triples text without reading every triple into Python: the statements are counted (a
        line of N-Triples holds at most one) and only the lines that mention the three predicates above are parsed
        (a superset: the parsed triples are checked as in :meth:`of`)."""
        facts = cls.of(list(ox.parse(b"\n".join(_lines_with(data, _FACT_PREDICATES)), format=ox.RdfFormat.N_TRIPLES)))
        facts.triples = _statements(data)
        return facts


_FACT_PREDICATES = tuple(f"<{p}>".encode() for p in (RDF.type, DCTERMS.modified, DCTERMS.source))


def _lines_with(text: bytes, needles: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of ``text`` that contain one of ``needles`` (str.find: at 1M triples a regular expression over the
    whole text took 3 s)."""
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            end = text.find(b"\n", at)
            end = len(text) if end < 0 else end
            yield text[text.rfind(b"\n", 0, at) + 1:end]
            at = text.find(needle, end)


def _statements(text: bytes) -> int:
    """The number of statements of N-Triples text: lines that start with a subject (<iri>, <<triple>>, _:b)."""
    count = text.count(b"\n<") + text.count(b"\n_:") + (text[:1] == b"<" or text[:2] == b"_:")
    if b"\n " in text or b"\n\t" in text or text[:1] in (b" ", b"\t"):
        count += len(re.findall(rb"^[ \t]+(?:<|_:)", text, re.M))
    return count


@dataclass(frozen=True)
class TextPart:
    """Where one named graph's triples lie in the N-Triples text of :meth:`DatasetStream.compile_text`."""

    graph: str
    start: int
    end: int
    source: str  # the file, for error messages
    raw: bool = False  # the file's own text, not yet read by a parser


def provenance(sources: list[SourceFile], facts: dict[str, GraphFacts], base: str) -> list[ox.Quad]:
    """Describe each named graph: the file it came from (and its checksum), the web sources of its facts, its size,
    its date (the write path's one builder, ``changes/provenance.py``)."""
    from .changes.provenance import checksum, describe_activity, describe_graph

    quads = describe_activity(base)
    for src in sources:
        name = src.graph_iri(base)
        try:
            digest = checksum(src.path.read_bytes())
        except OSError as e:
            raise DataFileError(f"{src.relative}: cannot read: {e}") from None
        quads += describe_graph(name, facts.get(name) or GraphFacts(), base, file=src.relative, digest=digest)
    return quads


def compile_dataset(
    settings: Settings, sources: list[SourceFile] | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None,
) -> tuple[list[ox.Quad], dict[str, list[ox.Quad]]]:
    """Read every source file; return all quads and the quads per named graph."""
    per_graph: dict[str, list[ox.Quad]] = {}
    stream = DatasetStream(settings, sources, progress)
    for graph, quads in stream.graphs():
        per_graph[graph] = quads
    everything = [q for quads in per_graph.values() for q in quads]
    return everything, per_graph


class DatasetStream:
    """The dataset compiled one source file at a time, so that no more than one file's quads live in memory.

    :meth:`graphs` yields each file's named graph with its quads (then ``extra`` quads such as harvested graphs, then
    the provenance graph); :meth:`compile_text` makes the N-Triples text that the build validates and stores. Both
    keep the facts of each graph, which the provenance graph needs.
    """

    def __init__(self, settings: Settings, sources: list[SourceFile] | None = None,
                 progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None,
                 extra: Iterable[ox.Quad] = ()) -> None:
        self.settings = settings
        self.sources = discover_sources(settings.data_path) if sources is None else sources
        self.progress = progress
        self.extra = extra
        self.facts: dict[str, GraphFacts] = {}
        self.places: dict[str, Place] = {}  # where each resource of the YAML files is written, by IRI
        self.quads = 0
        self.foreign: list[ResultRow] = []  # findings of the harvest profile on bulk RDF files (compile_text)

    def _read(self, src: SourceFile, context: dict) -> list[ox.Quad]:
        """One file's quads; refuses an ``id`` that another file uses already, naming both files."""
        found: dict[str, Place] = {}
        quads = read_source(src, self.settings, context, found)
        for iri, place in found.items():
            other = self.places.setdefault(iri, place)
            if other is not place:
                raise DataFileError(
                    f"the id {place.ref} is used in two files, {other} and {place}; a resource is "
                    "described in one file only (a copied file needs an id of its own)")
        return quads

    def graphs(self) -> Iterator[tuple[str, list[ox.Quad]]]:
        """(graph name, its quads) for each source file, then the provenance graph."""
        base = self.settings.base_iri
        context = load_context(base, self.settings.data_path)
        for src in self.progress(self.sources) if self.progress else self.sources:
            name = src.graph_iri(base)
            quads = self._read(src, context)
            self.facts[name] = GraphFacts.of(quads)
            self.quads += len(quads)
            yield name, quads
        extra = list(self.extra)
        if extra:
            self.quads += len(extra)
            yield "", extra
        own = provenance(self.sources, self.facts, base)
        self.quads += len(own)
        yield f"{base}graph/provenance", own

    def compile_text(self) -> tuple[str, list[TextPart]]:
        """Every source file as N-Triples (graph names left out) in one text, and where each graph lies in it.

        The text is what the SHACL engine reads, and the store loads each part into its named graph. A ``.nt`` file
        is taken as it is, without reading its triples into Python (at 1M triples that read took 6.5 s and its
        text 3.5 s more); other files are compiled to quads, one at a time, and written out as N-Triples.
        """
        base = self.settings.base_iri
        context = load_context(base, self.settings.data_path)
        chunks: list[str] = []
        parts: list[TextPart] = []
        at = 0

        def add(graph: str, text: str, source: str, raw: bool = False) -> None:
            nonlocal at
            text = ascii_ntriples(text)
            if text and not text.endswith("\n"):
                text += "\n"
            chunks.append(text)
            parts.append(TextPart(graph, at, at + len(text), source, raw))
            at += len(text)

        for src in self.progress(self.sources) if self.progress else self.sources:
            name = src.graph_iri(base)
            raw = _plain_ntriples(src, base)
            bulk = _is_bulk(src)
            if raw is not None:
                if bulk:
                    self.foreign += profile.check_ntriples(raw, source=src.relative)
                self.facts[name] = GraphFacts.of_ntriples(raw)
                self.quads += self.facts[name].triples
                add(name, _decode(raw, src), src.relative, raw=True)
                continue
            quads = self._read(src, context)
            if bulk:
                self.foreign += profile.check(quads, base=base, allowed_graph=name)
            self.facts[name] = GraphFacts.of(quads)
            self.quads += len(quads)
            # a blank node label belongs to its file: in the one text of all files, make it the file's own
            add(name, nquads_text(scope_blank_nodes(quads, f"f{len(parts)}")), src.relative)
        by_graph: dict[str, list[ox.Quad]] = collections.defaultdict(list)
        for q in self.extra:
            by_graph[q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""].append(q)
        for graph, quads in by_graph.items():
            self.quads += len(quads)
            add(graph, nquads_text(quads), "harvested graph")
        own = provenance(self.sources, self.facts, base)
        self.quads += len(own)
        add(f"{base}graph/provenance", nquads_text(own), "provenance")
        return "".join(chunks), parts


def _is_bulk(src: SourceFile) -> bool:
    """An RDF file of the data folder (not our YAML, not the ontology): checked against the harvest profile, since
    it may carry another knowledge base's data (``profile.py``)."""
    return src.path.suffix not in (".yaml", ".yml") and not src.path.is_relative_to(paths.ONTOLOGY_DIR)


def _plain_ntriples(src: SourceFile, base: str) -> bytes | None:
    """The content of an N-Triples source that can go to the store and the SHACL engine as it is: not when its IRIs
    must follow another base, nor with blank nodes (whose labels are scoped to their file)."""
    if src.path.suffix != ".nt" or base != DEFAULT_BASE_IRI:
        return None
    try:
        data = src.path.read_bytes()
    except OSError as e:
        raise DataFileError(f"{src.relative}: cannot read: {e}") from None
    return None if b"_:" in data else data


def _decode(data: bytes, src: SourceFile) -> str:
    try:
        return ascii_ntriples(data)
    except UnicodeDecodeError as e:
        raise RDFSyntaxError(f"{src.relative}: N-Triples must be UTF-8: {e}") from None


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
                places.update(sourceformat.load(src.path.read_text(encoding="utf-8"), context,
                                                source=src.shown).places)
            except (OSError, UnicodeDecodeError, DataFileError):
                continue  # a file changed since the build: its resources keep the place the store knows
    return places


def harvested_quads(store, base: str) -> list[ox.Quad]:
    """The graphs that have no source file (harvested, derived, written under a name of their own), with their
    provenance: a rebuild from the sources keeps them."""
    if store is None or store.is_empty():
        return []
    prov = f"{base}graph/provenance"
    rows = store.query(
        f"SELECT ?g WHERE {{ GRAPH <{prov}> {{ ?g <http://www.w3.org/ns/prov#wasGeneratedBy> ?made }} "
        f"FILTER (?made != <{prov}#build>) }}"
    ).rows()
    kept_graphs = {r["g"].value for r in rows}
    kept = [q for g in sorted(kept_graphs) for q in store.quads(g)]
    made = {q.object.value for q in store.quads(prov) if q.subject.value in kept_graphs
            and q.predicate.value == "http://www.w3.org/ns/prov#wasGeneratedBy"}
    return kept + [q for q in store.quads(prov) if q.subject.value in kept_graphs | made]


def build_dataset(
    store, settings: Settings, *, sources: list[SourceFile] | None = None, engine: str | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None, dry_run: bool = False,
) -> BuildResult:
    """Compile, validate and (if it conforms) write the dataset to ``store``; raise ShapesInvalid otherwise.

    Harvested graphs already in the store are kept and validated together with the rebuilt sources.
    """
    t0 = time.perf_counter()
    stream = DatasetStream(settings, sources, progress, harvested_quads(store, settings.base_iri))
    text, parts = stream.compile_text()
    if stream.foreign:
        report = ValidationReport(stream.foreign, engine="harvest-profile")
        raise ShapesInvalid(f"bulk RDF files do not fit the harvest profile ({report.violation_count} violations: "
                            "literals valid for their datatypes, absolute IRIs, bounded sizes, none of our own "
                            "graphs); the store is unchanged", report)
    t1 = time.perf_counter()
    result = BuildResult(files=len(stream.sources), quads=stream.quads, graphs=sorted(
        [*stream.facts, f"{settings.base_iri}graph/provenance"]))
    # The store writes the new dataset aside (not yet its content) while the SHACL engine validates the same text:
    # both are native code that lets go of the GIL, so on two cores the write costs no wall time (1M triples: about
    # 10 s of the build). The text is held in ``box`` only until the writer is done with it, so that the report is
    # read after it is freed.
    box, handed = [text], [text]
    del text
    staging = _Staging(store, box, parts) if not dry_run else None
    if dry_run:
        _check_syntax(box.pop(), parts)
    try:
        try:
            result.report = validate_text(handed.pop(), engine=engine or settings.shacl_engine,
                                          base=settings.base_iri).located(stream.places)
        except Exception:
            if staging is not None:
                staging.wait()  # a syntax error found by the store names its file: prefer it to the engine's
            raise
        t2 = time.perf_counter()
        staged = staging.wait() if staging is not None else None
        t3 = time.perf_counter()
        if not result.report.conforms:
            raise ShapesInvalid(
                f"the data does not conform to the shapes ({result.report.violation_count} violation(s)); "
                "the store is unchanged",
                result.report,
            )
        if staged is not None:
            staged.commit()
            result.written = True
    finally:
        if staging is not None:
            staging.discard()  # nothing when committed
    result.seconds = {"compile": t1 - t0, "validate": t2 - t1, "write aside (wait)": t3 - t2,
                      "switch": time.perf_counter() - t3}
    return result


class _Staging:
    """The store writing the dataset aside in a thread of its own."""

    def __init__(self, store, box: list[str], parts: list[TextPart]) -> None:
        self.box, self.staged = box, None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(store, parts), name="next2met-stage", daemon=True)
        self.thread.start()

    def _run(self, store, parts) -> None:
        try:
            self.staged = store.stage_text(self.box[0], parts)
        except BaseException as e:  # noqa: BLE001 (handed to the main thread by wait())
            self.error = e
        finally:
            self.box.clear()

    def wait(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.staged

    def discard(self) -> None:
        self.thread.join()
        if self.staged is not None:
            self.staged.discard()


def _check_syntax(text: str, parts: list[TextPart]) -> None:
    """Read the files taken as they are (a dry run writes nothing, so no store reads them)."""
    for part in parts:
        if part.raw:
            try:
                collections.deque(ox.parse(text[part.start:part.end], format=ox.RdfFormat.N_TRIPLES), maxlen=0)
            except SyntaxError as e:
                raise RDFSyntaxError(f"{part.source}: N-Triples syntax error: {e}") from None
