"""What changed between two versions of a resource, in words: fields added, removed and changed, per language.

Fields are named by their key in the source format (``title``, ``summary``), found through the JSON-LD context;
a nested part (a stakeholder, a budget) is one value, shown by its own fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@dataclass(frozen=True)
class FieldChange:
    field: str  # the YAML key
    language: str  # "" for values without a language
    change: str  # added, removed or changed
    old: tuple[str, ...]
    new: tuple[str, ...]

    def sentence(self) -> str:
        where = f"{self.field} ({self.language})" if self.language else self.field
        if self.change == "added":
            return f"{where} added: {', '.join(self.new)}"
        if self.change == "removed":
            return f"{where} removed: {', '.join(self.old)}"
        return f"{where} changed from {', '.join(self.old)} to {', '.join(self.new)}"

    def as_json(self) -> dict:
        return {
            "field": self.field,
            "language": self.language or None,
            "change": self.change,
            "old": list(self.old),
            "new": list(self.new),
            "text": self.sentence(),
        }


def key_names(context: dict) -> dict[str, str]:
    """Predicate IRI -> the first YAML key that names it."""
    names: dict[str, str] = {}
    for term, definition in context.items():
        if term.startswith("@"):
            continue
        iri = definition.get("@id") if isinstance(definition, dict) else definition
        if not isinstance(iri, str) or iri.startswith("@"):
            continue
        prefix, _, local = iri.partition(":")
        ns = context.get(prefix)
        full = ns + local if isinstance(ns, str) and not local.startswith("//") else iri
        names.setdefault(full, term)
    return names


def _show(term, nested: dict[str, list[ox.Triple]], names: dict[str, str], base: str) -> str:
    if isinstance(term, ox.Literal):
        return term.value
    value = term.value
    if value in nested:
        parts = sorted(
            f"{names.get(t.predicate.value, t.predicate.value)}: {_show(t.object, {}, names, base)}"
            for t in nested[value]
            if t.predicate.value != RDF_TYPE
        )
        return "{" + "; ".join(parts) + "}"
    return value[len(base) :] if value.startswith(base) else value


def resource_changes(
    old: Iterable[ox.Triple] | None, new: Iterable[ox.Triple] | None, resource: str, context: dict, base: str
) -> list[FieldChange]:
    """The changes of one resource (its own triples and its ``#fragment`` parts) from ``old`` to ``new``."""
    names = key_names(context)

    def fields(triples) -> dict[tuple[str, str], set[str]]:
        triples = [t for t in triples or () if t.subject.value.split("#", 1)[0] == resource]
        nested: dict[str, list[ox.Triple]] = defaultdict(list)
        for t in triples:
            if t.subject.value != resource:
                nested[t.subject.value].append(t)
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for t in triples:
            if t.subject.value != resource:
                continue
            lang = t.object.language or "" if isinstance(t.object, ox.Literal) else ""
            key = names.get(t.predicate.value, t.predicate.value)
            out[(key, lang)].add(_show(t.object, nested, names, base))
        return out

    before, after = fields(old), fields(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, set()), after.get(key, set())
        if a == b:
            continue
        kind = "added" if not a else "removed" if not b else "changed"
        changes.append(FieldChange(key[0], key[1], kind, tuple(sorted(a)), tuple(sorted(b))))
    return changes
