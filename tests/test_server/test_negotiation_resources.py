"""Every kind of resource dereferences over real HTTP: HTML, Turtle, JSON-LD, RDF/XML and N-Triples on the same
URL by Accept (Vary: Accept) or forced by a suffix; 404 for unknown IRIs, 406 when nothing fits; conditional
GETs; and the IRI-to-URL mapping follows Settings.base_iri. Expected names come from data/ and ontology/."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
import rdflib
import requests
import yaml
from rdflib.namespace import DCTERMS, RDF, SKOS

from next2met.graph.formats import TRIPLE_FORMATS

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://w3id.org/next2met/"
NUTS = "http://data.europa.eu/nuts/code/"
FORMATS = {f.media_type: (f.suffix, f.rdflib_name) for f in TRIPLE_FORMATS}  # media type → (suffix, rdflib parser)


def records(*patterns: str) -> list[dict]:
    out = []
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            out.extend(doc if isinstance(doc, list) else [doc])
    return out


def english_name(record: dict) -> str:
    for key in ("title", "name", "label"):
        if isinstance(record.get(key), dict) and "en" in record[key]:
            return record[key]["en"]
    return ""


def sample(prefix: str, *patterns: str) -> tuple[str, str]:
    """(IRI, English name) of the first record of a kind that has a name."""
    for record in records(*patterns):
        rid = str(record["id"])
        if rid.startswith(prefix) and english_name(record):
            iri = NUTS + rid[5:] if rid.startswith("nuts:") else BASE + rid
            return iri, english_name(record)
    raise AssertionError(f"no {prefix} in {patterns}")


def scheme_sample() -> list[tuple[str, str, str]]:
    g = rdflib.Graph()
    g.parse(ROOT / "ontology" / "schemes" / "stage.ttl")
    scheme = next(g.subjects(RDF.type, SKOS.ConceptScheme))
    concept = sorted(g.subjects(SKOS.inScheme, scheme))[0]
    def name(s) -> str:
        return str(next(o for p in (SKOS.prefLabel, DCTERMS.title) for o in g.objects(s, p) if o.language == "en"))

    return [("scheme", str(scheme), name(scheme)), ("concept", str(concept), name(concept))]


def resources() -> list[tuple[str, str, str]]:
    """(kind, IRI, English name) for one resource of every kind the server dereferences."""
    practice = sample("practice/", "data/practices/*.yaml")
    out = [
        ("practice", *practice),
        ("organisation", *sample("organisation/", "data/organisations/*.yaml")),
        ("region", *sample("nuts:", "data/regions.yaml")),
        ("instrument", *sample("instrument/", "data/action-plans/*.yaml")),
        ("action-plan", *sample("action-plan/", "data/action-plans/*.yaml")),
        ("action", *sample("action/", "data/action-plans/*.yaml")),
        ("project", *sample("project/", "data/project.yaml")),
        ("event", *sample("event/", "data/events.yaml")),
        ("graph", BASE + "graph/practices/" + practice[0].rsplit("/", 1)[1], ""),
    ]
    partner = next(r for r in records("data/project.yaml") if str(r["id"]).startswith("partner/"))
    out.append(("partner", BASE + partner["id"], ""))
    return out + scheme_sample()


RESOURCES = resources()
IDS = [kind for kind, _, _ in RESOURCES]


def url(server, iri: str) -> str:
    path = "/region/" + iri[len(NUTS):] if iri.startswith(NUTS) else "/" + iri[len(BASE):]
    return server.url + path


@pytest.mark.parametrize(("kind", "iri", "name"), RESOURCES, ids=IDS)
@pytest.mark.parametrize("media_type", list(FORMATS))
def test_rdf_by_accept_describes_the_resource(live_server, kind, iri, name, media_type):
    response = requests.get(url(live_server, iri), headers={"Accept": media_type}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    g = rdflib.Graph()
    g.parse(data=response.content, format=FORMATS[media_type][1])
    assert (rdflib.URIRef(iri), None, None) in g
    if name:
        assert name in {str(o) for o in g.objects(rdflib.URIRef(iri), None)}


@pytest.mark.parametrize(("kind", "iri", "name"), RESOURCES, ids=IDS)
def test_html_for_browsers(live_server, kind, iri, name):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    response = requests.get(url(live_server, iri), headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Accept" in response.headers["Vary"]
    html = response.text
    if name:
        assert name in unescape(html)
    path = url(live_server, iri)[len(live_server.url):]
    for ext, _ in FORMATS.values():
        assert f'href="{path}.{ext}"' in html
    assert "/sparql?query=DESCRIBE%20%3C" in html


@pytest.mark.parametrize(("kind", "iri", "name"), RESOURCES, ids=IDS)
@pytest.mark.parametrize("media_type", list(FORMATS))
def test_suffix_forces_the_format(live_server, kind, iri, name, media_type):
    ext, parser = FORMATS[media_type]
    response = requests.get(url(live_server, iri) + "." + ext, headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    g = rdflib.Graph()
    g.parse(data=response.content, format=parser)
    assert (rdflib.URIRef(iri), None, None) in g


def test_html_suffix_forces_html(live_server):
    kind, iri, name = RESOURCES[0]
    response = requests.get(url(live_server, iri) + ".html", headers={"Accept": "text/turtle"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle;q=0.5, application/rdf+xml;q=0.9", "application/rdf+xml"),
        ("application/n-triples, text/html;q=0.1", "application/n-triples"),
        ("*/*", "text/html"),
        ("application/*", "application/ld+json"),
        ("application/json", "application/ld+json"),  # a JSON client gets JSON-LD, under its own name
    ],
)
def test_q_values_and_wildcards(live_server, accept, expected):
    response = requests.get(url(live_server, RESOURCES[0][1]), headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected


def test_no_accept_header_gets_html(live_server):
    response = requests.get(url(live_server, RESOURCES[0][1]), headers={"Accept": None}, timeout=10)
    assert response.headers["Content-Type"].startswith("text/html")


def test_unknown_iri_is_404_problem_or_page(live_server):
    missing = live_server.url + "/practice/there-is-no-such-practice"
    as_json = requests.get(missing, headers={"Accept": "text/turtle"}, timeout=10)
    assert as_json.status_code == 404
    assert as_json.headers["Content-Type"] == "application/problem+json"
    assert "there-is-no-such-practice" in as_json.json()["detail"]
    as_html = requests.get(missing, headers={"Accept": "text/html"}, timeout=10)
    assert as_html.status_code == 404
    assert as_html.headers["Content-Type"].startswith("text/html")
    assert "there-is-no-such-practice" in as_html.text
    for bad in ("/practice/%22%3E%3Cx", "/region/no%20such", "/concept/stage/nope.ttl", "/graph/nope"):
        assert requests.get(live_server.url + bad, timeout=10).status_code == 404


def test_nothing_acceptable_is_406_with_the_offer(live_server):
    response = requests.get(url(live_server, RESOURCES[0][1]), headers={"Accept": "image/png"}, timeout=10)
    assert response.status_code == 406
    body = response.json()
    assert "text/turtle" in body["offered"] and "text/html" in body["offered"]


def test_conditional_get_and_head(live_server):
    target = url(live_server, RESOURCES[0][1])
    first = requests.get(target, headers={"Accept": "text/turtle"}, timeout=10)
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = requests.get(target, headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    html = requests.get(target, headers={"Accept": "text/html"}, timeout=10)
    assert html.headers["ETag"] != first.headers["ETag"]  # variants never share a tag
    head = requests.head(target, headers={"Accept": "text/turtle"}, timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_page_rdf_holds_fragments_and_labels_of_linked_resources(live_server):
    """The practice's nested nodes (stakeholders, budgets) and the names of what it links to are in its RDF."""
    for record in records("data/practices/*.yaml"):
        if record.get("budgets") and record.get("region"):
            break
    iri = BASE + record["id"]
    g = rdflib.Graph()
    g.parse(data=requests.get(url(live_server, iri) + ".ttl", timeout=10).content, format="turtle")
    nested = [o for o in g.objects(rdflib.URIRef(iri), None) if str(o).startswith(iri + "#")]
    assert len(nested) >= len(record["budgets"]) + len(record.get("stakeholders", []))
    assert all((o, None, None) in g for o in nested)
    region = rdflib.URIRef(NUTS + str(record["region"]))
    assert (region, SKOS.prefLabel, None) in g


def test_ontology_html_and_turtle(live_server):
    source = rdflib.Graph()
    source.parse(ROOT / "ontology" / "next2met.ttl")
    served = rdflib.Graph()
    response = requests.get(live_server.url + "/ontology", headers={"Accept": "text/turtle"}, timeout=10)
    assert response.status_code == 200 and "Accept" in response.headers["Vary"]
    served.parse(data=response.content, format="turtle")
    assert rdflib.compare.isomorphic(source, served)
    html = requests.get(live_server.url + "/ontology", timeout=10).text
    for cls in source.subjects(RDF.type, rdflib.OWL.Class):
        assert f'id="{str(cls).rsplit("#", 1)[1]}"' in html
    assert requests.get(live_server.url + "/ontology.nt", timeout=10).headers["Content-Type"].startswith(
        "application/n-triples")


def test_base_iri_maps_to_this_origin(tmp_path):
    """With another base IRI the same paths serve the IRIs under that base; the RDF keeps them unchanged."""
    from next2met.graph.settings import Settings
    from next2met.server.app import create_app

    base = "http://example.org/kg/"
    settings = Settings(store=str(tmp_path / "store"), base_iri=base)
    app = create_app(settings)  # builds (and validates, with the shapes following the base) into the empty store
    try:
        client = app.test_client()
        slug = RESOURCES[0][1].rsplit("/", 1)[1]
        response = client.get(f"/practice/{slug}", headers={"Accept": "text/turtle"})
        assert response.status_code == 200
        g = rdflib.Graph()
        g.parse(data=response.data, format="turtle")
        assert (rdflib.URIRef(f"{base}practice/{slug}"), None, None) in g
        html = client.get(f"/practice/{slug}").get_data(as_text=True)
        assert f"{base}practice/{slug}" in html and 'href="/organisation/' in html
    finally:
        app.extensions["next2met"].close()
