"""Compile ``data/`` and ``ontology/`` into one RDF dataset: one named graph per source file (``sources.py``), plus a
provenance graph that describes each of them (``facts.py``). The dataset is validated with SHACL before it may
replace the store's content, so invalid data never reaches the store.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox

from . import paths, profile
from .errors import DataFileError, RDFSyntaxError, ShapesInvalid
from .facts import GraphFacts, harvested_quads, provenance
from .rdfio import ascii_ntriples, scope_blank_nodes
from .settings import DEFAULT_BASE_IRI, Settings
from .sourceformat import Place
from .sources import SourceFile, discover_sources, load_context, read_source
from .validate import ResultRow, ValidationReport, nquads_text, validate_text


@dataclass
class BuildResult:
    files: int
    quads: int
    graphs: list[str]
    report: ValidationReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    written: bool = False


@dataclass(frozen=True)
class TextPart:
    """Where one named graph's triples lie in the N-Triples text of :meth:`DatasetStream.compile_text`."""

    graph: str
    start: int
    end: int
    source: str  # the file, for error messages
    raw: bool = False  # the file's own text, not yet read by a parser


def compile_dataset(
    settings: Settings,
    sources: list[SourceFile] | None = None,
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

    def __init__(
        self,
        settings: Settings,
        sources: list[SourceFile] | None = None,
        progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None,
        extra: Iterable[ox.Quad] = (),
    ) -> None:
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
                    "described in one file only (a copied file needs an id of its own)"
                )
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


def build_dataset(
    store,
    settings: Settings,
    *,
    sources: list[SourceFile] | None = None,
    engine: str | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] | None = None,
    dry_run: bool = False,
) -> BuildResult:
    """Compile, validate and (if it conforms) write the dataset to ``store``; raise ShapesInvalid otherwise.

    Harvested graphs already in the store are kept and validated together with the rebuilt sources.
    """
    t0 = time.perf_counter()
    stream = DatasetStream(settings, sources, progress, harvested_quads(store, settings.base_iri))
    text, parts = stream.compile_text()
    if stream.foreign:
        report = ValidationReport(stream.foreign, engine="harvest-profile")
        raise ShapesInvalid(
            f"bulk RDF files do not fit the harvest profile ({report.violation_count} violations: "
            "literals valid for their datatypes, absolute IRIs, bounded sizes, none of our own "
            "graphs); the store is unchanged",
            report,
        )
    t1 = time.perf_counter()
    result = BuildResult(
        files=len(stream.sources),
        quads=stream.quads,
        graphs=sorted([*stream.facts, f"{settings.base_iri}graph/provenance"]),
    )
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
            result.report = validate_text(
                handed.pop(), engine=engine or settings.shacl_engine, base=settings.base_iri
            ).located(stream.places)
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
    result.seconds = {
        "compile": t1 - t0,
        "validate": t2 - t1,
        "write aside (wait)": t3 - t2,
        "switch": time.perf_counter() - t3,
    }
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
                collections.deque(ox.parse(text[part.start : part.end], format=ox.RdfFormat.N_TRIPLES), maxlen=0)
            except SyntaxError as e:
                raise RDFSyntaxError(f"{part.source}: N-Triples syntax error: {e}") from None
