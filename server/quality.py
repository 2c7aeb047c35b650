"""``/quality``: completeness and confidence per partner region, per template field and per practice, read from
the derived quality graph (DQV measurements); charts drawn as SVG, the same numbers as JSON (``/quality.json``)
and CSV (``/quality.csv``). A practice's page carries a badge that links to what it lacks."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from flask import Blueprint, Response, jsonify, render_template

from next2met.graph.analysis.derived import derived_graph
from next2met.graph.analysis.quality import template_fields

from .charts import Bar, bar_chart
from .i18n import gettext as _
from .links import iri_to_path
from .page_data import labels
from .state import KnowledgeGraph, get_kg

bp = Blueprint("quality", __name__)

N2M = "https://w3id.org/next2met/ontology#"
DQV = "http://www.w3.org/ns/dqv#"
METRICS = ("templateCompleteness", "meanConfidence", "warningCount")
CONFIDENCE_WORDS = {1.0: "high", 0.5: "medium", 0.0: "low"}


def measurements(kg: KnowledgeGraph) -> dict:
    """Everything the quality graph says, arranged by what was measured."""
    graph = derived_graph(kg.settings.base_iri, "quality")
    rows = kg.select(f"""PREFIX dqv: <{DQV}> PREFIX n2m: <{N2M}>
SELECT ?m ?on ?metric ?value ?missing WHERE {{ GRAPH <{graph}> {{
  ?m a dqv:QualityMeasurement ; dqv:computedOn ?on ; dqv:isMeasurementOf ?metric ; dqv:value ?value .
  OPTIONAL {{ ?m n2m:missingProperty ?missing }} }} }}""")
    generation = kg.select(f"SELECT ?d WHERE {{ GRAPH <{graph}> {{ <{graph}> <{N2M}dataGeneration> ?d }} }}")
    values: dict[str, dict[str, float]] = defaultdict(dict)
    missing: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, str] = {}
    for r in rows:
        on, metric = r["on"].value, r["metric"].value.rsplit("#", 1)[-1]
        values[on][metric] = float(r["value"].value)
        kinds[on] = r["m"].value.rsplit("#", 1)[-1].split("-", 1)[0]  # practice, region, field, class, dataset
        if "missing" in r:
            missing[on].add(r["missing"].value)
    return {
        "values": values,
        "missing": missing,
        "kinds": kinds,
        "generation": generation[0]["d"].value if generation else None,
    }


def report(kg: KnowledgeGraph, lang: str = "en") -> dict:
    """The quality report as plain data (what /quality.json answers)."""

    def compute() -> dict:
        found = measurements(kg)
        names = labels(kg)
        fields = {f.path: f.name for f in template_fields(kg.settings.base_iri)}
        values, kinds = found["values"], found["kinds"]

        def entry(on: str, key: str, name: str) -> dict:
            out: dict[str, object] = {key: on, "name": name}
            for metric in METRICS:
                if metric in values[on]:
                    v = values[on][metric]
                    out[metric] = int(v) if metric == "warningCount" else v
            return out

        def of(kind: str) -> list[str]:
            return sorted(on for on, k in kinds.items() if k == kind)

        practices = []
        for on in of("practice"):
            item = entry(on, "practice", names.get(on, lang))
            lacking = sorted(found["missing"].get(on, ()), key=lambda p: fields.get(p, p))
            item["missing"] = [{"property": p, "name": fields.get(p, p)} for p in lacking]
            item["given"] = len(fields) - len(lacking)
            item["of"] = len(fields)
            item["confidence"] = CONFIDENCE_WORDS.get(values[on].get("meanConfidence", -1))
            item["page"] = iri_to_path(on)
            practices.append(item)
        dataset = of("dataset")
        return {
            "dataGeneration": found["generation"],
            "templateFields": len(fields),
            "dataset": entry(dataset[0], "dataset", "dataset") if dataset else None,
            "regions": [entry(on, "region", names.get(on, lang)) for on in of("region")],
            "fields": sorted(
                (entry(on, "property", fields.get(on, on)) for on in of("field")),
                key=lambda f: f["templateCompleteness"],
            ),
            "records": [entry(on, "class", names.get(on, lang)) for on in of("class")],
            "practices": practices,
        }

    return kg.cached(("quality-report", lang), compute)


def confidence_word(level: str | None) -> str:
    words = {"high": _("high"), "medium": _("medium"), "low": _("low")}
    return words.get(level or "", _("not stated"))


def badge(kg: KnowledgeGraph, iri: str) -> dict | None:
    """'11 of 14 template fields; confidence medium; 2 facts missing: start year, budget' for a practice."""
    item = practice_entry(kg, iri)
    return None if item is None else {**item, "confidence_word": confidence_word(item["confidence"])}


def practice_entry(kg: KnowledgeGraph, iri: str) -> dict | None:
    """A practice's entry of the report, read from the quality graph for this practice alone (the whole report
    reads every measurement: seconds at 100k quads, for every practice page after every change)."""
    graph = derived_graph(kg.settings.base_iri, "quality")
    rows = kg.select(f"""PREFIX dqv: <{DQV}> PREFIX n2m: <{N2M}>
SELECT ?metric ?value ?missing WHERE {{ GRAPH <{graph}> {{
  ?m dqv:computedOn <{iri}> ; dqv:isMeasurementOf ?metric ; dqv:value ?value .
  FILTER(STRSTARTS(STR(?m), "{graph}#practice-"))
  OPTIONAL {{ ?m n2m:missingProperty ?missing }} }} }}""")
    if not rows:
        return None
    fields = {f.path: f.name for f in template_fields(kg.settings.base_iri)}
    values = {r["metric"].value.rsplit("#", 1)[-1]: float(r["value"].value) for r in rows}
    lacking = sorted({r["missing"].value for r in rows if "missing" in r}, key=lambda p: fields.get(p, p))
    item: dict = {"practice": iri, "name": labels(kg).get(iri)}
    for metric in METRICS:
        if metric in values:
            item[metric] = int(values[metric]) if metric == "warningCount" else values[metric]
    item.update(
        missing=[{"property": p, "name": fields.get(p, p)} for p in lacking],
        given=len(fields) - len(lacking),
        of=len(fields),
        confidence=CONFIDENCE_WORDS.get(values.get("meanConfidence", -1)),
        page=iri_to_path(iri),
    )
    return item


@bp.get("/quality")
def page() -> Response:
    kg = get_kg()
    data = report(kg)
    charts = [
        bar_chart(
            _("Template completeness per region"),
            [
                Bar(
                    r["name"],
                    r.get("templateCompleteness", 0),
                    f"{r.get('templateCompleteness', 0):.0%}",
                    iri_to_path(r["region"]) or "",
                )
                for r in data["regions"]
            ],
            1.0,
        ),
        bar_chart(
            _("Confidence per region (high 1, medium 0.5, low 0)"),
            [Bar(r["name"], r.get("meanConfidence", 0), f"{r.get('meanConfidence', 0):.2f}") for r in data["regions"]],
            1.0,
        ),
        bar_chart(
            _("Practices that give each template field"),
            [
                Bar(f["name"], f.get("templateCompleteness", 0), f"{f.get('templateCompleteness', 0):.0%}")
                for f in data["fields"]
            ],
            1.0,
        ),
        bar_chart(
            _("SHACL warnings per region"),
            [Bar(r["name"], r.get("warningCount", 0), str(r.get("warningCount", 0))) for r in data["regions"]],
        ),
    ]
    html = render_template(
        "quality.html",
        data=data,
        charts=charts,
        confidence_word=confidence_word,
        quality_graph=iri_to_path(derived_graph(kg.settings.base_iri, "quality")),
    )
    return Response(html, mimetype="text/html")


@bp.get("/quality.json")
def as_json() -> Response:
    return jsonify(report(get_kg()))


@bp.get("/quality.csv")
def as_csv() -> Response:
    """One row per measurement: what was measured (level, IRI, name), the metric and its value."""
    data = report(get_kg())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["level", "iri", "name", "metric", "value", "missing"])
    rows = [("dataset", data["dataset"])] if data["dataset"] else []
    rows += [("region", r) for r in data["regions"]] + [("field", f) for f in data["fields"]]
    rows += [("records", c) for c in data["records"]] + [("practice", p) for p in data["practices"]]
    for level, item in rows:
        iri = (
            item.get("dataset")
            or item.get("region")
            or item.get("property")
            or item.get("class")
            or item.get("practice")
        )
        for metric in METRICS:
            if metric in item:
                missing = (
                    "; ".join(m["name"] for m in item.get("missing", [])) if metric == "templateCompleteness" else ""
                )
                writer.writerow([level, iri, item["name"], metric, item[metric], missing])
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": 'inline; filename="next2met-quality.csv"'}
    )
