"""The practice form, read from the SHACL shapes (``ontology/shapes.ttl``) and the YAML context
(``data/context.jsonld``): no field is written in code.

Every property shape of the node shapes that target a class (``sh:targetClass n2m:GoodPractice``) is grouped by
its ``sh:path``; each path the source format can hold (a term of the context) is one field:

- label and help: ``sh:name`` and ``sh:description`` of the field's main shape (the one with ``sh:order``), shown
  in the reader's language through the gettext catalogues (``shapetext.py`` extracts them);
- required: ``sh:minCount`` on a Violation shape; recommended: on a Warning shape; a language that must be there:
  ``sh:qualifiedValueShape [ sh:languageIn (...) ]``;
- language tabs: ``sh:languageIn`` on a shape of the path (or an ``sh:alternativePath`` that lists it);
- choices: ``sh:in``, or the SKOS scheme that ``sh:node`` requires (``sh:hasValue`` on ``skos:inScheme``);
- search among our own resources: ``sh:class`` of any other class (organisations, regions, projects, events);
- one value or several: ``sh:maxCount 1``; repeatable groups: a node shape with ``sh:targetObjectsOf`` the path
  (stakeholders, budgets, indicators, milestones), whose own property shapes are the group's fields;
- sections and order: ``sh:group`` (an ``sh:PropertyGroup``) and ``sh:order``; ``dash:readOnly`` leaves a field
  to the server (the last-modified date); ``n2m:templateField`` names the Interreg Europe template's field.

A field's kind (text per language, choice, search, web address, number, year, date ...) follows from how the context
maps its key (language map, ``@vocab``, ``@id``, a datatype) together with the shapes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import rdflib
from rdflib import SH, SKOS, Literal, URIRef
from rdflib.collection import Collection

from ..settings import DEFAULT_BASE_IRI

log = logging.getLogger(__name__)
N2M = "https://w3id.org/next2met/ontology#"
DASH_READ_ONLY = URIRef("http://datashapes.org/dash#readOnly")
TEMPLATE_FIELD = URIRef(N2M + "templateField")
XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TYPES = {XSD + "date": "date", XSD + "gYearMonth": "month", XSD + "gYear": "year"}
DEFAULT_ORDER = 1000.0


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: the value the YAML takes (a code), the concept's IRI, labels, depth."""

    code: str
    iri: str
    labels: dict[str, str] = field(compare=False, hash=False)
    depth: int = 0

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.code


@dataclass(frozen=True)
class Field:
    """One field of the form (or of a repeatable group)."""

    key: str  # the YAML key (for a path several keys hold, as dates do: the one named like the field)
    path: str  # the property IRI
    kind: str  # text, choice, lookup, iri, number, year, date, when, string, group
    name: str  # sh:name (English; shown through gettext)
    description: str = ""
    required: bool = False
    recommended: bool = False
    many: bool = False
    languages: tuple[str, ...] = ()  # text fields: the language tabs
    required_languages: tuple[str, ...] = ()
    per_language_many: bool = False  # text fields: several values per language (keywords, awards)
    language_map: bool = True  # text fields: written {en: ...}; False: one plain string in the one language
    long: bool = True  # text fields: a text area, not one line
    choices: tuple[Choice, ...] = ()
    scheme: str = ""  # the SKOS scheme of a choice field
    lookup: str = ""  # the class whose instances a lookup field searches
    keys: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # date kind -> YAML key
    subfields: tuple[Field, ...] = ()
    group: str = ""
    order: float = DEFAULT_ORDER
    template: str = ""  # the Interreg Europe template's name of the field
    pattern: str = ""
    max_length: int | None = None
    minimum: float | None = None
    shapes: frozenset[str] = frozenset()  # every property shape of the path (SHACL results name one of them)
    value_shape: str = ""  # the shape that says what a value must look like (datatype, node kind, pattern)

    def sub(self, key: str) -> Field | None:
        return next((f for f in self.subfields if f.key == key), None)


@dataclass(frozen=True)
class Group:
    iri: str
    label: str
    order: float


@dataclass(frozen=True)
class Form:
    """The fields of one node shape's class, in sections."""

    target: str  # the class IRI
    type_key: str  # the context's name of the class (GoodPractice)
    fields: tuple[Field, ...]
    groups: tuple[Group, ...]
    messages: dict[str, str]  # shape IRI -> its sh:message (English), for every shape the form's data can meet

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def by_path(self, path: str) -> Field | None:
        return next((f for f in self.fields if f.path == path), None)

    def sections(self) -> list[tuple[Group | None, list[Field]]]:
        """The fields by section, in order (fields without a section last)."""
        out: list[tuple[Group | None, list[Field]]] = []
        for group in self.groups:
            members = [f for f in self.fields if f.group == group.iri]
            if members:
                out.append((group, members))
        rest = [f for f in self.fields if f.group not in {g.iri for g in self.groups}]
        if rest:
            out.append((None, rest))
        return out


# -- reading the context ---------------------------------------------------------------------------------------------
def _expand(value: str, context: dict) -> str:
    prefix, sep, local = value.partition(":")
    if sep and isinstance(context.get(prefix), str) and not local.startswith("//"):
        return context[prefix] + local
    return value


def terms_by_property(context: dict) -> dict[str, list[tuple[str, dict]]]:
    """Property IRI -> the context's terms for it (name and definition), e.g. schema:startDate -> start_year,
    start_month, date."""
    found: dict[str, list[tuple[str, dict]]] = {}
    for name, spec in context.items():
        if isinstance(spec, dict) and "@id" in spec:
            found.setdefault(_expand(spec["@id"], context), []).append((name, spec))
    return found


def class_term(context: dict, iri: str) -> str:
    return next((k for k, v in context.items() if isinstance(v, str) and _expand(v, context) == iri), "")


# -- reading the shapes ----------------------------------------------------------------------------------------------
class _Shapes:
    def __init__(self, g: rdflib.Graph) -> None:
        self.g = g

    def one(self, s, p):
        return next(iter(self.g.objects(s, p)), None)

    def text(self, s, p) -> str:
        values = list(self.g.objects(s, p))
        english = [v for v in values if isinstance(v, Literal) and v.language in (None, "en")]
        return str((english or values or [""])[0])

    def number(self, s, p) -> float | None:
        v = self.one(s, p)
        try:
            return float(v) if v is not None else None
        except (TypeError, ValueError):
            return None

    def items(self, s, p) -> list:
        head = self.one(s, p)
        return list(Collection(self.g, head)) if head is not None else []

    def severity(self, s) -> str:
        v = self.one(s, SH.severity)
        return str(v).rsplit("#", 1)[-1] if v is not None else "Violation"

    def node_shapes(self, target_class: URIRef | None = None, objects_of: URIRef | None = None) -> list:
        if target_class is not None:
            return sorted(set(self.g.subjects(SH.targetClass, target_class)))
        return sorted(set(self.g.subjects(SH.targetObjectsOf, objects_of)))

    def languages_of(self, shape) -> tuple[str, ...]:
        return tuple(str(x) for x in self.items(shape, SH.languageIn))


def _property_shapes(sh: _Shapes, node_shapes: list) -> tuple[dict[str, list], dict[str, tuple[str, ...]]]:
    """The property shapes by path, and the languages an ``sh:alternativePath`` shape allows for each path."""
    by_path: dict[str, list] = {}
    languages: dict[str, tuple[str, ...]] = {}
    for node in node_shapes:
        for ps in sorted(set(sh.g.objects(node, SH.property)), key=str):
            path = sh.one(ps, SH.path)
            if isinstance(path, URIRef):
                by_path.setdefault(str(path), []).append(ps)
            elif path is not None and sh.one(path, SH.alternativePath) is not None:
                for p in sh.items(path, SH.alternativePath):
                    if isinstance(p, URIRef) and sh.languages_of(ps):
                        languages[str(p)] = sh.languages_of(ps)
    return by_path, languages


def _main_shape(sh: _Shapes, shapes: list):
    """The shape that names the field: the one with ``sh:order`` (the lowest), else a Violation shape with a name."""
    ordered = [s for s in shapes if sh.number(s, SH.order) is not None]
    if ordered:
        return min(ordered, key=lambda s: (sh.number(s, SH.order), str(s)))
    return min(
        shapes,
        key=lambda s: (
            sh.severity(s) != "Violation",
            sh.one(s, SH.qualifiedValueShape) is not None,
            not sh.text(s, SH.name),
            str(s),
        ),
    )


class Concepts:
    """The SKOS concepts of the schemes (from the ontology graphs): labels, notation, scheme, broader."""

    def __init__(self, g: rdflib.Graph) -> None:
        self.g = g

    def labels(self, iri) -> dict[str, str]:
        return {
            (v.language or "en"): str(v) for v in self.g.objects(URIRef(iri), SKOS.prefLabel) if isinstance(v, Literal)
        }

    def notation(self, iri) -> str:
        value = next(iter(self.g.objects(URIRef(iri), SKOS.notation)), None)
        return str(value) if value is not None else str(iri).rstrip("/").rsplit("/", 1)[-1]

    def choice(self, iri, depth: int = 0) -> Choice:
        return Choice(self.notation(iri), str(iri), self.labels(iri), depth)

    def of_scheme(self, scheme: str) -> tuple[Choice, ...]:
        """The scheme's concepts as a tree walked depth first (top concepts, each followed by its narrower ones),
        each sorted by its English label; a concept under two broader ones is listed under the first."""
        s = URIRef(scheme)
        members = set(self.g.subjects(SKOS.inScheme, s))
        tops = set(self.g.objects(s, SKOS.hasTopConcept)) | set(self.g.subjects(SKOS.topConceptOf, s))
        seen: set = set()
        out: list[Choice] = []

        def walk(nodes, depth: int) -> None:
            for c in sorted(nodes, key=lambda c: (self.labels(c).get("en", ""), str(c))):
                if c in seen:
                    continue
                seen.add(c)
                out.append(self.choice(c, depth))
                walk({n for n in self.g.subjects(SKOS.broader, c) if n in members}, depth + 1)

        walk(tops & members or members, 0)
        walk(members - seen, 0)
        return tuple(out)


# -- the form --------------------------------------------------------------------------------------------------------
def build_form(shapes: rdflib.Graph, context: dict, concepts: Concepts, target: str = N2M + "GoodPractice") -> Form:
    """The form of the class ``target`` as the shapes describe it."""
    sh = _Shapes(shapes)
    nodes = sh.node_shapes(target_class=URIRef(target))
    fields = _fields(sh, nodes, context, concepts, depth=0)
    used = {str(g) for f in fields for g in ([f.group] if f.group else [])}
    groups = tuple(
        sorted(
            (Group(g, sh.text(URIRef(g), rdflib.RDFS.label), sh.number(URIRef(g), SH.order) or 0) for g in used),
            key=lambda g: (g.order, g.iri),
        )
    )
    rank = {g.iri: i for i, g in enumerate(groups)}
    fields.sort(key=lambda f: (rank.get(f.group, len(rank)), f.order, f.key))  # section by section
    return Form(target, class_term(context, target), tuple(fields), groups, _messages(sh, nodes, fields))


def _fields(sh: _Shapes, nodes: list, context: dict, concepts: Concepts, depth: int) -> list[Field]:
    by_path, alt_languages = _property_shapes(sh, nodes)
    terms = terms_by_property(context)
    out = []
    for path, shapes in by_path.items():
        if any(sh.one(s, DASH_READ_ONLY) is not None and bool(sh.one(s, DASH_READ_ONLY).toPython()) for s in shapes):
            continue
        if path not in terms:
            log.debug("no YAML key holds %s: not in the form", path)
            continue
        made = _field(sh, path, shapes, terms[path], alt_languages.get(path, ()), context, concepts, depth)
        if made is not None:
            out.append(made)
    return sorted(out, key=lambda f: (f.order, f.key))


def _field(
    sh: _Shapes,
    path: str,
    shapes: list,
    terms: list[tuple[str, dict]],
    alt_languages: tuple[str, ...],
    context: dict,
    concepts: Concepts,
    depth: int,
) -> Field | None:
    main = _main_shape(sh, shapes)
    violations = [s for s in shapes if sh.severity(s) == "Violation"]
    name = sh.text(main, SH.name) or terms[0][0].replace("_", " ")
    required_languages: list[str] = []
    for s in violations:
        qualified = sh.one(s, SH.qualifiedValueShape)
        if qualified is not None and (sh.number(s, SH.qualifiedMinCount) or 0) >= 1:
            required_languages += [x for x in sh.languages_of(qualified) if x not in required_languages]
    languages = next((sh.languages_of(s) for s in shapes if sh.languages_of(s)), ()) or alt_languages
    common: dict[str, Any] = dict(
        path=path,
        name=name,
        description=sh.text(main, SH.description),
        required=any((sh.number(s, SH.minCount) or 0) >= 1 for s in violations),
        recommended=any((sh.number(s, SH.minCount) or 0) >= 1 for s in shapes if sh.severity(s) == "Warning"),
        many=not any(sh.number(s, SH.maxCount) == 1 for s in violations),
        group=str(sh.one(main, SH.group) or ""),
        order=sh.number(main, SH.order) or DEFAULT_ORDER,
        template=next((sh.text(s, TEMPLATE_FIELD) for s in shapes if sh.one(s, TEMPLATE_FIELD) is not None), "")
        if depth == 0
        else "",  # the template's fields are the practice's own, not its parts
        pattern=next((str(sh.one(s, SH.pattern)) for s in shapes if sh.one(s, SH.pattern) is not None), ""),
        max_length=min(
            (int(sh.number(s, SH.maxLength) or 0) for s in violations if sh.one(s, SH.maxLength) is not None),
            default=None,
        ),
        minimum=next((sh.number(s, SH.minInclusive) for s in shapes if sh.one(s, SH.minInclusive) is not None), None),
        shapes=frozenset(str(s) for s in shapes),
        value_shape=next(
            (
                str(s)
                for s in sorted(shapes)
                if any(sh.one(s, p) is not None for p in (SH.datatype, SH["or"], SH.nodeKind, SH.pattern))
            ),
            "",
        ),
    )
    names = [t for t, _ in terms]
    key = next((t for t in names if t.replace("_", " ") == name), sorted(names)[0])
    spec = dict(terms)[key]
    dated = {
        DATE_TYPES[_expand(s.get("@type", ""), context)]: t
        for t, s in terms
        if _expand(s.get("@type", ""), context) in DATE_TYPES
    }
    classes = [str(c) for s in shapes for c in sh.g.objects(s, SH["class"]) if str(c) != str(SKOS.Concept)]
    allowed = next((sh.items(s, SH["in"]) for s in shapes if sh.one(s, SH["in"]) is not None), [])
    scheme = _scheme(sh, shapes)
    if spec.get("@container") == "@language" or "@language" in spec:
        fixed = (spec["@language"],) if "@language" in spec else ()
        unique = any(bool(sh.one(s, SH.uniqueLang)) for s in shapes)
        return Field(
            key,
            kind="text",
            languages=fixed or languages or tuple(required_languages) or ("en",),
            required_languages=tuple(required_languages) or fixed,
            per_language_many=not unique,
            language_map=not fixed,
            long=not (common["max_length"] and common["max_length"] <= 200),
            **common,
        )
    if len(dated) > 1 or (dated and len(terms) == 1):
        return Field(key, kind="when" if len(dated) > 1 else next(iter(dated)), keys=dated, **common)
    if allowed:
        return Field(key, kind="choice", choices=tuple(concepts.choice(c) for c in allowed), **common)
    if scheme:
        return Field(key, kind="choice", scheme=scheme, choices=concepts.of_scheme(scheme), **common)
    if classes:
        return Field(key, kind="lookup", lookup=classes[0], **common)
    kind = {XSD + "decimal": "number", XSD + "integer": "number"}.get(_expand(spec.get("@type", ""), context))
    if kind:
        return Field(key, kind=kind, **common)
    if spec.get("@type") == "@id":
        return Field(key, kind="iri", **common)
    nested = sh.node_shapes(objects_of=URIRef(path))
    if nested and depth == 0:
        return Field(key, kind="group", subfields=tuple(_fields(sh, nested, context, concepts, depth + 1)), **common)
    return Field(key, kind="string", **common)


def _scheme(sh: _Shapes, shapes: list) -> str:
    """The SKOS scheme a value must be in: ``sh:node`` -> a shape with ``sh:hasValue`` on ``skos:inScheme``."""
    for s in shapes:
        for node in sh.g.objects(s, SH.node):
            for ps in sh.g.objects(node, SH.property):
                if sh.one(ps, SH.path) == SKOS.inScheme and sh.one(ps, SH.hasValue) is not None:
                    return str(sh.one(ps, SH.hasValue))
    return ""


def _messages(sh: _Shapes, nodes: list, fields: list[Field]) -> dict[str, str]:
    """Every shape's English sh:message that results about the form's data can carry: its fields' shapes, the node
    shapes themselves and their SPARQL constraints, and those of the groups' node shapes."""
    found: dict[str, str] = {}
    shapes = {s for f in fields for s in f.shapes} | {s for f in fields for sf in f.subfields for s in sf.shapes}
    group_nodes = [n for f in fields if f.kind == "group" for n in sh.node_shapes(objects_of=URIRef(f.path))]
    for node in [*nodes, *group_nodes]:
        shapes.add(str(node))
        shapes |= {str(c) for c in sh.g.objects(node, SH.sparql)}
        shapes |= {str(p) for p in sh.g.objects(node, SH.property)}
    for s in sorted(shapes):
        text = sh.text(URIRef(s), SH.message)
        if text:
            found[s] = text
    return found


@lru_cache(maxsize=4)
def practice_form(base: str = DEFAULT_BASE_IRI) -> Form:
    """The practice form of the shapes shipped with the software (``ontology/shapes.ttl``)."""
    from ..rdfio import quads_to_rdflib
    from ..sources import load_context
    from ..validate import reference_quads, shapes_graph

    return build_form(shapes_graph(base), load_context(base), Concepts(quads_to_rdflib(reference_quads(base))))
