"""The research queries in queries/: each parses, has a complete header, and gives on the real data the answer
that the source files themselves give.

Every expectation is worked out here from ``data/**/*.yaml`` (read with PyYAML) and the SKOS schemes (read with
rdflib), not from the built store, so a query that runs but answers the wrong question fails.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import yaml
from rdflib.namespace import SKOS
from rdflib.plugins.sparql import prepareQuery

from next2met.graph import paths
from next2met.graph.errors import QueryNotFound, QueryParameterError
from next2met.graph.queries import PARAM_TYPES, get_query, list_queries, parse_query_file, sparql_term
from next2met.graph.store import OxigraphStore

BASE = "https://w3id.org/next2met/"
NUTS = "http://data.europa.eu/nuts/code/"
QUERIES = list_queries()
NUMERIC = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in ("integer", "decimal", "double", "float", "int")}


# -- the facts, read from the source files --------------------------------------------------------------
def _docs(path: Path) -> list[dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, list) else [doc]


def _list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def iri(ref: str) -> str:
    """The IRI of a YAML reference: ``practice/x`` or ``nuts:FI1C3``."""
    return NUTS + ref[5:] if ref.startswith("nuts:") else BASE + ref


class Facts:
    """What the YAML files and the SKOS schemes say."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        for path in sorted(paths.DATA_DIR.rglob("*.yaml")):
            for doc in _docs(path):
                self.items[iri(doc["id"])] = doc
        self.practices = {k: v for k, v in self.items.items() if v.get("type") == "GoodPractice"}
        self.actions = {k: v for k, v in self.items.items() if v.get("type") == "Action"}
        self.plans = {k: v for k, v in self.items.items() if v.get("type") == "ActionPlan"}
        self.events = {k: v for k, v in self.items.items() if v.get("type") == "LearningEvent"}
        partners = [v for v in self.items.values() if v.get("type") == "Partner"]
        self.partner_regions = {r for p in partners for r in _list(p.get("represents"))}
        self.partner_of = defaultdict(set)  # organisation -> regions it represents
        for p in partners:
            self.partner_of[iri(p["member"])].update(_list(p.get("represents")))
        self.region_parent = {v["id"][5:]: _list(v.get("broader")) for v in self.items.values()
                              if str(v.get("id", "")).startswith("nuts:")}
        schemes = rdflib.Graph()
        for ttl in sorted(paths.SCHEMES_DIR.glob("*.ttl")):
            schemes.parse(ttl)
        self.schemes = schemes
        self.broader = defaultdict(set)
        for s, o in schemes.subject_objects(SKOS.broader):
            self.broader[str(s)].add(str(o))
        self.top = {str(s) for s in schemes.subjects(SKOS.topConceptOf, None)}

    def concept_up(self, scheme: str, code: str) -> set[str]:
        """Codes of a concept and of every concept above it (skos:broader*)."""
        seen, todo = set(), [f"{BASE}concept/{scheme}/{code}"]
        while todo:
            c = todo.pop()
            if c not in seen:
                seen.add(c)
                todo.extend(self.broader[c])
        return {c.rsplit("/", 1)[1] for c in seen}

    def region_up(self, code: str) -> set[str]:
        seen, todo = set(), [code]
        while todo:
            c = todo.pop()
            if c not in seen:
                seen.add(c)
                todo.extend(self.region_parent.get(c, []))
        return seen

    def partner_region(self, code: str) -> str:
        """The partner region a NUTS region lies in, or the region itself outside them."""
        found = self.region_up(code) & self.partner_regions
        return found.pop() if found else code

    def organisations(self, practice: dict) -> set[str]:
        orgs = {iri(s["organisation"]) for s in _list(practice.get("stakeholders")) if s.get("organisation")}
        return orgs | {iri(o) for o in _list(practice.get("main_institution"))}

    def inspirations(self) -> list[tuple[str, str, str]]:
        """(action, practice, "stated" or "inferred")."""
        out = []
        for a, doc in self.actions.items():
            out += [(a, iri(p), "stated") for p in _list(doc.get("inspired_by"))]
            out += [(a, iri(p), "inferred") for p in _list(doc.get("plausibly_inspired_by"))]
        return out

    def plan_region(self, action: str) -> str:
        return _list(self.plans[iri(self.actions[action]["part_of"])]["region"])[0]


@pytest.fixture(scope="module")
def facts() -> Facts:
    return Facts()


@pytest.fixture(scope="module")
def store(built_store):
    st = OxigraphStore(built_store, read_only=True)
    yield st
    st.close()


def plain(term) -> object:
    if isinstance(term, ox.Literal) and term.datatype.value in NUMERIC:
        return Decimal(term.value)
    return term.value


def run(store, name: str, **params) -> list[dict]:
    result = store.query(get_query(name).bind({k: str(v) for k, v in params.items()}))
    return [{k: plain(v) for k, v in row.items()} for row in result.rows()]


def short(url: str) -> str:
    return url[len(BASE):] if url.startswith(BASE) else url


# -- every file: syntax and header -----------------------------------------------------------------------
def test_there_are_at_least_fifteen_queries():
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: q.name)
def test_query_parses_and_has_a_complete_header(q):
    assert q.title and q.title != q.name, "a '# title:' line"
    assert len(q.description) > 40, "a '# description:' that says what the query answers"
    prepareQuery(q.text)  # rdflib's SPARQL 1.1 parser, as written (parameters free)
    used = set(re.findall(r"\$([A-Za-z_]\w*)", re.sub(r"(?m)^#.*$", "", q.text)))
    declared = {p.name for p in q.params}
    assert used == declared, f"$variables {sorted(used)} vs # param: lines {sorted(declared)}"
    for p in q.params:
        scheme = p.type.split(":", 1)[1] if p.type.startswith("concept:") else None
        assert p.type in PARAM_TYPES or (paths.SCHEMES_DIR / f"{scheme}.ttl").is_file(), p.type
        assert p.help, f"parameter {p.name} has no help text"
        if p.default is not None:
            sparql_term(p, p.default)
        select = re.search(r"(?is)^\s*SELECT\b(.*?)\bWHERE\b", re.sub(r"(?m)^(#|PREFIX).*$", "", q.text))
        if select:
            assert f"?{p.name}" not in select.group(1).split() and f"${p.name}" not in select.group(1), \
                f"parameter {p.name} is projected"
    prepareQuery(q.bind({}))


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: q.name)
def test_query_runs_on_the_built_store_with_defaults(store, q):
    result = store.query(q.bind({}))
    assert result.kind == {"select": "select", "ask": "ask", "construct": "graph"}[q.form]


def test_bad_parameters_are_refused():
    q = get_query("practices-by-region-and-sector")
    for params in ({"region": "es511"}, {"region": "ES511>"}, {"sector": "ICT sector"}, {"nosuch": "x"}):
        with pytest.raises(QueryParameterError):
            q.bind(params)
    with pytest.raises(QueryParameterError):
        get_query("practices-by-start-year").bind({"from": "20x9"})
    with pytest.raises(QueryParameterError):
        get_query("transfer-chain").bind({"practice": "not an iri"})
    with pytest.raises(QueryParameterError):
        get_query("organisations-in-several-practices").bind({"min": "two"})
    with pytest.raises(QueryNotFound):
        get_query("no-such-query")


def test_a_parameter_binds_in_every_subquery_that_uses_it(tmp_path):
    path = tmp_path / "two-sides.rq"
    path.write_text(
        "# title: Two sides\n# description: A test query.\n"
        "# param: a string default=x -- one side\n# param: b string default=y -- the other side\n"
        "SELECT ?s WHERE {\n"
        "  { SELECT ?s $a WHERE { ?s ?p $a } }\n"
        "  { SELECT ?s WHERE { ?s ?q ?o FILTER(?o != $b) } }\n"
        "  { SELECT ?s WHERE { ?s ?r ?z  # $a only in a comment\n  } }\n"
        "}\n", encoding="utf-8")
    bound = parse_query_file(path).bind({"a": "one"})
    rows = [line.strip() for line in bound.splitlines() if line.strip().startswith("VALUES")]
    assert rows == ['VALUES ($a $b) { ("one" "y") }', 'VALUES ($a) { ("one") }', 'VALUES ($b) { ("y") }']
    # the bound text is still one valid query, with the subqueries intact
    assert prepareQuery(bound).algebra is not None
    assert list(OxigraphStore(None).query(bound).rows()) == []


def test_a_parameter_that_a_subquery_computes_is_bound_outside_it_only(tmp_path):
    path = tmp_path / "computed.rq"
    path.write_text(
        "# title: Computed\n# description: A test query.\n"
        "# param: a string -- bound where it is a pattern variable\n# param: n integer -- a computed count\n"
        "SELECT ?s WHERE {\n"
        "  { SELECT ?s ?a WHERE { ?s ?p ?o BIND(STR(?o) AS ?a) } }\n"
        "  { SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?q ?o } GROUP BY ?s }\n"
        "}\n", encoding="utf-8")
    bound = parse_query_file(path).bind({"a": "x", "n": "2"})
    rows = [line.strip() for line in bound.splitlines() if line.strip().startswith("VALUES")]
    assert rows == ['VALUES ($a $n) { ("x" 2) }']
    assert prepareQuery(bound).algebra is not None
    assert list(OxigraphStore(None).query(bound).rows()) == []


SAMPLE = {"iri": "https://w3id.org/next2met/practice/longford-digital-hub-consultations", "nuts": "ES511",
          "integer": "2", "decimal": "1.5", "string": "hub", "year": "2020", "lang": "en"}


@pytest.mark.parametrize("q", [q for q in QUERIES if q.params], ids=lambda q: q.name)
def test_every_parameter_binds_into_a_valid_query(store, q):
    """Each parameter alone and all of them together (an example value of its type, or its default) give a query
    that parses and runs."""
    def value(p):  # its default, else an example of its type, else the example its description gives
        example = re.search(r"e\.g\. ([^\s)]+)", p.help)
        return p.default or SAMPLE.get(p.type) or (example.group(1) if example else None)

    choices = {p.name: value(p) for p in q.params if value(p) is not None}
    assert choices, "no example value for any parameter"
    for values in [{k: v} for k, v in choices.items()] + [choices]:
        bound = q.bind(values)
        assert prepareQuery(bound).algebra is not None
        store.query(bound)


def test_a_string_parameter_cannot_break_out_of_its_literal(store):
    hostile = '" } } SELECT * WHERE { ?s ?p ?o } #'
    assert run(store, "keyword-search", text=hostile) == []


# -- expected answers ------------------------------------------------------------------------------------
def test_practices_by_region_and_sector(store, facts):
    expected = defaultdict(set)
    for p, doc in facts.practices.items():
        regions = {facts.partner_region(r) for r in _list(doc.get("region"))} & facts.partner_regions
        tops = {c for s in _list(doc.get("sectors")) for c in facts.concept_up("ris3", s)
                if f"{BASE}concept/ris3/{c}" in facts.top}
        for r in regions:
            for t in tops:
                expected[(r, t)].add(p)
    counts = {k: len(v) for k, v in expected.items()}
    rows = run(store, "practices-by-region-and-sector")
    assert {(r["regionCode"], r["sectorCode"]): r["practices"] for r in rows} == counts
    assert len(rows) == len(counts) and counts
    region, sector = next(iter(counts))
    assert {(r["regionCode"], r["sectorCode"]) for r in run(store, "practices-by-region-and-sector", region=region)} \
        == {k for k in counts if k[0] == region}
    assert [r["practices"] for r in run(store, "practices-by-region-and-sector", region=region, sector=sector)] \
        == [counts[(region, sector)]]


def test_measures_by_stage(store, facts):
    expected = defaultdict(set)
    for p, doc in facts.practices.items():
        for stage in _list(doc.get("stages")):
            for m in _list(doc.get("measures")):
                for up in facts.concept_up("measure", m):
                    expected[(stage, up)].add(p)
    rows = run(store, "measures-by-stage")
    counts = {k: len(v) for k, v in expected.items()}
    assert {(r["stageCode"], r["measureCode"]): r["practices"] for r in rows} == counts
    only = run(store, "measures-by-stage", stage="apply", measure="e-service")
    assert [r["practices"] for r in only] == [counts[k] for k in [("apply", "e-service")] if k in counts]


@pytest.mark.parametrize("first,second", [("sme", "university"), ("business", "academia")])
def test_practices_with_two_kinds_of_stakeholder(store, facts, first, second):
    expected = set()
    for p, doc in facts.practices.items():
        inv = [{up for t in _list(s.get("stakeholder_type")) for up in facts.concept_up("stakeholder-type", t)}
               for s in _list(doc.get("stakeholders"))]
        if any(first in a and second in b for i, a in enumerate(inv) for j, b in enumerate(inv) if i != j):
            expected.add(p)
    rows = run(store, "smes-and-universities", first=first, second=second)
    assert {r["practice"] for r in rows} == expected
    assert all(r.get("firstParty") and r.get("secondParty") for r in rows)
    if first == "sme":
        assert {r["practice"] for r in run(store, "smes-and-universities")} == expected  # the defaults


def test_transfer_chain(store, facts):
    expected = set()
    for action, practice, link in facts.inspirations():
        doc, plan = facts.actions[action], facts.plans[iri(facts.actions[action]["part_of"])]
        instrument = doc.get("improves") or plan.get("improves")
        expected.add((practice, link, action, facts.plan_region(action), iri(instrument) if instrument else None))
    rows = run(store, "transfer-chain")
    assert {(r["goodPractice"], r["link"], r["action"], r["regionCode"], r.get("instrument")) for r in rows} == expected
    # a chain the sources state in so many words
    longford = BASE + "practice/digital-consultations-longford"
    podlaskie = run(store, "transfer-chain", practice=longford, region="PL84")
    assert (BASE + "action/podlaskie-a2-selection-criterion", BASE + "instrument/rop-podlaskie-2014-2020", "stated") \
        in {(r["action"], r["instrument"], r["link"]) for r in podlaskie}
    assert all(r["goodPractice"] == longford and r["regionCode"] == "PL84" for r in podlaskie)


def test_which_regions_learned_from_which(store, facts):
    expected = set()
    for a, doc in facts.actions.items():
        learner = facts.plan_region(a)
        for place in _list(doc.get("learned_from")):
            expected.add((learner, facts.partner_region(place), "learned-from", a))
    for a, practice, _ in facts.inspirations():
        for place in _list(facts.practices[practice].get("region")):
            expected.add((facts.plan_region(a), facts.partner_region(place), "inspired-by", a))
    for p, doc in facts.practices.items():
        for event in _list(doc.get("presented_at")):
            host = facts.events[iri(event)].get("host")
            for learner in facts.partner_of.get(iri(host), ()) if host else ():
                for place in _list(doc.get("region")):
                    expected.add((learner, facts.partner_region(place), "presented-at", p))
    expected = {e for e in expected if e[0] != e[1]}
    rows = run(store, "regions-learning")
    assert {(r["learnerCode"], r["sourceCode"], r["channel"], r["via"]) for r in rows} == expected
    assert {(r["learnerCode"], r["sourceCode"]) for r in run(store, "regions-learning", learner="PL84")} \
        == {(e[0], e[1]) for e in expected if e[0] == "PL84"}
    # `source` is computed inside the query's subquery (BIND ... AS ?source): it is bound outside it only
    assert {(r["learnerCode"], r["sourceCode"]) for r in run(store, "regions-learning", source="IE06")} \
        == {(e[0], e[1]) for e in expected if e[1] == "IE06"} != set()


def _budgets(doc: dict) -> list[tuple[Decimal, str]]:
    return [(Decimal(str(b["amount"])), b["currency"]) for b in _list(doc.get("budgets"))]


def test_evidence_and_budgets(store, facts):
    expected = set()
    for p, doc in facts.practices.items():
        indicators = {yaml.safe_dump(i, sort_keys=True) for i in _list(doc.get("indicators"))}
        if indicators:
            expected |= {(p, len(indicators), a, c) for a, c in _budgets(doc)} or {(p, len(indicators), None, None)}
    rows = run(store, "evidence-and-budgets")
    assert {(r["practice"], r["indicators"], r.get("amount"), r.get("currencyCode")) for r in rows} == expected
    pln = run(store, "evidence-and-budgets", currency="PLN")
    assert {r["practice"] for r in pln} == {e[0] for e in expected}
    assert {r.get("currencyCode") for r in pln} <= {"PLN", None}


def test_success_indicators(store, facts):
    expected = Counter()
    for p, doc in facts.practices.items():
        for i in {yaml.safe_dump(i, sort_keys=True) for i in _list(doc.get("indicators"))}:
            i = yaml.safe_load(i)
            expected[(p, Decimal(str(i["value"])), (i.get("unit") or {}).get("en"))] += 1
    rows = run(store, "success-indicators")
    assert Counter((r["goodPractice"], r["value"], r.get("unit")) for r in rows) == expected
    one = next(iter(expected))[0]
    assert {r["goodPractice"] for r in run(store, "success-indicators", practice=one)} == {one}


@pytest.mark.parametrize("least", [None, 3])
def test_organisations_in_several_practices(store, facts, least):
    per_org = defaultdict(set)
    for p, doc in facts.practices.items():
        for org in facts.organisations(doc):
            per_org[org].add(p)
    expected = {o: len(ps) for o, ps in per_org.items() if len(ps) >= (least or 2)}
    rows = run(store, "organisations-in-several-practices", **({"min": least} if least else {}))
    assert {r["organisation"]: r["practices"] for r in rows} == expected
    assert [r["practices"] for r in rows] == sorted(expected.values(), reverse=True)


def test_shared_sectors(store, facts):
    regional = defaultdict(set)  # shared sector -> {(region, regional sector)}
    g = facts.schemes
    for sector, shared in g.subject_objects(SKOS.broader):
        if str(shared) in facts.top:
            for region in g.objects(sector, rdflib.URIRef("http://purl.org/dc/terms/spatial")):
                regional[str(shared).rsplit("/", 1)[1]].add((str(region)[len(NUTS):], str(sector).rsplit("/", 1)[1]))
    expected = {(s, len({r for r, _ in pairs}), r, c) for s, pairs in regional.items()
                if len({r for r, _ in pairs}) >= 2 for r, c in pairs}
    rows = run(store, "shared-sectors")
    assert {(r["sharedCode"], r["regions"], r["regionCode"], r["sectorCode"]) for r in rows} == expected
    assert {r["regionCode"] for r in run(store, "shared-sectors", region="AT12")} <= {"AT12"}


def test_practices_by_standing_and_confidence(store, facts):
    expected = Counter((d["standing"], d["confidence"]) for d in facts.practices.values())
    rows = run(store, "practices-by-standing-and-confidence")
    assert {(r["standingCode"], r["confidenceCode"]): r["practices"] for r in rows} == dict(expected)
    only = run(store, "practices-by-standing-and-confidence", standing="candidate")
    assert sum(r["practices"] for r in only) == sum(1 for d in facts.practices.values() if d["standing"] == "candidate")


def _start_years(doc: dict) -> set[str]:
    return {str(doc[k])[:4] for k in ("start_year", "start_month", "date") if k in doc}


def test_practices_by_start_year(store, facts):
    expected = Counter(y for d in facts.practices.values() for y in _start_years(d))
    rows = run(store, "practices-by-start-year")
    assert {r["year"]: r["practices"] for r in rows} == dict(expected)
    window = run(store, "practices-by-start-year", **{"from": 2015, "to": 2019})
    assert {r["year"]: r["practices"] for r in window} == {y: n for y, n in expected.items() if "2015" <= y <= "2019"}


MISSING = {"region": "location", "main_institution": "main institution", "stages": "innovation stage",
           "sectors": "RIS3 sector", "resources": "resources needed", "evidence": "evidence of success",
           "difficulties": "difficulties", "transfer_potential": "potential for transfer"}


def test_what_the_sources_do_not_say(store, facts):
    expected = set()
    for p, doc in facts.practices.items():
        expected |= {(p, label) for key, label in MISSING.items() if not doc.get(key)}
        if not _start_years(doc):
            expected.add((p, "start"))
    rows = run(store, "missing-fields")
    assert {(r["goodPractice"], r["missing"]) for r in rows} == expected
    one = next(iter(expected))[0]
    assert {r["missing"] for r in run(store, "missing-fields", practice=one)} == {m for p, m in expected if p == one}


@pytest.mark.parametrize("region,lang", [("PL84", "pl"), ("IE06", "en"), ("ES511", "ca")])
def test_practices_of_a_region_in_its_language(store, facts, region, lang):
    expected = {(p, d["title"].get(lang) or d["title"]["en"]) for p, d in facts.practices.items()
                if any(region in facts.region_up(r) for r in _list(d.get("region")))}
    rows = run(store, "practices-of-region", region=region, lang=lang)
    assert {(r["practice"], r["title"]) for r in rows} == expected
    assert expected


@pytest.mark.parametrize("text", ["hub", "IoT", "e-Health", "nothing-like-this"])
def test_keyword_search(store, facts, text):
    fields = {"title": "title", "summary": "summary", "keywords": "keyword"}
    expected = set()
    for p, doc in facts.practices.items():
        for key, label in fields.items():
            values = [v for vs in (doc.get(key) or {}).values() for v in _list(vs)]
            if any(text.lower() in str(v).lower() for v in values):
                expected.add((p, label))
    assert {(r["practice"], r["foundIn"]) for r in run(store, "keyword-search", text=text)} == expected


def test_practice_neighbourhood(store, facts):
    practice = BASE + "practice/digital-consultations-longford"
    doc = facts.practices[practice]
    result = store.query(get_query("practice-neighbourhood").bind({"practice": practice}))
    triples = {(t.subject.value, t.predicate.value, plain(t.object)) for t in result.triples()}
    about = {(p, o) for s, p, o in triples if s == practice}
    assert ("http://purl.org/dc/terms/title", doc["title"]["en"]) in about
    assert ("http://purl.org/dc/terms/spatial", NUTS + doc["region"]) in about
    assert ("https://w3id.org/next2met/ontology#mainInstitution", iri(doc["main_institution"])) in about
    assert {o for p, o in about if p == "http://www.w3.org/ns/dcat#keyword"} == set(doc["keywords"]["en"])
    named = {s for s, p, o in triples if p == str(SKOS.prefLabel)}
    assert facts.organisations(doc) <= named, "every organisation of the practice comes with its name"
    amounts = {o for s, p, o in triples if p == "https://schema.org/value" and s.startswith(practice + "#budget")}
    assert amounts == {a for a, _ in _budgets(doc)}
    inspired = {a for a, p, link in facts.inspirations() if p == practice and link == "stated"}
    assert inspired and {s for s, p, o in triples if p.endswith("#inspiredBy") and o == practice} == inspired


def test_has_a_practice_been_taken_up(store, facts):
    taken = {p for a, p, _ in facts.inspirations()
             if not any(facts.plan_region(a) in facts.region_up(r) for r in _list(facts.practices[p].get("region")))}
    assert taken, "the data states at least one transfer"
    for practice in facts.practices:
        answer = store.query(get_query("practice-inspired-action").bind({"practice": practice})).value
        assert bool(answer) == (practice in taken), practice


def test_practices_by_measure_type(store, facts):
    for measure in ("e-service", "digital-hub", "strategy"):
        expected = {(p, m) for p, d in facts.practices.items() for m in _list(d.get("measures"))
                    if measure in facts.concept_up("measure", m)}
        rows = run(store, "practices-by-measure-type", measure=measure)
        assert {(r["practice"], r["statedCode"]) for r in rows} == expected


def test_related_through_organisations(store, facts):
    orgs = {p: facts.organisations(d) for p, d in facts.practices.items()}
    expected = {(a, b, o) for a in orgs for b in orgs if a != b for o in orgs[a] & orgs[b]}
    rows = run(store, "related-through-organisations", practice="")  # empty: every pair
    assert {(r["goodPractice"], r["related"], r["organisation"]) for r in rows} == expected
    longford = BASE + "practice/digital-consultations-longford"
    assert {(r["related"], r["organisation"]) for r in run(store, "related-through-organisations")} \
        == {(b, o) for a, b, o in expected if a == longford}  # the default practice


def test_learning_events(store, facts):
    presented = defaultdict(set)
    for p, doc in facts.practices.items():
        for e in _list(doc.get("presented_at")):
            presented[iri(e)].add(p)
    start = {e: next((str(d[k])[:10] for k in ("date", "start_month", "start_year") if k in d), None)
             for e, d in facts.events.items()}
    expected = {(e, start[e], p) for e in facts.events for p in (presented[e] or {None})}
    rows = run(store, "learning-events")
    assert {(r["event"], r.get("date"), r.get("practice")) for r in rows} == expected
    assert {r["event"] for r in run(store, "learning-events", year=2020)} \
        == {e for e in facts.events if (start[e] or "").startswith("2020")}


def test_action_plans(store, facts):
    expected = set()
    for plan, doc in facts.plans.items():
        actions = [a for a, d in facts.actions.items() if iri(d["part_of"]) == plan]
        learning = [a for a in actions if any(facts.actions[a].get(k)
                                              for k in ("inspired_by", "plausibly_inspired_by", "learned_from"))]
        instrument = iri(doc["improves"]) if doc.get("improves") else None
        expected.add((plan, _list(doc["region"])[0], instrument, len(actions), len(learning)))
    rows = run(store, "action-plans")
    assert {(r["plan"], r["regionCode"], r.get("instrument"), r["actions"], r["actionsFromOthers"]) for r in rows} \
        == expected


def test_the_cli_runs_a_named_query_with_a_parameter(built_store, facts, capsys):
    from next2met.graph.cli import main

    code = main(["query", "practices-of-region", "--store", str(built_store), "--param", "region=PL84",
                 "--param", "lang=pl", "--format", "csv"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.strip().splitlines()
    expected = {p for p, d in facts.practices.items()
                if any("PL84" in facts.region_up(r) for r in _list(d.get("region")))}
    assert lines[0].startswith("practice,") and {line.split(",", 1)[0] for line in lines[1:]} == expected
    assert main(["query", "practices-of-region", "--store", str(built_store), "--param", "region=pl84"]) == 2
