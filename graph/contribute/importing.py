"""The import of a filled-in template: each row a practice, checked like the form checks one (values the YAML format
cannot hold, then SHACL together with the published data), every problem reported at its sheet, row and column.

An import is all or nothing: if one row has a violation, nothing is stored. Otherwise each row becomes a submission
waiting for review (a contributor's import), or the rows are published together as one version of the data through
the one write path (an administrator's). A dry run checks and stores nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from ..changes import Change, Edit, apply_change, graph_etag
from ..sources import parse_yaml, yaml_quads
from ..validate import ValidationReport, reference_quads, validate_quads
from .form import Form
from .formdata import Problem, document, entry_iris, plain_message, problems, yaml_text
from .spreadsheet import Row

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
GOOD_PRACTICE = "https://w3id.org/next2met/ontology#GoodPractice"


@dataclass(frozen=True)
class CellProblem:
    """One problem of an import, where a person finds it in the file."""

    sheet: str
    row: int
    column: str  # the letter ("" for the row as a whole)
    header: str
    severity: str
    message: str  # English, as the shape says it
    shape: str = ""

    def line(self) -> str:
        where = f"{self.sheet}!{self.column}{self.row}" if self.column else f"{self.sheet} row {self.row}"
        return f"{where}{f' ({self.header})' if self.header else ''}: {self.severity.lower()}: {self.message}"


@dataclass
class Plan:
    rows: list[Row]
    slugs: list[str]
    docs: list[dict]
    problems: list[CellProblem]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "Violation" for p in self.problems)

    def text(self) -> str:
        """All rows as one YAML document (a list of practices), as the validator and the build read it."""
        return yaml_text(self.docs) if self.docs else ""


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain))[:60].strip("-")


def prepare(form: Form, rows: list[Row], *, resolve=None, refuse: Callable[[str], str | None] | None = None) -> Plan:
    """The YAML of each row and the problems found before SHACL: the page address, a row that repeats another's,
    values the format cannot hold, and (``refuse``) a practice the importer may not change."""
    plan = Plan(rows, [], [], [])
    seen: dict[str, int] = {}
    for row in rows:
        slug = row.slug or slugify(" ".join(row.values.get("title.en") or []))
        where = (row.cells.get("title.en", ""), row.headers.get("title.en", "")) if not row.slug else ("", "")
        if not SLUG.match(slug or ""):
            plan.problems.append(
                CellProblem(
                    row.sheet,
                    row.number,
                    *where,
                    "Violation",
                    f"no page address: give an English title or a valid slug ({slug!r})",
                )
            )
        elif slug in seen:
            plan.problems.append(
                CellProblem(
                    row.sheet,
                    row.number,
                    *where,
                    "Violation",
                    f"the same practice ({slug}) as row {seen[slug]}; one row per practice",
                )
            )
        elif refuse is not None and (why := refuse(slug)):
            plan.problems.append(CellProblem(row.sheet, row.number, "", "", "Violation", why))
        seen.setdefault(slug, row.number)
        doc, found = document(form, row.values, f"practice/{slug}", resolve=resolve)
        plan.slugs.append(slug)
        plan.docs.append(doc)
        plan.problems += [locate(row, p) for p in found]
    return plan


def check(form: Form, plan: Plan, report: ValidationReport, context: dict, base: str) -> None:
    """Add the SHACL results about each row's practice, at their cells (a value left out for its form is said
    once, not again as a missing one)."""
    for row, slug, doc in zip(plan.rows, plan.slugs, plan.docs, strict=True):
        said = {p.header for p in plan.problems if p.row == row.number and p.sheet == row.sheet}
        entries = entry_iris(form, doc, context, base)
        for p in problems(form, report.results, base + f"practice/{slug}", entries):
            cell = locate(row, p)
            if not (cell.header and cell.header in said):
                plan.problems.append(cell)


def locate(row: Row, p: Problem) -> CellProblem:
    """The cell a problem is about: the field's column (its English column for a text), an entry's first column,
    or the row as a whole."""
    known = {**row.columns, **{n: (row.cells[n], row.headers[n]) for n in row.cells}}
    names = (
        [p.name]
        if p.name in known
        else sorted(
            (n for n in known if p.name and (n.startswith(p.name + ".") or n.rsplit(".", 1)[0] == p.name)),
            key=lambda n: (n not in row.cells, not n.endswith(".en"), n),
        )
    )
    column, header = known.get(names[0], ("", p.name)) if names else ("", p.name)
    return CellProblem(row.sheet, row.number, column, header, p.severity, plain_message(p.message), p.shape)


def validate_with_store(store, text: str, context: dict, base: str, engine: str) -> ValidationReport:
    """SHACL on practices (YAML) with the published data: each replaces its published version (as /validate)."""
    quads = yaml_quads(parse_yaml(text, context, source="spreadsheet"), f"{base}graph/validate")
    focus = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    rest = [q for q in store.quads() if q.subject.value not in focus]
    return validate_quads([*quads, *rest, *reference_quads(base)], engine=engine, base=base).only_focus(focus)


def located(store, slug: str, base: str) -> tuple[str, list[ox.Quad], list[ox.Quad]]:
    """The graph holding a published practice (its own, unless built from a file of several), that graph's quads
    and the practice's own."""
    iri = f"{base}practice/{slug}"
    rows = store.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ <{iri}> a <{GOOD_PRACTICE}> }} }}").rows()
    graph = min((r["g"].value for r in rows), default=f"{base}graph/practices/{slug}")
    quads = list(store.quads(graph))
    return graph, quads, [q for q in quads if q.subject.value.split("#", 1)[0] == iri]


def publish(
    store,
    settings,
    plan: Plan,
    context: dict,
    *,
    author: str,
    message: str,
    notify=None,
    apply: Callable[[Change], object] | None = None,
):
    """Write every row's practice as one version of the data (all or nothing), through the one write path."""
    base = settings.base_iri
    edits, expect, subjects = [], {}, []
    for slug, doc in zip(plan.slugs, plan.docs, strict=True):
        graph, current, _own = located(store, slug, base)
        iri = f"{base}practice/{slug}"
        text = yaml_text(doc)
        own = yaml_quads(parse_yaml(text, context, source=f"practice/{slug}"), graph)
        kept = [q for q in current if q.subject.value.split("#", 1)[0] != iri]
        edits.append(Edit(graph, kept + own, hint=text if not kept else None))
        expect[graph] = graph_etag(current) if current else None
        subjects.append(iri)
    change = Change(edits, channel="import", author=author, message=message, expect=expect, subjects=subjects)
    if apply is not None:
        return apply(change)
    return apply_change(store, settings, change, notify=notify)


def submit(submissions, store, plan: Plan, *, author: str, base: str, source: str) -> list:
    """One submission waiting for review per row."""
    made = []
    for row, slug, doc in zip(plan.rows, plan.slugs, plan.docs, strict=True):
        _graph, _current, own = located(store, slug, base)
        made.append(
            submissions.create(
                author=author,
                slug=slug,
                text=yaml_text(doc),
                new=not own,
                base_etag=graph_etag(own) if own else None,
                status="submitted",
                note=f"imported from {source}, {row.sheet} row {row.number}",
            )
        )
    return made


def problems_text(found: Iterable[CellProblem]) -> list[str]:
    return [p.line() for p in found]
