"""The practice form's values, the YAML source format and back, and SHACL results as messages beside the fields.

Form values are flat names, as an HTML form sends them (a list of strings per name):

- a text field: ``{key}.{lang}`` (several values per language: one per line);
- a choice, a search or a web address: ``{key}`` (repeated for a field of several values);
- a repeatable group: ``{key}.{n}.{subkey}`` (``{key}.{n}.{subkey}.{lang}`` for its texts).

:func:`document` turns them into the mapping a person would write in ``data/practices/{slug}.yaml``; what cannot
be put in that format (a number with words in it, a date that is not one, a web address without ``https://``) is
left out and reported with the SHACL message of the shape it breaks, as if the validator had said it.
:func:`problems` maps a validation report back to the names of the fields (a nested entry by its stable IRI).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from ..prefixes import curie
from .form import Field, Form

YAML_HINT = re.compile(r"\s*\((?:YAML keys?|e\.g\.)[^()]*(?:\([^()]*\)[^()]*)*\)")
PLACEHOLDER = re.compile(r"\{\?(\w+)\}")
LOCAL_REF = re.compile(r"^[a-z][a-z-]*/[A-Za-z0-9][A-Za-z0-9._~-]*$")
ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
YEAR = re.compile(r"^\d{4}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Values = Mapping[str, list[str]]
Resolver = Callable[[Field, str], str]


@dataclass(frozen=True)
class Problem:
    """A message about one field (``name`` as the form names it; "" for the practice as a whole)."""

    name: str
    severity: str  # Violation or Warning
    message: str  # English, as the shape says it, without the hint at the YAML key
    shape: str = ""  # the shape whose sh:message it is (shown in the reader's language)
    value: str = ""


def plain_message(message: str) -> str:
    """A shape's message for a person filling the form: without '(YAML key: ...)'."""
    return " ".join(YAML_HINT.sub("", message).split())


def _get(values: Values, name: str) -> list[str]:
    got = values.get(name) or []
    return [v.strip() for v in ([got] if isinstance(got, str) else got) if v and v.strip()]


def _indices(values: Values, key: str) -> list[int]:
    found = set()
    for name in values:
        parts = name.split(".")
        if len(parts) >= 3 and parts[0] == key and parts[1].isdigit():
            found.add(int(parts[1]))
    return sorted(found)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def normalise(form: Form, values: Values) -> dict[str, list[str]]:
    """The values with each group's entries numbered 0, 1, ... and wholly empty entries dropped."""
    out: dict[str, list[str]] = {}
    groups = {f.key for f in form.fields if f.kind == "group"}
    for name, got in values.items():
        if name.split(".", 1)[0] not in groups:
            out[name] = list([got] if isinstance(got, str) else got)
    for key in groups:
        n = 0
        for i in _indices(values, key):
            prefix = f"{key}.{i}."
            entry = {name[len(prefix) :]: values[name] for name in values if name.startswith(prefix)}
            if any(_get(entry, k) for k in entry):
                for sub, got in entry.items():
                    out[f"{key}.{n}.{sub}"] = list([got] if isinstance(got, str) else got)
                n += 1
    return out


# -- form values -> the YAML mapping -------------------------------------------------------------------------------
def document(
    form: Form, values: Values, iri_ref: str, *, modified: dt.date | None = None, resolve: Resolver | None = None
) -> tuple[dict, list[Problem]]:
    """The YAML mapping of a practice (``id: practice/{slug}``) from normalised form values, and the problems of
    values the format cannot hold. ``resolve`` turns what a person typed into a search field (a name, a code) into
    the reference the format takes."""
    doc: dict = {"id": iri_ref, "type": form.type_key}
    found: list[Problem] = []
    for f in form.fields:
        if f.kind == "group":
            entries = []
            for i in _indices(values, f.key):
                entry: dict[str, Any] = {}
                for sub in f.subfields:
                    _put(form, entry, sub, values, f"{f.key}.{i}.{sub.key}", found, resolve)
                if entry:
                    entries.append(entry)
            if entries:
                doc[f.key] = entries
        else:
            _put(form, doc, f, values, f.key, found, resolve)
    doc["modified"] = (modified or dt.date.today()).isoformat()
    return doc, found


def _put(
    form: Form, target: dict, f: Field, values: Values, name: str, found: list[Problem], resolve: Resolver | None
) -> None:
    if f.kind == "text":
        texts: dict = {}
        for lang in f.languages:
            got = _get(values, f"{name}.{lang}")
            if got:
                texts[lang] = _lines("\n".join(got)) if f.per_language_many else "\n".join(got)
        if texts:
            target[f.key] = texts if f.language_map else next(iter(texts.values()))
        return
    got = _get(values, name)
    if f.kind in ("lookup", "iri"):
        got = [v for g in got for v in (_lines(g) if f.many else [g])]
    if not got:
        return
    if not f.many:
        got = got[:1]
    kept: list[Any] = []
    for value in got:
        ok, item = _typed(f, value, resolve)
        if ok:
            kept.append(item)
        else:
            found.append(Problem(name, "Violation", *_form_message(form, f), value=value))
    if not kept:
        return
    if f.kind in ("when", "date", "year"):
        key, item = kept[0]
        target[key] = item
    else:
        target[f.key] = kept if f.many else kept[0]


def _typed(f: Field, value: str, resolve: Resolver | None) -> tuple[bool, object]:
    """(True, what the YAML holds) for a value of the field's form, else (False, None)."""
    if f.kind == "number":
        text = value.replace(",", ".") if value.count(",") == 1 and "." not in value else value
        if not DECIMAL.match(text):
            return False, None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return False, None
        return True, int(number) if number == number.to_integral_value() and "." not in text else float(number)
    if f.kind in ("when", "date", "year"):
        if YEAR.match(value) and "year" in f.keys:
            return True, (f.keys["year"], int(value))
        if MONTH.match(value) and "month" in f.keys:
            return True, (f.keys["month"], value)
        if "date" in f.keys:
            try:
                return True, (f.keys["date"], dt.date.fromisoformat(value).isoformat())
            except ValueError:
                pass
        return False, None
    if f.kind in ("lookup", "choice"):
        return True, resolve(f, value) if resolve else value
    if f.kind == "iri":
        return bool(ABSOLUTE.match(value) or LOCAL_REF.match(value)), value
    return True, value


def _form_message(form: Form, f: Field) -> tuple[str, str]:
    """The message (and shape) of the field's shape on the form of its values (datatype, node kind, pattern)."""
    shape = (
        f.value_shape
        if f.value_shape in form.messages
        else next((s for s in sorted(f.shapes) if s in form.messages), "")
    )
    return plain_message(form.messages.get(shape, "")) or "This value does not have the right form.", shape


def yaml_text(doc: dict | list[dict]) -> str:
    """The mapping as the YAML a person writes (keys in the form's order, Unicode as it is)."""
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


# -- the YAML mapping -> form values (to edit a published practice or a draft) -------------------------------------
def values_of(form: Form, doc: Mapping) -> dict[str, list[str]]:
    """The form values that show this YAML mapping."""
    out: dict[str, list[str]] = {}
    for f in form.fields:
        if f.kind == "group":
            for i, entry in enumerate(doc.get(f.key) or []):
                if isinstance(entry, Mapping):
                    for sub in f.subfields:
                        _show(out, sub, entry, f"{f.key}.{i}.{sub.key}")
        else:
            _show(out, f, doc, f.key)
    return out


def _show(out: dict, f: Field, doc: Mapping, name: str) -> None:
    if f.kind == "text":
        value = doc.get(f.key)
        if isinstance(value, str) and not f.language_map:
            value = {f.languages[0]: value}
        for lang, text in (value or {}).items() if isinstance(value, Mapping) else ():
            lines = text if isinstance(text, list) else [text]
            out[f"{name}.{lang}"] = ["\n".join(str(x) for x in lines)]
        return
    if f.kind in ("when", "date", "year"):
        for key in f.keys.values():
            if doc.get(key) is not None:
                out[name] = [str(doc[key])]
        return
    value = doc.get(f.key)
    if value is None:
        return
    items = [str(v) for v in (value if isinstance(value, list) else [value])]
    out[name] = items if f.kind != "number" else [_number(v) for v in items]


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


# -- SHACL results -> the fields ------------------------------------------------------------------------------------
def entry_iris(form: Form, doc: Mapping, context: dict, base: str) -> dict[str, tuple[str, int]]:
    """The stable IRI each nested entry gets (``practice/x#budget-1a2b…``, from its content) -> (group key, index)."""
    from ..sources import parse_yaml, yaml_quads

    found: dict[str, tuple[str, int]] = {}
    practice = base + str(doc["id"])
    for f in form.fields:
        if f.kind != "group":
            continue
        for i, entry in enumerate(doc.get(f.key) or []):
            text = yaml_text({"id": doc["id"], "type": doc.get("type"), f.key: [entry]})
            try:
                quads = yaml_quads(parse_yaml(text, context, source="entry"), "urn:x-entry")
            except Exception:  # noqa: BLE001 (an entry the format refuses is reported by the whole document)
                continue
            for q in quads:
                if q.subject.value == practice and "#" in q.object.value:
                    found[q.object.value] = (f.key, i)
    return found


def problems(form: Form, results: Iterable, practice: str, entries: Mapping[str, tuple[str, int]]) -> list[Problem]:
    """The results of a validation report (``ResultRow``) about the practice, by field name."""
    out: list[Problem] = []
    for r in results:
        message, shape = _shape_message(form, r)
        name = ""
        if r.focus == practice:
            f = _field_of(form.fields, r) or _named(form, r.message)
            name = f.key if f else ""
        elif r.focus in entries:
            key, i = entries[r.focus]
            group = form.field(key)
            sub = _field_of(group.subfields, r) if group else None
            name = f"{key}.{i}.{sub.key}" if sub else f"{key}.{i}"
        elif r.focus.split("#", 1)[0] != practice:
            continue
        out.append(Problem(name, r.severity, message, shape, r.value))
    return out


def _field_of(fields: Iterable[Field], r) -> Field | None:
    fields = list(fields)
    by_shape = next((f for f in fields if r.shape in f.shapes), None)
    if by_shape is not None:
        return by_shape
    return next((f for f in fields if r.path and _short(f.path) == r.path), None)


def _named(form: Form, message: str) -> Field | None:
    """The field a node-level message names by its YAML key ('... (YAML key: presented_at)')."""
    match = re.search(r"\(YAML keys?: ([a-z_]+)", message)
    return form.field(match.group(1)) if match else None


def _short(iri: str) -> str:
    short = curie(iri)
    return short if short != iri else f"<{iri}>"


def _shape_message(form: Form, r) -> tuple[str, str]:
    """The result's message without the YAML hint, and the shape whose sh:message it is (a SPARQL constraint's
    message has its values filled in: its template is found by matching)."""
    text = plain_message(r.message)
    if r.shape in form.messages and plain_message(form.messages[r.shape]) == text:
        return text, r.shape
    for shape, template in form.messages.items():
        if fill_pattern(plain_message(template)).fullmatch(text):
            return text, shape
    return text, ""


def fill_pattern(template: str) -> re.Pattern:
    """A regular expression that matches the template's message with its ``{?name}`` values filled in."""
    parts = PLACEHOLDER.split(template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts)))


def translate(template: str, translated: str, message: str) -> str:
    """``translated`` (the template in another language) with the values ``message`` filled into ``template``."""
    match = fill_pattern(template).fullmatch(message)
    if not match:
        return message if PLACEHOLDER.search(template) else translated
    return PLACEHOLDER.sub(lambda m: match.groupdict().get(m.group(1)) or "", translated)
