"""A remote SPARQL 1.1 store (Virtuoso, Fuseki, GraphDB, QLever...) behind the storage seam, over SPARQLWrapper.

Results are parsed into pyoxigraph objects (SPARQL JSON for SELECT/ASK, N-Triples for CONSTRUCT/DESCRIBE), so a
``Result`` from here serialises exactly like one from the embedded store.

What a remote store does differently, and how this module copes (tried on Virtuoso 7.2.5; see
/work/shared/recipes/virtuoso-in-tests.md):

- Its default graph may hold graphs that are not ours (Virtuoso's system graphs). We keep a registry of our
  graphs (those the build's provenance graph lists, plus those this process wrote or updated), so that the
  default graph is the union of OUR named graphs, as in the embedded store. A standard store gets them as
  ``FROM``/``FROM NAMED`` clauses. Virtuoso gets the other graphs excluded instead (its ``define
  input:default-graph-exclude`` and ``input:named-graph-exclude``): with ~70 ``FROM`` clauses it planned some
  queries very badly (at 100k triples a CONSTRUCT of one practice took 22.8 s instead of 7 ms, a two-hop join 57 ms
  instead of 9 ms), while the exclusions cost next to nothing. The list of graphs is refreshed with the store's
  state (below), so a graph that someone else adds to the same Virtuoso can be seen for at most that long; a query
  on which Virtuoso's cost model fails with exclusions (SQ200) is asked again with FROM.
- Queries go by GET, or by URL-encoded POST when long, over kept-alive connections (``remote_http.py``); never
  POST ``application/sparql-query`` (Virtuoso never answers it and a server thread spins).
- Virtuoso's "anytime" timeout answers HTTP 200 with partial results and ``X-SQL-State: S1TAT``: that is a
  timeout (QueryTimeout), never a complete answer. Its ResultSetMaxRows cut is marked only by
  ``X-SPARQL-MaxRows``: the result is flagged ``truncated``.
- A whole graph is read in pages that follow each other by key, not by OFFSET: Virtuoso refuses a sorted page
  ending past row 10000 (MaxSortedTopRows; ``remote_pages.py``).
- Writes are SPARQL Update: each graph is written into a fresh staging graph in chunks of INSERT DATA and then
  moved over the target with one ``MOVE``, so a failed or interrupted write leaves the old graph as it was.
- Virtuoso keeps values, not spellings: ``"1.50"^^xsd:decimal`` comes back as ``1.5``, an integral decimal as
  an xsd:integer when an equal integer is already stored, ``true`` as ``"1"^^xsd:boolean``, and a gYear and a
  gYearMonth of the same start share one stored value. Compare values, and read years with SUBSTR(STR(?d), 1, 4).
- Its planner refuses sound queries with absurd cost estimates: run it with ``MaxQueryCostEstimationTime = 0``
  in the [SPARQL] section of virtuoso.ini (tests/virtuoso.py does).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import http.client
import logging
import re
import threading
import time
import urllib.error
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyoxigraph as ox
from SPARQLWrapper import BASIC, DIGEST, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, QueryBadFormed, SPARQLWrapperException, Unauthorized

from .errors import QuerySyntaxError, QueryTimeout, StoreError
from .remote_http import Endpoint, problem
from .remote_pages import GraphPages, readable_blank_labels
from .remote_query import query_form, with_dataset, without_graphs
from .settings import DEFAULT_BASE_IRI
from .sparqltext import strip_comments
from .store import Result, Store

log = logging.getLogger(__name__)
SD_GRAPH = "http://www.w3.org/ns/sparql-service-description#Graph"
XSD_DECIMAL = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
DCT_MODIFIED = "http://purl.org/dc/terms/modified"
_GRAPH_IRI = re.compile(r"(?i)\b(?:GRAPH|INTO|TO|WITH|CLEAR|DROP|CREATE)\s+(?:SILENT\s+)?(?:GRAPH\s+)?<([^>\s]+)>")
CHUNK_TRIPLES = 2000  # triples per INSERT DATA request
GENERATION_TTL = 2.0  # seconds a generation token is trusted before the store is asked again
MAX_EXCLUDED = 500  # more foreign graphs than this in a Virtuoso: name ours with FROM instead
RESULTS_JSON, NTRIPLES = "application/sparql-results+json", "application/n-triples"
ACCEPT = {"SELECT": RESULTS_JSON, "ASK": RESULTS_JSON, "CONSTRUCT": NTRIPLES, "DESCRIBE": NTRIPLES}  # what we read


class SparqlStore(Store):
    """A store reached over the SPARQL 1.1 Protocol (queries) and SPARQL 1.1 Update (writes)."""

    kind = "sparql"

    def __init__(
        self,
        query_url: str,
        update_url: str = "",
        *,
        user: str = "",
        password: str = "",
        auth: str = "digest",
        base_iri: str = DEFAULT_BASE_IRI,
        timeout: float = 10.0,
    ) -> None:
        if auth not in ("digest", "basic"):
            raise StoreError(f"store_auth must be digest or basic, got {auth!r}")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.user, self.password, self.auth = user, password, auth
        self.base_iri = base_iri
        self.timeout = timeout
        self.provenance_graph = f"{base_iri}graph/provenance"
        self._written: set[str] = set()  # graphs this process wrote or updated (known before any provenance)
        self._dropped: set[str] = set()
        self._lock = threading.Lock()
        self._state: tuple[float, str, dict[str, int]] | None = None  # (asked at, generation, counts per graph)
        self._foreign: list[str] | None = None  # Virtuoso: the graphs that are not ours (None: use FROM)
        self._virtuoso = False  # set from the Server header of its answers
        self._refreshing = False  # a background refresh of the state is running
        self._writes = 0
        self._endpoint = Endpoint(query_url)  # kept-alive connections for queries

    @classmethod
    def from_settings(cls, settings: Any) -> SparqlStore:
        return cls(
            settings.store_url,
            settings.store_update_url,
            user=settings.store_user,
            password=settings.store_password,
            auth=settings.store_auth,
            base_iri=settings.base_iri,
            timeout=settings.query_timeout,
        )

    # -- the protocol ------------------------------------------------------------------------------
    def _request(
        self,
        sparql: str,
        *,
        accept: str,
        params: Sequence[tuple[str, str]] = (),
        update: bool = False,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> tuple[bytes, Any]:
        """Send one query or update; return (body bytes, response headers). Errors become our exceptions.

        Queries go over the kept-alive connections of ``remote_http.py``, read by ``deadline`` (by default the time
        limit plus 5 s: the store's own limit comes first; this guards a dead socket or a trickling answer)."""
        limit = timeout or self.timeout
        if update:
            return self._send_update(sparql, accept=accept, limit=limit)
        # Virtuoso's "anytime query": stop after this many ms and say so (X-SQL-State: S1TAT).
        params = [*params, ("timeout", str(int(limit * 1000)))]
        deadline = deadline if deadline is not None else time.monotonic() + limit + 5
        reply = self._endpoint.query(sparql, params, accept, deadline, limit)
        if reply.status != 200:
            raise problem(reply.status, _text(reply.body), self.query_url)
        return reply.body, self._checked(reply.headers, limit)

    def _checked(self, headers, limit: float):
        if "virtuoso" in headers.get("Server", "").lower():
            self._virtuoso = True
        if headers.get("X-SQL-State", "").strip() == "S1TAT":  # partial results: never pass them off as complete
            raise QueryTimeout(f"the query ran past the time limit of {limit:g} s and was stopped")
        return headers

    def _send_update(self, sparql: str, *, accept: str, limit: float) -> tuple[bytes, Any]:
        """Send one update with SPARQLWrapper (URL-encoded POST ``update=``, with the credentials)."""
        sw = SPARQLWrapper(self.query_url, updateEndpoint=self.update_url)
        sw.setOnlyConneg(True)  # no format=/output= parameters: the Accept header decides
        sw.addCustomHttpHeader("Accept", accept)
        sw.setTimeout(max(1, int(limit + 5)))  # the server's own limit comes first; this guards a dead socket
        sw.setMethod(POST)  # URL-encoded `update=` (SPARQLWrapper's default for updates)
        if self.user:
            sw.setHTTPAuth(DIGEST if self.auth == "digest" else BASIC)
            sw.setCredentials(self.user, self.password)
        # Comments out: SPARQLWrapper guesses the form from keywords and misreads words in comments (a
        # "Download" in a header made a CONSTRUCT an update, LOAD).
        text = strip_comments(sparql)
        if not re.search(r"(?i)\b(?:INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD)\b", text):
            raise QuerySyntaxError("not a SPARQL Update: expected INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, ...")
        sw.setQuery(text)
        sw.queryType = "INSERT"
        deadline = time.monotonic() + limit + 5  # the whole answer, not only each read (a trickle is stopped)
        try:
            response = sw.query().response
            body = _read_by(response, deadline, limit)
            headers = response.info()
        except SPARQLWrapperException as e:
            raise self._error(e) from None
        except urllib.error.HTTPError as e:
            raise StoreError(f"the store at {self.query_url} answered HTTP {e.code}: {_text(e.read())}") from None
        except TimeoutError:
            raise QueryTimeout(f"the store did not answer within {limit:.0f} s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise QueryTimeout(f"the store did not answer within {limit:.0f} s") from None
            raise StoreError(f"cannot reach the store at {self.query_url}: {e.reason}") from None
        except (http.client.HTTPException, OSError) as e:  # a dropped connection, a malformed response
            raise StoreError(f"the store at {self.query_url} broke off the answer: {e}") from None
        return body, self._checked(headers, limit)

    def _error(self, e: SPARQLWrapperException) -> Exception:
        status = {QueryBadFormed: 400, Unauthorized: 401, EndPointNotFound: 404}.get(type(e), 500)
        return problem(status, _response_text(e), self.update_url if status == 401 else self.query_url)

    # -- reading -----------------------------------------------------------------------------------
    def query(self, sparql, *, default_graph=None, named_graphs=None, base_iri=None) -> Result:
        form = query_form(sparql)
        body, headers = self.fetch(
            sparql, ACCEPT[form], default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri
        )
        return self._result(body, headers, form)

    def fetch(
        self,
        sparql: str,
        accept: str,
        *,
        default_graph=None,
        named_graphs=None,
        base_iri=None,
        deadline: float | None = None,
    ) -> tuple[bytes, Any]:
        """The store's own answer to a query, (body bytes, headers), in the format ``accept`` asks for; the
        dataset as in ``query``. Read by ``deadline`` (time.monotonic()) when given."""
        if base_iri:
            sparql = f"BASE <{base_iri}>\n{sparql}"
        if default_graph is None and named_graphs is None:
            # the union of OUR graphs, not the store's whole default graph (Virtuoso adds its system graphs)
            ours = self._graph_names()
            foreign = self._foreign
            if foreign is not None and len(foreign) <= MAX_EXCLUDED:
                try:
                    return self._request(without_graphs(sparql, foreign), accept=accept, deadline=deadline)
                except StoreError as e:
                    if "SQ200" not in str(e):  # Virtuoso's cost model overflows on some queries with exclusions
                        raise
                    log.info("Virtuoso failed a query with graph exclusions (%s); asking again with FROM", e)
            sparql = with_dataset(sparql, ours)
        params = [("default-graph-uri", g) for g in default_graph or []]
        params += [("named-graph-uri", g) for g in named_graphs or []]
        return self._request(sparql, accept=accept, params=params, deadline=deadline)

    def _run(self, sparql: str, form: str, params: list[tuple[str, str]]) -> Result:
        return self._result(*self._request(sparql, accept=ACCEPT[form], params=params), form)

    def _result(self, body: bytes, headers, form: str) -> Result:
        """A store's answer read into pyoxigraph objects."""
        if form in ("SELECT", "ASK"):
            body = readable_blank_labels(body)
            try:
                value = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            except SyntaxError as e:
                raise StoreError(f"the store sent SPARQL JSON that does not parse: {e}") from None
            kind = "ask" if isinstance(value, ox.QueryBoolean) else "select"
            return Result(kind, value, truncated=bool(headers.get("X-SPARQL-MaxRows")))
        try:
            triples = [
                ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            ]
        except SyntaxError as e:
            raise StoreError(f"the store sent N-Triples that do not parse: {e}") from None
        return Result("graph", iter(triples), truncated=bool(headers.get("X-SPARQL-MaxRows")))

    def _select(self, sparql: str, params: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        result = self._run(sparql, "SELECT", list(params))
        if result.truncated:
            raise StoreError("the store cut an internal listing at its row limit (ResultSetMaxRows)")
        return result.rows()

    def _graph_names(self) -> list[str]:
        return sorted(self._counts())

    def _counts(self) -> dict[str, int]:
        return self._refresh()[2]

    def _refresh(self) -> tuple[float, str, dict[str, int]]:
        """Which of our graphs hold data, how much, and a generation token.

        Asked once, then kept: when it is older than GENERATION_TTL seconds it is asked again in the background
        while the old answer still serves, so that no query waits for it (before, every query after the TTL did:
        ~100 ms at 100k triples on Virtuoso, 2.1 s at 1M). Our own writes forget it at once, so the next call asks
        and waits."""
        with self._lock:
            state = self._state
            if state is not None:
                if time.monotonic() - state[0] >= GENERATION_TTL and not self._refreshing:
                    self._refreshing = True
                    threading.Thread(target=self._refresh_in_background, daemon=True).start()
                return state
        return self._ask_state()

    def _refresh_in_background(self) -> None:
        try:
            self._ask_state()
        except Exception as e:  # noqa: BLE001 (the old state keeps serving; the next call tries again)
            log.warning("could not refresh the state of the store at %s: %s", self.query_url, e)
        finally:
            with self._lock:
                self._refreshing = False

    def _ask_state(self) -> tuple[float, str, dict[str, int]]:
        writes = self._writes
        prov = self.provenance_graph
        rows = self._select(
            f"SELECT DISTINCT ?g ?modified WHERE {{ GRAPH <{prov}> {{ ?g a <{SD_GRAPH}> "
            f"OPTIONAL {{ ?g <{DCT_MODIFIED}> ?modified }} }} }}"
        )
        listed = {r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode)}
        # derived graphs (graph/derived/...) describe themselves instead of being listed in the provenance graph
        derived = self.provenance_graph.removesuffix("provenance") + "derived/"
        listed |= {
            r["g"].value
            for r in self._select(
                f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g a <{SD_GRAPH}> }} "
                f'FILTER(STRSTARTS(STR(?g), "{derived}")) }}'
            )
            if isinstance(r.get("g"), ox.NamedNode)
        }
        candidates = sorted((listed | self._written | {prov}) - self._dropped)
        every = self._count_all_graphs() if self._virtuoso else None
        counts: dict[str, int] = {}
        if every is not None:  # Virtuoso: one listing of all its graphs gives ours and the others
            counts = {g: every[g] for g in candidates if g in every}
        else:
            for i in range(0, len(candidates), 200):
                values = " ".join(f"<{g}>" for g in candidates[i : i + 200])
                for r in self._select(
                    f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} "
                    "GROUP BY ?g"
                ):
                    counts[r["g"].value] = int(r["n"].value)
        foreign = sorted(set(every) - set(counts)) if every is not None else None
        stamp = "|".join(sorted(f"{r['g'].value}={r['modified'].value if 'modified' in r else ''}" for r in rows))
        stamp += "|" + "|".join(f"{g}={n}" for g, n in sorted(counts.items())) + f"|{self._writes}"
        state = (time.monotonic(), "sparql-" + hashlib.sha1(stamp.encode()).hexdigest()[:16], counts)
        with self._lock:
            if self._writes == writes:  # a write since we asked: leave the state forgotten
                self._state, self._foreign = state, foreign
        return state

    def _count_all_graphs(self) -> dict[str, int] | None:
        """Every graph a Virtuoso holds (ours, its system graphs, anybody else's) with its size; None when it cannot
        be listed (FROM clauses and per-graph counts are used then).

        One GROUP BY over all graphs: at 1M triples Virtuoso answered it in 45 ms, while counting our ~100 graphs
        with a VALUES list took 2.1 s (and ``SELECT DISTINCT ?g`` took 13.7 s on the 8k-triple test data)."""
        try:
            body, headers = self._request(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                accept="application/sparql-results+json",
                timeout=max(60.0, self.timeout),
            )
            found = {
                r["g"].value: int(r["n"].value)
                for r in _solutions(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))
                if isinstance(r["g"], ox.NamedNode)
            }
        except (StoreError, QueryTimeout, SyntaxError, ValueError) as e:
            log.warning("cannot list the graphs of the Virtuoso at %s (%s); naming ours with FROM", self.query_url, e)
            return None
        return None if headers.get("X-SPARQL-MaxRows") else found

    def _forget_state(self) -> None:
        with self._lock:
            self._state = None
            self._writes += 1

    def close(self) -> None:
        self._endpoint.close()

    def is_virtuoso(self) -> bool:
        """Whether the store has said it is Virtuoso (in the Server header of an answer)."""
        return self._virtuoso

    @property
    def generation(self) -> str:
        return self._refresh()[1]

    def named_graphs(self) -> list[str]:
        return self._graph_names()

    def count(self) -> int:
        return sum(self._counts().values())

    def quads(self, graph=None) -> Iterator[ox.Quad]:
        counts = self._counts()
        names = [graph] if graph else sorted(counts)
        for name in names:
            yield from self._graph_quads(name, counts.get(name, 0))

    def _graph_quads(self, graph: str, expected: int) -> Iterator[ox.Quad]:
        """Read one graph in pages that follow each other by key, not by OFFSET (``remote_pages.py``)."""
        g, read = ox.NamedNode(graph), 0
        for r in GraphPages(self._select_page, graph).rows(expected):
            read += 1
            yield ox.Quad(r["s"], r["p"], r["o"], g)
        if expected and read != expected:
            raise StoreError(f"read {read} triples of graph {graph}, expected {expected}; it changed while read")

    def _select_page(self, sparql: str) -> tuple[list[dict[str, Any]], bool]:
        """A SELECT's rows, and whether the store cut them at its row limit."""
        result = self._run(sparql, "SELECT", [])
        return result.rows(), result.truncated

    # -- writing -----------------------------------------------------------------------------------
    def update(self, sparql: str) -> None:
        self._request(sparql, accept="application/sparql-results+json, application/json;q=0.5, */*;q=0.1", update=True)
        for name in _GRAPH_IRI.findall(strip_comments(sparql)):
            self._written.add(name)
            self._dropped.discard(name)
        self._forget_state()

    def replace_graphs(self, graphs: dict[str, list[ox.Quad]]) -> None:
        staged: dict[str, str] = {}
        try:
            for name, quads in graphs.items():
                if quads:
                    staged[name] = self._stage(quads)
        except BaseException:
            self._drop_silently(staged.values())
            raise
        # Each MOVE swaps one graph in a single step; the graphs are swapped one after the other.
        for name in graphs:
            if name in staged:
                self.update(f"MOVE SILENT GRAPH <{staged[name]}> TO GRAPH <{name}>")
                self._written.add(name)
                self._dropped.discard(name)
            else:
                self.update(f"DROP SILENT GRAPH <{name}>")
                self._dropped.add(name)
                self._written.discard(name)
        self._forget_state()

    def replace_dataset(self, quads: Iterable[ox.Quad]) -> None:
        by_graph: dict[str, list[ox.Quad]] = defaultdict(list)
        for q in quads:
            name = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else f"{self.base_iri}graph/default"
            by_graph[name].append(q)
        old = set(self._graph_names())
        self.replace_graphs({**{g: [] for g in old - set(by_graph)}, **by_graph})

    def _stage(self, quads: list[ox.Quad]) -> str:
        """Write quads into a new staging graph in chunks; return its name.

        Virtuoso refuses blank nodes in INSERT DATA, so chunks with blank nodes go as ``INSERT {...} WHERE {}``,
        where a label names one node within its request only: each chunk holds whole blank-node clusters.
        """
        stage = f"urn:next2met:staging:{uuid.uuid4().hex}"
        for chunk, has_blank in _chunks(quads, CHUNK_TRIPLES):
            body = "\n".join(f"{q.subject} {q.predicate} {_keep_type(q.object)} ." for q in chunk)
            if has_blank:
                text = f"INSERT {{ GRAPH <{stage}> {{\n{body}\n}} }} WHERE {{}}"
            else:
                text = f"INSERT DATA {{ GRAPH <{stage}> {{\n{body}\n}} }}"
            self._request(text, accept="*/*", update=True)
        return stage

    def _drop_silently(self, graphs: Iterable[str]) -> None:
        for g in graphs:
            with contextlib.suppress(Exception):  # best effort: the original error is the one to report
                self._request(f"DROP SILENT GRAPH <{g}>", accept="*/*", update=True)


def _chunks(quads: list[ox.Quad], size: int) -> Iterator[tuple[list[ox.Quad], bool]]:
    """Cut quads into chunks of about ``size``; triples linked through blank nodes stay in one chunk."""
    plain = [q for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)]
    for i in range(0, len(plain), size):
        yield plain[i : i + size], False
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    linked = [q for q in quads if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)]
    for q in linked:
        nodes = [t.value for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)]
        for other in nodes[1:]:
            parent[root(other)] = root(nodes[0])
    clusters: dict[str, list[ox.Quad]] = defaultdict(list)
    for q in linked:
        node = q.subject if isinstance(q.subject, ox.BlankNode) else q.object
        clusters[root(node.value)].append(q)  # type: ignore[union-attr]
    chunk: list[ox.Quad] = []
    for cluster in clusters.values():
        if chunk and len(chunk) + len(cluster) > size:
            yield chunk, True
            chunk = []
        chunk.extend(cluster)
    if chunk:
        yield chunk, True


def _keep_type(term: object) -> str:
    """Write a term so the store keeps its datatype: Virtuoso reads ``"21"^^xsd:decimal`` back as an
    xsd:integer, but keeps ``"21.0"^^xsd:decimal`` a decimal (same value)."""
    if isinstance(term, ox.Literal) and term.datatype == XSD_DECIMAL and re.fullmatch(r"[+-]?\d+", term.value):
        return str(ox.Literal(term.value + ".0", datatype=XSD_DECIMAL))
    return str(term)


def _read_by(response, deadline: float, limit: float) -> bytes:
    """Read an answer a block at a time (each read returns what has arrived), stopping at ``deadline``."""
    chunks = []
    while chunk := response.read1(1 << 16):
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise QueryTimeout(f"the store's answer was still arriving after {limit + 5:.0f} s; it was stopped")
    return b"".join(chunks)


def _response_text(e: SPARQLWrapperException) -> str:
    """The store's own message: SPARQLWrapper keeps the response body only as the repr of bytes in its text."""
    head, sep, tail = str(e).partition("Response:\n")
    if not sep:
        return head
    try:
        return _text(ast.literal_eval(tail.strip())).strip()
    except (ValueError, SyntaxError):
        return tail.strip()


def _text(body: object) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)


def _solutions(parsed: ox.QuerySolutions | ox.QueryBoolean) -> ox.QuerySolutions:
    if not isinstance(parsed, ox.QuerySolutions):
        raise StoreError("the store answered a SELECT with a boolean")
    return parsed
