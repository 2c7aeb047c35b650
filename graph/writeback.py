"""RDF back to the YAML source format: the inverse of the build's YAML -> RDF through ``data/context.jsonld``.

The graph of one source file is turned into JSON-LD by PyLD (``from_rdf``), framed per top-level resource with
our context (so a resource's nested parts, its ``#fragment`` nodes, sit inside it as they do in the YAML) and
written as YAML. What the build adds to a file's graph is taken off again: the ``#{property}-{hash}`` IRIs of
nested parts and the class their property implies. A previous version of the file (``hint``) lends its order of
resources, keys and list items and the comments above each resource, so that a change rewrites only what
changed; without one, keys follow the usual order of our files and list items are sorted.

:func:`write_yaml` checks the result by reading it back with the build's own reader: a graph the format cannot
hold (a property without a key in the context, a literal of another datatype) raises
:class:`~next2met.graph.errors.WriteBackRefused` instead of being written in a form that would change it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
import yaml
from rdflib.compare import isomorphic

from .errors import DataFileError, WriteBackRefused
from .formats import NTRIPLES
from .rdfio import quads_to_rdflib, serialize_quads

# The order of keys in our files (a practice's fields first, then the other kinds'); keys not named here follow
# in the order of the context.
KEY_ORDER = [
    "id",
    "type",
    "code",
    "notation",
    "level",
    "title",
    "name",
    "also_known_as",
    "label",
    "summary",
    "description",
    "challenge",
    "region",
    "focus_region",
    "broader",
    "location",
    "metropolis",
    "programme",
    "member",
    "project",
    "partner_role",
    "represents",
    "part_of",
    "main_institution",
    "submitted_by",
    "source_project",
    "prepared_by",
    "host",
    "improves",
    "inspired_by",
    "plausibly_inspired_by",
    "learned_from",
    "theme",
    "date",
    "end_date",
    "start_year",
    "start_month",
    "end_year",
    "end_month",
    "stages",
    "measures",
    "sectors",
    "topics",
    "instrument_type",
    "stakeholder_type",
    "sub_organisation_of",
    "organisation",
    "role",
    "stakeholders",
    "resources",
    "budgets",
    "amount",
    "currency",
    "covers",
    "evidence",
    "indicators",
    "value",
    "unit",
    "when",
    "difficulties",
    "transfer_potential",
    "results",
    "participants",
    "milestones",
    "presented_at",
    "keywords",
    "standing",
    "gp_page",
    "homepage",
    "pages",
    "related",
    "sources",
    "confidence",
    "confidence_note",
    "notes",
    "modified",
]
NUMBER_TYPES = {"xsd:decimal", "xsd:integer", "xsd:gYear"}
INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
FRAGMENT = re.compile(r"#[A-Za-z]+-[0-9a-f]{10}$")
LINE_WIDTH = 108
# libyaml's safe loader where PyYAML has it (the same YAML, read 5-10x faster), else PyYAML's own
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Terms with the same property and datatype: JSON-LD compaction picks one by its own rule (the shortest); our files
# name it after what holds it (a budget's ``amount``, an indicator's ``value``).
SYNONYMS = {"budgets": {"value": "amount"}}


def _no_remote(url: str, options: dict | None = None) -> dict:
    raise DataFileError(f"the write-back never loads a remote document ({url})")


OPTIONS = {"documentLoader": _no_remote}


def to_documents(
    quads: Iterable[ox.Quad], context: dict, nested_types: dict[str, str], hint: list[dict] | None = None
) -> list[dict]:
    """The resources of one file's graph as YAML-ready mappings (in the hint's order, then by id)."""
    quads = list(quads)
    text = serialize_quads(quads, NTRIPLES) or b""
    from pyld import jsonld  # on first use: importing it took ~0.13 s of every start-up

    expanded = jsonld.from_rdf(text.decode("utf-8"), {"format": "application/n-quads", **OPTIONS})
    subjects = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    tops = sorted(s for s in subjects if s.split("#", 1)[0] not in subjects or "#" not in s)
    terms = _terms(context)
    hints = {str(d.get("id")): d for d in hint or [] if isinstance(d, dict)}
    docs = []
    for top in tops:
        own = [n for n in expanded if n.get("@id", "").split("#", 1)[0] == top or n.get("@id") == top]
        framed = jsonld.frame(own, {"@context": context, "@id": top}, {"omitGraph": True, **OPTIONS})
        framed.pop("@context", None)
        doc = _tidy(framed, top, terms, nested_types)
        docs.append(_like(doc, hints.get(str(doc.get("id")))))
    order = {key: i for i, key in enumerate(hints)}
    return sorted(docs, key=lambda d: (order.get(str(d.get("id")), len(order)), str(d.get("id"))))


def _terms(context: dict) -> dict[str, dict]:
    """Each term of the context with its definition as a mapping."""
    return {k: (v if isinstance(v, dict) else {"@id": v}) for k, v in context.items() if not k.startswith("@")}


def _tidy(node: Any, parent: str, terms: dict[str, dict], nested_types: dict[str, str], key: str = "") -> Any:
    """Take off what the build adds (nested IRIs and implied classes) and give values their YAML form."""
    if isinstance(node, list):
        return [_tidy(v, parent, terms, nested_types, key) for v in node]
    if not isinstance(node, dict):
        return _scalar(node, terms.get(key, {}))
    out = {}
    own = node.get("id")
    nested = key != "" and isinstance(own, str) and bool(FRAGMENT.search(own))
    for k, v in node.items():
        if nested and k == "id":
            continue
        if nested and k == "type" and v == nested_types.get(key):
            continue
        if terms.get(k, {}).get("@container") == "@language" and isinstance(v, dict):
            out[k] = {lang: _tidy(t, parent, terms, nested_types) for lang, t in v.items()}
        else:
            out[SYNONYMS.get(key, {}).get(k, k)] = _tidy(
                v, own if isinstance(own, str) else parent, terms, nested_types, k
            )
    return out


def _scalar(value: Any, term: dict) -> Any:
    """Numbers and dates as YAML writes them (``amount: 155000``, ``modified: 2026-11-26``), the rest as text."""
    if not isinstance(value, str):
        return value
    kind = term.get("@type")
    if kind in NUMBER_TYPES:
        if INTEGER.fullmatch(value):
            return int(value)
        if kind == "xsd:decimal" and re.fullmatch(r"-?[0-9]+\.[0-9]+", value) and repr(float(value)) == value:
            return float(value)
    if kind == "xsd:date":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return day if day.isoformat() == value else value
    return value


def _like(doc: Any, hint: Any) -> Any:
    """``doc`` with the hint's order of keys and list items and its choice of a list for a single value."""
    if isinstance(doc, dict):
        hint = hint if isinstance(hint, dict) else {}
        rank = {k: i for i, k in enumerate(hint)}
        known = {k: i for i, k in enumerate(KEY_ORDER)}
        keys = sorted(doc, key=lambda k: (rank.get(k, len(rank)), known.get(k, len(known)), k))
        out = {}
        for k in keys:
            value, shown = doc[k], hint.get(k)
            if isinstance(shown, list) and not isinstance(value, list):
                value = [value]
            out[k] = _like(value, shown)
        return out
    if isinstance(doc, list):
        shown = hint if isinstance(hint, list) else []
        positions = {_key(v): i for i, v in enumerate(shown)}
        by_key = {_key(v): v for v in shown}
        items = [_like(v, by_key.get(_key(v))) for v in doc]
        return sorted(items, key=lambda v: (positions.get(_key(v), len(positions)), _key(v)))
    return doc


def _key(value: Any) -> str:
    """What identifies a list item across versions: its text, or for a nested part what names it."""
    if isinstance(value, dict):
        for name in ("id", "organisation", "label", "unit", "covers", "date", "start_year"):
            if name in value:
                return f"{name}={value[name]}"
        return repr(sorted(value.items(), key=str))
    return str(value)


# -- YAML text -----------------------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, long text folded, short code lists on one line: as our files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value.strip("\n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if len(value) > 96 and " " in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    short = all(isinstance(v, str | int | float) and "://" not in str(v) and len(str(v)) < 60 for v in value)
    flow = short and sum(len(str(v)) + 2 for v in value) < 100
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def dump(docs: list[dict], hint_text: str | None = None) -> str:
    """YAML text of the resources: one mapping for a file of one resource, else a list with a blank line between
    resources. What did not change since the hint keeps the hint's own text (its line breaks and comments): a
    top-level key of a one-resource file, a whole resource of a list file."""
    chunks = _chunks(hint_text or "")
    previous = {key: _safe_load(text) for key, text in chunks.items() if key not in ("", "list")}
    if len(docs) == 1 and "list" not in chunks:
        doc = docs[0]
        parts = [chunks.get("", "")]
        for key, value in doc.items():
            same = key in previous and _same(previous[key], {key: value})
            parts.append(chunks[key] if same else _text({key: value}))
        return "".join(parts)
    parts = [chunks.get("", "")]
    for i, doc in enumerate(docs):
        key = f"- {doc.get('id')}"
        if key in previous and _same(previous[key], [doc]):
            parts.append(chunks[key])
            continue
        above = _comment_lines(chunks.get(key, "")) or ("\n" if i else "")
        parts.append(above + _text([doc]))
    return "".join(parts)


def _safe_load(text: str) -> Any:
    """The value of one piece of a file, or None when it cannot be read alone (an alias to another piece)."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return None


def _text(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=LINE_WIDTH, default_flow_style=False
    )


def _same(old: Any, new: Any) -> bool:
    """Equal values of equal types (YAML reads ``1`` and ``true`` apart, Python's == does not)."""
    return _typed(old) == _typed(new)


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("map", sorted((str(k), _typed(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


def _comment_lines(chunk: str) -> str:
    """The blank and comment lines a chunk starts with."""
    out = []
    for line in chunk.splitlines(keepends=True):
        if line.strip() and not line.startswith("#"):
            break
        out.append(line)
    return "".join(out)


def _chunks(text: str) -> dict[str, str]:
    """The text of a file cut where a top-level key (``title:``) or a list item (``- id: x``) starts, each piece
    with the comment and blank lines above it; ``""`` is the header (the comments above the first key, or for a
    list those before the first blank line), and ``"list"`` is set when the file is a list."""
    found: dict[str, str] = {}
    pending: list[str] = []
    current: str | None = None
    for line in text.splitlines(keepends=True):
        if not line.strip() or line.startswith("#"):
            pending.append(line)
            continue
        item = re.match(r"- +id: *(\S+)", line) if line.startswith("- ") else None
        key = re.match(r"([A-Za-z_][\w-]*):", line) if not line[0].isspace() else None
        if item or key:
            if current is None:
                if item:
                    found["list"] = ""
                    header = _header(pending)
                    found[""] = header
                    pending = pending[len(header.splitlines()) :]
                else:
                    found[""] = "".join(pending)
                    pending = []
            current = f"- {item.group(1).strip(chr(39) + chr(34))}" if item else key.group(1)  # type: ignore[union-attr]
            found[current] = "".join(pending)
            pending = []
        if current is not None:
            found[current] += "".join(pending) + line
            pending = []
    if current is not None and pending:
        found[current] += "".join(pending)
    return found


def _header(pending: list[str]) -> str:
    """A list file's header: the comment lines up to the first blank line (the rest belongs to the first item)."""
    out = []
    for line in pending:
        out.append(line)
        if not line.strip():
            return "".join(out)
    return ""


# -- the whole round -----------------------------------------------------------------------------------------------
def write_yaml(
    quads: list[ox.Quad],
    context: dict,
    *,
    graph: str,
    source: str,
    hint_text: str | None = None,
    nested_types: dict[str, str] | None = None,
) -> str:
    """The YAML text of one file's graph, checked by reading it back; WriteBackRefused when it would differ."""
    from .sources import NESTED_TYPES, parse_yaml, yaml_quads

    if nested_types is None:
        nested_types = {
            term: _compact(str(NESTED_TYPES[prop]), context)
            for term, definition in _terms(context).items()
            for prop in NESTED_TYPES
            if _expand(str(definition.get("@id", "")), context) == str(prop)
        }
    hint = _load(hint_text)
    text = dump(to_documents(quads, context, nested_types, hint), hint_text)
    try:
        back = yaml_quads(parse_yaml(text, context, source=source), graph)
    except DataFileError as e:
        raise WriteBackRefused(
            _refusal(source, f"its YAML form cannot be read back ({e.detail})"), file=source
        ) from None
    if not _same_graph(back, quads):
        raise WriteBackRefused(
            _refusal(
                source,
                "the YAML format cannot hold all of it (a property without a key "
                "in data/context.jsonld, or a value of another datatype)",
            ),
            file=source,
        )
    return text


def _refusal(source: str, why: str) -> str:
    return (
        f"the change cannot be written back to {source}: {why}; nothing was changed. Edit {source} itself "
        "(or use the keys of docs/model.md) and rebuild."
    )


def _compact(iri: str, context: dict) -> str:
    """The key a class IRI takes in the context (``GoodPractice``) or its prefixed form (``n2m:Indicator``)."""
    for name, value in context.items():
        if value == iri or (
            isinstance(value, str) and not name.startswith("@") and ":" in value and _expand(value, context) == iri
        ):
            return name
    for name, value in context.items():
        if isinstance(value, str) and not name.startswith("@") and value.endswith(("#", "/")) and iri.startswith(value):
            return f"{name}:{iri[len(value) :]}"
    return iri


def _expand(value: str, context: dict) -> str:
    prefix, _, local = value.partition(":")
    ns = context.get(prefix)
    return ns + local if isinstance(ns, str) else value


def _load(text: str | None) -> list[dict] | None:
    if not text:
        return None
    try:
        doc = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else None


def _same_graph(a: list[ox.Quad], b: list[ox.Quad]) -> bool:
    """The same triples (graph names aside); with blank nodes, the same up to their labels."""

    def triples(quads):
        return {ox.Triple(q.subject, q.predicate, q.object) for q in quads}

    first, second = triples(a), triples(b)
    if any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in (*first, *second)):
        return isomorphic(quads_to_rdflib(a), quads_to_rdflib(b))
    return first == second
