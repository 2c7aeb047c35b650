"""Data quality as data: the DQV graph, /quality and its twins agree with the SHACL warnings, a practice's badge
names what it lacks, and the catalogue links the dataset's measurements."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pyoxigraph as ox
import requests

from next2met.graph.analysis.quality import template_fields
from next2met.graph.validate import validate_text
from tests.test_research.conftest import BASE, LONGFORD


def shacl_report(served):
    """The SHACL report of the served data, computed here from the server's N-Quads dump (written from the store
    before serving), not from the quality graph."""
    r = requests.get(f"{served.url}/dumps/next2met.nq", timeout=60)
    assert r.status_code == 200
    return validate_text(r.text)


def test_quality_numbers_equal_the_shacl_warnings(served):
    report = shacl_report(served)
    data = requests.get(f"{served.url}/quality.json", timeout=30).json()
    assert data["dataset"]["warningCount"] == report.warning_count > 0
    assert sum(c["warningCount"] for c in data["records"]) == report.warning_count
    per_focus = Counter(r.focus.split("#", 1)[0] for r in report.results if r.severity == "Warning")
    fields = {f.shape: f for f in template_fields(BASE)}
    assert len(fields) == data["templateFields"]
    for p in data["practices"]:
        assert p["warningCount"] == per_focus[p["practice"]], p["practice"]
        lacking = {fields[r.shape].path for r in report.results
                   if r.focus == p["practice"] and r.shape in fields and r.severity == "Warning"}
        assert {m["property"] for m in p["missing"]} == lacking
        assert p["given"] == len(fields) - len(lacking)
    per_shape = Counter(r.shape for r in report.results if r.shape in fields and r.severity == "Warning")
    for f in data["fields"]:
        shape = next(s for s, fl in fields.items() if fl.path == f["property"])
        assert f["warningCount"] == per_shape[shape]
    # the CSV twin says the same
    rows = list(csv.DictReader(io.StringIO(requests.get(f"{served.url}/quality.csv", timeout=30).text)))
    total = next(r for r in rows if r["level"] == "dataset" and r["metric"] == "warningCount")
    assert int(total["value"]) == report.warning_count
    # the page draws the charts (SVG on the server, no script)
    page = requests.get(f"{served.url}/quality", timeout=30).text
    assert page.count("<svg") >= 3 and "Template completeness per region" in page


def test_dqv_measurements_and_metrics_defined_once(served):
    rows = served.select("""PREFIX dqv: <http://www.w3.org/ns/dqv#>
      SELECT ?metric (COUNT(?m) AS ?n) WHERE { ?m a dqv:QualityMeasurement ; dqv:isMeasurementOf ?metric ;
        dqv:value ?v ; dqv:computedOn ?on } GROUP BY ?metric""")
    metrics = {r["metric"].rsplit("#", 1)[-1]: int(r["n"]) for r in rows}
    assert set(metrics) == {"templateCompleteness", "meanConfidence", "warningCount"}
    for metric in metrics:  # each metric is defined in the ontology, with its dimension
        assert served.ask(f"""PREFIX dqv: <http://www.w3.org/ns/dqv#> ASK {{
          GRAPH <{BASE}graph/ontology/next2met> {{ <https://w3id.org/next2met/ontology#{metric}> a dqv:Metric ;
          dqv:inDimension ?d }} }}""")


def test_badge_links_to_what_is_missing_and_follows_a_write(served):
    data = requests.get(f"{served.url}/quality.json", timeout=30).json()
    longford = next(p for p in data["practices"] if p["practice"].endswith("/digital-consultations-longford"))
    page = requests.get(f"{served.url}/practice/digital-consultations-longford", timeout=30).text
    assert f'{longford["given"]} of {longford["of"]} template fields' in page
    assert 'href="/quality#digital-consultations-longford"' in page
    for m in longford["missing"]:
        assert m["name"] in page
    # a write that drops the start year: the badge and the counts follow
    assert "start_year:" in LONGFORD
    changed = "\n".join(line for line in LONGFORD.splitlines() if not line.startswith("start_year:"))
    r = served.write("PUT", "digital-consultations-longford", changed)
    assert r.status_code == 200, r.text
    served.derived()  # in the background, after the write was answered
    after = requests.get(f"{served.url}/quality.json", timeout=30).json()
    now = next(p for p in after["practices"] if p["practice"] == longford["practice"])
    assert now["given"] == longford["given"] - 1
    assert "start year" in [m["name"] for m in now["missing"]]
    assert after["dataset"]["warningCount"] == data["dataset"]["warningCount"] + 1


def test_catalogue_links_the_dataset_quality(served):
    r = requests.get(f"{served.url}/catalog", headers={"Accept": "application/n-triples"}, timeout=30)
    triples = list(ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES))
    linked = {t.object.value for t in triples
              if t.predicate.value == "http://www.w3.org/ns/dqv#hasQualityMeasurement"
              and t.subject.value == f"{BASE}dataset/next2met"}
    assert len(linked) == 3


def test_the_badge_is_the_practice_s_entry_of_the_report(served):
    """The badge reads one practice's measurements; it says what the whole report says of that practice."""
    from next2met.server.quality import practice_entry

    kg = served.kg
    practices = requests.get(f"{served.url}/quality.json", timeout=30).json()["practices"]
    assert len(practices) > 10
    with served.app.app_context():
        for item in practices:
            assert practice_entry(kg, item["practice"]) == item
        assert practice_entry(kg, f"{BASE}practice/no-such-practice") is None
