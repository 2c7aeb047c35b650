"""Find good practices: a small in-memory full-text index with facets, built from the store in a few queries.

Full text covers titles, alternative names, summaries, descriptions and keywords in every language. Text is
folded before indexing and searching (Unicode NFKD without accents, case-folded, plus the letters NFKD keeps
whole such as ``ł`` and ``ø``), so ``paijat`` finds "Päijät-Häme" and ``lodz`` finds "Łódź". A query matches a
practice when every query word is a word of the practice or, for words of three letters or more, the start of
one (prefix matches count half). The score of a match sums, per query word, ``idf × field weight``:

======================  ======
field                   weight
======================  ======
title, alternative name 5
keywords                4
summary                 2
description             1
======================  ======

Facets: region (the practice's NUTS region and every broader region below country level), country, RIS3
sector, innovation-chain stage, measure type and stakeholder type (each with its broader concepts, so the shared
sector "agrifood" counts the practices of every regional food sector), start year and standing. Filters of
different facets and several values of one facet all combine with AND, so a facet count is exactly the number
of practices that clicking it leaves.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .prefixes import prologue
from .store import Store

FACETS = ("region", "country", "sector", "stage", "measure", "stakeholder", "year", "standing")
FIELD_WEIGHTS = {"title": 5.0, "altLabel": 5.0, "keyword": 4.0, "abstract": 2.0, "description": 1.0}
PREFIX_FACTOR = 0.5
SORTS = ("relevance", "title", "modified", "year")
NUTS = "http://data.europa.eu/nuts/code/"

PREFIXES = prologue("n2m", "skos", "dcterms", "dcat", "prov", "schema")

TEXTS = (
    PREFIXES
    + """
SELECT ?p ?field ?text WHERE {
  ?p a n2m:GoodPractice .
  VALUES (?prop ?field) {
    (dcterms:title "title") (skos:altLabel "altLabel") (dcat:keyword "keyword")
    (dcterms:abstract "abstract") (dcterms:description "description")
  }
  ?p ?prop ?text .
}"""
)

VALUES = (
    PREFIXES
    + """
SELECT ?p ?facet ?v WHERE {
  ?p a n2m:GoodPractice .
  { ?p dcterms:spatial ?v BIND("region" AS ?facet) }
  UNION { ?p n2m:ris3Sector ?v BIND("sector" AS ?facet) }
  UNION { ?p n2m:innovationStage ?v BIND("stage" AS ?facet) }
  UNION { ?p n2m:measureType ?v BIND("measure" AS ?facet) }
  UNION { ?p prov:qualifiedAttribution/n2m:stakeholderType ?v BIND("stakeholder" AS ?facet) }
  UNION { ?p n2m:standing ?v BIND("standing" AS ?facet) }
  UNION { ?p schema:startDate ?v BIND("year" AS ?facet) }
  UNION { ?p dcterms:modified ?v BIND("modified" AS ?facet) }
}"""
)

CONCEPTS = (
    PREFIXES
    + """
SELECT ?c ?broader ?label ?level WHERE {
  { ?c skos:broader ?broader }
  UNION { ?c skos:prefLabel ?label }
  UNION { ?c n2m:nutsLevel ?level }
}"""
)

# Letters that NFKD does not split into a base letter and an accent.
_EXTRA_FOLDS = {
    "ł": "l",
    "Ł": "l",
    "ø": "o",
    "Ø": "o",
    "đ": "d",
    "Đ": "d",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "ħ": "h",
    "ı": "i",
}
_EXTRA = re.compile("[" + "".join(_EXTRA_FOLDS) + "]")
_WORD = re.compile(r"\w+")
# The Unicode blocks of combining marks (accents); a regex over them is ~10x faster than testing each character.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower-case ``text`` and take the accents off (for matching, never for display)."""
    if text.isascii():
        return text.casefold()
    text = _EXTRA.sub(lambda m: _EXTRA_FOLDS[m.group(0)], text)
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def tokens(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def key_of(iri: str) -> str:
    """The short key of a concept or region IRI in URLs: its last path segment (the code)."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class PracticeDoc:
    iri: str
    texts: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(dict))  # field→lang→texts
    facets: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    modified: str = ""
    year: str = ""
    regions: list[str] = field(default_factory=list)  # where the practice is located (not the broader regions)

    def text(self, name: str, lang: str) -> tuple[str, str]:
        """The first text of a field in ``lang``, else English, else any language; with the language used."""
        values = self.texts.get(name, {})
        for candidate in (lang, "en", ""):
            if values.get(candidate):
                return values[candidate][0], candidate
        for candidate in sorted(values):
            if values[candidate]:
                return values[candidate][0], candidate
        return "", ""


@dataclass
class FacetValue:
    key: str
    iri: str | None
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    hits: list[tuple[PracticeDoc, float]]
    facets: dict[str, list[FacetValue]]
    total: int
    query: str
    filters: dict[str, list[str]]
    unknown_filters: dict[str, list[str]]


class PracticeIndex:
    """Every practice with its folded words and facet keys; immutable once built (rebuild on data change)."""

    def __init__(
        self,
        docs: list[PracticeDoc],
        labels: dict[str, dict[str, str]],
        facet_iris: dict[str, dict[str, str]],
        generation: str = "",
        broader: dict[str, set[str]] | None = None,
    ) -> None:
        self.docs = docs
        self.broader = broader or {}  # concept or region IRI → its broader ones
        self.labels = labels  # IRI → language → label
        self.facet_iris = facet_iris  # facet → key → IRI
        self.generation = generation
        self.by_iri = {d.iri: d for d in docs}
        self.postings: dict[str, dict[int, float]] = defaultdict(dict)
        for i, doc in enumerate(docs):
            for name, per_lang in doc.texts.items():
                weight = FIELD_WEIGHTS.get(name, 1.0)
                for word in set(tokens(" ".join(t for texts in per_lang.values() for t in texts))):
                    # one hit per field; the best field wins when a word occurs in several
                    hits = self.postings[word]
                    if hits.get(i, 0.0) < weight:
                        hits[i] = weight
        self.vocabulary = sorted(self.postings)
        self._titles: dict[str, list[str]] = {}  # language → folded title of each practice, for sorting
        self._results: dict[tuple, SearchResult] = {}  # recent searches (the index never changes)

    # -- building ------------------------------------------------------------------------------------
    @classmethod
    def build(cls, store: Store) -> PracticeIndex:
        """Read the practices, their texts and facet values from the store (four SELECT queries)."""
        docs: dict[str, PracticeDoc] = {}
        for row in store.query(TEXTS).rows():
            doc = docs.setdefault(row["p"].value, PracticeDoc(row["p"].value))
            text = row["text"]
            doc.texts[row["field"].value].setdefault(getattr(text, "language", None) or "", []).append(text.value)
        broader: dict[str, set[str]] = defaultdict(set)
        labels: dict[str, dict[str, str]] = defaultdict(dict)
        levels: dict[str, int] = {}
        for row in store.query(CONCEPTS).rows():
            c = row["c"].value
            if "broader" in row:
                broader[c].add(row["broader"].value)
            if "label" in row:
                labels[c].setdefault(row["label"].language or "", row["label"].value)
            if "level" in row:
                levels[c] = int(row["level"].value)
        raw: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for row in store.query(VALUES).rows():
            doc = docs.setdefault(row["p"].value, PracticeDoc(row["p"].value))
            facet, value = row["facet"].value, row["v"].value
            if facet == "modified":
                doc.modified = max(doc.modified, value)
            elif facet == "year":
                doc.year = value[:4]
                raw[doc.iri]["year"].add(value[:4])
            else:
                raw[doc.iri][facet].add(value)
        facet_iris: dict[str, dict[str, str]] = defaultdict(dict)
        for doc in docs.values():
            doc.regions = sorted(raw[doc.iri].get("region", ()))
            for facet, iris in _expand(raw[doc.iri], broader, levels).items():
                for iri in iris:
                    key = iri if facet == "year" else key_of(iri)
                    doc.facets[facet].add(key)
                    if facet != "year":
                        facet_iris[facet][key] = iri
        return cls(
            sorted(docs.values(), key=lambda d: d.iri),
            dict(labels),
            dict(facet_iris),
            getattr(store, "generation", ""),
            dict(broader),
        )

    # -- searching -----------------------------------------------------------------------------------
    def match(self, query: str) -> dict[int, float]:
        """Practices that contain every word of ``query`` (or a word starting with it), with their scores."""
        words = tokens(query)
        if not words:
            return {i: 0.0 for i in range(len(self.docs))}
        scores: dict[int, float] | None = None
        n = len(self.docs)
        for word in words:
            hits: dict[int, float] = dict(self.postings.get(word, {}))
            if len(word) >= 3:
                start = bisect.bisect_left(self.vocabulary, word)
                for other in self.vocabulary[start:]:
                    if not other.startswith(word):
                        break
                    if other != word:
                        for i, w in self.postings[other].items():
                            hits[i] = max(hits.get(i, 0.0), w * PREFIX_FACTOR)
            idf = math.log(1 + n / (1 + len(hits)))
            if scores is None:
                scores = {i: w * idf for i, w in hits.items()}
            else:
                scores = {i: s + hits[i] * idf for i, s in scores.items() if i in hits}
            if not scores:
                break
        return scores or {}

    def search(
        self, query: str = "", filters: dict[str, list[str]] | None = None, sort: str = "", lang: str = "en"
    ) -> SearchResult:
        """Match ``query``, keep the practices that have every filter value, count the facets of what is left."""
        key = (query, tuple(sorted((f, tuple(v)) for f, v in (filters or {}).items())), sort, lang)
        if key not in self._results:
            if len(self._results) > 256:
                self._results.clear()
            self._results[key] = self._search(query, filters, sort, lang)
        return self._results[key]

    def _search(self, query: str, filters: dict[str, list[str]] | None, sort: str, lang: str) -> SearchResult:
        filters = {f: list(dict.fromkeys(v)) for f, v in (filters or {}).items() if f in FACETS and v}
        known = {f: [k for k in keys if k in self._keys(f)] for f, keys in filters.items()}
        unknown = {f: [k for k in keys if k not in self._keys(f)] for f, keys in filters.items()}
        scores = self.match(query)
        chosen = [
            i for i in scores if all(set(keys) <= self.docs[i].facets.get(f, set()) for f, keys in filters.items())
        ]
        sort = sort if sort in SORTS else ("relevance" if query.strip() else "title")
        chosen.sort(key=self._sort_key(sort, scores, lang))
        counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
        for i in chosen:
            for f, keys in self.docs[i].facets.items():
                counts[f].update(keys)
        facets = {
            f: sorted(
                (FacetValue(k, self.facet_iris.get(f, {}).get(k), n, k in filters.get(f, ())) for k, n in c.items()),
                key=(lambda v: v.key) if f == "year" else (lambda v: (-v.count, v.key)),
            )
            for f, c in counts.items()
        }
        return SearchResult(
            [(self.docs[i], scores[i]) for i in chosen],
            facets,
            len(chosen),
            query,
            {f: v for f, v in known.items() if v},
            {f: v for f, v in unknown.items() if v},
        )

    def _keys(self, facet: str) -> set[str]:
        if facet == "year":
            return {d.year for d in self.docs if d.year}
        return set(self.facet_iris.get(facet, {}))

    def _sort_key(self, sort: str, scores: dict[int, float], lang: str):
        if lang not in self._titles:
            self._titles[lang] = [fold(d.text("title", lang)[0]) for d in self.docs]
        titles = self._titles[lang]

        def title(i: int) -> str:
            return titles[i]

        if sort == "relevance":
            return lambda i: (-scores[i], title(i))
        if sort == "modified":
            return lambda i: (_desc(self.docs[i].modified), title(i))
        if sort == "year":
            return lambda i: (_desc(self.docs[i].year), title(i))
        return title

    def label(self, iri: str, lang: str) -> str:
        values = self.labels.get(iri, {})
        return values.get(lang) or values.get("en") or values.get("") or key_of(iri)


def _desc(value: str) -> tuple[int, tuple[int, ...]]:
    """Sort key that puts later ISO dates first and missing ones last."""
    return (0, tuple(-ord(c) for c in value)) if value else (1, ())


def _ancestors(iri: str, broader: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [iri]
    while todo:
        for parent in broader.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _expand(raw: dict[str, set[str]], broader: dict[str, set[str]], levels: dict[str, int]) -> dict[str, set[str]]:
    """Add the broader concepts; split regions into country (NUTS level 0) and the regions below it."""
    out: dict[str, set[str]] = defaultdict(set)
    for facet, iris in raw.items():
        for iri in iris:
            if facet == "year":
                out[facet].add(iri)
                continue
            family = {iri} | _ancestors(iri, broader)
            if facet != "region":
                out[facet] |= family
                continue
            countries = {r for r in family if levels.get(r) == 0}
            if not countries and iri.startswith(NUTS):
                countries = {NUTS + key_of(iri)[:2]}  # a NUTS code starts with its country's code
            out["country"] |= countries
            out["region"] |= family - countries
    return out
