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

from next2met.graph.changes import provenance_graph_iri, replace_checked
from next2met.graph.errors import InputError, NotFound
from next2met.graph.formats import HTML, PLAIN_JSON, TURTLE
from next2met.graph.rdfio import serialize_quads

from .jobs import ValidateJob
from .negotiation import negotiate
from .posted import read_posted
from .sparql import client_key
from .state import Change, get_kg

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
    return read_posted(request.get_data(), request.mimetype, graph, base_iri=settings.base_iri,
                       data_dir=settings.data_path, max_triples=settings.max_posted_triples,
                       places=g.posted_places)


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
    strangers = sorted({
        q.subject.value for q in quads
        if not isinstance(q.subject, ox.BlankNode)
        and q.subject.value != iri and not q.subject.value.startswith(iri + "#")
    })
    if strangers:
        raise InputError("the body may only describe the practice itself; it also describes "
                         + ", ".join(strangers[:5]))


def _exists(iri: str) -> bool:
    return get_kg().store.ask(f"ASK {{ <{iri}> a <{GOOD_PRACTICE}> }}")


def _write(slug: str, quads: list[ox.Quad], reason: str):
    kg = get_kg()
    graph = _graph_of(slug)
    with kg.write_lock:
        report = replace_checked(kg.store, {graph: quads}, base=kg.settings.base_iri, engine=kg.settings.shacl_engine)
        kg.changed(Change((graph, provenance_graph_iri(kg.settings.base_iri)), reason))
    return report


def _summary(report) -> dict:
    return {"conforms": report.conforms, "violations": report.violation_count, "warnings": report.warning_count}


@bp.post("/api/practices")
def create_practice() -> Response:
    _require_token()
    slug = request.args.get("slug") or _slug_from_body()
    iri = _practice_iri(slug)
    quads = _read_body(_graph_of(slug))
    _check_subjects(quads, iri)
    if _exists(iri):
        return _conflict(iri)
    report = _write(slug, quads, "api")
    response = jsonify({"practice": iri, **_summary(report)})
    response.status_code = 201
    response.headers["Location"] = url_for("api.practice", slug=slug)
    return response


@bp.route("/api/practices/<slug>", methods=["GET", "PUT", "DELETE"])
def practice(slug: str) -> Response:
    iri = _practice_iri(slug)
    if request.method == "GET":
        if not _exists(iri):
            raise NotFound(f"no practice {iri}")
        quads = list(get_kg().store.quads(_graph_of(slug)))
        return Response(serialize_quads(quads, TURTLE), mimetype=TURTLE.media_type)
    _require_token()
    if request.method == "DELETE":
        if not _exists(iri):
            raise NotFound(f"no practice {iri}")
        _write(slug, [], "api-delete")
        return Response(status=204)
    quads = _read_body(_graph_of(slug))
    _check_subjects(quads, iri)
    created = not _exists(iri)
    report = _write(slug, quads, "api")
    response = jsonify({"practice": iri, **_summary(report)})
    response.status_code = 201 if created else 200
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

    return problem(409, "Conflict", f"{iri} exists already; use PUT /api/practices/<slug> to replace it", "conflict")


@bp.route("/validate", methods=["GET", "POST"])
def validate() -> Response:
    """Validate posted data against the shapes (together with the stored data) without storing it."""
    kg = get_kg()
    if request.method == "GET":
        return Response(render_template("validate.html", report=None, text=""), mimetype="text/html")
    text, mimetype = _form_or_body()
    settings = kg.settings
    job = ValidateJob(text.encode("utf-8"), mimetype, settings.base_iri, str(settings.data_path),
                      settings.shacl_engine, settings.max_posted_triples)
    report = validation_pool(kg).run(job, settings.validate_timeout, client_key())
    fmt = HTML if request.form else negotiate((PLAIN_JSON, TURTLE, HTML), what="a validation report")
    if fmt is TURTLE:
        return Response(report.turtle(), mimetype=TURTLE.media_type)
    if fmt is HTML:
        return Response(render_template("validate.html", report=report, text=text), mimetype="text/html")
    grouped = report.as_json()
    return jsonify({
        **grouped,
        "results": [result for group in grouped["files"] for result in group["results"]],
    })


def validation_pool(kg):
    """The worker processes of /validate, started on first use: validation runs there, off the request threads,
    at most ``max_concurrent_validations`` at once and stopped after ``validate_timeout`` (the worker is killed
    and replaced), so that posted data costs a worker, never the server."""
    with _starting:
        pool = kg.extensions.get("validate")
        if pool is None:
            from .workers import QueryPool

            sparql = kg.extensions.get("sparql")
            settings = kg.settings.with_(query_workers=kg.settings.validate_workers, query_memory_quads=0,
                                         max_concurrent_queries=kg.settings.max_concurrent_validations)
            pool = kg.extensions["validate"] = QueryPool(settings, sparql.snapshots if sparql else None,
                                                         name="validation")
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
