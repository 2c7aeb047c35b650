"""The practice form over real HTTP without a line of JavaScript (fill, check, add an entry, save a draft, preview,
submit, see the messages beside the fields), the check as you go through /validate in the page's language, the
typeahead over our own data, and bad input: a form without its CSRF token or after the session ended comes back
with what was entered and a message, and nothing is stored."""

from __future__ import annotations

import re
from html import unescape

import pytest
import requests
from flask import render_template

from tests.test_graph.test_practice_form import EXTRA_SHAPE, form_with
from tests.test_server.contribute_helpers import HTML, NEW_PRACTICE, Partner, csrf, serve

SLUG = NEW_PRACTICE["slug"]


@pytest.fixture(scope="module")
def site(built_store, tmp_path_factory):
    import shutil

    tmp = tmp_path_factory.mktemp("form")
    shutil.copytree(built_store, tmp / "store", symlinks=True)
    s = serve(tmp / "store", tmp)
    yield s
    s.close()


def messages(html: str, name: str) -> list[str]:
    box = re.search(rf'<div class="field-messages" data-for="{re.escape(name)}"[^>]*>(.*?)</div>', html, re.S)
    if box is None:
        return []
    return [unescape(m) for m in re.findall(r'<p class="field-message [a-z]+">([^<]*)</p>', box.group(1))]


def submissions_of(site, name: str) -> list:
    return site.kg.extensions["submissions"].of_author(name) if "submissions" in site.kg.extensions else []


def test_without_javascript_fill_check_add_draft_preview_submit(site):
    anna = Partner(site, "anna")
    form = anna.get("/practices/new?lang=fi")
    assert form.status_code == 200 and 'name="title.en"' in form.text and 'name="stakeholders.0.role"' in form.text
    assert "Lähetä tarkastettavaksi" in form.text  # the interface in Finnish
    base = {**NEW_PRACTICE, "slug": "form-path-test", "budgets.0.amount": "12 000 euroa"}
    # add an entry to a group: the page comes back with one more, what was typed kept
    r = anna.post("/practices/new?lang=fi", [("csrf_token", csrf(form)), *base.items(), ("action", "add:budgets")])
    assert r.status_code == 200 and 'name="budgets.1.amount"' in r.text and "12 000 euroa" in r.text
    # check: the message of the shape beside the field, in Finnish
    r = anna.post("/practices/new?lang=fi", [("csrf_token", csrf(form)), *base.items(), ("action", "check")])
    assert messages(r.text, "budgets.0.amount") == [
        "Summan tai arvon on oltava pelkkä luku, 0 tai suurempi, ilman valuuttamerkkejä, välilyöntejä tai sanoja."]
    # submit with the mistake: nothing stored, the same message, the values kept
    r = anna.post("/practices/new?lang=fi", [("csrf_token", csrf(form)), *base.items(), ("action", "submit")])
    assert r.status_code == 422 and messages(r.text, "budgets.0.amount") and 'value="Village data cafés"' in r.text
    assert not [s for s in submissions_of(site, "anna") if s.slug == "form-path-test"]
    # corrected, saved as a draft on the server: not public
    fixed = {**base, "budgets.0.amount": "12000"}
    r = anna.post("/practices/new", [("csrf_token", csrf(form)), *fixed.items(), ("action", "draft")])
    assert r.status_code == 303 and r.headers["Location"].endswith("/edit?notice=saved")
    number = int(r.headers["Location"].split("/")[2])
    assert anna.get(f"/submissions/{number}/edit").text.count('value="12000"') == 1
    assert requests.get(f"{site.url}/practice/form-path-test", headers=HTML, timeout=30).status_code == 404
    # the preview: the practice page as it will be, marked as not published
    preview = anna.get(f"/submissions/{number}/preview")
    assert preview.status_code == 200 and 'id="preview-note"' in preview.text and "Village data cafés" in preview.text
    assert "private" in preview.headers["Cache-Control"]
    r = anna.post(f"/submissions/{number}/submit", {"csrf_token": csrf(preview)})
    assert r.status_code == 303 and f"submitted-{number}" in r.headers["Location"]
    assert next(s for s in submissions_of(site, "anna") if s.number == number).status == "submitted"


def test_a_form_without_its_csrf_token_comes_back_with_the_values(site):
    anna = Partner(site, "anna")
    before = len(submissions_of(site, "anna"))
    r = anna.post("/practices/new", {**NEW_PRACTICE, "title.en": "Kept title", "action": "submit"})
    assert r.status_code == 400
    assert 'value="Kept title"' in r.text and "The form had expired" in r.text
    assert 'name="csrf_token" value="' in r.text  # a fresh token: sending again works
    r = anna.post("/practices/new", [("csrf_token", csrf(r)), *{**NEW_PRACTICE, "slug": "csrf-again",
                                                               "action": "draft"}.items()])
    assert r.status_code == 303 and len(submissions_of(site, "anna")) == before + 1


def test_after_the_session_ended_the_form_comes_back_with_the_values(site):
    anonymous = Partner(site)  # a valid CSRF token of a session that is not (or no longer) logged in
    token = csrf(anonymous.get("/login"))
    r = anonymous.post("/practices/new?lang=de", [("csrf_token", token), *NEW_PRACTICE.items(), ("action", "submit")])
    assert r.status_code == 401
    assert "Ihre Sitzung ist abgelaufen" in r.text and "Village data cafés" in r.text and "residents" in r.text


def test_check_as_you_go_through_validate_in_the_pages_language(site):
    anna = Partner(site, "anna")
    token = csrf(anna.get("/practices/new"))
    data = {**NEW_PRACTICE, "form": "practice", "csrf_token": token, "summary.en": "",
            "stakeholders.0.role": "boss"}
    r = anna.http.post(f"{site.url}/validate?lang=de", data=data, headers={"Accept": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["conforms"] is False
    summary = "Eine Praxis braucht eine kurze Zusammenfassung auf Englisch."
    assert answer["problems"]["summary"] == [{"severity": "Violation", "message": summary}]
    role = answer["problems"]["stakeholders.0.role"]
    assert role[0]["message"].startswith("Jeder Akteurseintrag braucht genau eine Rolle")
    assert "description" in answer["problems"] and answer["problems"]["description"][0]["severity"] == "Warning"
    assert not [s for s in submissions_of(site, "anna") if s.text and "boss" in s.text]  # nothing stored


def test_typeahead_and_names_typed_into_search_fields(site):
    found = requests.get(f"{site.url}/practices/lookup", params={"field": "main_institution", "q": "longford"},
                         timeout=30).json()
    assert {"value": "organisation/longford-county-council", "label": "Longford County Council"} in found
    found = requests.get(f"{site.url}/practices/lookup", params={"field": "region", "q": "paijat"},
                         timeout=30).json()
    assert any(o["value"] == "FI1C3" for o in found)  # accents and case do not matter
    found = requests.get(f"{site.url}/practices/lookup", params={"field": "stakeholders.organisation", "q": "emra"},
                         timeout=30).json()
    assert found and found[0]["value"] == "organisation/emra"
    r = requests.get(f"{site.url}/practices/lookup", params={"field": "title", "q": "x"}, timeout=30)
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    anna = Partner(site, "anna")
    form = anna.get("/practices/new")
    assert '<option value="organisation/longford-county-council">Longford County Council</option>' in form.text
    r = anna.post("/practices/new", [("csrf_token", csrf(form)), *{**NEW_PRACTICE, "slug": "typed-name",
                  "main_institution": "Longford County Council", "action": "draft"}.items()])
    assert r.status_code == 303
    sub = next(s for s in submissions_of(site, "anna") if s.slug == "typed-name")
    assert "main_institution:\n- organisation/longford-county-council" in sub.text


def test_a_shape_added_to_the_shapes_is_in_the_page(site):
    """The form's page is drawn from the form model alone: a new shape makes a new field with its label, its help
    and one input per language it allows."""
    with site.app.test_request_context("/practices/new"):
        from flask import g

        g.lang = "en"
        html = render_template("contribute/form.html", form=form_with(EXTRA_SHAPE), values={}, problems={},
                               mode="new", slug="", sub=None, base_etag="", message="", note="", action="/x",
                               lookups={}, extra={}, lang="en", summary=[])
    assert 'name="challenge.en"' in html and 'name="challenge.pl"' in html and 'name="challenge.fi"' not in html
    assert "Challenge met" in html and "The problem it answers." in html
