"""Property-based fuzzing of the whole HTTP surface: every route of the app, every method, a range of content types
and Accept headers, with SPARQL, YAML, JSON-LD, RDF/XML and Turtle bodies mutated from seeds that name a local
listener to fetch. The server must never answer 5xx, every problem must have the one problem+json shape, and the
listener must see no connection. Fixed seed (derandomised) and a bounded number of examples, so the run is
repeatable and short enough for CI."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings
from tests.test_server.test_posted_data import Listener

TOKEN = "fuzz-token"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
CONTENT_TYPES = [
    None, "application/sparql-query", "application/sparql-update", "application/x-www-form-urlencoded",
    "application/yaml", "application/json", "application/ld+json", "text/turtle", "application/rdf+xml",
    "application/xml", "application/n-triples", "application/n-quads", "application/trig", "text/plain",
    "multipart/form-data; boundary=xyz", "application/sparql-query; charset=latin-1", "*/*", "garbage",
]
ACCEPTS = [
    None, "*/*", "application/json", "application/problem+json", "text/html", "text/turtle",
    "application/sparql-results+json", "application/sparql-results+xml", "text/csv", "application/ld+json",
    "application/rdf+xml", "image/png", "text/html;q=0.1, application/json;q=0.9", ";;;", "x/y;q=abc",
]
# values for the variable parts of routes
SAMPLES = {
    "slug": ["digital-consultations-longford", "no-such-practice", "..%2F..%2Fetc", "a" * 300],
    "name": ["practice-neighbourhood", "keyword-search", "nope", "%00"],
    "default": ["x", "digital-consultations-longford", "FI1C3", "..", "%2e%2e", "\u00e9"],
}


def seeds(listener: str) -> dict[str, list[str]]:
    longford = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()
    return {
        "sparql": [
            "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
            f"SELECT * WHERE {{ SERVICE <{listener}> {{ ?s ?p ?o }} }}",
            f"LOAD <{listener}>",
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2",
            "ASK { ?s a ?t }",
            f"INSERT DATA {{ GRAPH <https://example.org/f> {{ <{listener}> <http://p> 1 }} }}",
        ],
        "yaml": [longford, f'id: practice/x\n"@context": "{listener}"\n', "id: practice/y\nmodified: 2026-13-45\n"],
        "jsonld": [json.dumps({"@context": listener, "@id": "https://example.org/a", "name": "x"}),
                   json.dumps({"@context": {"@import": listener}, "@id": "https://example.org/a"})],
        "xml": [f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "{listener}">]>'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://e/">'
                '<rdf:Description rdf:about="https://w3id.org/next2met/practice/x"><ex:p>&e;</ex:p>'
                "</rdf:Description></rdf:RDF>"],
        "turtle": [f"@base <{listener}> . <a> <b> <c> .",
                   "<https://w3id.org/next2met/practice/x> a <https://w3id.org/next2met/ontology#GoodPractice> ."],
    }


@st.composite
def mutated(draw, texts: list[str]) -> bytes:
    """A seed, then a few byte-level changes: cut, duplicate, insert, replace."""
    data = bytearray(draw(st.sampled_from(texts)).encode())
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["cut", "dup", "insert", "replace", "nest"]))
        if kind == "cut":
            del data[at:]
        elif kind == "dup":
            data[at:at] = data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "replace":
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = draw(st.sampled_from([b"{", b"(", b"[", b"<", b"&", b"\x00", b"@context", b"*a"])) * \
                draw(st.integers(1, 200))
    return bytes(data)


@pytest.fixture(scope="module")
def fuzzed(built_store, tmp_path_factory):
    target = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(built_store, target, symlinks=True)
    app = create_app(make_settings(target, update_token=TOKEN, query_timeout=20, max_queries_per_client=0))
    live = LiveServer(app)
    listener = Listener()
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        routes.append((re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), sorted(rule.methods or ())))
    yield live, listener, sorted(routes)
    listener.close()
    live.stop()
    app.extensions["next2met"].close()


def test_no_input_gets_a_5xx_or_reaches_out(fuzzed):
    live, listener, routes = fuzzed
    bodies = seeds(listener.url)
    all_seeds = [text for texts in bodies.values() for text in texts]
    statuses: dict[int, int] = {}

    bodied = [r for r in routes if {"POST", "PUT"} & set(r[1])]  # where bodies are read: drawn half the time

    @settings(max_examples=400, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(route=st.one_of(st.sampled_from(routes), st.sampled_from(bodied)), data=st.data(),
           content_type=st.sampled_from(CONTENT_TYPES), accept=st.sampled_from(ACCEPTS),
           body=mutated(all_seeds), as_form=st.booleans(), token=st.sampled_from([None, None, "wrong", TOKEN]),
           values=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in SAMPLES.items()}))
    def one(route, data, content_type, accept, body, as_form, token, values):
        method = data.draw(st.one_of(st.sampled_from(METHODS), st.sampled_from(route[1])))
        path = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), values["default"]), route[0])
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        if token:
            headers["Authorization"] = f"Bearer {token}"
        sent = body
        if as_form and content_type == "application/x-www-form-urlencoded":
            field = "update" if "update" in path else "data" if "validate" in path else "query"
            sent = f"{field}={requests.utils.quote(body.decode('utf-8', 'replace'))}".encode()
        params = {"query": body.decode("utf-8", "replace")[:2000]} if method == "GET" and as_form else None
        r = requests.request(method, live.url + path, data=sent if method not in ("GET", "HEAD") else None,
                             params=params, headers=headers, timeout=60, allow_redirects=False)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (method, path, content_type, accept, r.status_code, r.text[:500])
        problem_json = r.headers.get("Content-Type", "").startswith("application/problem+json")
        if r.status_code >= 400 and problem_json and method != "HEAD":
            problem = r.json()
            assert set(problem) >= PROBLEM_KEYS, problem
            assert problem["status"] == r.status_code
            assert problem["type"].startswith("https://w3id.org/next2met/docs/problems#")
        assert "Traceback" not in r.text

    one()
    assert listener.connections == 0
    # the requests reached the handlers, not only the router: answers, refusals of bodies, of types, of methods
    assert {200, 400, 405, 415} <= set(statuses), statuses
