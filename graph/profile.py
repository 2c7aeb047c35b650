"""The harvest profile: what RDF from elsewhere must be to load here, whatever its vocabulary.

Our editorial shapes (``ontology/shapes.ttl``) judge our own data: the classes of our ontology and the schemes,
concepts and organisations under our base IRI. Bulk RDF files (``.ttl``, ``.nt``, ``.nq``, ``.trig`` beside the
YAML in ``data/``) and harvested graphs may carry another knowledge base's vocabularies, which are not ours to
judge by our rules; they are checked against this profile instead:

- well-formed (the parser read it) with absolute IRIs of at most ``max_iri`` characters;
- literals valid for their datatypes (``"abc"^^xsd:integer`` is refused; rdflib knows the XSD lexical spaces) and
  of at most ``max_literal`` characters;
- no more than ``max_triples`` triples;
- no triples in our own graphs: the graphs the build compiles from ``data/`` and ``ontology/``, the provenance
  graph and every other graph under ``{base}graph/`` except ``{base}graph/harvested/…``.

Anyone can add rules of their own as SHACL shapes (``next2met harvest --shapes FILE``): they are checked against
the foreign data alone. Every finding is a row of a ``ValidationReport``, so it
is shown like any SHACL report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import rdflib

from .errors import InputError
from .validate import ResultRow, ValidationReport, read_results

XSD = "http://www.w3.org/2001/XMLSchema#"
PROFILE = "https://w3id.org/next2met/harvest-profile#"
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
CHECKED_DATATYPES = {
    f"{XSD}{name}"
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
        "decimal",
        "double",
        "float",
        "boolean",
        "date",
        "dateTime",
        "time",
        "gYear",
        "gYearMonth",
        "duration",
        "hexBinary",
        "base64Binary",
    )
}
MAX_ROWS = 1000  # findings kept in one report (a broken file would otherwise list every triple)


@dataclass(frozen=True)
class Limits:
    max_triples: int = 5_000_000
    max_literal: int = 100_000  # characters
    max_iri: int = 4096


def is_own_graph(graph: str, base: str) -> bool:
    """A graph of ours: anything under ``{base}graph/`` except the harvested graphs."""
    return graph.startswith(f"{base}graph/") and not graph.startswith(f"{base}graph/harvested/")


def check(
    quads: Iterable[ox.Quad], *, base: str, allowed_graph: str | None = None, limits: Limits = Limits()
) -> list[ResultRow]:
    """The profile's findings (Violations) on ``quads``: the foreign data of one file or one harvest.

    ``allowed_graph`` is the graph the data goes to (a bulk file's own graph is ours by name, and may hold it)."""
    rows: list[ResultRow] = []
    count = 0
    valid: dict[tuple[str, str], bool] = {}  # (lexical form, datatype) -> valid, checked once each

    def add(focus: str, path: str, message: str, value: str = "") -> None:
        if len(rows) < MAX_ROWS:
            rows.append(ResultRow(focus, path, "Violation", message, PROFILE + "shape", value))

    for q in quads:
        count += 1
        subject = q.subject.value if isinstance(q.subject, ox.NamedNode) else f"_:{q.subject.value}"
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if graph and graph != allowed_graph and is_own_graph(graph, base):
            add(
                subject,
                q.predicate.value,
                f"the graph <{graph}> is one of ours: foreign data cannot write to it",
                graph,
            )
        for term in (q.subject, q.predicate, q.object, q.graph_name):
            if isinstance(term, ox.NamedNode) and (len(term.value) > limits.max_iri or not SCHEME.match(term.value)):
                add(
                    subject,
                    q.predicate.value,
                    f"an IRI must be absolute and at most {limits.max_iri} characters",
                    term.value[:200],
                )
        o = q.object
        if isinstance(o, ox.Literal):
            if len(o.value) > limits.max_literal:
                add(
                    subject,
                    q.predicate.value,
                    f"a literal may hold at most {limits.max_literal} characters (this one has {len(o.value)})",
                    o.value[:80] + "…",
                )
            if not _valid(o, valid):
                add(subject, q.predicate.value, f"{o.value!r} is not a valid {_short(o.datatype.value)}", str(o))
    if count > limits.max_triples:
        add("", "", f"at most {limits.max_triples} triples may be loaded from one source (this one has {count})")
    return rows


TYPED = b"^^<http://www.w3.org/2001/XMLSchema#"


def check_ntriples(data: bytes, *, source: str, limits: Limits = Limits()) -> list[ResultRow]:
    """The profile on an N-Triples file read as it is (the build's fast path, which never makes Python objects of
    all its triples): N-Triples IRIs are absolute by the grammar and the store's loader checks them; here the lines
    with an XSD-typed literal are parsed and checked (each distinct literal once), and the line lengths bounded."""
    rows: list[ResultRow] = []
    seen: dict[tuple[str, str], bool] = {}
    lines, at = [], data.find(TYPED)
    while at >= 0:  # the lines that hold an XSD-typed literal, gathered and parsed at once
        start, end = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
        end = len(data) if end < 0 else end
        lines.append(data[start:end])
        at = data.find(TYPED, end)
    for t in ox.parse(b"\n".join(lines), format=ox.RdfFormat.N_TRIPLES) if lines else ():
        o = t.object
        if isinstance(o, ox.Literal) and not _valid(o, seen) and len(rows) < MAX_ROWS:
            where = data.find(str(o).encode())
            line = data.count(b"\n", 0, where) + 1 if where >= 0 else "?"
            rows.append(
                ResultRow(
                    f"{source}, line {line}",
                    t.predicate.value,
                    "Violation",
                    f"{o.value!r} is not a valid {_short(o.datatype.value)}",
                    PROFILE + "shape",
                    str(o),
                )
            )
    if _longest_line(data) > limits.max_literal + limits.max_iri * 3:
        rows.append(
            ResultRow(
                source,
                "",
                "Violation",
                f"a line is longer than a triple may be (literals at most "
                f"{limits.max_literal} characters, IRIs {limits.max_iri})",
                PROFILE + "shape",
            )
        )
    return rows


def _longest_line(data: bytes, chunk: int = 1 << 24) -> int:
    """The length of the longest line, a chunk of lines at a time (a regular expression took seconds)."""
    longest, start = 0, 0
    while start < len(data):
        end = data.find(b"\n", min(start + chunk, len(data)))
        end = len(data) if end < 0 else end
        longest = max(longest, max(map(len, data[start:end].split(b"\n"))))
        start = end + 1
    return longest


def _valid(literal: ox.Literal, seen: dict[tuple[str, str], bool]) -> bool:
    """Whether a literal's lexical form is in its datatype's lexical space (XSD types rdflib knows; others pass)."""
    datatype = literal.datatype.value
    if datatype not in CHECKED_DATATYPES:
        return True
    key = (literal.value, datatype)
    if key not in seen:
        quiet = logging.getLogger("rdflib.term")
        level, quiet.level = quiet.level, logging.CRITICAL  # rdflib logs a traceback for each ill-typed literal
        try:
            seen[key] = not rdflib.Literal(literal.value, datatype=rdflib.URIRef(datatype)).ill_typed
        finally:
            quiet.level = level
    return seen[key]


def check_shapes(quads: Iterable[ox.Quad], shapes: Path) -> list[ResultRow]:
    """The findings of the user's own SHACL shapes (``--shapes FILE``) on the foreign data alone."""
    import pyshacl

    try:
        shapes_graph = rdflib.Graph().parse(str(shapes))
    except Exception as e:
        raise InputError(f"{shapes}: cannot read the shapes: {e}") from None
    data = rdflib.Graph()
    data.parse(
        data=ox.serialize(
            (ox.Triple(q.subject, q.predicate, q.object) for q in quads), format=ox.RdfFormat.N_TRIPLES
        ).decode("utf-8"),
        format="nt",
    )
    _, report, _ = pyshacl.validate(
        data, shacl_graph=shapes_graph, inference="none", advanced=True, allow_warnings=True, allow_infos=True
    )
    return read_results(report.serialize(format="nt", encoding="utf-8").decode("utf-8"))


def report(
    quads: list[ox.Quad],
    *,
    base: str,
    allowed_graph: str | None = None,
    shapes: Path | None = None,
    limits: Limits = Limits(),
) -> ValidationReport:
    """The profile's findings and those of the user's shapes, as one report."""
    rows = check(quads, base=base, allowed_graph=allowed_graph, limits=limits)
    if shapes is not None:
        rows += check_shapes(quads, shapes)
    return ValidationReport(rows, engine="harvest-profile")


def _short(iri: str) -> str:
    return "xsd:" + iri[len(XSD) :] if iri.startswith(XSD) else f"<{iri}>"
