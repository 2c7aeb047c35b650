"""Errors as RFC 9457 problem responses (``application/problem+json``), or an HTML page for browsers, and the page
that explains every problem (``/docs/problems``).

Three handlers: our KGError (status and slug known), werkzeug's HTTPException, and a catch-all that logs the
traceback and answers a bare 500 without details. Every problem has the same shape; its ``type`` is
``{base IRI}docs/problems#{slug}``, which this server serves (the base IRI's paths are its own).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, g, json, render_template, request
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from next2met.graph import errors
from next2met.graph.errors import KGError
from next2met.graph.formats import PLAIN_JSON, Format

from .caching import conditional
from .i18n import PROBLEM_HELP, problem_title
from .negotiation import prefers_html
from .state import get_kg

log = logging.getLogger(__name__)
bp = Blueprint("problems", __name__)
DOCS = "docs/problems"  # under the base IRI
PROBLEM = Format("problem", "problem details", "application/problem+json", "page")


def wants_html() -> bool:
    """True when the client prefers HTML to JSON (a browser)."""
    return prefers_html((PROBLEM, PLAIN_JSON))


def problem(status: int, title: str, detail: str, slug: str, **extra: object) -> Response:
    base = current_app.config["NEXT2MET_SETTINGS"].base_iri
    body = {
        "type": f"{base}{DOCS}#{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    if wants_html():
        html = render_template("problem.html", problem=body)
        return Response(html, status=status, mimetype="text/html")
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")


def handle_kg_error(e: KGError) -> Response:
    extra = dict(e.extra)
    report = getattr(e, "report", None)
    if report is not None:
        # the report's own grouping: violations by file and line, warnings counted by kind; a posted YAML body's
        # lines where the write API read one
        report = report.located(g.get("posted_places") or {})
        grouped = report.as_json(severities=("Violation",))
        extra["files"] = grouped["files"]
        extra["warningKinds"] = grouped["warningKinds"]
        extra["violations"] = [result for group in grouped["files"] for result in group["results"]]
        extra["report"] = report.text()
    response = problem(e.status, e.title, e.detail, e.slug, **extra)
    if e.status in (429, 503) and "retry_after" in e.extra:  # come back when a worker may be free
        response.headers["Retry-After"] = str(e.extra["retry_after"])
    if e.status in (409, 412, 428) and isinstance(extra.get("etag"), str):
        response.headers["ETag"] = extra["etag"] if extra["etag"].startswith('"') else f'"{extra["etag"]}"'
    if e.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="next2met"'
    if e.extra.get("retry_after"):
        response.headers["Retry-After"] = str(e.extra["retry_after"])
    return response


def handle_http_error(e: HTTPException) -> Response:
    slug = slug_of(e)
    response = problem(e.code or 500, e.name or "Error", e.description or "", slug)
    if e.code == 405 and e.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(e.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected(e: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal Server Error", "The server failed; the error has been logged.", "internal")


def slug_of(e: HTTPException) -> str:
    return _slug(e.name or "error")


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def statuses() -> dict[str, int]:
    """Every problem slug this server may answer with, and its status: ours (graph.errors) and werkzeug's."""
    found = {_slug(HTTP_STATUS_CODES[code]): code for code in default_exceptions}
    stack: list[type[KGError]] = [errors.KGError]
    while stack:
        cls = stack.pop()
        found[cls.slug] = cls.status
        stack.extend(cls.__subclasses__())
    return found | {"internal": 500, "conflict": 409}


@bp.get(f"/{DOCS}")
def problem_docs() -> Response:
    """What each problem means and what to do about it, one section (anchor) per slug."""
    codes = statuses()
    entries = sorted(
        (
            {"slug": slug, "status": codes.get(slug, 400), "title": problem_title({"type": "#" + slug}), "help": text}
            for slug, text in PROBLEM_HELP.items()
        ),
        key=lambda e: (e["status"], e["slug"]),
    )
    response = Response(render_template("problems.html", entries=entries), mimetype="text/html")
    return conditional(response, get_kg(), max_age=3600)


def register_handlers(app: Flask) -> None:
    app.register_error_handler(KGError, handle_kg_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
