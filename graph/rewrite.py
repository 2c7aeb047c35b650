"""Rewrite a query so that Oxigraph starts its join from the few solutions a hierarchy walk gives; the answers
stay the same.

Oxigraph orders the triple patterns of a join by a static estimate, without statistics of the data, and joins them
as a loop (``sparopt``: a for-loop join of every triple pattern). For practices of a sector and a region through
``skos:broader*`` it starts from every practice and looks up its sectors and regions: 70-80 ms at a million quads
(CPU time), where Virtuoso answers in 6-15 ms. Started from the walks (the concepts under a sector, and the
practices that have one of them: a few hundred rows), the same query takes 0.6-6 ms.

What is rewritten: a SELECT whose WHERE clause is one basic graph pattern (triples, ``;`` and ``,`` lists, and
property paths written as one prefixed name with ``/ ^ * + ?`` or as an IRI with ``* + ?``) in which every subject
is a variable, every predicate a constant, and some part is selective. The selective parts (*seeds*) are

- a path from a variable to a constant (``?s skos:broader* <sector>``: a walk up a hierarchy), together with the
  triples whose object is that variable (``?p n2m:ris3Sector ?s``: looked up from the concepts the walk finds);
- a triple with a constant object other than a class (``?p dcterms:spatial <FI1C>``).

Each seed goes in a sub-select of its own (Oxigraph evaluates it first and joins the seeds by hashing), and the
remaining triples follow in a ``LATERAL`` group (SEP-0006, which Oxigraph implements): they are looked up for each
row the seeds give. A query without a seed, or with nothing else than one seed, is left as it is, as is anything
else (OPTIONAL, FILTER, UNION, nested groups, blank nodes, LIMIT or OFFSET, VALUES, a constant subject, a
variable predicate, a path between two variables).

Why the answers are the same (SPARQL 1.1, section 18): a basic graph pattern without blank nodes evaluates to the
join of its triple patterns, and a property path pattern is translated into a join with them; join is associative
and commutative; a sub-select that projects every variable of its pattern (``Project(P, vars(P))``) is ``P``; and
``LATERAL`` of a basic graph pattern is its join, since the left side binds every variable it has in scope (it is
made of basic graph patterns only: nothing is left unbound). So the rewritten pattern has the same solutions, with
the same multiplicities, and everything outside the braces (the projection, aggregates, GROUP BY, HAVING, ORDER BY)
reads them unchanged. Only the order of solutions that the query leaves unordered may differ, which is why a query
that takes a slice of them (LIMIT, OFFSET) is not rewritten. ``tests/test_graph/test_rewrite.py`` checks rewritten
queries against the originals on random data.

Counting over every practice (``COUNT ... GROUP BY`` region) has no seed: no join order or algorithm helps there
(measured at a million quads: loop 65 ms, hashing 84 ms, the two scans alone 18 ms of CPU time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sparqltext import tokens

MAX_LENGTH = 20_000  # characters; a longer text is not looked at (a long VALUES list or a generated query)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_PATH_CHARS = re.compile(r"[/|^*+?!]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$")
_PREFIXED = re.compile(r"[A-Za-z\u00C0-\uFFFF]?[\w\u00B7\u00C0-\uFFFF.-]*:[\w\u00B7\u00C0-\uFFFF.:%-]*$")
_MODIFIERS = {"*", "+", "?"}
_REFUSED_AFTER = {"LIMIT", "OFFSET", "VALUES"}
_ESCAPES = re.compile(r"\\[uU]")  # codepoint escapes apply before parsing: such a text is left alone
_TYPE = {"a", "rdf:type", f"<{RDF_TYPE}>"}  # a class is no seed: it may have every practice


@dataclass(frozen=True)
class Triple:
    subject: str  # variable name, without its sigil
    verb: str  # the predicate or path as written
    object: str  # as written
    object_var: str | None  # the object's variable name, None for a constant
    path: bool  # the verb is a property path (not a single predicate)

    def text(self) -> str:
        return f"?{self.subject} {self.verb} {self.object} ."

    def variables(self) -> list[str]:
        return [self.subject] + ([self.object_var] if self.object_var and self.object_var != self.subject else [])


class NotRewritten(Exception):
    """The query is outside what this rewrite handles."""


@dataclass
class SeededPlan:
    """A query's basic graph pattern cut into seeds and the rest; ``text()`` is the rewritten query."""

    before: str  # the text up to the WHERE clause's opening brace
    after: str  # the text after its closing brace
    seeds: list[list[Triple]]
    rest: list[Triple]

    def text(self) -> str:
        parts = [self._select(seed) for seed in self.seeds]
        if self.rest:
            parts.append(f"LATERAL {{ {' '.join(t.text() for t in self.rest)} }}")
        return f"{self.before}{{ {' '.join(parts)} }}{self.after}"

    @staticmethod
    def _select(group: list[Triple]) -> str:
        names = list(dict.fromkeys(v for t in group for v in t.variables()))
        body = " ".join(t.text() for t in group)
        return f"{{ SELECT {' '.join('?' + n for n in names)} WHERE {{ {body} }} }}"


def plan(sparql: str) -> SeededPlan | None:
    """The query's pattern cut into seeds and the rest, or None when the rewrite does not apply (see the module's
    docstring for which queries, and why the answers are the same)."""
    if len(sparql) > MAX_LENGTH or "{" not in sparql or _ESCAPES.search(sparql):
        return None
    try:
        start, end, triples = _where_pattern(sparql)
        seeds, rest = _seeds(triples)
    except NotRewritten:
        return None
    if not seeds or (len(seeds) == 1 and not rest):
        return None
    return SeededPlan(sparql[:start], sparql[end:], seeds, rest)


def seeded(sparql: str) -> str | None:
    """The rewritten query, or None when the rewrite does not apply."""
    found = plan(sparql)
    return found.text() if found is not None else None


def _where_pattern(sparql: str) -> tuple[int, int, list[Triple]]:
    """Where the WHERE clause's braces begin and end in the text, and its triples."""
    found = list(tokens(sparql))
    i = _skip_prologue(found)
    if i >= len(found) or found[i][1].upper() != "SELECT":
        raise NotRewritten("not a SELECT query")
    parens = 0
    while i < len(found):  # the projection, then FROM clauses, up to the WHERE clause's brace
        kind, value, _, _ = found[i]
        if kind == "open":
            if parens:
                raise NotRewritten("a pattern inside the projection")
            break
        parens += (value == "(") - (value == ")")
        i += 1
    else:
        raise NotRewritten("no WHERE clause")
    open_at = i
    i += 1
    inner = []
    while i < len(found) and found[i][0] != "close":
        if found[i][0] == "open":
            raise NotRewritten("a nested group")
        inner.append(found[i])
        i += 1
    if i >= len(found):
        raise NotRewritten("unclosed WHERE clause")
    close_at = i
    for kind, value, _, _ in found[close_at + 1 :]:
        if kind == "word" and value.upper() in _REFUSED_AFTER:
            raise NotRewritten(f"{value.upper()} after the WHERE clause")
    start = found[open_at][2]
    end = found[close_at][2] + 1
    return start, end, _triples(_split_dots(inner))


def _skip_prologue(found: list) -> int:
    i = 0
    while i < len(found):
        word = found[i][1].upper() if found[i][0] == "word" else ""
        if word == "PREFIX":
            i += 3
        elif word == "BASE":
            i += 2
        else:
            return i
    return i


def _split_dots(found: list) -> list[tuple[str, str]]:
    """(kind, text) of the pattern's tokens, with a statement's closing dot apart from the word it ends
    (``?region.``): no variable, prefixed name or number ends with a dot."""
    out: list[tuple[str, str]] = []
    for kind, value, _, _ in found:
        if kind == "word" and value.endswith(".") and value != ".":
            stripped = value.rstrip(".")
            if stripped:
                out.append(("word", stripped))
            out.extend([("word", ".")] * (len(value) - len(stripped)))
        else:
            out.append((kind, value))
    return out


def _triples(found: list[tuple[str, str]]) -> list[Triple]:
    triples: list[Triple] = []
    i = 0
    n = len(found)
    while i < n:
        if found[i] == ("word", "."):
            i += 1
            continue
        subject = _variable(found[i])
        if subject is None:
            raise NotRewritten("the subject is not a variable")
        i += 1
        while True:  # verb objectList (';' verb objectList)*
            verb, is_path, i = _verb(found, i)
            while True:
                obj, obj_var, i = _object(found, i)
                triples.append(Triple(subject, verb, obj, obj_var, is_path))
                if i < n and found[i] == ("other", ","):
                    i += 1
                    continue
                break
            while i < n and found[i] == ("other", ";"):
                i += 1
            if i >= n or found[i] == ("word", "."):
                break
            if found[i - 1] != ("other", ";"):
                raise NotRewritten("a statement does not end where expected")
        if i < n:
            i += 1  # the dot
    return triples


def _variable(token: tuple[str, str]) -> str | None:
    kind, value = token
    if kind == "word" and len(value) > 1 and value[0] in "?$" and re.fullmatch(r"[?$][\w\u00B7\u00C0-\uFFFF]+", value):
        return value[1:]
    return None


def _verb(found: list[tuple[str, str]], i: int) -> tuple[str, bool, int]:
    if i >= len(found):
        raise NotRewritten("a predicate is missing")
    kind, value = found[i]
    if _variable(found[i]) is not None:
        raise NotRewritten("a variable predicate")
    if kind == "iri":
        if i + 1 < len(found) and found[i + 1][0] == "word" and found[i + 1][1] in _MODIFIERS:
            return value + found[i + 1][1], True, i + 2
        return value, False, i + 1
    if kind == "word":
        if value == "a":
            return value, False, i + 1
        if "\\" in value or "<" in value:
            raise NotRewritten("a path or name this rewrite does not read")
        if _PATH_CHARS.search(value):
            steps = [s for s in re.split(r"[/|]", value)]
            if any(not _PREFIXED.match(s.lstrip("^").rstrip("*+?")) for s in steps) or "!" in value:
                raise NotRewritten("a path this rewrite does not read")
            return value, True, i + 1
        if _PREFIXED.match(value):
            return value, False, i + 1
    raise NotRewritten("a predicate this rewrite does not read")


def _object(found: list[tuple[str, str]], i: int) -> tuple[str, str | None, int]:
    if i >= len(found):
        raise NotRewritten("an object is missing")
    kind, value = found[i]
    name = _variable(found[i])
    if name is not None:
        return value, name, i + 1
    if kind == "iri":
        return value, None, i + 1
    if kind == "string":
        text, i = value, i + 1
        if i < len(found) and found[i][0] == "word" and found[i][1].startswith("@"):
            if not re.fullmatch(r"@[A-Za-z]+(-[A-Za-z0-9]+)*", found[i][1]):
                raise NotRewritten("a language tag this rewrite does not read")
            return text + found[i][1], None, i + 1
        if i < len(found) and found[i][0] == "word" and found[i][1].startswith("^^"):
            datatype = found[i][1][2:]
            if datatype:
                if not _PREFIXED.match(datatype) or _PATH_CHARS.search(datatype):
                    raise NotRewritten("a datatype this rewrite does not read")
                return text + found[i][1], None, i + 1
            if i + 1 < len(found) and found[i + 1][0] == "iri":
                return text + "^^" + found[i + 1][1], None, i + 2
            raise NotRewritten("a datatype is missing")
        return text, None, i
    if kind == "word":
        if value in ("true", "false") or _NUMBER.match(value):
            return value, None, i + 1
        if value.startswith("_:") or "\\" in value or _PATH_CHARS.search(value):
            raise NotRewritten("a blank node or a name this rewrite does not read")
        if _PREFIXED.match(value):
            return value, None, i + 1
    raise NotRewritten("an object this rewrite does not read")


def _seeds(triples: list[Triple]) -> tuple[list[list[Triple]], list[Triple]]:
    """The seeds (each walk to a constant with the triples that reach its variable, each triple with a constant object
    other than a class) and the other triples. A path between two variables (the whole of a hierarchy, say) is left
    to Oxigraph."""
    walks = [t for t in triples if t.path]
    if any(t.object_var is not None for t in walks):
        raise NotRewritten("a path between two variables")
    seeds: list[list[Triple]] = []
    taken: set[int] = set()
    for walk in walks:
        seed = [walk]
        taken.add(id(walk))
        for t in triples:
            if id(t) not in taken and not t.path and t.object_var == walk.subject:
                seed.append(t)
                taken.add(id(t))
        seeds.append(seed)
    for t in triples:
        if id(t) not in taken and t.object_var is None and t.verb not in _TYPE:
            seeds.append([t])
            taken.add(id(t))
    return seeds, [t for t in triples if id(t) not in taken]
