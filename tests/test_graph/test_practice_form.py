"""The practice form is made from the shapes: each field, its label, help, whether it is required, its choices and
language tabs come from ontology/shapes.ttl, and a property shape added to the shapes is a new field (with its
values written to the YAML) without any change to the form's code."""

from __future__ import annotations

import rdflib
import yaml

from next2met.graph.contribute.form import Concepts, build_form, practice_form
from next2met.graph.contribute.formdata import document, normalise, plain_message, values_of, yaml_text
from next2met.graph.contribute.shapetext import strings
from next2met.graph.paths import DATA_DIR
from next2met.graph.rdfio import quads_to_rdflib
from next2met.graph.sources import load_context, parse_yaml, yaml_quads
from next2met.graph.validate import reference_quads, shapes_graph

N2M = "https://w3id.org/next2met/ontology#"
EXTRA_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix n2m: <https://w3id.org/next2met/ontology#> .
@prefix shapes: <https://w3id.org/next2met/shapes#> .
shapes:GoodPracticeShape sh:property shapes:Test-challenge .
shapes:Test-challenge sh:path n2m:challenge ; sh:name "challenge met" ; sh:description "The problem it answers." ;
    sh:minCount 1 ; sh:languageIn ( "en" "pl" ) ; sh:group shapes:FormGroup-practice ; sh:order 2.5 ;
    sh:message "Say which challenge the practice meets (YAML key: challenge)."@en .
"""


def form_with(extra: str):
    g = rdflib.Graph()
    for t in shapes_graph():
        g.add(t)
    g.parse(data=extra, format="turtle")
    return build_form(g, load_context("https://w3id.org/next2met/"), Concepts(quads_to_rdflib(reference_quads())))


def test_the_fields_follow_the_shapes():
    form = practice_form()
    title, summary = form.field("title"), form.field("summary")
    assert title.name == "title" and title.required and title.required_languages == ("en",)
    assert title.languages == ("en", "fi", "de", "es", "ca", "pl") and not title.long  # sh:maxLength 200
    assert summary.required and summary.long and "one per language" in summary.description
    standing = form.field("standing")
    assert standing.kind == "choice" and not standing.many  # sh:in, sh:maxCount 1
    assert [c.code for c in standing.choices] == ["gp-database", "named-gp", "candidate", "related"]
    stages = form.field("stages")
    assert stages.kind == "choice" and stages.many and {c.code for c in stages.choices} == {
        "design", "develop", "commercialise", "apply"}  # the SKOS scheme sh:node asks for
    assert form.field("main_institution").lookup == "http://www.w3.org/ns/org#Organization"
    assert form.field("region").lookup == N2M + "Region"
    assert form.field("description").recommended and not form.field("description").required  # a Warning shape
    assert form.field("modified") is None  # dash:readOnly: the server writes it
    stakeholders = form.field("stakeholders")
    assert stakeholders.kind == "group" and [s.key for s in stakeholders.subfields] == [
        "organisation", "stakeholder_type", "role", "label"]
    assert stakeholders.sub("role").required and stakeholders.sub("stakeholder_type").kind == "choice"
    assert {f.key for f in form.fields if f.kind == "group"} == {"stakeholders", "budgets", "indicators", "milestones"}
    assert form.field("sources").kind == "iri" and form.field("sources").many and form.field("sources").required
    assert form.field("date").keys == {"year": "start_year", "month": "start_month", "date": "date"}
    assert [g.label for g in form.groups][:2] == ["The practice", "Where and who"]
    assert form.field("title").template == "Title of the practice"


def test_a_shape_added_to_the_shapes_is_a_field_of_the_form():
    assert practice_form().field("challenge") is None
    form = form_with(EXTRA_SHAPE)
    challenge = form.field("challenge")
    assert challenge is not None and challenge.kind == "text" and challenge.required
    assert challenge.name == "challenge met" and challenge.description == "The problem it answers."
    assert challenge.languages == ("en", "pl")
    section = next(fields for group, fields in form.sections() if group and group.label == "The practice")
    assert [f.key for f in section].index("challenge") == 2  # sh:order 2.5: after the summary
    assert "Say which challenge the practice meets." in strings(form)  # into the catalogues with the rest
    doc, problems = document(form, {"title.en": ["T"], "challenge.pl": ["Wyludnienie wsi"]}, "practice/t")
    assert not problems and doc["challenge"] == {"pl": ["Wyludnienie wsi"]}  # no sh:uniqueLang: a list
    g = parse_yaml(yaml_text(doc), load_context("https://w3id.org/next2met/"))
    assert (None, rdflib.URIRef(N2M + "challenge"), rdflib.Literal("Wyludnienie wsi", lang="pl")) in g


def test_every_practice_round_trips_through_the_form():
    """Shown in the form and sent back unchanged, each practice file gives the same triples (less the modified
    date, which the server sets)."""
    form, context = practice_form(), load_context("https://w3id.org/next2met/")
    for path in sorted((DATA_DIR / "practices").glob("*.yaml")):
        original = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc, problems = document(form, normalise(form, values_of(form, original)), original["id"])
        assert not problems, (path.name, problems)
        doc["modified"] = str(original["modified"])
        before = {str(q) for q in yaml_quads(parse_yaml(path.read_text(encoding="utf-8"), context), "urn:g")}
        after = {str(q) for q in yaml_quads(parse_yaml(yaml_text(doc), context), "urn:g")}
        assert before == after, (path.name, before ^ after)


def test_values_the_format_cannot_hold_get_the_shapes_message():
    form = practice_form()
    values = {"title.en": ["T"], "budgets.0.amount": ["155 000 €"], "budgets.0.currency": ["EUR"],
              "date": ["spring 2019"], "sources": ["www.example.org"], "end_date": ["2021-09"]}
    doc, problems = document(form, values, "practice/t")
    by_name = {p.name: p for p in problems}
    assert set(by_name) == {"budgets.0.amount", "date", "sources"}
    assert by_name["budgets.0.amount"].message == plain_message(form.messages[by_name["budgets.0.amount"].shape])
    assert "plain number" in by_name["budgets.0.amount"].message
    assert doc["end_month"] == "2021-09" and "start_year" not in doc and "sources" not in doc
    assert doc["budgets"] == [{"currency": "EUR"}]
