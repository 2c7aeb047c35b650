"""The format registry: every record is complete and consistent with the libraries that read and write it, and
every name people use finds its format."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from next2met.graph import formats
from next2met.graph.errors import InputError

# The formats the W3C names at http://www.w3.org/ns/formats/ (the unique URIs for file formats).
W3C_NAMED = {"JSON-LD", "N3", "N-Triples", "N-Quads", "LD_Patch", "microdata", "OWL_XML", "OWL_Functional",
             "OWL_Manchester", "POWDER", "POWDER-S", "PROV-N", "PROV-XML", "RDFa", "RDF_JSON", "RDF_XML", "RIF_XML",
             "SPARQL_Results_XML", "SPARQL_Results_JSON", "SPARQL_Results_CSV", "SPARQL_Results_TSV", "Turtle",
             "TriG"}
TRIPLES = [
    ox.Triple(ox.NamedNode("https://w3id.org/next2met/practice/x"), ox.NamedNode("http://purl.org/dc/terms/title"),
              ox.Literal("Läsning", language="fi")),
    ox.Triple(ox.NamedNode("https://w3id.org/next2met/practice/x"), ox.NamedNode("https://schema.org/startDate"),
              ox.Literal("2020", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear"))),
]


@pytest.mark.parametrize("fmt", formats.RDF_FORMATS, ids=lambda f: f.key)
def test_every_rdf_format_round_trips_through_pyoxigraph_and_rdflib(fmt):
    body = fmt.write_triples(TRIPLES, prefixes={"dcterms": "http://purl.org/dc/terms/"})
    assert {(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt.ox_format)} == {
        (t.subject, t.predicate, t.object) for t in TRIPLES}
    g = rdflib.Dataset() if fmt.quads else rdflib.Graph()
    g.parse(data=body, format=fmt.rdflib_name)
    assert len(g) == len(TRIPLES) if not fmt.quads else len(list(g.quads())) == len(TRIPLES)


@pytest.mark.parametrize("fmt", formats.RDF_FORMATS, ids=lambda f: f.key)
def test_every_rdf_format_is_known_to_the_standards(fmt):
    """The registry's media type is pyoxigraph's for the same format and its W3C IRI one the W3C lists (pyoxigraph
    names JSON-LD https://www.w3.org/ns/formats/data/JSON-LD, which the W3C list does not); dumps need an EU file
    type."""
    assert fmt.ox_format.media_type == fmt.media_type
    assert fmt.w3c in W3C_NAMED and fmt.iri == formats.W3C_FORMATS + fmt.w3c
    assert fmt.eu_file_type is not None and fmt.eu_file_type_iri.startswith(formats.EU_FILE_TYPE)
    assert formats.rdf_format(fmt.key) is fmt and formats.rdf_format(fmt.media_type) is fmt
    assert formats.guess_format(Path(f"dump.{fmt.suffix}.gz")) is fmt


@pytest.mark.parametrize("fmt", formats.RESULTS_FORMATS, ids=lambda f: f.key)
def test_every_results_format_is_pyoxigraphs(fmt):
    assert fmt.ox_format.media_type.split(";")[0] == fmt.media_type and fmt.iri == fmt.ox_format.iri
    assert fmt.w3c in W3C_NAMED
    assert formats.results_format(fmt.key) is fmt


def test_keys_are_unique_and_names_do_not_clash():
    keys = [f.key for f in formats.RDF_FORMATS] + [f.key for f in formats.RESULTS_FORMATS]
    assert len(keys) == len(set(keys))
    for group in (formats.RDF_FORMATS, formats.RESULTS_FORMATS):
        names = [n for f in group for n in {f.key, f.suffix, *f.names, f.media_type, *f.synonyms}]
        assert len(names) == len(set(names)), names


@pytest.mark.parametrize("name,key", [("xml", "rdfxml"), ("RDF/XML", "rdfxml"), ("owl", "rdfxml"), ("ttl", "turtle"),
                                      (".nq", "nquads"), ("json-ld", "jsonld"), ("ntriples", "nt"),
                                      ("application/x-turtle", "turtle"), ("n3", "n3"), ("text/n3", "n3")])
def test_names_people_use(name, key):
    assert formats.rdf_format(name).key == key


def test_an_unknown_name_lists_the_formats():
    with pytest.raises(InputError, match="use one of nquads, trig, turtle"):
        formats.rdf_format("yaml")
    assert formats.guess_format(Path("notes.txt")) is None


def test_bodies_are_read_by_their_own_media_type_only():
    assert formats.by_media_type("text/turtle; charset=utf-8") is formats.TURTLE
    assert formats.by_media_type("text/n3") is formats.N3
    assert formats.by_media_type("text/plain") is None  # negotiation may fall back on it; a body says too little


def test_n3_is_one_record_everywhere():
    """Adding N3 was one record: the dumps, the answers of /sparql and the pages' RDF offer it from there."""
    from next2met.graph.dumps import DUMP_FORMATS

    assert formats.N3 in DUMP_FORMATS and formats.N3 in formats.GRAPH_ANSWERS and formats.N3 in formats.TRIPLE_FORMATS
    assert formats.N3.iri == "http://www.w3.org/ns/formats/N3"
    assert formats.N3.eu_file_type_iri == "http://publications.europa.eu/resource/authority/file-type/N3"
