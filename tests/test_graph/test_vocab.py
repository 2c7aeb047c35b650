"""The Python vocabulary module and the JSON-LD context agree with the ontology and the SKOS schemes."""

from __future__ import annotations

import json

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from next2met.graph import paths
from next2met.graph.settings import DEFAULT_BASE_IRI
from next2met.graph.sources import load_context, read_yaml
from next2met.graph.vocab import N2M

NS = str(N2M._NS)


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(paths.ONTOLOGY_FILE)


def test_vocab_lists_exactly_the_ontology_terms(ontology):
    in_ttl = {str(s)[len(NS):] for s in ontology.subjects() if str(s).startswith(NS)}
    in_py = set(N2M.__annotations__)
    assert in_py == in_ttl


def test_unknown_term_raises():
    with pytest.raises(AttributeError):
        N2M.goodPratice  # noqa: B018 (a typo must fail loudly)


def test_every_term_has_label_and_comment(ontology):
    terms = [s for s in ontology.subjects(RDF.type, None) if str(s).startswith(NS)]
    assert terms
    for term in terms:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, RDFS.comment) is not None, term


def test_ontology_header(ontology):
    header = rdflib.URIRef("https://w3id.org/next2met/ontology")
    assert (header, RDF.type, OWL.Ontology) in ontology
    for p in ("title", "description", "license", "creator"):
        assert ontology.value(header, rdflib.URIRef("http://purl.org/dc/terms/" + p)) is not None, p
    assert ontology.value(header, OWL.versionInfo) is not None


def test_context_terms_point_to_known_properties(ontology):
    """Every n2m: property named in the YAML context exists in the ontology (no typo reaches the data)."""
    context = json.loads(paths.CONTEXT_FILE.read_text())["@context"]
    ids = [v["@id"] if isinstance(v, dict) else v for v in context.values() if isinstance(v, dict | str)]
    ours = [i for i in ids if isinstance(i, str) and i.startswith("n2m:")]
    assert ours
    for curie in ours:
        assert (rdflib.URIRef(NS + curie[4:]), None, None) in ontology, curie


def test_every_scheme_code_expands_to_its_concept(tmp_path):
    """A code written in YAML becomes the IRI of that concept, for every code of every scheme.

    Guards against codes that collide with context terms (``standing: related`` once became dcterms:relation).
    """
    context = load_context(DEFAULT_BASE_IRI)
    schemes = rdflib.Graph()
    for f in paths.SCHEMES_DIR.glob("*.ttl"):
        schemes.parse(f)
    keys = {"stage": "stages", "measure": "measures", "ris3": "sectors", "topic": "topics", "standing": "standing",
            "confidence": "confidence", "stakeholder-type": "stakeholder_type", "role": "role",
            "partner-role": "partner_role", "instrument-type": "instrument_type"}
    checked = 0
    for concept in schemes.subjects(RDF.type, SKOS.Concept):
        scheme, code = str(concept)[len(DEFAULT_BASE_IRI + "concept/"):].split("/", 1)
        if scheme == "submission-status":  # the state of a submission, never written in the YAML
            continue
        f = tmp_path / "x.yaml"
        f.write_text(f"id: practice/x\n{keys[scheme]}: {code}\n")
        g = read_yaml(f, context)
        assert set(g.objects()) == {concept}, (scheme, code, set(g.objects()))
        checked += 1
    assert checked >= 60
