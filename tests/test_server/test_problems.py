"""Every route answers a bad request with the one problem shape (RFC 9457: type, title, status, detail), never a
500, and every problem's ``type`` resolves to a section of ``/docs/problems`` that explains it."""

from __future__ import annotations

import re

import pytest

from next2met.graph import errors
from next2met.server.problems import DOCS

METHODS = ("DELETE", "PATCH", "PUT", "POST", "GET")
ODD = {"int": "999999", "path": "no/such/thing", "default": "no-such-thing"}


def routes(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def url(rule) -> str:
    """The rule's path with an argument no resource has (a suffix route gets an unknown suffix)."""
    path = rule.rule
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        value = "xls" if name == "suffix" else ODD.get(kind, ODD["default"])
        path = re.sub(rf"<(?:[^:>]+:)?{name}>", value, path)
    return path


def bad_requests(app):
    """For every route: a method it does not take and, when it takes arguments, a GET of an argument no resource
    has; and for every route that answers GET, one that asks for a format nobody offers."""
    for rule in routes(app):
        method = next(m for m in METHODS if m not in rule.methods)
        yield pytest.param(method, url(rule), {}, id=f"{method} {rule.rule}")
        if "GET" in rule.methods and rule.arguments:
            yield pytest.param("GET", url(rule), {}, id=f"GET {rule.rule} (unknown)")


def test_every_route_is_tried(app):
    assert len(list(bad_requests(app))) >= len(routes(app)) > 30


def problem_shape(r, base: str) -> dict:
    assert r.mimetype == "application/problem+json", (r.status_code, r.data[:300])
    body = r.get_json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == r.status_code and 400 <= r.status_code < 500, body
    assert isinstance(body["title"], str) and body["title"] and isinstance(body["detail"], str) and body["detail"]
    assert body["type"].startswith(f"{base}{DOCS}#"), body
    return body


@pytest.fixture(scope="module")
def docs(app) -> str:
    r = app.test_client().get("/" + DOCS, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    return r.get_data(as_text=True)


def test_every_route_answers_a_bad_request_with_a_problem(app, client, docs):
    base = app.extensions["next2met"].settings.base_iri
    seen = set()
    for case in bad_requests(app):
        method, path, headers = case.values
        r = client.open(path, method=method, headers={"Accept": "application/problem+json", **headers})
        if r.status_code < 400 and method == "GET":
            continue  # a route that answers any argument (the favicon, a path that is a search)
        body = problem_shape(r, base)
        slug = body["type"].rsplit("#", 1)[1]
        assert f'id="{slug}"' in docs, f"{case.id}: /{DOCS} does not explain {slug}"
        seen.add(slug)
        r.close()
    assert {"method-not-allowed", "not-found"} <= seen


@pytest.mark.parametrize("path,headers,slug", [
    ("/sparql?query=SELECT", {}, "query-syntax"),
    ("/practices?page=x", {}, "bad-input"),
    ("/catalog", {"Accept": "image/png"}, "not-acceptable"),
    ("/queries/no-such-question", {}, "query-not-found"),
])
def test_our_own_problems_too(app, client, docs, path, headers, slug):
    r = client.get(path, headers={"Accept": "*/*", **headers})
    body = problem_shape(r, app.extensions["next2met"].settings.base_iri)
    assert body["type"].endswith("#" + slug) and f'id="{slug}"' in docs


def test_the_docs_explain_every_problem_of_ours(docs):
    """Each of our error classes (graph.errors) has its section, with its status."""
    stack, ours = [errors.KGError], {}
    while stack:
        cls = stack.pop()
        ours[cls.slug] = cls.status
        stack.extend(cls.__subclasses__())
    ours.pop("error")  # the base class, never raised itself
    for slug, status in {**ours, "internal": 500, "method-not-allowed": 405}.items():
        assert f'id="{slug}"' in docs, slug
        assert f">{status} " in docs.split(f'id="{slug}"', 1)[1][:300], slug
