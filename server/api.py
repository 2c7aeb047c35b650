"""The write API for practices and the validation service.

``/api/practices`` (POST) and ``/api/practices/{slug}`` (GET, PUT, DELETE): a practice in our YAML source format
(or JSON with the same keys), or as RDF (Turtle, JSON-LD, N-Triples, RDF/XML). Writes need
``Authorization: Bearer <update_token>``; the dataset after the write must conform to the SHACL shapes, else 422
with the report and nothing is written. Each practice lives in its own named graph, as when built from a file.

``/validate`` checks posted data against the shapes without storing it: an HTML form for people, JSON (or the
W3C report in Turtle) for programs.
"""

from __future__ import annotations

import re
import threading

import pyoxigraph as ox
from flask import Blueprint, Response, g, jsonify, render_template, request, url_for

from next2met.graph.changes import Change as DataChange
from next2met.graph.changes import Edit, graph_etag
from next2met.graph.errors import InputError, NotFound, PreconditionFailed, PreconditionRequired
from next2met.graph.formats import HTML, PLAIN_JSON, SOURCE_YAML, TURTLE
from next2met.graph.rdfio import serialize_quads
from next2met.graph.sources import load_context
from next2met.graph.writeback import write_yaml

from .jobs import ValidateJob
from .negotiation import negotiate
from .posted import YAML_TYPES, read_posted
from .sparql import client_key
from .state import get_kg

bp = Blueprint("api", __name__)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
GOOD_PRACTICE = "https://w3id.org/next2met/ontology#GoodPractice"


def _require_token() -> None:
    """Writes need an admin: the update token of the settings, or an admin account's token (server/auth.py)."""
    from .auth import require

    require("admin", "writes are turned off on this server (no update token is configured)")


def _read_body(graph: str) -> list[ox.Quad]:
    """Parse the request body (YAML/JSON in our format, or RDF) into the quads of ``graph``; where each resource of
    a YAML body is written goes to ``g.posted_places``, so that a 422 report points at the body's lines."""
    settings = get_kg().settings
    g.posted_places = {}
    return read_posted(
        request.get_data(),
        request.mimetype,
        graph,
        base_iri=settings.base_iri,
        data_dir=settings.data_path,
        max_triples=settings.max_posted_triples,
        places=g.posted_places,
    )


def _practice_iri(slug: str) -> str:
    if not SLUG.fullmatch(slug):
        raise InputError(f"{slug!r} is not a valid slug: use lower-case letters, digits and single hyphens")
    return f"{get_kg().settings.base_iri}practice/{slug}"


def _graph_of(slug: str) -> str:
    return f"{get_kg().settings.base_iri}graph/practices/{slug}"


def _check_subjects(quads: list[ox.Quad], iri: str) -> None:
    """The body must describe exactly this practice (and its own #fragments): nothing else may be written."""
    typed = {q.subject.value for q in quads if q.predicate.value.endswith("#type") and q.object.value == GOOD_PRACTICE}
    if typed != {iri}:
        found = ", ".join(sorted(typed)) or "none"
        raise InputError(f"the body must describe exactly one GoodPractice with the IRI {iri}; found: {found}")
    strangers = sorted(
        {
            q.subject.value
            for q in quads
            if not isinstance(q.subject, ox.BlankNode)
            and q.subject.value != iri
            and not q.subject.value.startswith(iri + "#")
        }
    )
    if strangers:
        raise InputError(
            "the body may only describe the practice itself; it also describes " + ", ".join(strangers[:5])
        )


def _exists(iri: str) -> bool:
    return get_kg().store.ask(f"ASK {{ <{iri}> a <{GOOD_PRACTICE}> }}")


def _located(slug: str) -> tuple[str, list[ox.Quad], list[ox.Quad]]:
    """The graph that holds the practice (its own, ``graph/practices/{slug}``, unless it was built from a file of
    several), the quads of that graph, and the practice's own quads in it (itself and its #fragment parts)."""
    kg, iri = get_kg(), _practice_iri(slug)
    rows = kg.store.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ <{iri}> a <{GOOD_PRACTICE}> }} }}").rows()
    graph = min((r["g"].value for r in rows), default=_graph_of(slug))
    quads = list(kg.store.quads(graph))
    return graph, quads, [q for q in quads if q.subject.value.split("#", 1)[0] == iri]


def etag_of(slug: str) -> str | None:
    """The strong ETag of a practice: the digest of its triples (None: no such practice)."""
    return graph_etag(_located(slug)[2]) if _exists(_practice_iri(slug)) else None


def author() -> str:
    """Who the history names: the account of the request, or for the settings' update token its name there."""
    from .auth import UPDATE_TOKEN, current_account

    account = current_account()
    if account is None or account is UPDATE_TOKEN:
        return get_kg().settings.update_token_name
    return account.name


def _message() -> str:
    return (request.headers.get("X-Next2Met-Message") or request.form.get("message") or "").strip()[:2000]


def _write(
    slug: str,
    quads: list[ox.Quad] | None,
    channel: str = "api",
    *,
    create: bool = False,
    hint: str | None = None,
    message: str = "",
):
    """Replace the practice's triples in its graph (create it, delete it with None) through the write path."""
    kg, iri = get_kg(), _practice_iri(slug)
    graph, current, own = _located(slug)
    kept = [q for q in current if q.subject.value.split("#", 1)[0] != iri]
    new = kept + [ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(graph)) for q in quads or ()]
    default = message or {"api": "", "revert": "revert"}.get(channel, "")
    return kg.apply(
        DataChange(
            [Edit(graph, new, hint=hint if not kept else None)],
            channel=channel,
            author=author(),
            message=_message() or default,
            subjects=[iri],
            expect={graph: None} if create else {},
        )
    )


def _precondition(slug: str) -> str:
    """The practice's current ETag if the request's If-Match names it; else 428 (no If-Match) or 412."""
    current = etag_of(slug)
    if current is None:
        raise NotFound(f"no practice {_practice_iri(slug)}; create it with POST /api/practices")
    sent = request.headers.get("If-Match")
    if not sent:
        raise PreconditionRequired(
            f"send If-Match with the ETag you got from GET /api/practices/{slug}, so that an edit made meanwhile "
            "is not overwritten (the current ETag is in this answer)",
            etag=f'"{current}"',
        )
    tags = [t.strip().removeprefix("W/").strip('"') for t in sent.split(",")]
    if "*" not in tags and current not in tags:
        raise PreconditionFailed(
            f"the practice changed since you read it: your If-Match {sent} is not its current ETag "
            f'"{current}"; GET it again, redo your edit on the new version and send that ETag',
            etag=f'"{current}"',
        )
    return current


def _summary(report) -> dict:
    if report is None:
        return {"conforms": True, "violations": 0, "warnings": 0}
    return {"conforms": report.conforms, "violations": report.violation_count, "warnings": report.warning_count}


def _written(slug: str, applied, status: int) -> Response:
    body = {
        "practice": _practice_iri(slug),
        **_summary(applied.report),
        "version": applied.version,
        "files": list(applied.files),
    }
    response = jsonify(body)
    response.status_code = status
    # where the time went: the write path's steps, then the listeners (caches, dumps, change feed, derived graphs)
    response.headers["Server-Timing"] = ", ".join(
        f"{step.replace(' ', '-')};dur={seconds * 1000:.1f}" for step, seconds in applied.seconds.items()
    )
    etag = etag_of(slug)
    if etag:
        response.set_etag(etag)
    return response


@bp.post("/api/practices")
def create_practice() -> Response:
    _require_token()
    slug = request.args.get("slug") or _slug_from_body()
    iri = _practice_iri(slug)
    quads = _read_body(_graph_of(slug))
    _check_subjects(quads, iri)
    kg = get_kg()
    with kg.write_lock:
        if _exists(iri):
            return _conflict(iri)
        applied = _write(slug, quads, create=True, hint=_body_text())
    response = _written(slug, applied, 201)
    response.headers["Location"] = url_for("api.practice", slug=slug)
    return response


@bp.route("/api/practices/<slug>", methods=["GET", "PUT", "DELETE"])
def practice(slug: str) -> Response:
    iri = _practice_iri(slug)
    if request.method == "GET":
        if not _exists(iri):
            raise NotFound(f"no practice {iri}")
        return _read(slug)
    _require_token()
    kg = get_kg()
    if request.method == "DELETE":
        with kg.write_lock:
            _precondition(slug)
            _write(slug, None, message=f"delete {slug}")
        return Response(status=204)
    quads = _read_body(_graph_of(slug))
    _check_subjects(quads, iri)
    with kg.write_lock:
        created = not _exists(iri)
        if not created:
            _precondition(slug)
        applied = _write(slug, quads, create=created, hint=_body_text())
    return _written(slug, applied, 201 if created else 200)


@bp.post("/api/practices/<slug>/revert")
def revert(slug: str) -> Response:
    """Make a version of the practice the current one again (itself a new version)."""
    from .history import practice_at

    _require_token()
    iri = _practice_iri(slug)
    raw = (
        request.args.get("version")
        or request.form.get("version")
        or (request.get_json(silent=True) or {}).get("version")
    )
    try:
        number = int(str(raw))
    except ValueError:
        raise InputError(
            f"send the version to go back to: POST …/revert?version=N (the numbers are on /practice/{slug}/history)"
        ) from None
    kg = get_kg()
    with kg.write_lock:
        triples = practice_at(kg, iri, number)
        if request.headers.get("If-Match") and _exists(iri):
            _precondition(slug)
        graph = _located(slug)[0]
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples or ()]
        applied = _write(slug, quads or None, "revert", create=False, message=f"revert {slug} to version {number}")
    if applied.version is None:
        return jsonify({"practice": iri, "version": None, "detail": f"the practice is as at version {number} already"})
    return _written(slug, applied, 200)


def _read(slug: str) -> Response:
    """The practice as Turtle (or YAML of the source format, by Accept), with its strong ETag."""
    graph, _, own = _located(slug)
    etag = graph_etag(own)
    fmt = negotiate((TURTLE, SOURCE_YAML), what="a practice")
    if fmt is SOURCE_YAML:
        kg = get_kg()
        context = load_context(kg.settings.base_iri, kg.settings.data_path)
        body = write_yaml(own, context, graph=graph, source=f"practice {slug}").encode("utf-8")
    else:
        body = serialize_quads(own, TURTLE) or b""
    response = Response(body, mimetype=fmt.media_type)
    response.set_etag(etag or "")
    response.headers["Vary"] = "Accept"
    response.make_conditional(request)  # a 304 in place when the client has this version
    return response


def _slug_from_body() -> str:
    """The slug of a POSTed practice: from its ``id`` (YAML) or its subject IRI (RDF)."""
    text = request.get_data(as_text=True)
    match = re.search(r"practice/([a-z0-9-]+)", text)
    if not match:
        raise InputError("cannot find the practice's id (practice/{slug}) in the body; or pass ?slug=")
    return match.group(1)


def _conflict(iri: str) -> Response:
    from .problems import problem

    slug = iri.rsplit("/", 1)[-1]
    return problem(
        409,
        "Conflict",
        f"{iri} exists already; to change it, GET /api/practices/{slug} and send PUT with its ETag in If-Match",
        "conflict",
    )


def _body_text() -> str | None:
    return request.get_data(as_text=True) if request.mimetype in YAML_TYPES else None


@bp.route("/validate", methods=["GET", "POST"])
def validate() -> Response:
    """Validate posted data against the shapes (together with the stored data) without storing it."""
    kg = get_kg()
    if request.method == "GET":
        return Response(render_template("validate.html", report=None, text=""), mimetype="text/html")
    if request.form.get("form") == "practice":  # the practice form's check as you go (server/contribute)
        from .contribute.editing import validate_form

        return validate_form()
    text, mimetype = _form_or_body()
    settings = kg.settings
    job = ValidateJob(
        text.encode("utf-8"),
        mimetype,
        settings.base_iri,
        str(settings.data_path),
        settings.shacl_engine,
        settings.max_posted_triples,
    )
    report = validation_pool(kg).run(job, settings.validate_timeout, client_key())
    fmt = HTML if request.form else negotiate((PLAIN_JSON, TURTLE, HTML), what="a validation report")
    if fmt is TURTLE:
        return Response(report.turtle(), mimetype=TURTLE.media_type)
    if fmt is HTML:
        return Response(render_template("validate.html", report=report, text=text), mimetype="text/html")
    grouped = report.as_json()
    return jsonify(
        {
            **grouped,
            "results": [result for group in grouped["files"] for result in group["results"]],
        }
    )


def validation_pool(kg):
    """The worker processes of /validate, started on first use: validation runs there, off the request threads,
    at most ``max_concurrent_validations`` at once and stopped after ``validate_timeout`` (the worker is killed
    and replaced), so that posted data costs a worker, never the server."""
    with _starting:
        pool = kg.extensions.get("validate")
        if pool is None:
            from .workers import QueryPool

            sparql = kg.extensions.get("sparql")
            settings = kg.settings.with_(
                query_workers=kg.settings.validate_workers,
                query_memory_quads=0,
                max_concurrent_queries=kg.settings.max_concurrent_validations,
            )
            pool = kg.extensions["validate"] = QueryPool(
                settings, sparql.snapshots if sparql else None, name="validation"
            )
            pool.wait_ready()  # the first request waits for the start, not its own timeout
    return pool


_starting = threading.Lock()


def _form_or_body() -> tuple[str, str]:
    if request.form:
        text = request.form.get("data", "")
        upload = request.files.get("file")
        if upload and upload.filename:
            text = upload.read().decode("utf-8", errors="replace")
        mimetype = request.form.get("format", "application/yaml")
    else:
        text, mimetype = request.get_data(as_text=True), request.mimetype
    if not text.strip():
        raise InputError("nothing to validate: paste data or choose a file")
    return text, mimetype
