"""Reading a whole graph of a remote SPARQL store page by page, every triple exactly once (keyset pagination).

Used by the remote store (one named graph at a time, ``GraphPages``) and by ``next2met harvest`` (whatever an
endpoint's default graph holds, ``TriplePages`` over ``?s ?p ?o``).

Triples are read in pages ordered by the text of the subject, ``ORDER BY STR(?s) LIMIT n``, each page asking for
the subjects after the last one read (``FILTER(STR(?s) > "...")``) instead of skipping rows with OFFSET. The rows
of the page's last subject are held back, since the page may have cut it, and come whole with the next page. Both
the order and the filter compare simple literals, which SPARQL defines (``<`` on IRIs is an error), so any
SPARQL 1.1 store reads the same pages while nothing changes; a subject with a whole page of triples or more is read
by itself the same way, ordered by the text of predicate and object. Triples whose subject has no text are read last
by ``ORDER BY ?s ?p ?o`` with OFFSET: those are blank nodes on a store that follows the standard, where STR() of a
blank node is an error (Virtuoso names them ``nodeID://b123``, so it has none left).

Why not ORDER BY + OFFSET for everything: Virtuoso (MaxSortedTopRows, 10000 by default) refuses a sorted page
that ends past row 10000 (``SR353: Sorted TOP clause specifies more then 15000 rows to sort``), so no graph above
10000 triples could be read. Its documented way round, the sort in a subquery with LIMIT/OFFSET outside, is not
ordered at all by the standard (a subquery's answer is a multiset) and sorts the whole graph for every page. At
100k triples in one graph on Virtuoso 7.2.5 (5000 a page, 2 shared cores, SPARQL JSON): subquery + OFFSET 21.6 s,
these pages 10.4-14.5 s through SparqlStore.quads. (Virtuoso writes SPARQL XML several times faster than JSON,
6.7-8.5 s for the same pages, but pyoxigraph 0.5's XML results parser trims whitespace at the ends of literals,
so JSON it stays.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox

from .errors import StoreError

PAGE = 5000  # rows a page: under MaxSortedTopRows and ResultSetMaxRows of a default Virtuoso (10000)
SMALLEST_PAGE = 100
SUBJECT_KEY = "STR(?s)"
WITHIN_SUBJECT_KEY = 'CONCAT(STR(?p), " ", COALESCE(STR(?o), ""))'  # IRIs hold no space: ordered by p, then o

Row = dict[str, Any]
Select = Callable[[str], tuple[list[Row], bool]]  # a SELECT's rows, and whether the store cut them at its row limit


class TriplePages:
    """Every solution of ``where`` (a group graph pattern that binds ``?s``, ``?p`` and ``?o``), as rows with ``s``,
    ``p`` and ``o``, read ``page`` rows at a time; ``distinct`` asks the store to leave out repeated rows (a default
    graph that is the union of several may hold a triple more than once). ``name`` says what is read, in errors."""

    def __init__(self, select: Select, where: str, page: int = PAGE, *, name: str = "", distinct: bool = False):
        self.select, self.where, self.page = select, where, page
        self.name = name or f"{{ {where} }}"
        self.form = "SELECT DISTINCT" if distinct else "SELECT"

    def rows(self, expected: int = 0) -> Iterator[Row]:
        """The rows; ``expected`` (how many there are, when known) spares the last query once all are read."""
        read = 0
        for row in self._keyed(self.where, SUBJECT_KEY, self._one_subject):
            read += 1
            yield row
        if expected and read >= expected:
            return
        # subjects without text (blank nodes on a standard store): no key to go on from, so OFFSET
        where = f"{self.where} BIND({SUBJECT_KEY} AS ?k) FILTER(!BOUND(?k))"
        offset = 0
        while True:
            query = f"{self.form} ?s ?p ?o WHERE {{ {where} }} ORDER BY ?s ?p ?o"
            rows, page = self._page(query, f" OFFSET {offset}")
            yield from rows
            offset += len(rows)
            if len(rows) < page:
                return

    def _one_subject(self, key: str) -> Iterator[Row]:
        where = f"{self.where} FILTER({SUBJECT_KEY} = {_string(key)})"

        def tied(k: str) -> Iterator[Row]:
            raise StoreError(
                f"more than {self.page} triples of {self.name} share their subject, predicate "
                f"and the text of their object ({k[:200]!r}); they cannot be read page by page"
            )

        return self._keyed(where, WITHIN_SUBJECT_KEY, tied)

    def _keyed(self, where: str, key: str, whole_page: Callable[[str], Iterator[Row]]) -> Iterator[Row]:
        """The rows of ``where`` in the order of ``key``, each page after the last key read in full. A key whose rows
        fill a page by themselves is read by ``whole_page``."""
        after: str | None = None
        while True:
            since = "" if after is None else f"FILTER(?k > {_string(after)})"
            keyed = f"{where} BIND({key} AS ?k) FILTER(BOUND(?k)) {since}"
            text = f"{self.form} ?s ?p ?o ?k WHERE {{ {keyed} }} ORDER BY ?k"
            rows, page = self._page(text)
            if len(rows) < page:
                yield from rows
                return
            last = rows[-1]["k"].value
            whole = [r for r in rows if r["k"].value != last]
            if whole:
                yield from whole
                after = whole[-1]["k"].value
            else:
                yield from whole_page(last)
                after = last

    def _page(self, query: str, after_limit: str = "") -> tuple[list[Row], int]:
        """One page of ``query`` (its LIMIT added) and the size asked for; smaller pages when the store cuts them at
        its row limit."""
        while True:
            rows, truncated = self.select(f"{query} LIMIT {self.page}{after_limit}")
            if not truncated:
                return rows, self.page
            if self.page <= SMALLEST_PAGE:
                raise StoreError("the store's row limit is too small to read a graph page by page")
            self.page //= 2


class GraphPages(TriplePages):
    """Every triple of one named graph, as rows with ``s``, ``p`` and ``o``, read ``page`` rows at a time."""

    def __init__(self, select: Select, graph: str, page: int = PAGE) -> None:
        super().__init__(select, f"GRAPH <{graph}> {{ ?s ?p ?o }}", page, name=f"graph {graph}")


def _string(text: str) -> str:
    """A SPARQL string literal (N-Triples escapes, which SPARQL reads the same)."""
    return str(ox.Literal(text))


def readable_blank_labels(body: bytes) -> bytes:
    """SPARQL JSON results with blank-node labels pyoxigraph accepts (Virtuoso writes ``nodeID://b10007``)."""
    if b'"bnode"' not in body:
        return body
    doc = json.loads(body)
    for row in doc.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "bnode":
                term["value"] = re.sub(r"[^A-Za-z0-9]", "_", term["value"])
    return json.dumps(doc).encode()
