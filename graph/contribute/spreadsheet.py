"""The Interreg Europe good-practice template as a spreadsheet: its columns made from the practice form (so from the
shapes), the template file to download (XLSX with a help sheet, or CSV), and the reading of a filled-in file into
rows of form values with the cell of each value.

Columns: every field of the form, headed by the Interreg template's name of the field where the shapes give one
(``n2m:templateField``: "Title of the practice", "Main institution involved" ...), else by its ``sh:name``; text
columns are English, and the same header with " (fi)" (any language the field allows) holds another language;
fields of several values take them one per line (or separated by ";"); the entries of a group are numbered columns
("budgets 1: amount", "budgets 1: currency", "budgets 2: amount" ...). The YAML keys are accepted as headers too.

A file is read as data and nothing else: XLSX through openpyxl (defusedxml underneath: no entity expansion, no
external entities), a file that is not a spreadsheet, too large once unpacked, with macros (vbaProject.bin) or with a
formula in any cell is refused before a row is read; a CSV cell that begins with "=" counts as a formula too, so
nothing that a spreadsheet program would run ever gets into the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

from ..errors import InputError, PayloadTooLarge
from .form import Field, Form

SHEET = "Practices"
HELP_SHEET = "How to fill in"
MAX_ROWS = 1000  # practices in one file
MAX_UNPACKED = 50 * 2**20  # bytes of an XLSX once unzipped (a few hundred rows take well under 1 MB)
GROUP_ENTRIES = 3  # numbered entries of each group in the template (more are read if the columns are there)
SLUG_HEADER = "page address (slug)"
SPLIT = re.compile(r"\s*(?:\n|;)\s*")
LANG_SUFFIX = re.compile(r"^(.*?)\s*[(\[]([a-z]{2,3})[)\]]$")


@dataclass(frozen=True)
class Column:
    header: str
    name: str  # the form value it fills: title.en, stages, budgets.{n}.amount
    field: Field
    lang: str = ""


@dataclass
class Row:
    sheet: str
    number: int  # as the spreadsheet counts rows (1 = the header)
    values: dict[str, list[str]] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)  # form value name -> column letter
    headers: dict[str, str] = field(default_factory=dict)  # form value name -> column header
    slug: str = ""
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # every column of the sheet: letter, header


def letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _header(f: Field) -> str:
    return f.template or f.name


def columns(form: Form, entries: int = GROUP_ENTRIES) -> list[Column]:
    """The template's columns, in the form's order (English for the text fields)."""
    out = []
    for f in form.fields:
        if f.kind == "group":
            for n in range(1, entries + 1):
                for sub in f.subfields:
                    lang = "en" if sub.kind == "text" else ""
                    out.append(
                        Column(
                            f"{f.name} {n}: {sub.name}",
                            f"{f.key}.{n - 1}.{sub.key}" + (f".{lang}" if lang else ""),
                            sub,
                            lang,
                        )
                    )
        elif f.kind == "text":
            lang = "en" if "en" in f.languages else f.languages[0]
            out.append(Column(_header(f), f"{f.key}.{lang}", f, lang))
        else:
            out.append(Column(_header(f), f.key, f))
    return out


def _norm(text: str) -> str:
    return " ".join(str(text).casefold().replace("_", " ").split())


def header_map(form: Form) -> dict[str, tuple[str, Field, str]]:
    """Every header the reader understands -> (form value name with {n} for a group entry, field, language)."""
    known: dict[str, tuple[str, Field, str]] = {}
    for f in form.fields:
        if f.kind == "group":
            for sub in f.subfields:
                for alias in {sub.name, sub.key}:
                    known[_norm(f"{f.name} {{n}}: {alias}")] = (f"{f.key}.{{n}}.{sub.key}", sub, "")
                    known[_norm(f"{f.key} {{n}} {alias}")] = (f"{f.key}.{{n}}.{sub.key}", sub, "")
        else:
            for alias in {_header(f), f.name, f.key}:
                known[_norm(alias)] = (f.key, f, "")
    return known


def _column_of(header: str, known: dict) -> tuple[str, Field, str] | None:
    text = _norm(header)
    lang = ""
    match = LANG_SUFFIX.match(text)
    if match and match.group(1) in known or (match and _group_key(match.group(1), known)):
        text, lang = match.group(1), match.group(2)
    found = known.get(text) or _group_key(text, known)
    if found is None:
        return None
    name, f, _ = found
    if f.kind == "text":
        lang = lang or ("en" if "en" in f.languages else f.languages[0])
        if lang not in f.languages:
            return None
        name = f"{name}.{lang}"
    elif lang:
        return None
    return name, f, lang


def _group_key(text: str, known: dict) -> tuple[str, Field, str] | None:
    """'budgets 2: amount' -> ('budgets.1.amount', ...)."""
    match = re.search(r"\b(\d{1,3})\b", text)
    if not match or int(match.group(1)) < 1:
        return None
    pattern = text[: match.start()] + "{n}" + text[match.end() :]
    found = known.get(pattern)
    if found is None:
        return None
    name, f, lang = found
    return name.replace("{n}", str(int(match.group(1)) - 1)), f, lang


# -- reading a file --------------------------------------------------------------------------------------------------
def read(data: bytes, filename: str, form: Form, *, max_bytes: int) -> tuple[list[Row], list[str]]:
    """The rows of a filled-in template (XLSX or CSV), and the headers that were not understood; InputError for a
    file that is not one (or has macros or formulas), PayloadTooLarge past ``max_bytes`` or the row limit."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{filename}: {len(data)} bytes; the limit is {max_bytes}", limit=max_bytes)
    name = filename.lower()
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        grid = _xlsx_grid(data, filename)
    elif name.endswith((".csv", ".txt")):
        grid = [("CSV", _csv_rows(data, filename))]
    else:
        raise InputError(f"{filename} is not a spreadsheet: send the template as .xlsx or .csv")
    known = header_map(form)
    rows: list[Row] = []
    unknown: list[str] = []
    for sheet, table in grid:
        if not table:
            continue
        head = [str(h).strip() if h is not None else "" for h in table[0]]
        mapping: dict[int, tuple[str, Field | None, str]] = {}
        for i, h in enumerate(head):
            if not h:
                continue
            if _norm(h) in (SLUG_HEADER, "slug", "id"):
                mapping[i] = ("slug", None, "")
                continue
            found = _column_of(h, known)
            if found is None:
                unknown.append(f"{sheet}!{letter(i)}1 {h!r}")
            else:
                mapping[i] = found
        sheet_columns = {m[0]: (letter(i), head[i]) for i, m in mapping.items()}
        for n, cells in enumerate(table[1:], start=2):
            row = Row(sheet, n, columns=sheet_columns)
            for i, cell in enumerate(cells):
                if i not in mapping or cell is None or str(cell).strip() == "":
                    continue
                target, f, _lang = mapping[i]
                text = _text(cell)
                if f is None:  # the slug column
                    row.slug = text.strip().lower()
                    continue
                parts = (
                    SPLIT.split(text.strip())
                    if (f.many and f.kind != "text") or (f.kind == "text" and f.per_language_many)
                    else [text.strip()]
                )
                if f.kind == "choice" and f.many:
                    parts = [p for part in parts for p in re.split(r"\s*,\s*", part)]
                row.values.setdefault(target, []).extend(p for p in parts if p)
                row.cells[target] = letter(i)
                row.headers[target] = head[i]
            if row.values or row.slug:
                rows.append(row)
            if len(rows) > MAX_ROWS:
                raise PayloadTooLarge(f"{filename} has more than {MAX_ROWS} practices; split it", limit=MAX_ROWS)
    if not rows:
        raise InputError(f"{filename} has no practice in it: fill in the rows below the header of the template")
    return rows, unknown


def _text(cell) -> str:
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _xlsx_grid(data: bytes, filename: str) -> list[tuple[str, list[list]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InputError(f"{filename} is not an XLSX spreadsheet (it is not the zip file XLSX is)") from None
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise InputError(f"{filename} is not an XLSX spreadsheet (no workbook in it)")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise InputError(
            f"{filename} contains macros; save it as a plain .xlsx workbook (without macros) and send it again"
        )
    if sum(m.file_size for m in members) > MAX_UNPACKED or len(members) > 10_000:
        raise PayloadTooLarge(
            f"{filename} unpacks to more than {MAX_UNPACKED // 2**20} MB; a template of practices is far smaller",
            limit=MAX_UNPACKED,
        )
    import openpyxl

    try:
        book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_vba=False, keep_links=False
        )
    except Exception as e:  # noqa: BLE001 (openpyxl raises many kinds for a damaged file)
        raise InputError(f"{filename} cannot be read as a spreadsheet: {type(e).__name__}: {e}") from None
    grid = []
    try:
        for sheet in book.worksheets:
            if sheet.title == HELP_SHEET:
                continue
            table = []
            for r, cells in enumerate(sheet.iter_rows(), start=1):
                values = []
                for c, cell in enumerate(cells):
                    if getattr(cell, "data_type", "") == "f" or (
                        isinstance(cell.value, str) and cell.value.startswith("=")
                    ):
                        raise InputError(
                            f"{filename}: {sheet.title}!{letter(c)}{r} holds a formula; formulas are "
                            "not read (nothing in a file is run): type the value itself"
                        )
                    values.append(cell.value)
                table.append(values)
                if r > MAX_ROWS + 1:
                    raise PayloadTooLarge(f"{filename}: more than {MAX_ROWS} rows in {sheet.title}", limit=MAX_ROWS)
            grid.append((sheet.title, table))
    finally:
        book.close()
    return grid


def _csv_rows(data: bytes, filename: str) -> list[list[str]]:
    if b"\x00" in data:
        raise InputError(f"{filename} is not a CSV text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{filename} is not UTF-8 text; save the CSV as UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    table = [row for row in csv.reader(io.StringIO(text), dialect)]
    for r, row in enumerate(table, start=1):
        for c, value in enumerate(row):
            if value.startswith(("=", "+=", "@=")) or (value[:1] in "+-@" and value[1:2] == "="):
                raise InputError(
                    f"{filename}: {letter(c)}{r} begins with '=', a formula; formulas are not read "
                    "(nothing in a file is run): type the value itself"
                )
        if r > MAX_ROWS + 1:
            raise PayloadTooLarge(f"{filename}: more than {MAX_ROWS} rows", limit=MAX_ROWS)
    return table
