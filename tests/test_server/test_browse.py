"""/practices: full-text search in every language, facets whose counts match the data files, combinable filters,
paging, the JSON and CSV twins, clear 4xx answers, and an index that follows data changes. The expected counts
are computed here from data/*.yaml and ontology/schemes/*.ttl, not by the server's code."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from functools import cache
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import rdflib
from rdflib.namespace import SKOS

from tests.sources import records

ROOT = Path(__file__).resolve().parents[2]
CONCEPT = "https://w3id.org/next2met/concept/"


def as_list(value) -> list:
    return [] if value is None else [str(v) for v in (value if isinstance(value, list) else [value])]


@cache
def practices() -> dict[str, dict]:
    return {r["id"]: r for r in records("data/practices/*.yaml")}


@cache
def schemes() -> rdflib.Graph:
    g = rdflib.Graph()
    for path in (ROOT / "ontology" / "schemes").glob("*.ttl"):
        g.parse(path)
    return g


@cache
def region_parents() -> dict[str, str]:
    return {str(r["id"])[5:]: str(r.get("broader", "")) for r in records("data/regions.yaml")}


def with_ancestors(code: str, parents: dict[str, str]) -> set[str]:
    out = {code}
    while parents.get(code):
        code = parents[code]
        out.add(code)
    return out


def concept_ancestors(scheme: str, code: str) -> set[str]:
    node = rdflib.URIRef(f"{CONCEPT}{scheme}/{code}")
    return {code} | {str(a).rsplit("/", 1)[1] for a in schemes().transitive_objects(node, SKOS.broader) if a != node}


def expected_facets() -> dict[str, Counter]:
    """Facet → key → number of practice files that have it (with the broader concepts and regions)."""
    levels = {str(r["id"])[5:]: r.get("level") for r in records("data/regions.yaml")}
    counts: dict[str, Counter] = {f: Counter() for f in ("region", "country", "sector", "stage", "measure",
                                                         "stakeholder", "year", "standing")}
    for r in practices().values():
        regions = set().union(*(with_ancestors(c, region_parents()) for c in as_list(r.get("region")))) \
            if r.get("region") else set()
        counts["country"].update(c for c in regions if levels.get(c) == 0)
        counts["region"].update(c for c in regions if levels.get(c) != 0)
        for facet, key, scheme in (("sector", "sectors", "ris3"), ("stage", "stages", "stage"),
                                   ("measure", "measures", "measure")):
            counts[facet].update(set().union(*(concept_ancestors(scheme, c) for c in as_list(r.get(key)))))
        types = {s["stakeholder_type"] for s in r.get("stakeholders", []) if s.get("stakeholder_type")}
        counts["stakeholder"].update(set().union(*(concept_ancestors("stakeholder-type", t) for t in types)))
        counts["year"].update(as_list(r.get("start_year")))
        counts["standing"].update(as_list(r.get("standing")))
    return counts


def search(client, **params) -> dict:
    response = client.get("/practices.json", query_string=params)
    assert response.status_code == 200, response.data
    return response.get_json()


def all_results(client, **params) -> list[str]:
    body = search(client, per_page=100, **params)
    return [r["iri"].split("/next2met/", 1)[1] for r in body["results"]]


def test_facet_counts_match_the_data_files(client):
    facets = search(client)["facets"]
    for facet, expected in expected_facets().items():
        served = {v["key"]: v["count"] for v in facets[facet]}
        assert served == dict(expected), facet


def test_every_facet_link_leaves_as_many_practices_as_it_counts(client):
    facets = search(client)["facets"]
    for facet, values in facets.items():
        for v in values:
            query = parse_qs(urlsplit(v["toggle"]).query)
            assert query[facet] == [v["key"]]
            assert search(client, **{k: vs[0] for k, vs in query.items()})["total"] == v["count"], (facet, v["key"])


def test_filters_combine_with_and(client):
    counts = expected_facets()
    country = counts["country"].most_common(1)[0][0]
    stage = counts["stage"].most_common(1)[0][0]
    expected = sorted(
        r["id"] for r in practices().values()
        if country in set().union(*(with_ancestors(c, region_parents()) for c in as_list(r.get("region"))))
        and stage in set().union(*(concept_ancestors("stage", s) for s in as_list(r.get("stages"))))
    )
    assert sorted(all_results(client, country=country, stage=stage)) == expected
    query = urlsplit(client.get("/practices", query_string={"country": country, "stage": stage}).request.url).query
    html = client.get("/practices?" + query, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"{len(expected)} practice" in html  # the state is in the URL alone


def fold(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def texts(record: dict, lang: str | None = None) -> str:
    parts = []
    for key in ("title", "summary", "description", "keywords", "also_known_as"):
        for tag, value in (record.get(key) or {}).items():
            if lang is None or tag == lang:
                parts.extend(value if isinstance(value, list) else [value])
    return " ".join(map(str, parts))


def test_search_finds_a_word_written_only_in_another_language(client):
    vocab = {pid: set(re.findall(r"\w+", fold(texts(r)))) for pid, r in practices().items()}
    for pid, record in sorted(practices().items()):
        for lang in sorted(set(record["title"]) - {"en"}):
            english = set(re.findall(r"\w+", fold(texts(record, "en"))))
            native = set(re.findall(r"\w{7,}", fold(texts(record, lang)))) - english
            unique = sorted(w for w in native if all(w not in v for p, v in vocab.items() if p != pid))
            if unique:
                assert all_results(client, q=unique[0]) == [pid]
                return
    pytest.fail("no practice has a word of its own in a second language")


def test_search_folds_accents_and_matches_prefixes(client):
    accented = [pid for pid, r in practices().items() if "päijät" in texts(r).casefold()]
    assert accented
    assert set(accented) <= set(all_results(client, q="PAIJAT"))
    assert set(accented) <= set(all_results(client, q="päijät"))
    word = "digitalisation"
    having = {pid for pid, r in practices().items() if re.search(r"\bdigitali[sz]ation", fold(texts(r)))}
    assert having <= set(all_results(client, q=word[:7]))


def test_search_ranks_title_matches_first_and_needs_every_word(client):
    for word in sorted({w for r in practices().values() for w in re.findall(r"\w{6,}", fold(r["title"]["en"]))}):
        in_title = {pid for pid, r in practices().items()
                    if word in re.findall(r"\w+", fold(texts({"title": r["title"]})))}
        elsewhere = {pid for pid, r in practices().items() if word in re.findall(r"\w+", fold(texts(r)))} - in_title
        if len(in_title) == 1 and elsewhere:
            results = all_results(client, q=word)
            assert results[0] in in_title and set(results) >= elsewhere
            break
    else:
        pytest.fail("no title word also appears elsewhere")
    assert all_results(client, q="zzzxqv") == []
    one, two = sorted(practices())[:2]
    assert search(client, q=f"{fold(practices()[one]['title']['en'])} zzzxqv")["total"] == 0


def test_paging_covers_every_result_once(client):
    total = len(practices())
    seen: list[str] = []
    page = 1
    while True:
        body = search(client, per_page=5, page=page)
        assert body["pages"] == -(-total // 5)
        seen.extend(r["iri"] for r in body["results"])
        if not body["links"]["next"]:
            break
        assert "page=" + str(page + 1) in body["links"]["next"]
        page += 1
    assert len(seen) == len(set(seen)) == total


def test_json_twin_csv_and_html_agree(client):
    params = {"q": "digital", "sort": "title"}
    as_json = search(client, **params)
    by_accept = client.get("/practices", query_string=params, headers={"Accept": "application/json"}).get_json()
    assert by_accept["results"] == as_json["results"]
    html = client.get("/practices", query_string=params, headers={"Accept": "text/html"}).get_data(as_text=True)
    titles = re.findall(r'<h3><a href="/practice/[^"]+" lang="[^"]+">([^<]+)</a></h3>', html)
    assert [unescape(t) for t in titles] == [r["title"] for r in as_json["results"]][: len(titles)]
    response = client.get("/practices.csv", query_string=params)
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == as_json["total"] and rows[0]["iri"] == as_json["results"][0]["iri"]
    by_accept_csv = client.get("/practices", query_string=params, headers={"Accept": "text/csv"})
    assert by_accept_csv.data == response.data


@pytest.mark.parametrize(("params", "status"), [
    ({"page": "abc"}, 400), ({"page": "0"}, 400), ({"per_page": "-1"}, 400), ({"sort": "random"}, 400),
])
def test_bad_parameters_get_a_clear_400(client, params, status):
    response = client.get("/practices", query_string=params)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert next(iter(params)) in response.get_json()["detail"]


def test_unacceptable_type_and_unknown_values(client):
    assert client.get("/practices", headers={"Accept": "image/png"}).status_code == 406
    body = search(client, region="XX9")
    assert body["total"] == 0 and body["unknown_filters"] == {"region": ["XX9"]}
    assert search(client, per_page=100000)["per_page"] == 100


def test_index_follows_data_changes(store_copy):
    from next2met.graph.settings import Settings
    from next2met.server.app import create_app
    from next2met.server.state import Change

    app = create_app(Settings(store=str(store_copy)))
    try:
        client = app.test_client()
        assert search(client, q="Quuxbridge")["total"] == 0
        kg = app.extensions["next2met"]
        graph = "https://w3id.org/next2met/graph/practices/quuxbridge"
        with kg.write_lock:
            kg.store.update(
                "PREFIX dcterms: <http://purl.org/dc/terms/> "
                f"INSERT DATA {{ GRAPH <{graph}> {{ <https://w3id.org/next2met/practice/quuxbridge> "
                "a <https://w3id.org/next2met/ontology#GoodPractice> ; dcterms:title \"Quuxbridge hub\"@en ; "
                "dcterms:spatial <http://data.europa.eu/nuts/code/FI1C3> } }")
            kg.changed(Change((graph,), "update"))
        body = search(client, q="quuxbridge")
        assert [r["iri"] for r in body["results"]] == ["https://w3id.org/next2met/practice/quuxbridge"]
        assert search(client)["total"] == len(practices()) + 1
    finally:
        app.extensions["next2met"].close()
