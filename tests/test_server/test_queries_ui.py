"""``/queries`` and ``/queries/{name}``: the research questions on the web, through the real app.

The answers are compared with the same query run directly on the app's store (the queries' own correctness on
the data is tested in tests/test_graph/test_queries.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
import rdflib

from next2met.graph.queries import get_query, list_queries

QUERIES = list_queries()
JSON = "application/sparql-results+json"


class Page(HTMLParser):
    """The links, forms, inputs and table cells of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[dict] = []
        self.forms: list[str] = []
        self.inputs: list[dict] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self.links.append(a)
        elif tag == "form":
            self.forms.append(a.get("action", ""))
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None


def direct(app, name: str, **params):
    """The answer of the query run on the app's store, as rows of plain strings."""
    kg = app.extensions["next2met"]
    result = kg.store.query(get_query(name).bind(params))
    if result.kind == "select":
        return result.variables, [{k: v.value for k, v in r.items()} for r in result.rows()]
    if result.kind == "ask":
        return None, bool(result.value)
    return None, set(result.triples())


def test_the_list_shows_every_query_with_a_form_for_its_parameters(client):
    r = client.get("/queries", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    page = Page(html)
    for q in QUERIES:
        assert q.title in html.replace("&#34;", '"').replace("&#39;", "'")
        assert f"/queries/{q.name}" in page.forms
        for p in q.params:
            assert any(i.get("name") == p.name and i.get("id") == f"{q.name}-{p.name}" for i in page.inputs)
            if p.default:
                assert any(i.get("id") == f"{q.name}-{p.name}" and i.get("value") == p.default for i in page.inputs)
    editor_links = [a["href"] for a in page.links if a.get("href", "").startswith("/sparql?query=")]
    assert len(editor_links) == len(QUERIES)
    assert {parse_qs(urlsplit(h).query)["query"][0] for h in editor_links} == {q.text for q in QUERIES}


def test_the_list_as_json(client):
    r = client.get("/queries", headers={"Accept": "application/json"})
    assert r.status_code == 200
    listed = {q["name"]: q for q in r.get_json()}
    assert set(listed) == {q.name for q in QUERIES}
    q = listed["practices-of-region"]
    assert {p["name"]: p["default"] for p in q["params"]} == {"region": "PL84", "lang": "pl"}
    assert q["url"].endswith("/queries/practices-of-region")


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: q.name)
def test_every_query_runs_as_an_html_page(app, client, q):
    r = client.get(f"/queries/{q.name}", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    page = Page(html)
    names, expected = direct(app, q.name)
    if q.form == "ask":
        assert ("<strong>Yes</strong>" if expected else "<strong>No</strong>") in html
    else:
        body_rows = [row for row in page.rows if row]
        assert len(body_rows) == len(expected)
    editor = next(a["href"] for a in page.links if a.get("href", "").startswith("/sparql?query="))
    assert parse_qs(urlsplit(editor).query)["query"][0] == q.bind({})


def test_a_select_answer_by_accept_and_by_format(app, client):
    names, rows = direct(app, "practices-by-region-and-sector", region="ES511")
    assert rows, "the real data has Barcelona practices with sectors"
    url = "/queries/practices-by-region-and-sector?region=ES511"

    r = client.get(url, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    got = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [{k: v for k, v in row.items() if v} for row in got] == rows

    r = client.get(url, headers={"Accept": JSON})
    assert r.mimetype == JSON
    doc = r.get_json()
    assert doc["head"]["vars"] == names
    assert [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]] == rows

    for accept, fmt in (("application/sparql-results+xml", ox.QueryResultsFormat.XML),
                        ("text/tab-separated-values", ox.QueryResultsFormat.TSV)):
        r = client.get(url, headers={"Accept": accept})
        assert r.mimetype == accept
        parsed = ox.parse_query_results(r.data, format=fmt)
        assert [{v.value: s[v].value for v in parsed.variables if s[v] is not None} for s in parsed] == rows

    r = client.get(url + "&format=csv", headers={"Accept": "text/html"})
    assert r.mimetype == "text/csv"
    assert r.headers["Vary"] == "Accept" and r.headers["Access-Control-Allow-Origin"] == "*"


def test_the_html_page_links_every_download_and_shows_the_rows(app, client):
    r = client.get("/queries/practices-by-region-and-sector?region=ES511", headers={"Accept": "text/html"})
    page = Page(r.get_data(as_text=True))
    downloads = {a["href"]: a for a in page.links if "format=" in a.get("href", "")}
    csv_link = next(h for h in downloads if "format=csv" in h)
    assert downloads[csv_link].get("download") == "practices-by-region-and-sector.csv"
    assert parse_qs(urlsplit(csv_link).query) == {"region": ["ES511"], "format": ["csv"]}
    assert client.get(csv_link).mimetype == "text/csv"
    _, rows = direct(app, "practices-by-region-and-sector", region="ES511")
    cells = [row for row in page.rows if row]
    assert [(c[0], c[2], c[4]) for c in cells] == [(r["regionCode"], r["sectorCode"], r["practices"]) for r in rows]
    form_input = next(i for i in page.inputs if i.get("name") == "region")
    assert form_input["value"] == "ES511"


@pytest.mark.parametrize("accept,rdflib_format", [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
])
def test_a_construct_answer_in_every_rdf_format(app, client, accept, rdflib_format):
    practice = "https://w3id.org/next2met/practice/digital-consultations-longford"
    _, expected = direct(app, "practice-neighbourhood", practice=practice)
    r = client.get("/queries/practice-neighbourhood", query_string={"practice": practice}, headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == accept
    g = rdflib.Graph().parse(data=r.data, format=rdflib_format)
    assert {(str(s), str(p), str(o), getattr(o, "language", None)) for s, p, o in g} == {
        (t.subject.value, t.predicate.value, t.object.value, getattr(t.object, "language", None)) for t in expected}


def test_an_ask_answer_as_json(app, client):
    for practice, in_data in (("https://w3id.org/next2met/practice/digital-consultations-longford", True),
                              ("https://w3id.org/next2met/practice/no-such-practice", False)):
        r = client.get("/queries/practice-inspired-action", query_string={"practice": practice},
                       headers={"Accept": JSON})
        assert r.get_json()["boolean"] is direct(app, "practice-inspired-action", practice=practice)[1]
        if not in_data:
            assert r.get_json()["boolean"] is False


def test_unknown_query_is_a_404_problem(client):
    r = client.get("/queries/no-such-question", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["status"] == 404 and "practices-by-region-and-sector" in problem["detail"]
    assert client.get("/queries/no-such-question.rq").status_code == 404
    assert client.get("/queries/../etc/passwd").status_code == 404


@pytest.mark.parametrize("query_string,words", [
    ("region=barcelona", "region must be a NUTS code"),
    ("from=last-year", "from must be a year"),
    ("nosuch=1", "has no parameter nosuch"),
])
def test_a_bad_parameter_is_a_400_problem(client, query_string, words):
    name = "practices-by-start-year" if query_string.startswith("from") else "practices-by-region-and-sector"
    r = client.get(f"/queries/{name}?{query_string}", headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert words in r.get_json()["detail"]
    html = client.get(f"/queries/{name}?{query_string}", headers={"Accept": "text/html"})
    assert html.status_code == 400 and html.mimetype == "text/html" and words in html.get_data(as_text=True)


def test_an_unacceptable_type_is_a_406_that_lists_the_offer(client):
    r = client.get("/queries/practices-by-start-year", headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert "text/csv" in r.get_json()["detail"]
    r = client.get("/queries/practice-neighbourhood", headers={"Accept": "text/csv"})
    assert r.status_code == 406 and "text/turtle" in r.get_json()["detail"]


def test_the_page_language_switch_is_not_a_query_parameter(app, client):
    r = client.get("/queries/practices-by-start-year?lang=fi", headers={"Accept": JSON})
    assert r.status_code == 200
    # ... but for a query with a `lang` parameter it is that parameter
    r = client.get("/queries/practices-of-region?region=FI1C3&lang=fi", headers={"Accept": JSON})
    _, rows = direct(app, "practices-of-region", region="FI1C3", lang="fi")
    assert [{k: v["value"] for k, v in b.items()} for b in r.get_json()["results"]["bindings"]] == rows
    assert any(row.get("titleLanguage") == "fi" for row in rows)


def test_the_query_text_and_conditional_requests(client):
    q = get_query("transfer-chain")
    r = client.get("/queries/transfer-chain.rq")
    assert r.status_code == 200 and r.mimetype == "application/sparql-query" and r.get_data(as_text=True) == q.text
    r = client.get("/queries/transfer-chain", headers={"Accept": JSON})
    etag = r.headers["ETag"]
    again = client.get("/queries/transfer-chain", headers={"Accept": JSON, "If-None-Match": etag})
    assert again.status_code == 304
    other = client.get("/queries/transfer-chain", headers={"Accept": "text/csv"})
    assert other.headers["ETag"] != etag
    head = client.head("/queries/transfer-chain", headers={"Accept": JSON})
    assert head.status_code == 200 and head.data == b"" and head.mimetype == JSON


def test_values_are_escaped_in_the_page(client):
    hostile = '<script>alert("x")</script>'
    r = client.get("/queries/keyword-search", query_string={"text": hostile}, headers={"Accept": "text/html"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert hostile not in html and re.search(r"&lt;script&gt;", html)
    assert json.loads(client.get("/queries/keyword-search", query_string={"text": hostile},
                                 headers={"Accept": JSON}).data)["results"]["bindings"] == []
