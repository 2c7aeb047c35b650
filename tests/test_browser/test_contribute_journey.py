"""Issue 13's journey in a real headless Chromium: a contributor logs in, fills the practice form in Finnish with one
mistake, sees the message beside the field as she goes, fixes it and submits; the practice is not public; a reviewer
approves it; then it is on the public pages, in /sparql and in /ldes; and the import of a template with one bad cell
reports that cell and stores nothing. Screenshots go to test-artifacts/contribute-*.png."""

from __future__ import annotations

import io

import openpyxl
import pytest
import requests

from next2met.graph.http import Fetcher, FetchPolicy
from next2met.graph.ldes_reader import read_ldes
from tests.test_browser.conftest import Watched
from tests.test_server.contribute_helpers import serve

pytestmark = pytest.mark.browser
SLUG = "kylakahvila-digituki"
BASE = "https://w3id.org/next2met/"
AMOUNT_MESSAGE = "Summan tai arvon on oltava pelkkä luku"


@pytest.fixture
def site(store_copy, tmp_path):
    s = serve(store_copy, tmp_path)
    yield s
    s.close()


def person(chromium_browser, site, name: str | None = None) -> Watched:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.url)
    page = context.new_page()
    page.set_default_timeout(60_000)
    watched = Watched(page, site.url)
    if name:
        page.goto("/login?lang=fi")
        page.fill("#login-name", name)
        page.fill("#login-token", site.tokens[name])
        page.click("button[type=submit]")
        page.wait_for_url("**/account*")
    return watched


def public(site) -> tuple[int, bool, bool]:
    page = requests.get(f"{site.url}/practice/{SLUG}", headers={"Accept": "text/html"}, timeout=30).status_code
    ask = requests.get(f"{site.url}/sparql", params={"query": f"ASK {{ <{BASE}practice/{SLUG}> ?p ?o }}"},
                       headers={"Accept": "application/sparql-results+json"}, timeout=30).json()["boolean"]
    stream = read_ldes(f"{site.url}/ldes", fetcher=Fetcher(FetchPolicy(allow_private=True)))
    return page, ask, any(m.resource == f"{BASE}practice/{SLUG}" for m in stream.members)


def test_contribute_review_publish_and_import(chromium_browser, site):
    from playwright.sync_api import expect

    anna = person(chromium_browser, site, "anna")
    page = anna.page
    page.goto("/practices/new?lang=fi")
    expect(page.locator("h1")).to_have_text("Uusi käytäntö")
    page.fill("#f-slug", SLUG)
    # the language tabs: Finnish is shown first on a Finnish page; the English title and summary are required
    page.click("#tab-title-en")
    page.fill("#f-title\\.en", "Village café digital help")
    page.click("#tab-title-fi")
    page.fill("#f-title\\.fi", "Kyläkahvilan digituki")
    page.click("#tab-summary-en")
    page.fill("#f-summary\\.en", "Volunteers in village cafés help older residents with public e-services.")
    page.select_option("#f-standing", "candidate")
    page.select_option("#f-confidence", "low")
    page.fill("#f-sources", "https://example.org/kylakahvila")
    page.fill("#f-region", "FI1C3")
    page.fill("#f-budgets\\.0\\.currency", "EUR")
    # the mistake: an amount with words and spaces; the message appears beside the field as she goes on
    page.fill("#f-budgets\\.0\\.amount", "5 000 euroa")
    page.press("#f-budgets\\.0\\.amount", "Tab")
    message = page.locator('.field-messages[data-for="budgets.0.amount"] .field-message.violation')
    expect(message).to_contain_text(AMOUNT_MESSAGE, timeout=60_000)
    anna.screenshot("contribute-form-message-fi")
    page.fill("#f-budgets\\.0\\.amount", "5000")
    page.press("#f-budgets\\.0\\.amount", "Tab")
    expect(message).to_have_count(0, timeout=60_000)
    page.click("button[value=submit]")
    page.wait_for_url("**/submissions?notice=submitted-*")
    expect(page.locator("#notice")).to_contain_text("lähetettiin tarkastettavaksi")
    assert public(site) == (404, False, False)  # not public: no page, not in /sparql, not in /ldes

    rita = person(chromium_browser, site, "rita")
    rita.page.goto("/review?lang=fi")
    rita.page.click("text=Kyläkahvilan digituki")  # the queue shows the title in the reader's language
    expect(rita.page.locator("#conformance")).to_contain_text("Vastaa SHACL-muotoja")
    rita.screenshot("contribute-review-fi")
    rita.page.click("#approve")
    rita.page.wait_for_url("**/review?notice=approved-*")
    assert public(site) == (200, True, True)
    visitor = person(chromium_browser, site)
    visitor.page.goto(f"/practice/{SLUG}?lang=fi")
    expect(visitor.page.locator("h1")).to_have_text("Kyläkahvilan digituki")
    visitor.screenshot("contribute-published-fi")

    # the import of a template with one bad cell reports that cell and stores nothing
    template = requests.get(f"{site.url}/import/template.xlsx", timeout=60).content
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book["Practices"]
    head = [c.value for c in sheet[1]]
    row = {"Title of the practice": "Library e-service corners", "Short summary of the practice": "Help desks.",
           "Standing": "candidate", "Confidence": "bad value", "Sources": "https://example.org/corners"}
    for header, value in row.items():
        sheet.cell(row=2, column=head.index(header) + 1, value=value)
    column = openpyxl.utils.get_column_letter(head.index("Confidence") + 1)
    data = io.BytesIO()
    book.save(data)
    before = sorted(str(p) for p in site.data.rglob("*") if p.is_file())
    page.goto("/import?lang=fi")
    page.set_input_files("#import-file", files=[{"name": "practices.xlsx", "mimeType": "application/octet-stream",
                                                 "buffer": data.getvalue()}])
    page.click("#import-send")
    report = page.locator("#import-problems")
    expect(report).to_contain_text(f"Practices!{column}2")
    expect(report).to_contain_text("Tietueella on täsmälleen yksi luotettavuus")
    anna.screenshot("contribute-import-report-fi")
    assert sorted(str(p) for p in site.data.rglob("*") if p.is_file()) == before
    # the only error the browser logs is the import's answer: 422, nothing imported
    assert anna.errors == ["Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"]
    for who in (rita, visitor):
        assert who.errors == []
    for who in (anna, rita, visitor):
        assert who.foreign_requests() == []
