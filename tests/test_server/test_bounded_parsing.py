"""Posted data is parsed within bounds, by ``next2met serve`` as a user runs it: the RDF/XML entity bomb and the YAML
alias bomb are refused with the server's memory flat, deep nesting and too many triples are refused, and
/validate runs in its own worker process, capped in number and time, so that /health stays quick meanwhile."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from next2met.graph import paths
from tests.served import serve_copy

TOKEN = "bounded-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LONGFORD = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()
RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/"'


def entity_bomb() -> str:
    entities = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
    return (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{entities}]><rdf:RDF {RDF}>'
            '<rdf:Description rdf:about="https://w3id.org/next2met/practice/x"><ex:p>&l8;</ex:p>'
            "</rdf:Description></rdf:RDF>")


def alias_bomb() -> str:
    levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    return "id: practice/x\n" + "\n".join(levels) + "\n"


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    served = serve_copy(built_store, tmp_path_factory.mktemp("bounded"), update_token=TOKEN,
                        max_posted_triples=2000)
    yield served
    served.stop()


def post(server, route: str, body: str, mimetype: str, **headers) -> requests.Response:
    return requests.post(server.url + route, data=body.encode(), timeout=60,
                         headers={"Content-Type": mimetype, "Accept": "application/json", **AUTH, **headers})


def test_bombs_are_refused_with_the_memory_flat(server):
    # warm up: the validation worker starts on first use
    assert post(server, "/validate", LONGFORD, "application/yaml").status_code == 200
    before = server.tree_rss_mb()
    bombs = [(entity_bomb(), "application/rdf+xml", "declares DOCTYPE"),
             (alias_bomb(), "application/yaml", "expands to more than")]
    for body, mimetype, message in bombs:
        assert len(body) < 1500
        for route in ("/validate", "/api/practices"):
            started = time.monotonic()
            r = post(server, route, body, mimetype)
            assert r.status_code == 400, (route, r.text[:300])
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert message in r.json()["detail"]
            assert time.monotonic() - started < 5
    assert server.tree_rss_mb() - before < 50, (before, server.tree_rss_mb())
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_deep_nesting_is_refused(server):
    deep_xml = (f'<rdf:RDF {RDF}><rdf:Description rdf:about="https://w3id.org/next2met/practice/x">'
                + "<ex:p><rdf:Description>" * 20000 + "</rdf:Description></ex:p>" * 20000
                + "</rdf:Description></rdf:RDF>")
    deep_yaml = "id: practice/x\nbudget: " + "[" * 5000 + "]" * 5000 + "\n"
    deep_json = '{"id": "practice/x", "budget": ' + "[" * 5000 + "]" * 5000 + "}"
    for body, mimetype in [(deep_xml, "application/rdf+xml"), (deep_yaml, "application/yaml"),
                           (deep_json, "application/json")]:
        for route in ("/validate", "/api/practices"):
            started = time.monotonic()
            r = post(server, route, body, mimetype)
            assert r.status_code == 400, (route, mimetype, r.text[:300])
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert time.monotonic() - started < 5, (route, mimetype)
    assert "nests elements more than" in post(server, "/validate", deep_xml, "application/rdf+xml").json()["detail"]


def test_too_many_triples_are_refused(server):
    many = "".join(f"<https://w3id.org/next2met/practice/x> <http://example.org/p> \"{i}\" .\n" for i in range(2001))
    for route in ("/validate", "/api/practices?slug=x"):
        r = post(server, route, many, "application/n-triples")
        assert r.status_code == 413, r.text[:300]
        assert "the limit is 2000" in r.json()["detail"]
    big = "x" * 1_100_000
    r = post(server, "/validate", big, "text/turtle")
    assert r.status_code == 413


def test_validations_at_once_are_capped_and_health_stays_quick(server):
    assert post(server, "/validate", LONGFORD, "application/yaml").status_code == 200
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(post, server, "/validate", LONGFORD, "application/yaml") for _ in range(16)]
        time.sleep(0.3)
        waits = []
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(server.url + "/health", timeout=5).status_code == 200
            waits.append(time.monotonic() - started)
            time.sleep(0.1)
        answers = [f.result() for f in futures]
    assert max(waits) < 1, waits
    statuses = sorted(r.status_code for r in answers)
    # one at a time from one client (max_queries_per_client), at most 4 in all: the rest are told to come back
    assert set(statuses) <= {200, 429, 503} and 200 in statuses and statuses.count(200) < 16, statuses
    busy = next(r for r in answers if r.status_code != 200)
    assert busy.headers["Content-Type"].startswith("application/problem+json")
    assert "validation" in busy.json()["detail"] and int(busy.headers["Retry-After"]) >= 1


def test_a_validation_past_its_timeout_is_stopped(built_store, tmp_path):
    served = serve_copy(built_store, tmp_path, validate_timeout=0.01)
    try:
        r = post(served, "/validate", LONGFORD, "application/yaml")
        assert r.status_code == 503, r.text[:300]
        assert "validation ran for more than 0.01 s" in r.json()["detail"]
        assert requests.get(served.url + "/health", timeout=5).status_code == 200
    finally:
        served.stop()
