"""The spreadsheet import of the Interreg Europe good-practice template, over HTTP and on the command line: the
template comes from the shapes; a file with one bad cell is reported at that cell and nothing is stored; a good one
becomes submissions (a contributor's) or published practices (an administrator's, and the CLI's); a dry run stores
nothing; what is not a spreadsheet, too big, or holds macros or formulas is refused and nothing is read from it."""

from __future__ import annotations

import io
import shutil
import zipfile

import openpyxl
import pytest
import requests

from next2met.graph.cli import main
from next2met.graph.contribute.form import practice_form
from next2met.graph.contribute.spreadsheet import columns
from tests.conftest import data_copy
from tests.test_graph.test_practice_form import EXTRA_SHAPE, form_with
from tests.test_server.contribute_helpers import HTML, Partner, csrf, serve

ROWS = [
    {"Page address (slug)": "village-data-cafes", "Title of the practice": "Village data cafés",
     "Short summary of the practice": "Volunteers help residents of small villages to use public e-services.",
     "Standing": "candidate", "Confidence": "low", "Location of the practice": "IE063",
     "Main institution involved": "Longford County Council", "Sources": "https://example.org/cafes",
     "Specific objective (programme topic)": "Research and innovation", "Start date": 2019,
     "Budgets 1: amount": 12000, "Budgets 1: currency": "EUR"},
    {"Title of the practice": "Library e-service corners", "Title of the practice (fi)": "Kirjaston e-palvelupisteet",
     "Short summary of the practice": "Public libraries lend a corner and a helper for online forms.",
     "Standing": "candidate", "Confidence": "medium", "Sources": "https://example.org/corners"},
]


def workbook(rows: list[dict], template: bytes) -> bytes:
    """The downloaded template, filled in the way a person fills it."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book["Practices"]
    head = [c.value for c in sheet[1]]
    for r, row in enumerate(rows, start=2):
        for header, value in row.items():
            if header not in head:
                head.append(header)
                sheet.cell(row=1, column=len(head), value=header)
            sheet.cell(row=r, column=head.index(header) + 1, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def site(built_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("import")
    shutil.copytree(built_store, tmp / "store", symlinks=True)
    s = serve(tmp / "store", tmp)
    yield s
    s.close()


@pytest.fixture(scope="module")
def template(site) -> bytes:
    r = requests.get(f"{site.url}/import/template.xlsx?lang=de", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return r.content


def test_the_template_is_made_from_the_shapes(template):
    book = openpyxl.load_workbook(io.BytesIO(template))
    head = [c.value for c in book["Practices"][1]]
    for name in ("Title of the practice", "Short summary of the practice", "Main institution involved",
                 "Location of the practice", "Resources needed", "Evidence of success", "Keywords",
                 "Specific objective (programme topic)", "Innovation-chain stages", "RIS3 sectors", "Budgets 1: amount",
                 "Stakeholders 2: role"):
        assert name in head, name
    assert head[1:] == [c.header[:1].upper() + c.header[1:] for c in columns(practice_form())]
    help_rows = {r[0].value: r for r in book["How to fill in"].iter_rows(min_row=2)}
    assert help_rows["Standing"][3].value.startswith("gp-database = ")  # the codes with their labels
    assert book["How to fill in"]["C1"].value == "Was zu schreiben ist"  # the help in the reader's language
    assert any(c.header == "challenge met" for c in columns(form_with(EXTRA_SHAPE)))  # a new shape, a new column


def upload(partner: Partner, data: bytes, name: str = "practices.xlsx", dry_run: bool = False):
    page = partner.get("/import")
    fields = {"csrf_token": csrf(page), **({"dry_run": "1"} if dry_run else {})}
    return partner.post("/import", fields, files={"file": (name, data)})


def test_one_bad_cell_is_reported_at_that_cell_and_nothing_is_stored(site, template):
    anna = Partner(site, "anna")
    bad = [ROWS[0], {**ROWS[1], "Budgets 1: amount": "about 500 €", "Budgets 1: currency": "EUR"}]
    data = workbook(bad, template)
    head = [c.value for c in openpyxl.load_workbook(io.BytesIO(data))["Practices"][1]]
    column = openpyxl.utils.get_column_letter(head.index("Budgets 1: amount") + 1)
    before = sorted(p.name for p in site.data.rglob("*") if p.is_file())
    r = upload(anna, data)
    assert r.status_code == 422
    assert f"Practices!{column}3" in r.text and "plain number" in r.text
    assert sorted(p.name for p in site.data.rglob("*") if p.is_file()) == before  # nothing stored
    # the corrected file: two submissions waiting for review, public nowhere
    r = upload(anna, workbook(ROWS, template))
    assert r.status_code == 200 and 'id="imported"' in r.text, r.text[-3000:]
    mine = {s.slug: s for s in site.kg.extensions["submissions"].of_author("anna")}
    assert {"village-data-cafes", "library-e-service-corners"} <= set(mine)
    assert mine["village-data-cafes"].status == "submitted"
    assert "main_institution:\n- organisation/longford-county-council" in mine["village-data-cafes"].text
    assert "fi: Kirjaston e-palvelupisteet" in mine["library-e-service-corners"].text
    assert requests.get(f"{site.url}/practice/village-data-cafes", headers=HTML, timeout=30).status_code == 404


def test_an_administrators_import_is_published_and_a_dry_run_stores_nothing(site, template):
    adam = Partner(site, "adam")
    rows = [{**ROWS[0], "Page address (slug)": "admin-import-cafes"}]
    r = upload(adam, workbook(rows, template), dry_run=True)
    assert r.status_code == 200 and "Nothing was stored" in r.text
    assert requests.get(f"{site.url}/practice/admin-import-cafes", headers=HTML, timeout=30).status_code == 404
    r = upload(adam, workbook(rows, template))
    assert r.status_code == 200, r.text[-2000:]
    assert requests.get(f"{site.url}/practice/admin-import-cafes", headers=HTML, timeout=30).status_code == 200
    assert (site.data / "practices" / "admin-import-cafes.yaml").is_file()


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def test_what_is_not_a_plain_spreadsheet_is_refused(site, template):
    anna = Partner(site, "anna")
    with_formula = openpyxl.load_workbook(io.BytesIO(workbook(ROWS, template)))
    with_formula["Practices"]["F2"] = "=HYPERLINK(\"https://example.org\")"
    out = io.BytesIO()
    with_formula.save(out)
    macro = zipfile.ZipFile(io.BytesIO(template))
    with_macro = zipped({**{n: macro.read(n) for n in macro.namelist()}, "xl/vbaProject.bin": b"\x00" * 64})
    cases = [
        (b"just some text", "practices.xlsx", 400, "not an XLSX spreadsheet"),
        (b"%PDF-1.4 ...", "practices.pdf", 400, "not a spreadsheet"),
        (with_macro, "practices.xlsm", 400, "macros"),
        (out.getvalue(), "practices.xlsx", 400, "Practices!F2 holds a formula"),
        (b'Title of the practice,Sources\n"=cmd|\' /C calc\'!A0",https://x.org\n', "p.csv", 400, "formula"),
        (zipped({"[Content_Types].xml": b"x", "xl/workbook.xml": b"0" * (51 * 2**20)}), "big.xlsx", 413, "unpacks"),
    ]
    for data, name, status, said in cases:
        r = upload(anna, data, name)
        assert r.status_code == status, (name, r.text[-1500:])
        assert said in r.text, (name, said)
    too_big = upload(anna, b"x" * (site.kg.settings.max_body + 10), "huge.csv")
    assert too_big.status_code == 413


def test_the_command_line_import(built_store, tmp_path, capsys, template):
    store = tmp_path / "store"
    shutil.copytree(built_store, store, symlinks=True)
    data = data_copy(tmp_path / "data")
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook([{**ROWS[0], "Page address (slug)": "cli-import-cafes"}], template))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([{**ROWS[0], "Confidence": "very"}], template))
    where = ["--store", str(store), "--data", str(data)]
    assert main(["import", str(bad), *where]) == 1
    out, err = capsys.readouterr()
    assert "Practices!" in out and "(Confidence): violation: A record needs exactly one confidence" in out
    assert "nothing was imported" in err
    assert main(["import", str(good), "--dry-run", *where]) == 0
    assert not (data / "practices" / "cli-import-cafes.yaml").exists()
    assert main(["import", str(good), *where]) == 0
    assert (data / "practices" / "cli-import-cafes.yaml").is_file()
    capsys.readouterr()
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    assert main(["import", str(tmp_path / "fake.xlsx"), *where]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["import", str(tmp_path / "template.csv"), "--template"]) == 0
    assert (tmp_path / "template.csv").read_text(encoding="utf-8-sig").startswith("Page address (slug),")
