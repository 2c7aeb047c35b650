"""The HTML pages say what the data says: every template field of every practice (or "not stated in the sources"),
in the reader's language, the learning chain, the provenance, and the organisation, region, concept, event and
home pages. Expectations are read from data/ and ontology/ directly, not from the server."""

from __future__ import annotations

import json
import re
from functools import cache
from html import unescape
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import DCTERMS, SKOS

from tests.sources import records

ROOT = Path(__file__).resolve().parents[2]
MISSING = "not stated in the sources"
HTML = {"Accept": "text/html"}


def as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def words(text: str) -> str:
    return " ".join(str(text).split())


@cache
def practices() -> dict[str, dict]:
    return {str(r["id"]).split("/", 1)[1]: r for r in records("data/practices/*.yaml")}


@cache
def names() -> dict[str, str]:
    """English name of every record of data/ (by id) and of every concept of the schemes (by scheme/code)."""
    out = {}
    for r in records("data/**/*.yaml"):
        for key in ("title", "name"):
            if isinstance(r.get(key), dict) and "en" in r[key]:
                out[str(r["id"]).replace("nuts:", "region/")] = r[key]["en"]
                break
    g = schemes()
    for concept, label in g.subject_objects(SKOS.prefLabel):
        if label.language == "en":
            out["concept/" + str(concept).split("/concept/", 1)[1]] = str(label)
    return out


@cache
def schemes() -> rdflib.Graph:
    g = rdflib.Graph()
    for path in sorted((ROOT / "ontology" / "schemes").glob("*.ttl")):
        g.parse(path)
    return g


def page(client, path: str, **headers) -> str:
    response = client.get(path, headers={**HTML, **headers})
    assert response.status_code == 200, (path, response.data[:500])
    return unescape(response.get_data(as_text=True))


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]* id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def fact(html: str, label: str) -> str:
    match = re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert match, f"no fact {label}"
    return match.group(1)


TEXT_SECTIONS = {"summary": "summary", "description": "description", "resources": "resources",
                 "evidence": "evidence", "difficulties": "difficulties", "transfer_potential": "transfer-potential"}
LINK_FACTS = {
    "main_institution": ("Main institution", "organisation/"), "stages": ("Innovation-chain stages", "concept/stage/"),
    "measures": ("Soft-digitalisation measures", "concept/measure/"), "sectors": ("RIS3 sectors", "concept/ris3/"),
    "source_project": ("Source project", ""), "submitted_by": ("Submitted by", ""),
    "presented_at": ("Presented at", ""),
}


@pytest.mark.parametrize("slug", sorted(practices()))
def test_practice_page_shows_every_template_field(client, slug):
    record = practices()[slug]
    html = page(client, f"/practice/{slug}")
    assert words(record["title"]["en"]) in html
    for key, section_id in TEXT_SECTIONS.items():
        body = words(section(html, section_id))
        if key in record:
            assert words(record[key]["en"])[:80] in body, key
        else:
            assert MISSING in body, key
    for key, (label, prefix) in LINK_FACTS.items():
        body = fact(html, label)
        for value in as_list(record.get(key)):
            assert names()[prefix + value if prefix.startswith("concept") else value] in body, (key, value)
        if not record.get(key):
            assert MISSING in body, key
    location = fact(html, "Location")
    assert (words(record["location"]["en"]) in words(location)) if "location" in record else True
    for region in as_list(record.get("region")):
        assert names()["region/" + region] in location
    timescale = fact(html, "Timescale")
    assert str(record["start_year"]) in timescale if "start_year" in record else MISSING in timescale
    keywords = fact(html, "Keywords")
    for keyword in record.get("keywords", {}).get("en", []):
        assert keyword in keywords
    stakeholders = section(html, "stakeholders")
    for s in record.get("stakeholders", []):
        if s.get("stakeholder_type"):
            assert names()["concept/stakeholder-type/" + s["stakeholder_type"]] in stakeholders
        if s.get("organisation"):
            assert names()[s["organisation"]] in stakeholders
    for budget in record.get("budgets", []):
        assert f"{budget['amount']:,}".rstrip("0").rstrip(".") in section(html, "resources")


@pytest.mark.parametrize("slug", sorted(practices()))
def test_practice_standing_and_provenance(client, slug):
    record = practices()[slug]
    html = page(client, f"/practice/{slug}")
    standing = re.search(r'<div class="standing".*?</div>', html, re.S).group(0)
    concept = rdflib.URIRef(f"https://w3id.org/next2met/concept/standing/{record['standing']}")
    assert names()[f"concept/standing/{record['standing']}"] in standing
    definition = schemes().value(concept, SKOS.definition)
    if definition is not None:
        assert words(definition)[:60] in words(standing)
    provenance = section(html, "provenance")
    for source in record["sources"]:
        assert source in provenance
    assert str(record["modified"]) in provenance
    assert f"data/practices/{slug}.yaml" in provenance
    assert names()[f"concept/confidence/{record['confidence']}"] in provenance


def test_practice_embeds_schema_org_and_links_rdf(client):
    slug, record = next(iter(sorted(practices().items())))
    html = client.get(f"/practice/{slug}", headers=HTML).get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "CreativeWork" and data["name"] == record["title"]["en"]
    assert data["@id"] == f"https://w3id.org/next2met/practice/{slug}"
    assert set(data["isBasedOn"]) == set(record["sources"])
    assert f"/sparql?query=DESCRIBE%20%3Chttps%3A%2F%2Fw3id.org%2Fnext2met%2Fpractice%2F{slug}%3E" in html


def test_language_choice_and_fallback(client):
    slug, record = next((s, r) for s, r in sorted(practices().items())
                        if "fi" in r["title"] and "fi" not in r.get("description", {}))
    for headers, path in (({}, f"/practice/{slug}?lang=fi"), ({"Accept-Language": "fi-FI,fi;q=0.9,en;q=0.5"},
                                                               f"/practice/{slug}")):
        response = client.get(path, headers={**HTML, **headers})
        assert response.headers["Content-Language"] == "fi"
        html = unescape(response.get_data(as_text=True))
        assert re.search(rf'<h1 id="practice-title" lang="fi">{re.escape(record["title"]["fi"])}</h1>', html)
        note = re.search(r'<p class="language-note">(.*?)</p>', html, re.S).group(1)
        assert "suomi" in note and "Yksityiskohtainen kuvaus" in note  # the description fell back to English
    explicit = page(client, f"/practice/{slug}?lang=fi")
    assert re.search(r'href="/organisation/[^"?]+\?lang=fi"', explicit)  # our links keep the chosen language
    english = page(client, f"/practice/{slug}")
    assert record["title"]["en"] in english
    unknown = client.get(f"/practice/{slug}?lang=xx", headers=HTML)  # a language the data lacks: English
    assert unknown.headers["Content-Language"] == "en"


def test_actions_it_inspired_and_where(client):
    regions = {str(r["id"]): r for r in records("data/regions.yaml")}
    plans = {r["id"]: r for r in records("data/action-plans/*.yaml") if r["type"] == "ActionPlan"}
    actions = [r for r in records("data/action-plans/*.yaml") if r["type"] == "Action"]
    checked = 0
    for action in actions:
        for key, stated in (("inspired_by", True), ("plausibly_inspired_by", False)):
            for practice in as_list(action.get(key)):
                html = page(client, "/" + practice)
                learning = section(html, "learning")
                assert action["title"]["en"] in learning
                region = plans[action["part_of"]]["region"]
                assert regions["nuts:" + region]["name"]["en"] in learning
                before, _, after = learning.partition("Plausibly inspired")
                assert action["title"]["en"] in (before if stated else after)
                if not stated:
                    assert "inferred" in after.lower()
                checked += 1
    assert checked, "the data names no inspiring practice"


def test_related_practices_with_reasons_and_network(client):
    slug = sorted(practices())[0]
    related = section(page(client, f"/practice/{slug}"), "related")
    reasons = re.findall(r'<span class="reason">(.*?)</span>', related)
    assert reasons and all(r[:1].isupper() for r in reasons)
    assert "<svg" in related and "<title" in related and "How “like this one” is computed" in related


def test_organisation_page_lists_practices_and_roles(client):
    by_org: dict[str, list[str]] = {}
    for record in practices().values():
        for org in as_list(record.get("main_institution")):
            by_org.setdefault(org, []).append(record["title"]["en"])
    for org, titles in sorted(by_org.items()):
        html = page(client, "/" + org)
        assert names()[org] in html
        for title in titles:
            assert re.search(re.escape(title) + r"</a> <span class=\"detail\">\([^)]*main institution", html), title


def region_family(code: str) -> set[str]:
    """The region and every region below it, from skos:broader in data/regions.yaml."""
    broader = {str(r["id"])[5:]: str(r.get("broader", "")) for r in records("data/regions.yaml")}
    family = {code}
    changed = True
    while changed:
        grown = family | {c for c, b in broader.items() if b in family}
        changed, family = grown != family, grown
    return family


def test_region_page_counts_practices_of_its_sub_regions(client):
    partners = {str(r["represents"]) for r in records("data/project.yaml") if r.get("represents")}
    for code in sorted(partners):
        family = region_family(code)
        expected = [r for r in practices().values() if set(map(str, as_list(r.get("region")))) & family]
        html = page(client, f"/region/{code}")
        assert f"Practices located here ({len(expected)})" in html
        for r in expected:
            assert r["title"]["en"] in html
        assert f'href="/practices?region={code}"' in html or f'href="/practices?country={code}"' in html


def test_concept_page_includes_narrower_concepts(client):
    g = schemes()
    scheme = rdflib.URIRef("https://w3id.org/next2met/concept/measure")
    for concept in sorted(g.subjects(SKOS.inScheme, scheme)):
        narrower = {str(concept)} | {str(n) for n in g.transitive_subjects(SKOS.broader, concept)}
        codes = {n.rsplit("/", 1)[1] for n in narrower}
        expected = [r for r in practices().values() if set(as_list(r.get("measures"))) & codes]
        html = page(client, "/concept/" + str(concept).split("/concept/", 1)[1])
        assert f"Practices ({len(expected)})" in html, concept


def test_scheme_page_lists_its_concepts(client):
    g = schemes()
    scheme = rdflib.URIRef("https://w3id.org/next2met/concept/stakeholder-type")
    html = page(client, "/concept/stakeholder-type")
    assert str(g.value(scheme, DCTERMS.title)) in html
    for concept in g.subjects(SKOS.inScheme, scheme):
        assert names()["concept/" + str(concept).split("/concept/", 1)[1]] in html


def test_event_page_lists_practices_presented_there(client):
    by_event: dict[str, list[str]] = {}
    for record in practices().values():
        for event in as_list(record.get("presented_at")):
            by_event.setdefault(event, []).append(record["title"]["en"])
    event, titles = max(sorted(by_event.items()), key=lambda kv: len(kv[1]))
    html = page(client, "/" + event)
    for title in titles:
        assert title in html


def test_home_page_counts_charts_and_latest(client):
    html = page(client, "/")
    n = len(practices())
    assert re.search(rf'<span class="count">{n}</span> <span class="what">practices</span>', html)
    countries = {str(r["id"])[5:] for r in records("data/regions.yaml") if r.get("level") == 0}
    chart = re.search(r"Practices per country</figcaption>(.*?)</figure>", html, re.S).group(1)
    for code in countries:
        family = region_family(code)
        count = sum(1 for r in practices().values() if set(map(str, as_list(r.get("region")))) & family)
        if count:
            assert f'href="/practices?country={code}"' in chart and f"{count} practices" in chart
    assert "Latest changes" in html and 'href="/ldes"' in html
    assert re.search(r'<label for="home-q">', html) and 'id="home-q"' in html


@pytest.mark.parametrize("path", ["/", "/practices", "/regions", "/network", "/ontology",
                                  "/practice/" + sorted(practices())[0], "/region/FI1C3"])
def test_pages_are_accessible_by_structure(client, path):
    html = client.get(path, headers=HTML).get_data(as_text=True)
    assert re.search(r'<html lang="[a-z]{2,3}">', html)
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert '<nav class="site-nav" aria-label="Main">' in html and "<footer" in html
    for input_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html):
        assert f'<label for="{input_id}"' in html, input_id
    for svg in re.findall(r"<svg viewBox[^>]*>", html):
        assert "aria-labelledby" in svg
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert all(a.startswith("/") for a in assets), assets  # every script, style and icon is ours
