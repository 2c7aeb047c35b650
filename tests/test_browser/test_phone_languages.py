"""Phone layout and the six languages in a real headless Chromium: at 390 px no page scrolls sideways (long source
URLs wrap, the query editor's tabs fit, network drawings scroll inside their own frame with readable labels), bar
labels fit their column in every language, one legend colour per kind; and ?lang= shows the interface in each of
the six languages (screenshots in test-artifacts/)."""

from __future__ import annotations

import pytest

from tests.sources import records

pytestmark = pytest.mark.browser
LANGUAGES = {"en": "Practices", "fi": "Käytännöt", "de": "Praktiken", "es": "Prácticas", "ca": "Pràctiques",
             "pl": "Praktyki"}
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def slugs() -> list[str]:
    return sorted(str(r["id"]).split("/", 1)[1] for r in records("data/practices/*.yaml"))


def test_no_page_scrolls_sideways_on_a_phone(phone):
    page = phone.page
    wide = {}
    for path in ["/", "/practices", "/regions", "/network", "/queries", "/catalog", "/ontology", "/login",
                 *(f"/practice/{s}" for s in slugs())]:
        for lang in ("en", "de", "pl"):
            page.goto(f"{path}?lang={lang}")
            extra = page.evaluate(SIDEWAYS)
            if extra > 0:
                wide[f"{path}?lang={lang}"] = extra
    assert not wide, f"pages wider than 390 px (extra px): {wide}"
    page.goto(f"/practice/{slugs()[0]}")
    phone.screenshot("phone-practice")


def test_query_editor_tabs_fit_on_a_phone(phone):
    page = phone.page
    page.goto("/sparql?lang=fi")
    page.wait_for_selector(".tabsList .tab")
    assert page.evaluate(SIDEWAYS) <= 0
    tabs = page.evaluate("""() => [...document.querySelectorAll('.tabsList .tab')].map(t => {
        const r = t.getBoundingClientRect(); return [r.left, r.right]; })""")
    assert tabs and all(left >= 0 and right <= 390 for left, right in tabs), tabs
    phone.screenshot("phone-sparql")


def test_network_drawings_keep_labels_readable_on_a_phone(phone):
    page = phone.page
    for path in ("/network", "/regions", f"/practice/{slugs()[0]}"):
        page.goto(path)
        assert page.evaluate(SIDEWAYS) <= 0, path
        sizes = page.evaluate("""() => [...document.querySelectorAll('.network-svg .node-label')].map(
            t => t.getBoundingClientRect().height)""")
        assert sizes and min(sizes) >= 9, (path, min(sizes))  # rendered label height in CSS px
    phone.screenshot("phone-network")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bar_labels_fit_their_column(web, lang):
    page = web.page
    page.goto(f"/?lang={lang}")
    overflow = page.evaluate("""() => [...document.querySelectorAll('svg .bar-label')].filter(
        t => t.getComputedTextLength() > 174).map(t => t.textContent)""")  # the bar starts at x=178
    assert not overflow, overflow


def test_one_legend_colour_per_kind(web):
    page = web.page
    for path in [f"/practice/{s}" for s in slugs()[:12]] + ["/network", "/regions"]:
        page.goto(path)
        keys = page.evaluate("""() => [...document.querySelectorAll('.legend .key')].map(k => [
            k.textContent.trim(), getComputedStyle(k.querySelector('circle')).fill])""")
        colours = [c for _, c in keys]
        assert len(set(colours)) == len(colours), (path, keys)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_interface_in_each_language(web, lang):
    page = web.page
    page.goto(f"/practices?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("nav.site-nav").inner_text().count(LANGUAGES[lang]) == 1
    assert page.locator(f'.lang-switch a[hreflang="{lang}"]').get_attribute("aria-current") == "true"
    assert web.errors == [] and web.foreign_requests() == []
    web.screenshot(f"interface-{lang}")
