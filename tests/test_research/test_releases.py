"""Releases: frozen by the CLI while the server runs, listed, in the catalogue with DCAT 3 versioning, queryable
as they were after further edits, and their diff right on a planted change."""

from __future__ import annotations

import pyoxigraph as ox
import requests

from next2met.graph.cli import main
from tests.test_research.conftest import AUTH, BASE, LONGFORD

LONGFORD_IRI = f"{BASE}practice/digital-consultations-longford"
TITLE = "Digital consultations to inform Local Digital Strategies"
TITLE_QUERY = f"SELECT ?t WHERE {{ <{LONGFORD_IRI}> <http://purl.org/dc/terms/title> ?t FILTER(lang(?t) = 'en') }}"
NEW = LONGFORD.replace("practice/digital-consultations-longford", "practice/release-test-practice")


def release(served, name: str, capsys) -> None:
    assert main(["release", name, "--store", served.kg.settings.store]) == 0
    out = capsys.readouterr()
    assert f"Release {name}:" in out.err


def test_release_survives_edits_and_its_diff_is_right(served, capsys):
    assert TITLE in LONGFORD
    release(served, "r1", capsys)
    # a planted change: one practice renamed, one added
    r = served.write("PUT", "digital-consultations-longford", LONGFORD.replace(TITLE, "Renamed for the release test"))
    assert r.status_code == 200, r.text
    r = requests.post(f"{served.url}/api/practices", data=NEW.encode(),
                      headers={**AUTH, "Content-Type": "application/yaml"}, timeout=60)
    assert r.status_code == 201, r.text
    assert served.select(TITLE_QUERY) == [{"t": "Renamed for the release test"}]
    # the release answers as it was
    assert served.select(TITLE_QUERY, release="r1") == [{"t": TITLE}]
    assert not served.ask(f"ASK {{ <{BASE}practice/release-test-practice> ?p ?o }}", release="r1")
    release(served, "r2", capsys)
    listed = requests.get(f"{served.url}/releases.json", timeout=30).json()
    assert [r["name"] for r in listed] == ["r1", "r2"] and listed[1]["previous"] == "r1"
    d = requests.get(f"{served.url}/releases/r1/diff/r2", headers={"Accept": "application/json"}, timeout=60).json()
    assert d["practicesAdded"] == [f"{BASE}practice/release-test-practice"]
    assert d["practicesRemoved"] == []
    assert "dcterms:title" in d["practicesChanged"][LONGFORD_IRI]
    assert any(s.startswith("1 practice added: ") for s in d["summary"])
    added = list(ox.parse(requests.get(d["added"], timeout=30).content, format=ox.RdfFormat.N_QUADS))
    removed = list(ox.parse(requests.get(d["removed"], timeout=30).content, format=ox.RdfFormat.N_QUADS))
    title = "http://purl.org/dc/terms/title"
    assert ox.Literal("Renamed for the release test", language="en") in {
        q.object for q in added if q.subject.value == LONGFORD_IRI and q.predicate.value == title}
    assert ox.Literal(TITLE, language="en") in {
        q.object for q in removed if q.subject.value == LONGFORD_IRI and q.predicate.value == title}
    # nothing else of the curated data moved: every other added or removed quad is about the two practices,
    # their graphs' provenance, or the derived graphs
    for q in added + removed:
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        assert ("digital-consultations-longford" in graph or "release-test-practice" in graph
                or graph.endswith("graph/provenance") or "/graph/derived/" in graph), q
    patch = requests.get(d["patch"], timeout=30).text
    assert patch.startswith("TX .") and patch.count("\nA ") == len(added) and patch.count("\nD ") == len(removed)
    # a diff of a release with itself says nothing changed
    same = requests.get(f"{served.url}/releases/r2/diff/r2", headers={"Accept": "application/json"}, timeout=60)
    assert same.json()["quadsAdded"] == 0 and same.json()["summary"] == ["Nothing changed between r2 and r2."]


def test_release_files_citation_and_catalogue(served, capsys):
    release(served, "2026.1", capsys)
    about = requests.get(f"{served.url}/releases/2026.1", headers={"Accept": "application/json"}, timeout=30).json()
    gz = next(f for f in about["files"] if f["filename"].endswith(".nq.gz"))
    r = requests.get(gz["url"], timeout=30)
    import hashlib

    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == gz["sha256"]
    sums = requests.get(f"{served.url}/releases/2026.1/SHA256SUMS", timeout=30).text
    assert f"{gz['sha256']}  {gz['filename']}" in sums
    assert "version: \"2026.1\"" in requests.get(about["cff"], timeout=30).text
    assert "@misc{next2met_2026_1" in requests.get(about["bibtex"], timeout=30).text
    page = requests.get(f"{served.url}/releases/2026.1", headers={"Accept": "text/html"}, timeout=30).text
    assert "How to cite it" in page and "2026.1" in page
    cat = requests.get(f"{served.url}/catalog", headers={"Accept": "application/n-triples"}, timeout=30)
    triples = {(t.subject.value, t.predicate.value, t.object.value)
               for t in ox.parse(cat.content, format=ox.RdfFormat.N_TRIPLES)}
    iri = f"{BASE}dataset/next2met/release/2026.1"
    dcat = "http://www.w3.org/ns/dcat#"
    assert (f"{BASE}dataset/next2met", dcat + "hasVersion", iri) in triples
    assert (iri, dcat + "version", "2026.1") in triples
    assert (iri, dcat + "inSeries", f"{BASE}dataset/next2met/releases") in triples
    release(served, "2026.2", capsys)
    cat = requests.get(f"{served.url}/catalog", headers={"Accept": "application/n-triples"}, timeout=30)
    triples = {(t.subject.value, t.predicate.value, t.object.value)
               for t in ox.parse(cat.content, format=ox.RdfFormat.N_TRIPLES)}
    assert (f"{BASE}dataset/next2met/release/2026.2", dcat + "previousVersion", iri) in triples
    # and the catalogue with its releases still conforms to DCAT-AP 3.0.1
    import rdflib

    from tests.test_server.test_catalog import SHAPES_301, validate

    g = rdflib.Graph().parse(data=cat.content, format="nt")
    violations = [r for r in validate(g, SHAPES_301) if r[0] == "Violation"]
    assert violations == [], violations


def test_bad_release_names_get_clear_answers(served, capsys):
    r = requests.get(f"{served.url}/sparql", params={"query": "ASK {}", "release": "nope"}, timeout=30)
    assert r.status_code == 404 and "no release 'nope'" in r.json()["detail"]
    r = requests.get(f"{served.url}/sparql", params={"query": "ASK {}", "release": "../x"}, timeout=30)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json")
    assert requests.get(f"{served.url}/releases/nope", timeout=30).status_code == 404
    assert main(["release", "Bad Name", "--store", served.kg.settings.store]) == 2
    assert "not a release name" in capsys.readouterr().err
