"""The write API: token, SHACL check before any write, nothing half-written; and the /validate service."""

from __future__ import annotations

import pytest

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import data_copy, make_settings

TOKEN = "s3cret-token"
LONGFORD = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()
NEW = LONGFORD.replace("practice/digital-consultations-longford", "practice/api-test-practice").replace(
    "Digital consultations to inform Local Digital Strategies", "An API test practice"
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YAML = "application/yaml"


@pytest.fixture
def writable(store_copy, tmp_path):
    app = create_app(make_settings(store_copy, update_token=TOKEN, data_dir=str(data_copy(tmp_path / "data"))))
    yield app.test_client(), app.extensions["next2met"]
    app.extensions["next2met"].close()


def count(kg) -> int:
    return kg.store.count()


def test_writes_need_a_token(writable):
    client, kg = writable
    before = count(kg)
    r = client.post("/api/practices", data=NEW, content_type=YAML)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.post("/api/practices", data=NEW, content_type=YAML, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert count(kg) == before


def test_writes_off_without_configured_token(client):
    r = client.delete("/api/practices/digital-consultations-longford", headers=AUTH)
    assert r.status_code == 403
    assert r.json["detail"].startswith("writes are turned off")


def test_create_read_replace_delete(writable):
    client, kg = writable
    r = client.post("/api/practices", data=NEW, content_type=YAML, headers=AUTH)
    assert r.status_code == 201, r.json
    assert r.headers["Location"].endswith("/api/practices/api-test-practice")
    assert kg.store.ask('ASK { <https://w3id.org/next2met/practice/api-test-practice> '
                        '<http://purl.org/dc/terms/title> "An API test practice"@en }')
    assert client.post("/api/practices", data=NEW, content_type=YAML, headers=AUTH).status_code == 409
    read = client.get("/api/practices/api-test-practice")
    assert "An API test practice" in read.get_data(as_text=True)
    r = client.put("/api/practices/api-test-practice", data=NEW.replace("An API test practice", "Renamed"),
                   content_type=YAML, headers={**AUTH, "If-Match": read.headers["ETag"]})
    assert r.status_code == 200
    assert kg.store.ask('ASK { ?p <http://purl.org/dc/terms/title> "Renamed"@en }')
    assert not kg.store.ask('ASK { ?p <http://purl.org/dc/terms/title> "An API test practice"@en }')
    # provenance records the written graph and the file it is kept in
    assert kg.store.ask('ASK { GRAPH <https://w3id.org/next2met/graph/provenance> { '
                        '<https://w3id.org/next2met/graph/practices/api-test-practice> '
                        '<http://purl.org/dc/terms/identifier> "data/practices/api-test-practice.yaml" } }')
    etag = client.get("/api/practices/api-test-practice").headers["ETag"]
    assert client.delete("/api/practices/api-test-practice", headers={**AUTH, "If-Match": etag}).status_code == 204
    assert client.get("/api/practices/api-test-practice").status_code == 404


def test_invalid_practice_is_refused_with_report_and_nothing_written(writable):
    client, kg = writable
    before = sorted(str(q) for q in kg.store.quads())
    bad = NEW.replace("standing: gp-database\n", "")
    r = client.post("/api/practices", data=bad, content_type=YAML, headers=AUTH)
    assert r.status_code == 422
    body = r.json
    assert body["type"].endswith("#shapes-invalid")
    assert any(v["path"] == "n2m:standing" and v["focusNode"].endswith("api-test-practice") for v in body["violations"])
    assert sorted(str(q) for q in kg.store.quads()) == before


def test_delete_that_breaks_links_is_refused(writable):
    """Actions link to this practice (inspired by it): deleting it would leave dangling links."""
    client, kg = writable
    etag = client.get("/api/practices/digital-consultations-longford").headers["ETag"]
    r = client.delete("/api/practices/digital-consultations-longford", headers={**AUTH, "If-Match": etag})
    assert r.status_code == 422
    assert kg.store.ask("ASK { <https://w3id.org/next2met/practice/digital-consultations-longford> ?p ?o }")


def test_body_may_not_describe_other_resources(writable):
    client, _ = writable
    ttl = (
        "<https://w3id.org/next2met/practice/api-test-practice> a "
        "<https://w3id.org/next2met/ontology#GoodPractice> .\n"
        "<https://w3id.org/next2met/organisation/emra> "
        "<http://www.w3.org/2004/02/skos/core#prefLabel> \"Hacked\"@en .\n"
    )
    r = client.put("/api/practices/api-test-practice", data=ttl, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 400
    assert "organisation/emra" in r.json["detail"]


@pytest.mark.parametrize("body,ctype,status", [
    ("", YAML, 400),
    ("id: practice/x\ntitle: {en: [broken\n", YAML, 400),
    ("<a> <b> .", "text/turtle", 400),
    ("hello", "text/plain", 415),
])
def test_bad_bodies_get_clear_4xx(writable, body, ctype, status):
    client, _ = writable
    r = client.put("/api/practices/api-test-practice", data=body, content_type=ctype, headers=AUTH)
    assert r.status_code == status
    assert r.json["detail"]


def test_bad_slug(writable):
    client, _ = writable
    r = client.put("/api/practices/Not_A_Slug", data=NEW, content_type=YAML, headers=AUTH)
    assert r.status_code == 400


def test_validate_json_and_form(client):
    r = client.post("/validate", data=NEW.replace("standing: gp-database\n", ""), content_type=YAML,
                    headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json["conforms"] is False and r.json["violations"] >= 1
    assert all(res["focusNode"].startswith("https://w3id.org/next2met/practice/api-test-practice")
               for res in r.json["results"])
    r = client.post("/validate", data={"data": NEW, "format": YAML}, headers={"Accept": "text/html"})
    assert r.status_code == 200 and "Conforms" in r.get_data(as_text=True)
    assert client.get("/validate", headers={"Accept": "text/html"}).status_code == 200


def test_build_while_serving_is_picked_up(store_copy, tmp_path, capsys):
    """``next2met build`` on the store a server holds writes a new generation; the server switches to it."""
    import shutil

    from next2met.graph.cli import main

    app = create_app(make_settings(store_copy))
    client = app.test_client()
    ask = {"query": 'ASK { ?p <http://purl.org/dc/terms/title> "An API test practice"@en }'}
    accept = {"Accept": "application/sparql-results+json"}
    try:
        assert client.get("/sparql", query_string=ask, headers=accept).json["boolean"] is False
        data = tmp_path / "data"
        shutil.copytree(paths.DATA_DIR, data)
        (data / "practices" / "api-test-practice.yaml").write_text(NEW)
        assert main(["build", "--store", str(store_copy), "--data", str(data), "--quiet"]) == 0, capsys.readouterr()
        app.extensions["next2met"]._checked_at = 0  # do not wait for the one-second throttle
        assert client.get("/sparql", query_string=ask, headers=accept).json["boolean"] is True
    finally:
        app.extensions["next2met"].close()
