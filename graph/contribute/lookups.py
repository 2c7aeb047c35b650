"""Our own resources as a search field offers them (organisations, regions, projects, events) and what a person types
into a field read as the reference the YAML takes: a name or a code of one of ours becomes its reference
(``organisation/emra``, ``FI1C3``), a choice's label in any language its code. Used by the form's typeahead and by the
spreadsheet import (where people write names, not references)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from .form import Field

LABELS = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2004/02/skos/core#altLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "http://www.w3.org/2004/02/skos/core#notation",
)
SHOWN = {LABELS[0], LABELS[2], LABELS[3]}  # the names a person is shown (not other names, not codes)


def fold(text: str) -> str:
    """Lower case without accents: 'Päijät-Häme' is found by 'paijat'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


class Lookups:
    """Search and resolve over the store's resources; ``select`` runs one of our SELECT queries (cached by the
    caller when it can)."""

    def __init__(self, select: Callable[[str], list[dict]], context: dict, base: str) -> None:
        self.select = select
        self.context = context
        self.base = base

    def ref_of(self, f: Field, iri: str) -> str:
        """How the YAML writes a link to ``iri`` in this field: a code under the term's ``@vocab`` (NUTS), or an
        IRI relative to the base (``organisation/emra``)."""
        spec = self.context.get(f.key)
        spec = spec if isinstance(spec, dict) else {}
        vocab = (spec.get("@context") or {}).get("@vocab") if spec.get("@type") == "@vocab" else None
        if vocab and iri.startswith(vocab):
            return iri[len(vocab) :]
        return iri[len(self.base) :] if iri.startswith(self.base) else iri

    def entries(self, f: Field, lang: str = "en") -> list[dict]:
        """Every instance of the field's class: its reference, its name in ``lang`` and the words it is found by
        (every label, in every language, and the code)."""
        predicates = ", ".join(f"<{p}>" for p in LABELS)
        rows = self.select(
            f"SELECT ?s ?p ?l WHERE {{ ?s a <{f.lookup}> . OPTIONAL {{ ?s ?p ?l FILTER (?p IN ({predicates})) }} }}"
        )
        found: dict[str, dict] = {}
        for r in rows:
            entry = found.setdefault(
                r["s"].value, {"value": self.ref_of(f, r["s"].value), "labels": {}, "words": set()}
            )
            label = r.get("l")
            if label is None:
                continue
            entry["words"].add(fold(label.value))
            if r["p"].value in SHOWN:
                entry["labels"].setdefault(getattr(label, "language", "") or "en", label.value)
        out = []
        for entry in found.values():
            names = entry["labels"]
            name = names.get(lang) or names.get("en") or next(iter(names.values()), entry["value"])
            out.append({"value": entry["value"], "label": name, "words": entry["words"] | {fold(entry["value"])}})
        return sorted(out, key=lambda e: fold(e["label"]))

    def search(self, f: Field, q: str, lang: str = "en", limit: int = 20) -> list[dict]:
        """Those whose names hold ``q``, the ones whose name starts with it first."""
        q = fold(q.strip())[:100]
        found = [e for e in self.entries(f, lang) if not q or any(q in w for w in e["words"])]
        found.sort(key=lambda e: (not fold(e["label"]).startswith(q), fold(e["label"])))
        return [{"value": e["value"], "label": e["label"]} for e in found[:limit]]

    def resolve(self, f: Field, text: str) -> str:
        """What a person typed, as the reference or code the YAML takes; anything not ours stays as typed (the
        shapes then say what is wrong with it)."""
        typed = text.strip()
        if f.kind == "choice":
            folded = fold(typed)
            for c in f.choices:
                if typed == c.code or folded in {fold(c.code), *(fold(v) for v in c.labels.values())}:
                    return c.code
            return typed
        if not f.lookup:
            return typed
        options = self.entries(f)
        for e in options:
            if e["value"] == typed:
                return typed
        folded = fold(typed)
        for e in options:
            if folded == fold(e["label"]) or folded in e["words"]:
                return e["value"]
        return self.ref_of(f, typed)
