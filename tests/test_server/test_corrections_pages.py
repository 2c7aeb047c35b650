"""The corrections and additions of the third source pass are what partners read: the pages of the Alte Mensa, the
Lahti digital culture practice, nöGIG and the project over real HTTP, and the new practices and events with their
links."""

from __future__ import annotations

import html
import re

import pytest
import requests

HTML = {"Accept": "text/html", "Accept-Language": "en"}


def page(live_server, path: str) -> str:
    r = requests.get(f"{live_server.url}{path}", headers=HTML, timeout=30)
    assert r.status_code == 200, path
    return r.text


def text(markup: str) -> str:
    """What a reader sees: the page without its tags and scripts, spaces folded."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def links(markup: str) -> set[str]:
    return set(re.findall(r'href="([^"#?]+)', markup))


def test_alte_mensa_page_tells_the_re_plan(live_server):
    seen = text(page(live_server, "/practice/alte-mensa-greifswald"))
    assert "DIZ Greifswald - digital innovation centre first planned in the Alte Mensa" in seen
    assert "on 25 September 2025 the city announced" in seen and "BioTechnikum" in seen
    assert "2025-09-25" in seen  # the dated milestone
    assert "17,000,000 EUR" in seen  # the funding kept
    assert "is converting the Alte Mensa" not in seen


def test_lahti_digital_culture_page_keeps_malva_out_of_the_2020_visits(live_server):
    seen = text(page(live_server, "/practice/digital-culture-lahti"))
    assert "Digital culture experiences in Lahti (Radio and TV Museum, virtual-reality projects)" in seen
    assert "opened on 29 April 2022" in seen and "was not part of these visits" in seen
    assert re.search(r"2020-01-14 site visits .*2022-04-29 MALVA visual arts museum opens", seen)
    assert "Policy Learning Event 1" in seen


def test_nogig_page_shows_the_2016_award_and_both_pilot_figures(live_server):
    seen = text(page(live_server, "/practice/nogig-open-access-fibre"))
    assert "Awards" in seen and "European Broadband Award 2016, winner in the category 'Openness and competition'" \
        in seen
    assert "30,000,000 EUR" in seen and "5,000,000 EUR" in seen


def test_project_page_has_the_exact_budget_and_resolvo_its_role(live_server):
    seen = text(page(live_server, "/project/next2met"))
    assert "1,358,584" in seen and "1,360,000" not in seen
    resolvo = text(page(live_server, "/organisation/resolvo"))
    assert "Resolvo Srl" in resolvo and "consultancy" in resolvo


def test_other_corrections_reach_their_pages(live_server):
    strategy = text(page(live_server, "/practice/lower-austria-digitalisation-strategy"))
    assert "launched in January 2018" in strategy and "2018-01 Digitalisation Strategy launched" in strategy
    instrument = text(page(live_server, "/instrument/rop-podlaskie-2014-2020"))
    assert "Measure 8.1" in instrument and "REACT-EU" in instrument


@pytest.mark.parametrize("practice, must_link", [
    ("calella-tourist-intelligence-system", {"/event/calella-visit", "/organisation/calella-city-council",
                                             "/practice/calella-sport-city-lab"}),
    ("evrylab-imc-krems", {"/event/study-visit-krems-2022", "/organisation/imc-fh-krems"}),
    ("digitalisation-lifelong-learning-krems", {"/event/study-visit-krems-2022",
                                                "/organisation/university-continuing-education-krems"}),
])
def test_new_practices_appear_with_their_links(live_server, practice, must_link):
    markup = page(live_server, f"/practice/{practice}")
    assert must_link <= links(markup)
    listed = requests.get(f"{live_server.url}/practices.json", params={"per_page": 100}, timeout=30).json()
    assert f"/practice/{practice}" in {item["url"] for item in listed["results"]}  # in the list partners browse


@pytest.mark.parametrize("event, seen_text, must_link", [
    ("study-visit-krems-2022", "Krems an der Donau and St. Pölten",
     {"/practice/evrylab-imc-krems", "/practice/digitalisation-lifelong-learning-krems"}),
    ("emra-smart-agriculture-2020-11", "2020-11-23", {"/event/emra-digibale-meetings", "/organisation/emra"}),
    ("paijat-hame-stakeholder-meeting-2020-11", "2020-11-24", {"/project/next2met"}),
    ("eu-regions-week-2021-workshop", "Is Your Region Worth Your Love?", {"/project/next2met"}),
    ("calella-visit", "Tourist Intelligence System", {"/practice/calella-tourist-intelligence-system",
                                                      "/organisation/calella-city-council"}),
])
def test_new_and_updated_events_appear_with_their_links(live_server, event, seen_text, must_link):
    markup = page(live_server, f"/event/{event}")
    assert seen_text in text(markup)
    assert must_link <= links(markup)
