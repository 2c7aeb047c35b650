"""The canned research queries in ``queries/*.rq``.

Each file starts with a header of ``#`` lines::

    # title: Practices per region and RIS3 sector
    # description: How many practices each region has in each sector.
    #   Continuation lines are indented.
    # param: region nuts -- limit to one region (NUTS code, e.g. FI1C3)
    # param: min integer default=1 -- smallest count shown

A parameter is a ``$name`` variable in the query. Without a value the variable stays free (the query covers
everything, and the file runs as it is in any SPARQL editor); with a value, ``VALUES $name { value }`` is put at
the start of the WHERE block, so the value is checked and typed by us, never pasted into the query text. A
subquery that uses the parameter gets the same VALUES row: a parameter is a constant of the whole query, and the
subquery then works on the matching rows only instead of on all of them (at 1M triples 20–50 ms instead of
1.5 s for one side of ``smes-and-universities``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import paths
from .errors import QueryNotFound, QueryParameterError
from .settings import DEFAULT_BASE_IRI
from .sparqltext import first_keyword, tokens

PARAM_TYPES = {
    "iri": "an IRI",
    "nuts": "a NUTS code such as FI1C3",
    "string": "a text",
    "integer": "a whole number",
    "decimal": "a number",
    "year": "a year such as 2019",
    "lang": "a language code such as en",
}
# concept:<scheme> takes a code of that SKOS scheme, e.g. concept:stage takes "apply".
NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
PARAM_RE = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<type>[a-z]+(?::[a-z0-9-]+)?)"
    r"(?:\s+default=(?P<default>\S+))?\s*(?:--\s*(?P<help>.*))?$"
)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None = None
    help: str = ""

    def describe(self) -> str:
        if self.type.startswith("concept:"):
            return f"a code of the {self.type.split(':', 1)[1]} scheme"
        return PARAM_TYPES.get(self.type, self.type)


@dataclass(frozen=True)
class CannedQuery:
    name: str
    title: str
    description: str
    text: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    path: Path | None = None

    @property
    def form(self) -> str:
        word = first_keyword(self.text).lower()
        return word if word in ("select", "ask", "construct", "describe") else "select"

    def bind(self, values: dict[str, str], base: str = DEFAULT_BASE_IRI) -> str:
        """The query text with the given parameter values (and defaults) bound."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryParameterError(
                f"query {self.name!r} has no parameter {', '.join(unknown)}; it takes: " + (", ".join(known) or "none")
            )
        bindings = []
        for p in self.params:
            raw = values.get(p.name, p.default)
            if raw is None or raw == "":
                continue
            bindings.append((f"${p.name}", sparql_term(p, raw, base)))
        if not bindings:
            return self.text
        groups = where_groups(self.text)
        if not groups:
            raise QueryParameterError(f"query {self.name!r} has no WHERE block to bind parameters in")
        text = self.text
        # the first WHERE is the query's own and gets every parameter; a subquery's only those it mentions and does
        # not compute itself (a VALUES row for a variable that a BIND or a projection assigns is a syntax error)
        for i, (start, words, assigned) in reversed(list(enumerate(groups))):
            chosen = (
                bindings
                if i == 0
                else [(n, t) for n, t in bindings if {n, "?" + n[1:]} & words and not {n[1:]} & assigned]
            )
            if chosen:
                # one VALUES row for all parameters: Virtuoso's planner misjudges several VALUES blocks in one group
                block = f"VALUES ({' '.join(n for n, _ in chosen)}) {{ ({' '.join(t for _, t in chosen)}) }}"
                after = "" if text[start : start + 1] == "\n" else "\n"
                text = text[:start] + "\n  " + block + after + text[start:]
        return text


def where_groups(text: str) -> list[tuple[int, set[str], set[str]]]:
    """Each ``WHERE {`` group of a query, in text order: the offset just inside its brace, the words in it, and the
    names of the variables it assigns with ``AS`` (in a BIND inside, or in the projection of its SELECT)."""
    found = list(tokens(text))
    groups = []
    for i, (kind, value, _, depth) in enumerate(found[:-1]):
        if kind == "word" and value.upper() == "WHERE" and found[i + 1][0] == "open":
            inside = found[i + 1][3] + 1
            words: set[str] = set()
            end = len(found)
            for j in range(i + 2, len(found)):
                kind2, value2, _, depth2 = found[j]
                if kind2 == "close" and depth2 < inside:
                    end = j
                    break
                if kind2 == "word":
                    words.add(value2)
            begin = i  # back to this group's SELECT, for the projection
            while begin > 0 and not (
                found[begin][0] == "word" and found[begin][1].upper() == "SELECT" and found[begin][3] == depth
            ):
                begin -= 1
            span = found[begin:end]
            assigned = {
                span[k + 1][1][1:]
                for k in range(len(span) - 1)
                if span[k][0] == "word"
                and span[k][1].upper() == "AS"
                and span[k + 1][0] == "word"
                and span[k + 1][1][:1] in "?$"
            }
            groups.append((found[i + 1][2] + 1, words, assigned))
    return groups


def sparql_term(param: Param, raw: str, base: str = DEFAULT_BASE_IRI) -> str:
    """Check a parameter value against its type and write it as a SPARQL term."""
    t = param.type

    def bad() -> QueryParameterError:
        return QueryParameterError(f"parameter {param.name} must be {param.describe()}, got {raw!r}")

    if t == "iri":
        # no control character (NUL included), space or character that IRIs exclude (RFC 3987), and an IRI that
        # pyoxigraph's own parser accepts
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f<>\"{}|\\^`]*", raw):
            raise bad()
        try:
            ox.NamedNode(raw)
        except ValueError:
            raise bad() from None
        return f"<{raw}>"
    if t == "nuts":
        if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{0,3}", raw):
            raise bad()
        return f"<http://data.europa.eu/nuts/code/{raw}>"
    if t.startswith("concept:"):
        if not NAME_RE.fullmatch(raw):
            raise bad()
        return f"<{base}concept/{t.split(':', 1)[1]}/{raw}>"
    if t == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            raise bad()
        return raw
    if t == "decimal":
        if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
            raise bad()
        return raw if "." in raw else raw + ".0"
    if t == "year":
        if not re.fullmatch(r"\d{4}", raw):
            raise bad()
        return f'"{raw}"^^<http://www.w3.org/2001/XMLSchema#gYear>'
    if t == "lang":
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", raw):
            raise bad()
        return f'"{raw}"'
    if t == "string":
        escaped = raw.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    raise QueryParameterError(f"parameter {param.name} has an unknown type {t!r}")


def parse_query_file(path: Path) -> CannedQuery:
    """Read a .rq file and its header."""
    text = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    params: list[Param] = []
    last = None
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        body = line[1:]
        m = re.match(r"\s?([a-z]+):\s?(.*)$", body)
        if m and m.group(1) in ("title", "description", "param"):
            key, value = m.group(1), m.group(2).strip()
            if key == "param":
                pm = PARAM_RE.match(value)
                if not pm:
                    raise QueryParameterError(f"{path.name}: cannot read parameter line {value!r}")
                params.append(Param(pm["name"], pm["type"], pm["default"], (pm["help"] or "").strip()))
                last = None
            else:
                fields[key] = value
                last = key
        elif last and body.startswith("   "):
            fields[last] += " " + body.strip()
    return CannedQuery(
        name=path.stem,
        title=fields.get("title", path.stem),
        description=fields.get("description", ""),
        text=text,
        params=tuple(params),
        path=path,
    )


def list_queries(folder: Path = paths.QUERIES_DIR) -> list[CannedQuery]:
    return [parse_query_file(p) for p in sorted(folder.glob("*.rq"))]


def get_query(name: str, folder: Path = paths.QUERIES_DIR) -> CannedQuery:
    if not NAME_RE.fullmatch(name):
        raise QueryNotFound(f"no query named {name!r}")
    path = folder / f"{name}.rq"
    if not path.is_file():
        names = ", ".join(q.name for q in list_queries(folder))
        raise QueryNotFound(f"no query named {name!r}; the queries are: {names}")
    return parse_query_file(path)
