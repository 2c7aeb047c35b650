"""The YAML source format read strictly: whatever it cannot represent is refused, with the file and the line.

JSON-LD drops a key that its context does not define without a word, at any depth; PyYAML keeps the last of two
equal keys in a mapping. Either way a fact written in a source file would vanish from the graph. So before a
document is mapped to RDF its YAML node tree is walked once (``check``), and every key is checked against the
context: a resource and each entry nested in it (``stakeholders:``, ``budgets:`` ...) may only use the context's
fields, and a language map (``title:``) only language codes. The same walk refuses JSON-LD keywords as keys, which
could make the processor load a URL or a file, and documents whose aliases expand past ``MAX_YAML_NODES``.

The walk also records where each resource and each of its keys is written (``Place``), so that a SHACL report
can point at the file and line behind a result, and the build can name both files that use the same ``id``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import yaml

from .errors import DataFileError

# A YAML document with aliases is a graph that expands into a tree when mapped to JSON-LD: a few hundred bytes of
# nested aliases become billions of nodes. The tree of any real source file has a few hundred nodes.
MAX_YAML_NODES = 100_000
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Place:
    """Where a resource is written: the file, the line of its mapping, and the line of each of its keys."""

    file: str
    line: int | None = None
    ref: str = ""  # the id as written
    # the line of each key, also under the compact IRI of its property (n2m:measureType) and, for nested entries,
    # under '#' and the property's local name (#budget), as the SHACL report names them
    keys: dict[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, *names: str) -> int | None:
        """The line of the first of ``names`` written in the resource, else the line of the resource."""
        return next((self.keys[n] for n in names if n in self.keys), self.line)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Document:
    """A source document read and checked: its resources as plain data, and where each is written (by IRI)."""

    items: list[dict]
    places: dict[str, Place]


@dataclass(frozen=True)
class Fields:
    """What the context allows: the keys of a resource or nested entry, and which of them are language maps."""

    names: frozenset[str]
    language_maps: frozenset[str]

    @classmethod
    def of(cls, context: dict) -> Fields:
        terms = {k for k, v in context.items() if isinstance(v, dict)}  # properties; prefixes and classes are strings
        aliases = {k for k, v in context.items() if v in ("@id", "@type")}
        maps = {k for k in terms if context[k].get("@container") == "@language"}
        return cls(frozenset(terms | aliases), frozenset(maps))

    def suggest(self, key: str) -> str:
        close = difflib.get_close_matches(key, sorted(self.names), n=1, cutoff=0.6)
        return f"; did you mean '{close[0]}'?" if close else ""


def load(text: str, context: dict, *, source: str = "input") -> Document:
    """Parse and check one document of the source format; raise DataFileError naming the file and the line."""
    loader = _LOADER(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
            raise DataFileError(f"{source}: YAML error at {where}: {e.problem}{_context(e)}") from None
        except yaml.YAMLError as e:
            raise DataFileError(f"{source}: cannot read: {e}") from None
        if root is None:
            raise DataFileError(f"{source}: the file is empty")
        places = check(root, context, source)
        try:
            doc = loader.construct_document(root)
        except yaml.YAMLError as e:  # a value that is not what its tag says (a bad timestamp, ...)
            raise DataFileError(f"{source}: cannot read: {e}") from None
    finally:
        loader.dispose()
    return Document(doc if isinstance(doc, list) else [doc], places)


def check(root: yaml.Node, context: dict, source: str) -> dict[str, Place]:
    """Walk the node tree once: refuse JSON-LD keywords and alias bombs at once, collect every key the format cannot
    hold and every key written twice, and return where each resource is written (by its IRI)."""
    fields = Fields.of(context)
    items = root.value if isinstance(root, yaml.SequenceNode) else [root]
    places: dict[str, Place] = {}
    problems: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, yaml.MappingNode) or not any(_name(k) == "id" for k, _ in item.value):
            raise DataFileError(f"{source}: {_at(item)}: item {i + 1} is not a mapping with an 'id'")
    count = 0
    # (node, what it is: resource, entry, value, language map or text; where, for messages)
    stack: list[tuple[yaml.Node, str, str]] = [(item, "resource", "") for item in reversed(items)]
    while stack:
        node, kind, where = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise DataFileError(
                f"{source}: the document expands to more than {MAX_YAML_NODES:,} values (YAML aliases?); "
                "write the values out or split the file"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(
                (v, kind if kind != "resource" else "value", f"{where}[{i + 1}]")
                for i, v in reversed(list(enumerate(node.value)))
            )
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: dict[str, int] = {}
        children = []
        for key_node, value in node.value:
            name = _name(key_node)
            at = f"{where}.{name}" if where else name
            if name.startswith("@"):
                raise DataFileError(
                    f"{source}: the key {name!r}{' in ' + where if where else ''} is not allowed: the source "
                    "format maps to RDF through our own context only, so JSON-LD keywords cannot be used"
                )
            if name in seen:
                problems.append(
                    f"{_at(key_node)}: the key '{name}'{_in(where)} is written twice (first on line "
                    f"{seen[name]}); only the last value would be kept"
                )
            seen.setdefault(name, _line(key_node))
            if kind == "unknown":  # inside a key already refused: only keywords and size still matter
                children.append((value, "unknown", at))
            elif kind == "language map":
                if not LANGUAGE_CODE.match(name):
                    problems.append(
                        f"{_at(key_node)}: '{name}'{_in(where)} is not a language code such as en, fi "
                        "or de (a text field takes one text per language)"
                    )
                children.append((value, "text", at))
            elif kind == "text":
                problems.append(f"{_at(key_node)}: '{name}'{_in(where)}: a text cannot hold keys")
            elif name not in fields.names:
                what = "field" if kind == "resource" else "key"
                problems.append(
                    f"{_at(key_node)}: unknown {what} '{name}'{_in(where)}{fields.suggest(name)} (the "
                    "source format has no such field, so its value would be lost)"
                )
                children.append((value, "unknown", at))
            else:
                children.append((value, "language map" if name in fields.language_maps else "value", at))
        if kind == "resource":
            for iri, place in _place(node, context, source).items():
                if iri in places:
                    problems.append(
                        f"{_at(node)}: the id of this item is used already by the item on line "
                        f"{places[iri].line}; each resource is described once"
                    )
                places.setdefault(iri, place)
        stack.extend(
            (v, "entry" if k == "value" and isinstance(v, yaml.MappingNode) else k, at)
            for v, k, at in reversed(children)
        )
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:4])}{' ...' if len(problems) > 4 else ''})"
        raise DataFileError(
            f"{source}: {problems[0]}{more if len(problems) > 1 else ''}", problems=[f"{source}: {p}" for p in problems]
        )
    return places


def expand(ref: str, context: dict) -> str:
    """The IRI of an ``id`` as written: ``practice/x`` against the base, ``nuts:FI1C3`` through its prefix."""
    prefix, colon, rest = ref.partition(":")
    if colon and isinstance(context.get(prefix), str) and not rest.startswith("//"):
        return context[prefix] + rest
    return urljoin(context.get("@base", ""), ref)


def _place(node: yaml.MappingNode, context: dict, source: str) -> dict[str, Place]:
    keys: dict[str, int] = {}
    for key_node, _ in node.value:
        name, line = _name(key_node), _line(key_node)
        keys.setdefault(name, line)
        term = context.get(name)
        if isinstance(term, dict) and isinstance(term.get("@id"), str):
            keys.setdefault(term["@id"], line)
            keys.setdefault("#" + re.split(r"[:#/]", term["@id"])[-1], line)
    ref = next((v.value for k, v in node.value if _name(k) == "id" and isinstance(v, yaml.ScalarNode)), None)
    return {expand(str(ref), context): Place(source, _line(node), str(ref), keys)} if ref else {}


def _name(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "(a key that is not a name)"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1 if node.start_mark else 0


def _context(e: yaml.MarkedYAMLError) -> str:
    """What the parser was reading, and where that began: an unclosed bracket is found only at the end."""
    if not e.context:
        return ""
    mark = e.context_mark
    begun = f" that begins at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f" ({e.context}{begun})"


def _at(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"


def _in(where: str) -> str:
    return f" in {where}" if where else ""
