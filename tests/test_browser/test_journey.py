"""A partner's journey in a real headless Chromium: home → search → facet → practice → related practice → region
→ back, checking what each page shows against data/*.yaml, with no console error and no request leaving the
server; plus keyboard access and the phone layout. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pytest

from tests.sources import as_list, records

pytestmark = pytest.mark.browser
QUERY = "digital"


@cache
def practices() -> dict[str, dict]:
    return {str(r["id"]).split("/", 1)[1]: r for r in records("data/practices/*.yaml")}


@cache
def regions() -> dict[str, dict]:
    return {str(r["id"])[5:]: r for r in records("data/regions.yaml")}


def region_family(code: str) -> set[str]:
    family, grown = {code}, True
    while grown:
        more = family | {c for c, r in regions().items() if str(r.get("broader", "")) in family}
        grown, family = more != family, more
    return family


def fold(text: str) -> str:
    text = text.replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def matches(record: dict, word: str) -> bool:
    """True when a word of the practice's texts (any language) starts with ``word``, as the search promises."""
    parts = []
    for key in ("title", "summary", "description", "keywords", "also_known_as"):
        for value in (record.get(key) or {}).values():
            parts.extend(value if isinstance(value, list) else [value])
    return any(w.startswith(fold(word)) for w in re.findall(r"\w+", fold(" ".join(map(str, parts)))))


def heading(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def test_partner_journey(web):
    page = web.page
    page.goto("/")
    assert heading(page).startswith("Good practices")
    count = page.locator(".counts li", has_text="practices").first.locator(".count").inner_text()
    assert int(count) == len(practices())

    # search
    page.get_by_label("Search the practices").fill(QUERY)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/practices\?q=digital"))
    found = [s for s, r in practices().items() if matches(r, QUERY)]
    assert page.locator(".result-count").inner_text().startswith(f"{len(found)} practice")

    # facet: the first region offered; its count must equal the practice files found there
    value = page.locator('.facet-value[data-facet="region"]').first
    key = value.get_attribute("data-key")
    shown = int(value.locator(".facet-count").inner_text())
    expected = [s for s in found if set(as_list(practices()[s].get("region"))) & region_family(key)]
    assert shown == len(expected) > 0
    value.click()
    page.wait_for_url(re.compile(rf"region={key}"))
    assert page.locator(".result-count").inner_text().startswith(f"{len(expected)} practice")
    web.screenshot("practices-desktop")

    # practice
    page.locator(".hit h3 a").first.click()
    slug = page.url.rsplit("/", 1)[1].split("?")[0]
    assert slug in expected
    assert heading(page) == practices()[slug]["title"]["en"]
    assert page.locator(".standing").inner_text().strip().startswith("Standing:")
    web.screenshot("practice-desktop")

    # related practice
    related = page.locator("#related ol.related > li > a").first
    related.click()
    other = page.url.rsplit("/", 1)[1].split("?")[0]
    assert other in practices() and other != slug
    other_title = practices()[other]["title"]["en"]
    assert heading(page) == other_title

    # region of the related practice
    codes = as_list(practices()[other].get("region"))
    if not codes:  # a practice of no particular region: take the first practice's region instead
        page.go_back()
        codes = as_list(practices()[slug].get("region"))
    page.locator("dt:text-is('Location') + dd a").first.click()
    code = page.url.rsplit("/", 1)[1].split("?")[0]
    assert code in codes
    assert heading(page) == regions()[code]["name"]["en"]
    located = [s for s, r in practices().items() if set(as_list(r.get("region"))) & region_family(code)]
    assert page.get_by_role("heading", name=f"Practices located here ({len(located)})").is_visible()
    web.screenshot("region-desktop")

    page.go_back()
    assert heading(page) in {other_title, practices()[slug]["title"]["en"]}
    assert web.errors == []
    assert web.foreign_requests() == []


def test_keyboard_reaches_the_skip_link_and_the_search(web):
    page = web.page
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # it becomes visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.locator("#home-q").focus()
    page.keyboard.type("lahti")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=lahti"))
    expected = [s for s, r in practices().items() if matches(r, "lahti")]
    assert page.locator(".result-count").inner_text().startswith(f"{len(expected)} practice")
    assert web.errors == [] and web.foreign_requests() == []


def test_pages_fit_a_phone(phone):
    page = phone.page
    slug = sorted(practices())[0]
    for path, name in (("/", "home-phone"), ("/practices", "practices-phone"), (f"/practice/{slug}", "practice-phone"),
                       ("/regions", "regions-phone")):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
        phone.screenshot(name)
    assert phone.errors == [] and phone.foreign_requests() == []


def test_network_views_are_drawn_and_linked(web):
    page = web.page
    page.goto("/regions")
    arrows = page.locator("figure.network path.edge-transfer")
    assert arrows.count() > 0
    web.screenshot("regions-desktop")
    page.goto("/network")
    dots = page.locator("svg.network-svg circle.node")
    assert dots.count() == min(60, len(practices()))
    web.screenshot("network-desktop")
    page.goto(f"/practice/{sorted(practices())[0]}")
    svg = page.locator("#related svg.network-svg")
    assert svg.is_visible()
    assert svg.locator("title").first.text_content().startswith("Neighbourhood of")
    svg.locator("a").nth(1).click()
    assert page.locator("h1").is_visible()
    assert web.errors == [] and web.foreign_requests() == []
