"""The SPARQL 1.1 Protocol: queries at ``/sparql``, updates at ``/update``, the query editor and the service
description.

``/sparql`` takes a query by GET ``?query=``, by POST ``application/x-www-form-urlencoded`` or by POST
``application/sparql-query`` (any other body type: 415). ``default-graph-uri`` and ``named-graph-uri`` set the
dataset; without them the default graph is the union of all named graphs (the data has one named graph per
source file), and a query's own FROM / FROM NAMED is honoured. The answer's format follows the Accept header
(q-values, wildcards) or a ``format`` parameter. Without a query, a browser gets the query editor and an RDF client
the SPARQL 1.1 Service Description. Queries run in killable worker processes (``workers.py``) with a timeout,
a row cap that is announced in ``X-Next2Met-Truncated``, a cap on queries at once, and no SERVICE outside the
allow-list (``guard.py``). A repeated query is answered from a byte-bounded cache until the data changes
(``X-Next2Met-Cache: hit``; an ``ETag`` lets GET clients revalidate with ``If-None-Match``); queries with RAND,
NOW, UUID, STRUUID, BNODE() or SERVICE always run, and so does a request with ``Cache-Control: no-cache``.

``/update`` takes SPARQL 1.1 Update with ``Authorization: Bearer <update_token>`` only; the update is applied to a
copy first, and the store changes only if the result still conforms to the SHACL shapes. ``using-graph-uri`` and
``using-named-graph-uri`` are honoured. In an update, a WHERE without GRAPH or USING matches the store's own
default graph, which is empty here (the data lives in named graphs), and writing to it is refused: name the
graphs (``GRAPH ?g { ... }``, ``INSERT { GRAPH <g> { ... } }``). LOAD and SERVICE are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, jsonify, render_template, request, url_for
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from next2met.graph import stats
from next2met.graph.changes import Change as DataChange
from next2met.graph.changes import Edit
from next2met.graph.errors import (
    InputError,
    KGError,
    NotAcceptable,
    PayloadTooLarge,
    QueryTimeout,
    UnsupportedMediaType,
)
from next2met.graph.formats import HTML, NQUADS
from next2met.graph.prefixes import prefixes as all_prefixes
from next2met.graph.queries import list_queries
from next2met.graph.rdfio import parse_bytes
from next2met.graph.sparqltext import tokens, unescape
from next2met.graph.store import OxigraphStore

from . import negotiation
from .i18n import gettext as _
from .jobs import Answer, QueryJob, UpdateAnswer, UpdateJob
from .remote_jobs import passes, run_remote
from .service_description import describe_service
from .state import KnowledgeGraph, get_kg
from .workers import QueryPool, Snapshots

log = logging.getLogger(__name__)
bp = Blueprint("sparql", __name__)

TRUNCATED = "X-Next2Met-Truncated"
CACHE = "X-Next2Met-Cache"
MAX_ROWS = "X-Next2Met-Max-Rows"
FORM = "application/x-www-form-urlencoded"
QUERY_BODY = "application/sparql-query"
UPDATE_BODY = "application/sparql-update"
# Updates are trusted (token) but still bounded: copying and diffing a large dataset takes longer than a query.
UPDATE_TIMEOUT_FLOOR = 60.0
REMOTE_GRACE = 0.5
# Answers that may change between two runs on the same data are never cached: those of the functions below, and
# those of SERVICE, which reads data we do not version.
VOLATILE_FUNCTIONS = frozenset({"RAND", "NOW", "UUID", "STRUUID", "BNODE"})


def is_volatile(query: str) -> bool:
    """Whether the query's answer may differ between two runs on the same data.

    Only keywords count (read with the SPARQL lexer the guard uses, after SPARQL's escapes), so the concept
    "e-service" in an IRI, a string or a comment does not; an IRI token with a parenthesis in it is taken as a
    misread and counts.
    """
    found = [(kind, value.upper()) for kind, value, _, _ in tokens(unescape(query))]
    for i, (kind, value) in enumerate(found):
        if kind == "word" and value == "SERVICE":
            return True
        if kind == "word" and value in VOLATILE_FUNCTIONS and found[i + 1 : i + 2] == [("other", "(")]:
            return True
        if kind == "iri" and "(" in value:
            return True
    return False


def init_app(app: Flask, kg: KnowledgeGraph) -> None:
    """Start the query workers (reading snapshots of the embedded store, or the remote store directly)."""
    snapshots = Snapshots(kg.store, kg.write_lock) if isinstance(kg.store, OxigraphStore) else None
    pool = QueryPool(kg.settings, snapshots)
    kg.extensions["sparql"] = pool  # kg.close() stops it


def _pool() -> QueryPool:
    return get_kg().extensions["sparql"]


# -- /sparql -----------------------------------------------------------------------------------------------
@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def sparql() -> Response:
    """Answer a SPARQL query; without one, show the editor or describe the service."""
    if request.method == "OPTIONS":
        return _preflight()
    params = _read_params(QUERY_BODY)
    queries, updates = params.getlist("query"), params.getlist("update")
    if queries and updates:
        raise InputError("send either a query or an update, not both")
    if updates:
        raise InputError(
            "this endpoint answers queries only and did not run the update; send updates to "
            f"{url_for('.update', _external=True)} (POST, with a bearer token)"
        )
    if len(queries) > 1:
        raise InputError(f"send one query per request (this request has {len(queries)})")
    format_param = params.getlist("format")
    if not queries:
        if request.method == "POST":
            raise InputError(
                "the request has no query: send it as the body (application/sparql-query) or as the form field 'query'"
            )
        return _describe_or_edit(format_param)
    query = queries[0]
    if not query.strip():
        raise InputError("the query is empty")
    form = negotiation.kind_of(query)
    if request.method != "POST" and not format_param and _prefers_html(form or "select"):
        return _editor()  # a shared link opened in a browser: the editor runs the query from the URL
    formats = dict(negotiation.formats_for(request.headers.get("Accept", ""), tuple(format_param)))
    if form is not None and form not in formats:
        negotiation.choose_answer(form, request.accept_mimetypes, format_param)  # raises 406 with the right message
    if not formats:
        raise NotAcceptable(
            "none of the types in the Accept header fits any SPARQL result",
            offered=negotiation.offered("select") + negotiation.offered("graph"),
        )
    return _run(query, params, formats)


# The same endpoint with a trailing slash, as the W3C protocol tests and some proxies write it.
bp.add_url_rule("/sparql/", "sparql_slash", sparql, methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)


def _run(query: str, params: MultiDict, formats: dict[str, str]) -> Response:
    started = time.perf_counter()
    kg = get_kg()
    settings = kg.settings
    default_graph, named_graphs = _dataset(params, "default-graph-uri", "named-graph-uri")
    if default_graph is not None or named_graphs is not None:  # the protocol's dataset: whatever is not named is empty
        default_graph, named_graphs = default_graph or (), named_graphs or ()
    base = request.base_url
    release = _release(params)
    job = QueryJob(
        sparql=query,
        formats=formats,
        max_rows=settings.max_rows,
        default_graph=default_graph,
        named_graphs=named_graphs,
        base_iri=base,
        prefixes=prefixes(),
        allowlist=settings.service_allowlist,
        release=str(release.store_path) if release else None,
    )
    # A repeated query is answered from memory until the data changes, unless its answer may differ between runs.
    # A release's answers are not kept: they are few, and the cache holds one data generation at a time.
    key = (query, tuple(sorted(formats.items())), default_graph, named_graphs, base, settings.max_rows)
    generation = kg.store.generation
    cacheable = not is_volatile(query) and release is None
    # Cache-Control: no-cache asks for a fresh run (the answer still refreshes the cache)
    answer = kg.answers.get(generation, key) if cacheable and not request.cache_control.no_cache else None
    hit = answer is not None
    if answer is None:
        # A remote store stops the query itself at the timeout (and says so); killing the worker, or closing the
        # connection at the deadline, is the backstop.
        grace = REMOTE_GRACE if settings.store_url else 0.0
        sent = time.perf_counter()
        answer = _remote(kg, job, settings.query_timeout, grace) if passes(kg.store, job) else None
        worker_ms = None
        if answer is None:
            answer = _pool().run(job, settings.query_timeout + grace, client_key())
            worker_ms = (time.perf_counter() - sent) * 1000
        assert isinstance(answer, Answer)
        if cacheable:
            kg.answers.put(generation, key, answer, len(answer.body))
    fmt = negotiation.BY_KEY[answer.format]
    response = Response(answer.body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.headers[CACHE] = "hit" if hit else "miss"
    if cacheable:
        response.set_etag(hashlib.sha256(repr((generation, key)).encode()).hexdigest()[:32])
        response.make_conditional(request)
    response.headers[MAX_ROWS] = str(settings.max_rows)
    if answer.truncated:
        response.headers[TRUNCATED] = "true"
    # Where the time went (W3C Server Timing; browsers' developer tools draw it): the steps in the worker, the
    # worker round trip (steps plus the hand-off), and the whole request in the server up to here.
    steps = (
        []
        if hit
        else [f"{name};dur={ms:.2f}" for name, ms in answer.timings]
        + ([f"worker;dur={worker_ms:.2f}"] if worker_ms is not None else [])
        + ([f'store;desc="{answer.store}"'] if answer.store else [])
    )
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = ", ".join(
        [*steps, *(['cache;desc="hit"'] if hit else []), f"total;dur={total:.2f}"]
    )
    return response


def _remote(kg: KnowledgeGraph, job: QueryJob, timeout: float, grace: float) -> Answer | None:
    """The remote store's own answer, passed on from this thread (``remote_jobs.py``), or None: a worker answers."""
    deadline = time.monotonic() + timeout + grace

    def work() -> Answer | None:
        try:
            return run_remote(kg.store, job, deadline, timeout)
        except QueryTimeout:
            if time.monotonic() < deadline:
                raise  # the store's own limit, said by the store
            raise QueryTimeout(
                f"the query ran for more than {timeout:g} s and was stopped; narrow it down (LIMIT, more specific "
                "patterns) or ask for a longer timeout on your own server",
                seconds=timeout,
            ) from None

    return _pool().run_here(job, work, client_key())


def _release(params: MultiDict):
    """The release a query names (``release=NAME``: answer from the release as it was), or None."""
    names = params.getlist("release")
    if not names:
        return None
    if len(names) > 1:
        raise InputError(f"name one release per query (this request names {len(names)})")
    from next2met.graph.releases import get_release, releases_dir

    return get_release(releases_dir(get_kg().settings), names[0])


def _read_params(body_type: str) -> MultiDict:
    """The protocol parameters of the request, from the URL, a form body, or a direct SPARQL body."""
    if request.method in ("GET", "HEAD"):
        return request.args
    limit = get_kg().settings.max_body
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(
            f"the request body has {request.content_length} bytes; the limit is {limit} bytes", limit=limit
        )
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body must be UTF-8, not {charset}")
    accepted = f"{body_type} or {FORM}"
    if request.mimetype == FORM:
        return CombinedMultiDict([request.form, request.args])
    if request.mimetype == body_type:
        try:
            text = request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"the body is not valid UTF-8 (byte {e.start})") from None
        params = MultiDict(request.args)
        params.add("query" if body_type == QUERY_BODY else "update", text)
        return params
    if request.mimetype == UPDATE_BODY:
        return MultiDict({"update": ""})  # reported by the caller as an update sent to the query endpoint
    if not request.mimetype:
        raise UnsupportedMediaType(f"the request has no Content-Type; send {accepted}", accepted=accepted)
    raise UnsupportedMediaType(f"cannot read a {request.mimetype} body here; send {accepted}", accepted=accepted)


def _dataset(params: MultiDict, default_name: str, named_name: str) -> tuple[tuple[str, ...] | None, ...]:
    out = []
    for name in (default_name, named_name):
        values = params.getlist(name)
        for value in values:
            try:
                ox.NamedNode(value)
            except ValueError:
                raise InputError(f"{name} must be an absolute IRI, got {value!r}") from None
        out.append(tuple(values) if values else None)
    return tuple(out)


def _prefers_html(form: str) -> bool:
    return negotiation.prefers_html(negotiation.TABLES[form])


def _describe_or_edit(format_param: list[str]) -> Response:
    fmt = negotiation.choose_answer("graph", request.accept_mimetypes, format_param, html=True)
    if fmt is HTML:
        return _editor()
    kg = get_kg()
    body = describe_service(kg, url_for(".sparql", _external=True), request.url_root, fmt, prefixes())
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    return response


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Cache-Control, X-Requested-With"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    """Open reads to every origin (the data is public); updates stay same-origin."""
    if request.endpoint != "sparql.update":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Timing-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = (
            f"{TRUNCATED}, {MAX_ROWS}, {CACHE}, ETag, Content-Type, Server-Timing"
        )
    return response


# -- the editor ----------------------------------------------------------------------------------------------
def _editor() -> Response:
    settings = get_kg().settings
    try:
        examples = [{"name": q.title, "query": q.text, "description": q.description} for q in list_queries()]
    except KGError as e:  # a broken .rq file must not take the editor down; the query tests report it
        log.warning("canned queries unavailable in the editor: %s", e)
        examples = []
    config = {
        "endpoint": url_for(".sparql"),
        "vocabulary": url_for(".vocabulary"),
        "prefixes": prefixes(),
        "examples": examples,
        "maxRows": settings.max_rows,
        "timeout": settings.query_timeout,
        "truncatedHeader": TRUNCATED.lower(),
        "words": {
            "query": _("Query"),
            "truncated": _(
                "Only the first %(rows)s results are shown: this server cuts longer answers. Use LIMIT and "
                "OFFSET (with ORDER BY) to page through the rest.",
                rows=settings.max_rows,
            ),
        },
    }
    html = render_template("sparql.html", config=config, settings=settings)
    response = Response(html, mimetype="text/html")
    response.vary.add("Accept")
    return response


@bp.get("/sparql/vocabulary.json")
def vocabulary() -> Response:
    """Classes and properties of our data and ontology (graph.stats.vocabulary), for the editor's completion."""
    kg = get_kg()
    body = kg.cached(("vocabulary",), lambda: stats.vocabulary(kg.store, kg.settings.base_iri))
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def prefixes() -> dict[str, str]:
    """The prefixes of the editor and of the Turtle answers (graph.prefixes)."""
    return all_prefixes()


# -- /update -------------------------------------------------------------------------------------------------
@bp.post("/update")
def update() -> Response:
    """Run a SPARQL 1.1 Update (bearer token only); nothing changes unless the result conforms to the shapes."""
    kg = get_kg()
    settings = kg.settings
    _authorise()
    params = _read_params(UPDATE_BODY)
    updates, queries = params.getlist("update"), params.getlist("query")
    if queries:
        raise InputError("this endpoint runs updates only; send queries to " + url_for(".sparql", _external=True))
    if len(updates) != 1 or not updates[0].strip():
        raise InputError(f"send exactly one non-empty update per request (this request has {len(updates)})")
    using, using_named = _dataset(params, "using-graph-uri", "using-named-graph-uri")
    job = UpdateJob(updates[0], using or (), using_named or (), request.base_url)
    with kg.write_lock:
        answer = _pool().run(job, max(settings.query_timeout, UPDATE_TIMEOUT_FLOOR), client_key())
        assert isinstance(answer, UpdateAnswer)
        changed = answer.changed
        if not changed:
            return jsonify({"status": "unchanged", "changedGraphs": []})
        new: dict[str, list[ox.Quad]] = {g: [] for g in changed}
        for q in parse_bytes(answer.nquads, NQUADS, source="update"):
            new[_graph(q)].append(q)
        from .api import author

        applied = kg.apply(
            DataChange(
                [Edit(g, quads) for g, quads in new.items()],
                channel="update",
                author=author(),
                message=request.headers.get("X-Next2Met-Message", "") or "SPARQL update",
            )
        )
    log.info("update changed %d graph(s): %s", len(changed), ", ".join(changed))
    return jsonify(
        {"status": "updated", "changedGraphs": list(changed), "version": applied.version, "files": list(applied.files)}
    )


def client_key() -> str:
    """Who sends this request, for fair admission: the holder of the update token, else the address the request
    came from (behind a reverse proxy, the proxy's: let it limit clients, or pass the client's address on to
    waitress with its trusted_proxy settings). A bearer token that is not valid counts as nothing: made-up tokens
    cannot make one client into many."""
    token = get_kg().settings.update_token
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return "token"
    return "address:" + (request.remote_addr or "")


def _authorise() -> None:
    """Updates need an admin: the update token, or an admin account's token (server/auth.py)."""
    from .auth import require

    require("admin", "updates are off on this server: no update token is configured")


def _graph(quad: ox.Quad) -> str:
    return "" if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
