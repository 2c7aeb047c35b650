"""One negotiation for every route: the table of choose() over the formats on offer, and each negotiating route
answering N3 (the format added last, as one record) by Accept, by suffix and by ``format=``."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from next2met.graph.errors import NotAcceptable, NotFound
from next2met.graph.formats import CSV, HTML, JSONLD, N3, NTRIPLES, PLAIN_JSON, RDFXML, TRIPLE_FORMATS, TURTLE
from next2met.server.negotiation import choose

PAGE = (HTML, *TRIPLE_FORMATS)
TABLE = [
    # (offers, Accept, suffix, format=, expected)
    (PAGE, "", None, None, HTML),  # no Accept: the first offer
    (PAGE, "*/*", None, None, HTML),
    (PAGE, "text/n3", None, None, N3),
    (PAGE, "text/rdf+n3", None, None, N3),
    (PAGE, "text/html", "n3", None, N3),  # the suffix wins over Accept
    (PAGE, "image/png", None, "n3", N3),  # so does format=
    (PAGE, "application/xml", None, None, RDFXML),  # a loose name, when nothing else fits
    (PAGE, "text/turtle;q=0.5, application/xml", None, None, TURTLE),  # ... only then
    (PAGE, "text/plain", None, None, NTRIPLES),
    (PAGE, "application/json", None, None, JSONLD),
    ((HTML, PLAIN_JSON, CSV), "application/json", None, None, PLAIN_JSON),
    ((HTML, PLAIN_JSON, CSV), "text/*", None, None, HTML),
    (TRIPLE_FORMATS, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, None, TURTLE),
]


@pytest.mark.parametrize("offers,accept,suffix,param,expected", TABLE)
def test_choose(offers, accept, suffix, param, expected):
    assert choose(offers, parse_accept_header(accept, MIMEAccept), suffix=suffix, param=param) is expected


def test_html_goes_after_the_offers():
    browser = parse_accept_header("text/html,application/xhtml+xml,*/*;q=0.8", MIMEAccept)
    assert choose(TRIPLE_FORMATS, browser, html=True) is HTML
    assert choose(TRIPLE_FORMATS, parse_accept_header("*/*", MIMEAccept), html=True) is TURTLE


def test_nothing_fits():
    with pytest.raises(NotAcceptable) as info:
        choose(TRIPLE_FORMATS, parse_accept_header("image/png", MIMEAccept), what="a practice")
    assert "a practice" in info.value.detail and info.value.extra["offered"] == [f.media_type for f in TRIPLE_FORMATS]
    with pytest.raises(NotAcceptable, match="format='yaml'"):
        choose(TRIPLE_FORMATS, parse_accept_header("", MIMEAccept), param="yaml")
    with pytest.raises(NotFound, match=r"\.n3"):
        choose((HTML, PLAIN_JSON), parse_accept_header("", MIMEAccept), suffix="n3")


def _n3_triples(body: bytes) -> set:
    return set(rdflib.Graph().parse(data=body, format="n3"))


def test_issue_14_n3_on_every_route(client, app):
    """N3 by Accept on /sparql (CONSTRUCT and the service description), a resource, the ontology, the catalogue
    and VoID; by suffix on a resource; and the N3 dump, described in the catalogue with its EU file type."""
    construct = "CONSTRUCT { ?p a ?t } WHERE { ?p a ?t } LIMIT 5"
    for path, params in [("/sparql", {"query": construct}), ("/sparql", {}), ("/ontology", {}), ("/catalog", {}),
                         ("/.well-known/void", {})]:
        r = client.get(path, query_string=params, headers={"Accept": "text/n3"})
        assert r.status_code == 200 and r.mimetype == "text/n3", (path, r.data[:200])
        assert _n3_triples(r.data), path
    practice = next(iter(app.extensions["next2met"].store.query(
        "SELECT ?p WHERE { ?p a <https://w3id.org/next2met/ontology#GoodPractice> } LIMIT 1").rows()))["p"].value
    path = practice.replace("https://w3id.org/next2met", "")
    by_suffix = client.get(path + ".n3")
    by_accept = client.get(path, headers={"Accept": "text/n3"})
    assert by_suffix.mimetype == by_accept.mimetype == "text/n3"
    assert _n3_triples(by_suffix.data) == _n3_triples(by_accept.data)
    assert (rdflib.URIRef(practice), None, None) in rdflib.Graph().parse(data=by_suffix.data, format="n3")
    with client.get("/dumps/next2met.n3") as dump:
        assert dump.status_code == 200 and dump.mimetype == "text/n3"
        assert len(list(ox.parse(dump.data, format=ox.RdfFormat.N3))) > 1000
    catalogue = rdflib.Graph().parse(data=client.get("/catalog.ttl").data, format="turtle")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    n3 = [d for d in catalogue.subjects(dcat.downloadURL, None)
          if str(catalogue.value(d, dcat.downloadURL)).endswith("/dumps/next2met.n3")]
    assert len(n3) == 1
    assert str(catalogue.value(n3[0], rdflib.DCTERMS.format)) == N3.eu_file_type_iri
