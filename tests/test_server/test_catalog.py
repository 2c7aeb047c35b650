"""/catalog: a DCAT-AP 3 catalogue that conforms to the official SEMIC shapes, says what the data says, and is
the same bytes for the same data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, RDF, SH

from next2met.graph import catalogue as dcat
from next2met.graph.dumps import DUMP_FORMATS
from next2met.graph.formats import NTRIPLES, TURTLE

STANDARDS = Path(__file__).resolve().parents[1] / "data" / "standards"  # the official files, vendored
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
EU = "http://publications.europa.eu/resource/authority/"
NUTS = "http://data.europa.eu/nuts/code/"
SHAPES_301 = ["dcat-ap-3.0.1/shapes.ttl", "dcat-ap-3.0.1/range.ttl", "dcat-ap-3.0.1/mdr-vocabularies.shape.ttl"]
SHAPES_300 = ["dcat-ap-3.0.0/dcat-ap-SHACL.ttl"]


def catalogue(client, accept: str = "text/turtle", fmt: str = "turtle") -> rdflib.Graph:
    response = client.get("/catalog", headers={"Accept": accept})
    assert response.status_code == 200, response.data
    assert response.mimetype == accept
    g = rdflib.Graph()
    g.parse(data=response.data, format=fmt)
    return g


def validate(data: rdflib.Graph, files: list[str]) -> list[tuple[str, str, str, str]]:
    """(severity, focus, path, message) of the top-level results of validating ``data`` with official shapes."""
    import pyshacl

    shapes = rdflib.Graph()
    for name in files:
        shapes.parse(STANDARDS / name, format="turtle")
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    rows = []
    for rep in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(rep, SH.result):  # top-level results only (sh:detail nodes are explanations)
            rows.append((str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1], str(report.value(r, SH.focusNode)),
                         str(report.value(r, SH.resultPath)), str(report.value(r, SH.resultMessage))))
    return rows


@pytest.mark.parametrize("name", SHAPES_301)
def test_conforms_to_each_dcat_ap_301_shape_file(client, name):
    """The mandatory shapes, the class ranges and the controlled vocabularies (the official validation runs all
    three): no violation, and no warning but one. The publisher is the project's developers, whom the EU
    corporate-body table does not list, and the vocabulary shapes warn of any publisher outside it; claiming a place
    in that table would be false. Spatial values come from the EU country table, the NUTS regions sit beside them
    as dct:coverage."""
    results = validate(catalogue(client), [name])
    assert [r for r in results if r[0] == "Violation"] == [], results
    assert {(r[0], r[2]) for r in results} <= {("Warning", str(DCTERMS.publisher))}, results


def test_conforms_to_dcat_ap_300_shapes(client):
    results = validate(catalogue(client), SHAPES_300)
    assert [r for r in results if r[0] == "Violation"] == []


@pytest.mark.parametrize("accept,fmt", [("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
                                        ("application/n-triples", "nt")])
def test_every_format_holds_the_same_triples(client, accept, fmt):
    turtle = catalogue(client)
    other = catalogue(client, accept, fmt)
    assert set(other) == set(turtle)
    assert len(turtle) > 100


def test_suffix_and_unknown_format(client):
    assert client.get("/catalog.jsonld").mimetype == "application/ld+json"
    assert client.get("/catalog", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/catalog.xls").status_code == 404


def test_same_data_gives_same_bytes(app, client):
    first = client.get("/catalog").data
    kg = app.extensions["next2met"]
    kg.clear_cache()  # computed again from the store, not served from the cache
    assert client.get("/catalog").data == first
    site = dcat.Site(kg.settings.base_iri, "http://localhost")
    dumps = kg.extensions["publish"].dumps
    again = dcat.serialize(dcat.catalogue(kg.store, site, dumps), TURTLE)
    assert hashlib.sha256(again).digest() == hashlib.sha256(first).digest()


def test_distributions_describe_the_dump_files(client):
    g = catalogue(client)
    dataset = next(g.subjects(RDF.type, DCAT.Dataset))
    files = 0
    for dist in g.objects(dataset, DCAT.distribution):
        url = g.value(dist, DCAT.downloadURL)
        if url is None:
            assert g.value(dist, DCAT.accessService) is not None  # the SPARQL endpoint distribution
            continue
        files += 1
        with client.get(str(url).replace("http://localhost", "")) as response:  # closes the streamed file
            body = response.data
        assert int(g.value(dist, DCAT.byteSize)) == len(body)
        checksum = g.value(dist, SPDX.checksum)
        assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(body).hexdigest()
        assert str(g.value(dist, DCAT.mediaType)).startswith("http://www.iana.org/assignments/media-types/")
        assert str(g.value(dist, DCTERMS.format)).startswith(EU + "file-type/")
        assert g.value(dist, DCTERMS.license) == rdflib.URIRef(EU + "licence/CC_BY_4_0")
    assert files == 2 * len(DUMP_FORMATS)  # every RDF format, each also gzipped


def test_coverage_comes_from_the_data(app, client):
    store = app.extensions["next2met"].store
    g = catalogue(client)
    dataset = next(g.subjects(RDF.type, DCAT.Dataset))
    spatial = {str(o) for o in g.objects(dataset, DCTERMS.spatial)}
    regions = {str(o) for o in g.objects(dataset, DCTERMS.coverage)}
    practice_regions = {r["r"].value for r in store.query(
        "SELECT DISTINCT ?r WHERE { ?p a <https://w3id.org/next2met/ontology#GoodPractice> ; "
        "<http://purl.org/dc/terms/spatial> ?r }").rows()}
    assert practice_regions and practice_regions <= regions
    assert all(s.startswith(EU + "country/") for s in spatial)
    countries = {r[len(NUTS):len(NUTS) + 2] for r in practice_regions}
    assert {dcat.COUNTRIES[c][0] for c in countries} == {
        s[len(EU + "country/"):] for s in spatial if s.startswith(EU + "country/")}
    starts = [r["d"].value for r in store.query("SELECT ?d WHERE { ?s <https://schema.org/startDate> ?d }").rows()]
    period = g.value(dataset, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) == min(starts)
    modified = [r["m"].value for r in store.query("SELECT ?m WHERE { ?s <http://purl.org/dc/terms/modified> ?m }")
                .rows()]
    assert str(g.value(dataset, DCTERMS.modified)) == max(modified)[:10]
    used = {r["l"].value for r in store.query(
        'SELECT DISTINCT (LANG(?o) AS ?l) WHERE { ?s <http://purl.org/dc/terms/title> ?o FILTER(LANG(?o) != "") }'
    ).rows()}
    stated = {str(o).rsplit("/", 1)[-1] for o in g.objects(dataset, DCTERMS.language)}
    assert {dcat.LANGUAGES[tag][0] for tag in used if tag in dcat.LANGUAGES} <= stated
    assert len({o.language for o in g.objects(dataset, DCTERMS.title)}) >= 3


def test_publisher_is_the_developers_organisation_not_an_eu_body(app, client):
    g = catalogue(client)
    dataset = next(g.subjects(RDF.type, DCAT.Dataset))
    publisher = g.value(dataset, DCTERMS.publisher)
    base = app.extensions["next2met"].settings.base_iri
    assert str(publisher) == f"{base}organisation/next2met-kg-developers"
    store = app.extensions["next2met"].store
    assert store.ask(f"ASK {{ <{publisher}> a <http://www.w3.org/ns/org#Organization> }}")  # the ontology's own
    assert not str(publisher).startswith(EU)
    vcard_organisation = rdflib.URIRef("http://www.w3.org/2006/vcard/ns#Organization")
    assert (g.value(dataset, DCAT.contactPoint), RDF.type, vcard_organisation) in g


def test_sparql_service(client):
    g = catalogue(client)
    service = next(g.subjects(RDF.type, DCAT.DataService))
    dataset = next(g.subjects(RDF.type, DCAT.Dataset))
    assert str(g.value(service, DCAT.endpointURL)) == "http://localhost/sparql"
    assert g.value(service, DCAT.servesDataset) == dataset
    assert str(g.value(service, DCTERMS.conformsTo)) == dcat.SPARQL_PROTOCOL


def test_describe_serialises_sorted():
    a = ox.Triple(ox.NamedNode("http://b"), ox.NamedNode("http://p"), ox.Literal("x"))
    b = ox.Triple(ox.NamedNode("http://a"), ox.NamedNode("http://p"), ox.Literal("y"))
    assert dcat.serialize([a, b], NTRIPLES) == dcat.serialize([b, a], NTRIPLES)


def test_browsers_get_a_catalogue_page(client):
    """A browser following the header link gets a page (not a 406) that links every RDF form and dump."""
    r = client.get("/catalog", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    for suffix in ("ttl", "jsonld", "rdf"):
        assert f'href="/catalog.{suffix}"' in html
    listed = client.get("/dumps", headers={"Accept": "application/json"}).json["files"]
    for f in listed:
        assert f'href="/dumps/{f["url"].rsplit("/", 1)[1]}"' in html
    assert client.get("/catalog", headers={"Accept": "text/turtle"}).mimetype == "text/turtle"
