"""A user query on a remote store (Virtuoso), answered in the server process with the store's own answer.

Behind a remote store a query costs us no evaluation: a worker process would only forward it, and the hop to it
and back (with the parsing and writing again of the answer) cost more than the query itself on a busy machine. So
when the client asks for a format the store writes as we would (SPARQL JSON or XML for SELECT and ASK, N-Triples
for CONSTRUCT and DESCRIBE), the query goes to the store from the request's own thread and the store's answer is
passed on as it came, its rows counted and cut at the row cap without parsing it:

- SPARQL XML: a solution is a ``<result>`` element; text inside values is escaped, so the tag can only be one.
- SPARQL JSON: Virtuoso writes one solution a line after ``"bindings": [`` (a line break inside a value is
  escaped), so solutions are lines; that layout is checked on every answer. Virtuoso writes a typed literal as
  ``"type": "typed-literal"`` (the 2007 note's spelling); it becomes SPARQL 1.1's ``"literal"``.
- N-Triples: one triple a line.

What keeps the guarantees: the time limit is a deadline on the HTTP exchange (every read, and the whole answer),
after which the connection is closed: the store stops the query at its own limit (Virtuoso's anytime timeout), as
it would if a worker were killed; nothing else runs long here, since counting and cutting are single passes over
the bytes in C. Queries that mention SERVICE (the allow-list check parses them with rdflib), other formats (which
need parsing and writing again), a store that is not Virtuoso and an answer whose layout is not the expected one go
to a worker as before (``run_remote`` returns None for them).
"""

from __future__ import annotations

import logging
import re
import time

from next2met.graph.errors import KGError, NotAcceptable
from next2met.graph.remote import SparqlStore
from next2met.graph.remote_query import query_form

from . import guard
from .jobs import Answer, QueryJob
from .negotiation import kind_name, offered

log = logging.getLogger(__name__)
KINDS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}
# (kind, format key) -> the media type the store is asked for; its answer is passed on
PASSED = {
    ("select", "json"): "application/sparql-results+json",
    ("ask", "json"): "application/sparql-results+json",
    ("select", "xml"): "application/sparql-results+xml",
    ("ask", "xml"): "application/sparql-results+xml",
    ("graph", "nt"): "application/n-triples",
}
_BINDINGS = b'"bindings": ['
_ROW = b"\n    {"  # Virtuoso's line of one solution
_RESULT = re.compile(rb"<result[\s/>]")
_warned: set[str] = set()


def passes(store: object, job: QueryJob) -> bool:
    """Whether ``run_remote`` may answer the job: a Virtuoso store, the live data, a format that is passed on."""
    if not isinstance(store, SparqlStore) or not store.is_virtuoso() or job.release:
        return False
    try:
        kind = KINDS[query_form(job.sparql)]
    except KGError:
        return False  # a worker says what is wrong with it
    return (kind, job.formats.get(kind)) in PASSED


def run_remote(store: SparqlStore, job: QueryJob, deadline: float, limit: float) -> Answer | None:
    """Check the query, send it to the store and pass its answer on, cut at ``job.max_rows``; None when the answer
    cannot be passed on (the format the client wants, or an answer of unexpected layout): a worker answers then."""
    t0 = time.perf_counter()
    guard.check_pragmas(job.sparql)
    if guard.mentions_service(job.sparql):
        return None  # the allow-list check parses the query: in a worker, where a pathological text costs a worker
    kind = KINDS[query_form(job.sparql)]
    if kind not in job.formats:
        raise NotAcceptable(
            f"the query is a {kind_name(kind)} query and the Accept header allows none of its types; on offer: "
            + ", ".join(offered(kind)),
            offered=offered(kind),
        )
    key = job.formats[kind]
    accept = PASSED.get((kind, key))
    if accept is None:
        return None
    t1 = time.perf_counter()
    body, headers = store.fetch(
        job.sparql,
        accept,
        default_graph=list(job.default_graph) if job.default_graph is not None else None,
        named_graphs=list(job.named_graphs) if job.named_graphs is not None else None,
        base_iri=job.base_iri,
        deadline=deadline,
    )
    t2 = time.perf_counter()
    sent = headers.get("Content-Type", "").split(";")[0].strip().lower()
    cut = _cut(body, kind, key, job.max_rows) if sent == accept else None
    if cut is None:
        if key not in _warned:
            _warned.add(key)
            log.warning("the store's %s answer (%s) is not laid out as expected; a worker rewrites it", key, sent)
        return None
    body, truncated = cut
    t3 = time.perf_counter()
    timings = (("check", (t1 - t0) * 1000), ("query", (t2 - t1) * 1000), ("serialise", (t3 - t2) * 1000))
    return Answer(kind, key, body, truncated or bool(headers.get("X-SPARQL-MaxRows")), timings, store="remote")


def _cut(body: bytes, kind: str, key: str, cap: int) -> tuple[bytes, bool] | None:
    """The answer with at most ``cap`` solutions or triples, and whether some were left out; None when its layout
    is not the one expected."""
    if kind == "ask":  # no solutions to count
        return (body, False) if (b'"boolean"' if key == "json" else b"<boolean>") in body else None
    if key == "json":
        return _cut_json(body, cap)
    if key == "xml":
        return _cut_xml(body, cap)
    return _cut_lines(body, cap)


def _cut_json(body: bytes, cap: int) -> tuple[bytes, bool] | None:
    start = body.find(_BINDINGS)
    if start < 0:
        return None
    end = len(body.rstrip())
    rows = body.count(_ROW, start, end)
    # the layout: every line break after the start of the solutions begins one, and the document ends the list
    if body.count(b"\n", start, end) != rows or not body[:end].endswith(b"] } }"):
        return None
    body = body.replace(b'"type": "typed-literal"', b'"type": "literal"')  # only Virtuoso's structure has it
    if rows <= cap:
        return body, False
    at = _nth(body, _ROW, cap + 1, body.find(_BINDINGS))
    head = body[:at].rstrip()
    return (head[:-1] if head.endswith(b",") else head) + b" ] } }", True


def _cut_xml(body: bytes, cap: int) -> tuple[bytes, bool] | None:
    if b"<sparql" not in body or b"<results" not in body:
        return None
    if len(_RESULT.findall(body)) <= cap:
        return body, False
    for n, match in enumerate(_RESULT.finditer(body)):
        if n == cap:
            return body[: match.start()].rstrip() + b"\n </results>\n</sparql>\n", True
    raise AssertionError("unreachable")


def _cut_lines(body: bytes, cap: int) -> tuple[bytes, bool] | None:
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    if lines <= cap:  # comment and blank lines counted too: at most cap triples
        return body, False
    kept: list[bytes] = []
    n = 0
    for line in body.split(b"\n"):
        triple = bool(line.strip()) and not line.lstrip().startswith(b"#")
        if triple and n == cap:
            return b"\n".join(kept) + b"\n", True
        kept.append(line)
        n += triple
    return body, False


def _nth(body: bytes, pattern: bytes, n: int, start: int) -> int:
    """Where the ``n``-th occurrence (1-based) of ``pattern`` after ``start`` begins."""
    at = start
    for _ in range(n):
        at = body.find(pattern, at) + 1
    return at - 1
