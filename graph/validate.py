"""Validate RDF against the SHACL shapes in ``ontology/shapes.ttl``.

pySHACL is the reference engine; pyshacl-turbo (same API, native code) is the default for speed, and the tests
check that both give the same results on the real data. The data is validated merged with the ontology and the
SKOS schemes in ONE data graph: passing the schemes as ``ont_graph`` instead makes ``sh:class`` checks fail on
concepts.

The report is read with pyoxigraph, not rdflib: with 10k warnings (the 100k-triple benchmark data) turning the
report into an rdflib graph took 10 s against 2.2 s for the validation itself.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

import pyoxigraph as ox
import rdflib

from . import paths
from .errors import ConfigError
from .formats import TURTLE
from .prefixes import curie, used_in
from .rdfio import ascii_ntriples, parse_bytes
from .settings import DEFAULT_BASE_IRI, rebase_text
from .sourceformat import Place

log = logging.getLogger(__name__)
SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DETAIL = SH + "detail"
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class ResultRow:
    focus: str
    path: str
    severity: str  # Violation, Warning or Info
    message: str
    shape: str
    value: str = ""
    node: str = ""  # the sh:ValidationResult node in the report


@dataclass
class ValidationReport:
    """The results of a validation, each once, and where each lies in the source files when that is known.

    ``places`` maps the IRI of a resource to where it is written (``sourceformat.Place``: the file, the line of
    the resource and of each of its keys); the build and the CLI fill it from the files they read, ``/validate``
    from the posted document. Results are grouped by file for people (:meth:`text`, :meth:`as_json`); a result
    whose resource has no known place is grouped under ``OTHER``.
    """

    results: list[ResultRow]
    report_nt: str = field(repr=False, default="")  # the engine's W3C report graph as N-Triples
    engine: str = "pyshacl"
    places: dict[str, Place] = field(default_factory=dict, repr=False)
    base: str = DEFAULT_BASE_IRI  # shown IRIs are shortened to the part after it

    @cached_property
    def triples(self) -> list[ox.Triple]:
        """The report graph's triples, parsed on first use (only the Turtle report needs them)."""
        return list(ox.parse(self.report_nt, format=ox.RdfFormat.N_TRIPLES)) if self.report_nt else []

    @property
    def violation_count(self) -> int:
        return sum(r.severity == "Violation" for r in self.results)

    @property
    def warning_count(self) -> int:
        return sum(r.severity == "Warning" for r in self.results)

    @property
    def conforms(self) -> bool:
        """True when nothing is a Violation (warnings and infos are allowed)."""
        return self.violation_count == 0

    def located(self, places: dict[str, Place]) -> ValidationReport:
        """The same report, knowing where the given resources are written."""
        return replace(self, places={**self.places, **places})

    def where(self, r: ResultRow) -> tuple[str, int | None]:
        """The file and line behind a result: the line of the key the result is about where it can be told (the
        property's key, or the key the message names), else the line of the resource or nested entry."""
        resource, _, fragment = r.focus.partition("#")
        place = self.places.get(r.focus) or self.places.get(resource)
        if place is None:
            return "", None
        if fragment:  # a nested entry (#budget-1a2b...): the key that holds the entries
            return place.file, place.line_of("#" + fragment.split("-", 1)[0])
        key = _yaml_key(r.message)
        return place.file, place.line_of(*([r.path] if r.path else []), *([key] if key else []))

    def grouped(
        self, severities: Iterable[str] = ("Violation",)
    ) -> list[tuple[str, list[tuple[int | None, ResultRow]]]]:
        """The results of the given severities by file (files in order, ``OTHER`` last), by line within a file."""
        wanted = set(severities)
        files: dict[str, list[tuple[int | None, ResultRow]]] = defaultdict(list)
        for r in self.results:
            if r.severity in wanted:
                file, line = self.where(r)
                files[file or OTHER].append((line, r))
        order = sorted(files, key=lambda f: (f == OTHER, f))
        return [(f, sorted(files[f], key=lambda x: (x[0] or 0, x[1].focus, x[1].path, x[1].message))) for f in order]

    def warning_kinds(self) -> list[tuple[str, int]]:
        """How many warnings of each kind (the YAML key they ask for, else the property), most frequent first."""
        kinds = Counter(
            _yaml_key(r.message) or r.path or _local(r.shape) or "other"
            for r in self.results
            if r.severity == "Warning"
        )
        return sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))

    def short(self, iri: str) -> str:
        return iri[len(self.base) :] if iri.startswith(self.base) else iri

    def line(self, line: int | None, r: ResultRow) -> str:
        """One result as one line of text."""
        at = f"line {line}: " if line else ""
        path = f" {r.path}" if r.path else ""
        value = f" (value: {self.short(r.value)})" if r.value and r.value not in r.message else ""
        return f"{at}{self.short(r.focus)}{path}: {r.message.replace(self.base, '')}{value}"

    def summary(self, *, listed: bool = False) -> str:
        """The closing line: conformance, violations and files, and the warnings counted by kind."""
        files = len({f for f, _ in self.grouped()})
        head = (
            "Conforms: 0 violations"
            if self.conforms
            else f"Does not conform: {_count(self.violation_count, 'violation')} in {_count(files, 'file')}"
        )
        kinds = ", ".join(f"{k} {n}" for k, n in self.warning_kinds())
        warnings = f"; {_count(self.warning_count, 'warning')}" + (f" ({kinds})" if kinds else "")
        hint = "" if listed or not self.warning_count else "; --warnings lists them"
        return f"{head}{warnings}{hint} [{self.engine}]"

    def text(self, *, warnings: bool = False, severities: Iterable[str] | None = None) -> str:
        """The report for people: violations first, each once, grouped by file and ordered by line; the warnings
        only when asked for (``warnings``), grouped the same way; then the summary line."""
        wanted = (
            tuple(severities)
            if severities is not None
            else (("Violation", "Warning", "Info") if warnings else ("Violation",))
        )
        lines = []
        for severity in ("Violation", "Warning", "Info"):
            if severity not in wanted:
                continue
            for file, rows in self.grouped((severity,)):
                lines.append(f"{severity}s in {file}" if file != OTHER else f"{severity}s {OTHER}")
                lines.extend(f"  {self.line(line, r)}" for line, r in rows)
        lines.append(self.summary(listed="Warning" in wanted))
        return "\n".join(lines)

    def as_json(self, severities: Iterable[str] = ("Violation", "Warning", "Info")) -> dict:
        """The report as JSON: the counts, the results grouped by file (each with its line), the warning kinds."""

        def result(line: int | None, r: ResultRow) -> dict:
            return {
                "line": line,
                "focusNode": r.focus,
                "path": r.path,
                "severity": r.severity,
                "message": r.message,
                "value": r.value,
            }

        files = self.grouped(severities)
        return {
            "conforms": self.conforms,
            "violations": self.violation_count,
            "warnings": self.warning_count,
            "files": [
                {"file": None if f == OTHER else f, "results": [result(n, r) for n, r in rows]} for f, rows in files
            ],
            "warningKinds": dict(self.warning_kinds()),
            "summary": self.summary(listed="Warning" in severities),
        }

    def turtle(self) -> str:
        """The W3C validation report graph in Turtle (sh:ValidationReport with its results)."""
        report = ox.BlankNode()
        triples = [
            ox.Triple(report, ox.NamedNode(RDF_TYPE), ox.NamedNode(SH + "ValidationReport")),
            ox.Triple(
                report,
                ox.NamedNode(SH + "conforms"),
                ox.Literal(
                    "true" if self.conforms else "false",
                    datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"),
                ),
            ),
        ]
        kept = {r.node for r in self.results}
        triples += [ox.Triple(report, ox.NamedNode(SH + "result"), _node(n)) for n in sorted(kept)]
        triples += [t for t in self.triples if _key(t.subject) in kept or _key(t.subject) in self._nested(kept)]
        prefixes = used_in((x.value for t in triples for x in t if isinstance(x, ox.NamedNode)), {"sh": SH})
        return bytes(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes) or b"").decode("utf-8")

    @cached_property
    def graph(self) -> rdflib.Graph:
        """The report as an rdflib graph (built on demand)."""
        g = rdflib.Graph()
        g.parse(data=self.turtle(), format="turtle")
        return g

    def _nested(self, nodes: set[str]) -> set[str]:
        """Blank nodes hanging off the given result nodes (complex paths, details)."""
        found: set[str] = set()
        frontier = set(nodes)
        while frontier:
            nxt = {
                _key(t.object)
                for t in self.triples
                if _key(t.subject) in frontier and isinstance(t.object, ox.BlankNode)
            }
            frontier = nxt - found - nodes
            found |= frontier
        return found

    def only_focus(self, nodes: set[str]) -> ValidationReport:
        """The part of the report about the given focus nodes (and the #fragment nodes nested in them)."""
        keep = [r for r in self.results if r.focus in nodes or r.focus.split("#", 1)[0] in nodes]
        return replace(self, results=keep)


OTHER = "(resources not written in a source file)"
_YAML_KEY = re.compile(r"\(YAML keys?: ([a-z_]+)")


def _yaml_key(message: str) -> str:
    """The YAML key a shape's message names: '... (YAML key: start_year)' -> start_year."""
    match = _YAML_KEY.search(message)
    return match.group(1) if match else ""


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1] if iri else ""


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _key(term) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def _node(key: str):
    return ox.BlankNode(key[2:]) if key.startswith("_:") else ox.NamedNode(key)


@lru_cache(maxsize=4)
def shapes_graph(base: str = DEFAULT_BASE_IRI) -> rdflib.Graph:
    """The SHACL shapes; the concepts they name follow the base IRI."""
    g = rdflib.Graph()
    g.parse(data=rebase_text(paths.SHAPES_FILE.read_text(encoding="utf-8"), base), format="turtle")
    return g


@lru_cache(maxsize=4)
def _compiled_turbo_shapes(base: str = DEFAULT_BASE_IRI):
    import pyshacl_turbo

    return pyshacl_turbo.compile_shapes(shapes_graph(base), advanced=True)


@lru_cache(maxsize=4)
def reference_quads(base: str = DEFAULT_BASE_IRI) -> tuple[ox.Quad, ...]:
    """The ontology and the SKOS schemes: what every data graph is validated together with."""
    files = [paths.ONTOLOGY_FILE, *sorted(paths.SCHEMES_DIR.glob("*.ttl"))]
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    # each file declares its own prefixes; Turtle allows repeating them, so the files parse as one document
    return tuple(parse_bytes(rebase_text(text, base).encode("utf-8"), TURTLE, source="ontology"))


def resolve_engine(engine: str) -> str:
    if engine == "auto":
        return "turbo" if importlib.util.find_spec("pyshacl_turbo") else "pyshacl"
    if engine not in ("pyshacl", "turbo"):
        raise ConfigError(f"unknown SHACL engine {engine!r}; use pyshacl, turbo or auto")
    if engine == "turbo" and not importlib.util.find_spec("pyshacl_turbo"):
        raise ConfigError("the turbo SHACL engine needs pyshacl-turbo: pip install pyshacl-turbo")
    return engine


def validate_quads(quads: Iterable[ox.Quad], *, engine: str = "auto", base: str = DEFAULT_BASE_IRI) -> ValidationReport:
    """Validate quads (graph names ignored: all triples form one data graph); ``base``: the data's base IRI."""
    engine = resolve_engine(engine)
    triples = (ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
    if engine == "turbo":
        return validate_text(nquads_text(triples), engine="turbo", base=base)
    buf = io.BytesIO()
    ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in triples), buf, ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    graph.parse(data=buf.getvalue().decode("utf-8"), format="nt")
    return validate_graph(graph, engine="pyshacl", base=base)


def nquads_text(quads: Iterable[ox.Quad]) -> str:
    """The quads' triples as N-Quads text in the default graph: what :func:`validate_text` reads.

    Making this text first lets a caller free the quads before the validation itself (``build_dataset`` does).
    """
    data = ox.serialize((ox.Quad(q.subject, q.predicate, q.object) for q in quads), format=ox.RdfFormat.N_QUADS)
    return ascii_ntriples(data or b"")


def validate_text(text: str, *, engine: str = "auto", base: str = DEFAULT_BASE_IRI) -> ValidationReport:
    """Validate the N-Quads text of :func:`nquads_text`."""
    engine = resolve_engine(engine)
    if engine == "turbo":
        report = _turbo_report(text, base)
        del text  # the caller's copy may still be alive, but not ours: the report is read next
        return ValidationReport(read_results(report), report, "turbo", base=base)
    return validate_quads(ox.parse(text, format=ox.RdfFormat.N_QUADS), engine="pyshacl", base=base)


def validate_graph(data: rdflib.Graph, *, engine: str = "auto", base: str = DEFAULT_BASE_IRI) -> ValidationReport:
    """Validate an rdflib graph."""
    engine = resolve_engine(engine)
    if engine == "turbo":
        parsed = ox.parse(data.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
        report = _turbo_report(nquads_text(parsed), base)
    else:
        import pyshacl

        _, report_graph, _ = pyshacl.validate(
            data,
            shacl_graph=shapes_graph(base),
            inference="none",
            advanced=True,
            allow_warnings=True,
            allow_infos=True,
        )
        report = report_graph.serialize(format="nt", encoding="utf-8").decode("utf-8")
    return ValidationReport(read_results(report), report, engine, base=base)


def _turbo_report(text: str, base: str = DEFAULT_BASE_IRI) -> str:
    """Run pyshacl-turbo on N-Quads text of the default graph and return the report graph as N-Triples.

    The native engine reads N-Quads text, the form pyshacl-turbo itself makes of a pyoxigraph store: writing that
    text straight from the quads skips the in-memory store (at 1M triples 2.2 s instead of 7.8 s, and about
    0.5 GB less). Its public ``validate`` would also decode the report into an rdflib graph, which takes several
    times longer than the validation; the native call returns the report as N-Triples text, which
    :func:`read_results` reads in one pass. If the native interface changes, fall back to the public API on a store.
    """
    compiled = _compiled_turbo_shapes(base)
    try:
        _, report, *_ = compiled._native.validate(
            text,
            "oxigraph-nquads",
            None,
            False,
            100,
            15,
            False,
            True,
            True,
            False,
            [],
            [],
            [],
        )
    except (AttributeError, TypeError, ValueError) as e:
        log.debug("pyshacl-turbo native call unavailable (%s); using the public API", e)
        store = ox.Store()
        store.bulk_load(text, format=ox.RdfFormat.N_QUADS)
        _, graph, _ = compiled.validate(store, allow_warnings=True, allow_infos=True)
        report = graph.serialize(format="nt", encoding="utf-8")
    return report.decode("utf-8") if isinstance(report, bytes) else report


_FIELDS = {
    SH + "focusNode": 0,
    SH + "resultSeverity": 1,
    SH + "resultPath": 2,
    SH + "sourceShape": 3,
    SH + "value": 4,
    SH + "resultMessage": 5,
}


def read_results(report_nt: str) -> list[ResultRow]:
    """The sh:ValidationResult nodes of a report (N-Triples) as rows, each once, sorted by focus node, severity,
    path and message.

    A result that only details another (``sh:detail``, e.g. why a value fails an ``sh:node`` shape) is not a row
    of its own, and results that say the same thing about the same value (one property shape whose ``sh:class``
    and ``sh:node`` both fail on a wrong code) make one row.

    One pass over the text that keeps only the fields of each result, as strings: at 1M triples of data the report
    holds 920k triples, and keeping them as terms took 1.2 GB and 8 s against 0.3 GB and 5 s this way.
    """
    results: set[str] = set()
    details: set[str] = set()
    fields: dict[str, list] = {}
    for t in ox.parse(report_nt, format=ox.RdfFormat.N_TRIPLES):
        predicate = t.predicate.value
        i = _FIELDS.get(predicate)
        if i is None:
            if predicate == RDF_TYPE and t.object.value == SH + "ValidationResult":
                results.add(_key(t.subject))
            elif predicate == DETAIL:
                details.add(_key(t.object))
            continue
        slot = fields.get(node := _key(t.subject))
        if slot is None:
            slot = fields[node] = ["", "", "", "", "", []]
        o = t.object
        if i == 5:
            slot[5].append(o.value)
        elif not slot[i]:
            slot[i] = (
                _key(o)
                if i == 0
                else o.value
                if i in (1, 4)
                else _short(o)
                if i == 2
                else o.value
                if isinstance(o, ox.NamedNode)
                else ""
            )
    rows: dict[tuple, ResultRow] = {}
    for node in sorted(results - details):
        focus, severity, path, shape, value, messages = fields.get(node) or ["", "", "", "", "", []]
        row = ResultRow(
            focus=focus,
            path=path,
            severity=(severity or SH + "Violation").rsplit("#", 1)[-1],
            message=min(messages) if messages else "constraint not met",
            shape=shape,
            value=value,
            node=node,
        )
        rows.setdefault((row.focus, row.path, row.severity, row.message, row.value), row)
    return sorted(rows.values(), key=lambda r: (r.focus, SEVERITY_ORDER.get(r.severity, 3), r.path, r.message, r.value))


def _short(term) -> str:
    if isinstance(term, ox.NamedNode):
        short = curie(term.value)
        return short if short != term.value else f"<{term.value}>"
    return "(complex path)"
