"""What a worker does with one job: check and run a user query (or update) and write the answer.

Runs inside the worker processes of ``workers.py``. A query's answer is serialised here, cut at the row cap, so
the server only passes bytes on; an update is applied to an in-memory copy, and the server gets back the named
graphs it changed, to validate them before anything is written.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from next2met.graph import errors
from next2met.graph.errors import KGError, NotAcceptable, QuerySyntaxError
from next2met.graph.sparqltext import has_dataset_clause, syntax_error
from next2met.graph.store import OxigraphStore, Result, Store, result_kind

from . import guard
from .negotiation import BY_KEY, kind_name, offered

if TYPE_CHECKING:
    from next2met.graph.validate import ValidationReport


@dataclass(frozen=True)
class QueryJob:
    sparql: str
    formats: dict[str, str]  # query form -> format key, for the forms the client accepts
    max_rows: int
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    prefixes: dict[str, str] = field(default_factory=dict)
    allowlist: tuple[str, ...] = ()
    snapshot: str | None = None  # set by the pool
    release: str | None = None  # the store folder of a release: answer from it, as it was (never copied to memory)


@dataclass(frozen=True)
class UpdateJob:
    sparql: str
    using: tuple[str, ...] = ()
    using_named: tuple[str, ...] = ()
    base_iri: str | None = None
    snapshot: str | None = None


@dataclass(frozen=True)
class ValidateJob:
    """Posted data to check against the shapes together with the stored data (``/validate``)."""

    data: bytes
    mimetype: str
    base_iri: str
    data_dir: str
    engine: str
    max_triples: int
    snapshot: str | None = None


@dataclass(frozen=True)
class Answer:
    kind: str  # select, ask or graph
    format: str  # key in negotiation.BY_KEY
    body: bytes
    truncated: bool = False
    timings: tuple[tuple[str, float], ...] = ()  # (step, ms) inside the worker, for the Server-Timing header
    store: str = ""  # what answered: "memory" (the worker's copy of the data), "disk" or "remote"
    copying: bool = False  # the worker is making its copy of the data in memory meanwhile


@dataclass(frozen=True)
class UpdateAnswer:
    changed: tuple[str, ...]  # named graphs whose content differs after the update
    nquads: bytes  # the new content of those graphs


def position(e: KGError) -> dict[str, int]:
    """Line and column of a syntax error, from pyoxigraph's "error at LINE:COLUMN" message."""
    match = re.search(r"\bat (\d+):(\d+)", e.detail) if isinstance(e, QuerySyntaxError) else None
    return {"line": int(match.group(1)), "column": int(match.group(2))} if match else {}


def shorten(e: KGError) -> str:
    """The parser's message, without the tail of a very long list of expected characters."""
    detail = " ".join(e.detail.split())
    return detail if len(detail) <= 400 else detail[:400] + " …"


def run_query(store: Store, job: QueryJob) -> Answer:
    """Check, run and serialise one query, keeping at most ``max_rows`` rows or triples."""
    t0 = time.perf_counter()
    guard.check_query(job.sparql, job.allowlist)
    t1 = time.perf_counter()
    if job.default_graph is None and job.named_graphs is None and has_dataset_clause(job.sparql):
        result = _query_own_dataset(store, job)
    else:
        result = store.query(
            job.sparql,
            base_iri=job.base_iri,
            default_graph=list(job.default_graph) if job.default_graph is not None else None,
            named_graphs=list(job.named_graphs) if job.named_graphs is not None else None,
        )
    kind = result.kind
    if kind not in job.formats:
        raise NotAcceptable(
            f"the query is a {kind_name(kind)} query and the Accept header allows none of its types; on offer: "
            + ", ".join(offered(kind)),
            offered=offered(kind),
        )
    fmt = BY_KEY[job.formats[kind]]
    truncated = False
    if kind == "ask":
        t2 = time.perf_counter()
        body = result.value.serialize(format=fmt.ox_format)
    elif kind == "select":  # a row without columns is an empty line: counted and read back like any other
        body, truncated = _write_lines(result.value, ox.QueryResultsFormat.TSV, job.max_rows, header=1)
        t2 = time.perf_counter()
        if fmt.ox_format != ox.QueryResultsFormat.TSV:
            body = ox.parse_query_results(body, ox.QueryResultsFormat.TSV).serialize(format=fmt.ox_format)
    elif isinstance(result.value, ox.QueryTriples):  # the embedded store's answer (a remote one is parsed already)
        body, truncated = _write_lines(result.value, ox.RdfFormat.N_TRIPLES, job.max_rows, header=0)
        t2 = time.perf_counter()
        if fmt.ox_format != ox.RdfFormat.N_TRIPLES:
            body = fmt.write_triples(ox.parse(body, format=ox.RdfFormat.N_TRIPLES), prefixes=job.prefixes)
    else:
        triples = list(itertools.islice(result.triples(), job.max_rows + 1))
        t2 = time.perf_counter()
        truncated = len(triples) > job.max_rows
        body = fmt.write_triples(triples[: job.max_rows], prefixes=job.prefixes)
    truncated = truncated or result.truncated  # a remote store may have cut its answer itself
    t3 = time.perf_counter()
    timings = (("check", (t1 - t0) * 1000), ("query", (t2 - t1) * 1000), ("serialise", (t3 - t2) * 1000))
    return Answer(kind, fmt.key, _bytes(body), truncated, timings)


class _RowCap(Exception):
    """Raised into pyoxigraph's writer to stop it (and the query's evaluation) past the row cap."""


class _Lines:
    """Where pyoxigraph writes an answer in a line-based format (TSV for solutions, N-Triples for triples: both
    escape line breaks and tabs in values), stopping the writer once more than ``limit`` lines are written."""

    def __init__(self, limit: int) -> None:
        self.limit, self.lines = limit, 0
        self.parts: list[bytes] = []

    def write(self, chunk) -> int:
        data = bytes(chunk)
        self.parts.append(data)
        self.lines += data.count(b"\n")
        if self.lines > self.limit:
            raise _RowCap
        return len(data)

    def flush(self) -> None:
        pass


def _write_lines(value, fmt, cap: int, header: int) -> tuple[bytes, bool]:
    """The answer ``value`` written by pyoxigraph in the line-based format ``fmt`` (``header`` lines, then one line
    a row or triple), at most ``cap`` rows, and whether rows were left out. pyoxigraph's own writer does the work,
    and the text is read back into the format asked for: iterating in Python and writing SPARQL JSON by hand cost
    more than the query's evaluation on big answers (1M quads, 9,486 rows: 160-250 ms against 60-90 ms). Both
    formats keep every term exactly (they write terms as N-Triples does)."""
    sink = _Lines(cap + header)
    try:
        value.serialize(sink, format=fmt)
    except _RowCap:
        kept = b"".join(sink.parts).split(b"\n", cap + header)[: cap + header]
        return b"\n".join(kept) + b"\n", True
    return b"".join(sink.parts), False


def _bytes(body: bytes | None) -> bytes:
    assert body is not None  # pyoxigraph returns the bytes when given no output file
    return body


def _query_own_dataset(store: Store, job: QueryJob) -> Result:
    """Run a query with FROM / FROM NAMED on the dataset it names.

    The store answers with the union default graph, which in pyoxigraph overrides FROM; the embedded store's
    pyoxigraph object is asked directly instead. A remote store applies FROM itself.
    """
    if not isinstance(store, OxigraphStore):
        return store.query(job.sparql, base_iri=job.base_iri)
    try:
        value = store.store.query(job.sparql, base_iri=job.base_iri)
    except SyntaxError as e:
        raise syntax_error(e, job.sparql) from None
    return Result(result_kind(value), value)


def run_update(store: Store, job: UpdateJob) -> UpdateAnswer:
    """Apply an update to an in-memory copy of the data and report the named graphs it changed."""
    operations = guard.check_update(job.sparql)
    text = guard.with_protocol_dataset(job.sparql, operations, list(job.using), list(job.using_named))
    before: dict[str, set] = defaultdict(set)
    copy = ox.Store()
    quads = list(store.quads())
    for q in quads:
        before[_graph_key(q.graph_name)].add(q)
    copy.bulk_extend(quads)
    try:
        copy.update(text, base_iri=job.base_iri)
    except SyntaxError as e:
        raise syntax_error(e, text) from None
    after: dict[str, set] = defaultdict(set)
    for q in copy:
        after[_graph_key(q.graph_name)].add(q)
    changed = sorted(g for g in set(before) | set(after) if before.get(g, set()) != after.get(g, set()))
    if "" in changed:
        raise errors.InputError(
            "the update writes to the default graph; here the default graph is the union of the named graphs, "
            "so write into a named graph (GRAPH <...> { ... })"
        )
    new = [q for g in changed for q in after.get(g, ())]
    return UpdateAnswer(tuple(changed), _bytes(ox.serialize(new, format=ox.RdfFormat.N_QUADS)))


def _graph_key(name) -> str:
    return "" if isinstance(name, ox.DefaultGraph) else str(name.value)


def run_validate(store: Store, job: ValidateJob) -> ValidationReport:
    """Read posted data and validate it with the stored data; the report covers the posted resources only."""
    from next2met.graph.validate import reference_quads, validate_quads

    from .posted import read_posted

    places: dict = {}
    quads = read_posted(
        job.data,
        job.mimetype,
        f"{job.base_iri}graph/validate",
        base_iri=job.base_iri,
        data_dir=Path(job.data_dir) if job.data_dir else None,
        max_triples=job.max_triples,
        source="posted data",
        places=places,
    )
    focus = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    context_quads = [q for q in store.quads() if q.subject.value not in focus]
    report = validate_quads(
        [*quads, *context_quads, *reference_quads(job.base_iri)], engine=job.engine, base=job.base_iri
    )
    return report.only_focus(focus).located(places)
