"""The spreadsheet template to download, made from the practice form (so from the shapes): an XLSX workbook with the
columns of the Interreg Europe good-practice template and our own, a drop-down list on the columns of one code, and
a sheet that says for each column what to write; or the header row alone as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from .form import Form
from .spreadsheet import HELP_SHEET, SHEET, SLUG_HEADER, columns


def _choices_text(f, lang: str) -> str:
    return "; ".join(f"{c.code} = {c.label(lang)}" for c in f.choices)


def template_xlsx(
    form: Form, *, lang: str = "en", say: Callable[[str], str] = lambda s: s, words: dict[str, str] | None = None
) -> bytes:
    """The XLSX template; ``say`` gives the shapes' words in the reader's language, ``words`` the help sheet's own
    headings (column, required, what to write, codes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    w = {
        "column": "Column",
        "required": "Required",
        "what": "What to write",
        "codes": "Codes",
        "yes": "yes",
        "recommended": "recommended",
        "several": "several values: one per line, or separated by ;",
        "languages": "other languages: the same column name followed by (fi), (de), (es), (ca) or (pl)",
        "slug": "The last part of the page address (/practice/...); left empty, it is made from the English title.",
        **(words or {}),
    }
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    cols = columns(form)
    headers = [SLUG_HEADER.capitalize(), *(c.header[:1].upper() + c.header[1:] for c in cols)]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = max(14, min(40, len(header) + 2))
    for i, c in enumerate(cols, start=2):
        codes = ",".join(ch.code for ch in c.field.choices)
        if c.field.kind == "choice" and not c.field.many and len(codes) < 250:
            letter = sheet.cell(row=1, column=i).column_letter
            check = DataValidation(type="list", formula1=f'"{codes}"', allow_blank=True)
            check.add(f"{letter}2:{letter}1000")
            sheet.add_data_validation(check)
    help_sheet = book.create_sheet(HELP_SHEET)
    help_sheet.append([w["column"], w["required"], w["what"], w["codes"]])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    help_sheet.append([headers[0], "", w["slug"], ""])
    for c in cols:
        f = c.field
        need = w["yes"] if f.required or "en" in f.required_languages else w["recommended"] if f.recommended else ""
        what = " ".join(
            x
            for x in (
                say(f.description) if f.description else "",
                w["several"] if f.many and f.kind != "text" else "",
                w["languages"] if f.kind == "text" and len(f.languages) > 1 else "",
            )
            if x
        )
        help_sheet.append([c.header[:1].upper() + c.header[1:], need, what, _choices_text(f, lang)])
    for letter, width in zip("ABCD", (34, 12, 70, 70), strict=True):
        help_sheet.column_dimensions[letter].width = width
    for row in help_sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(form: Form) -> bytes:
    """The header row as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read it as UTF-8)."""
    out = io.StringIO()
    csv.writer(out).writerow([SLUG_HEADER.capitalize(), *(c.header[:1].upper() + c.header[1:] for c in columns(form))])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
