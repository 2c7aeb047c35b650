"""The review workflow over real HTTP: a contributor's submission is stored and versioned but public nowhere (pages,
search, anonymous /sparql, dumps, sitemap, /ldes) until a reviewer approves it; then it is everywhere, and in /ldes
as a new member. Sending back shows the comment to the author; states are RDF (adms:status); an edit that the
published practice overtook is not approved over it; who may edit which practice (403 naming the rule)."""

from __future__ import annotations

import time

import pytest
import rdflib
import requests

from next2met.graph.http import Fetcher, FetchPolicy
from next2met.graph.ldes_reader import read_ldes
from tests.test_server.contribute_helpers import ADMIN_TOKEN, HTML, NEW_PRACTICE, Partner, csrf, serve

SLUG = NEW_PRACTICE["slug"]
BASE = "https://w3id.org/next2met/"
ADMS_STATUS = rdflib.URIRef("http://www.w3.org/ns/adms#status")
ASK = f"ASK {{ <{BASE}practice/{SLUG}> ?p ?o }}"


@pytest.fixture
def site(store_copy, tmp_path):
    s = serve(store_copy, tmp_path)
    yield s
    s.close()


def submit(partner: Partner, data: dict | None = None) -> int:
    r = partner.form_post("/practices/new", {**NEW_PRACTICE, **(data or {}), "action": "submit"})
    assert r.status_code == 303, r.text[:3000]
    return int(r.headers["Location"].split("submitted-")[1].split("&")[0])


def public_everywhere(site, present: bool) -> None:
    """Is the practice on the public pages, in the search, in anonymous /sparql, the sitemap, the dumps, /ldes?"""
    anonymous = requests.Session()
    page = anonymous.get(f"{site.url}/practice/{SLUG}", headers=HTML, timeout=30)
    assert page.status_code == (200 if present else 404)
    search = anonymous.get(f"{site.url}/practices.json", params={"q": "village data"}, timeout=30).json()
    assert any(SLUG in str(hit) for hit in search["results"]) is present
    answer = anonymous.get(f"{site.url}/sparql", params={"query": ASK},
                           headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    assert answer["boolean"] is present
    assert (f"/practice/{SLUG}" in anonymous.get(f"{site.url}/sitemap.xml", timeout=30).text) is present
    stream = read_ldes(f"{site.url}/ldes", fetcher=Fetcher(FetchPolicy(allow_private=True)))
    assert any(m.resource == f"{BASE}practice/{SLUG}" for m in stream.members) is present
    deadline = time.monotonic() + 60
    while (SLUG in anonymous.get(f"{site.url}/dumps/next2met.nt", timeout=30).text) is not present:
        assert time.monotonic() < deadline, "the dumps did not follow within a minute"
        time.sleep(0.5)


def test_a_submission_is_public_nowhere_until_a_reviewer_approves_it(site):
    anna = Partner(site, "anna")
    number = submit(anna)
    mine = anna.get("/submissions")
    assert f'id="submission-{number}"' in mine.text and "Village data cafés" in mine.text
    assert (site.data / ".next2met" / "submissions" / f"{number}.yaml").is_file()
    assert not (site.data / "practices" / f"{SLUG}.yaml").exists()
    public_everywhere(site, present=False)
    rita = Partner(site, "rita")
    queue = rita.get("/review")
    assert f"/review/{number}" in queue.text
    review = rita.get(f"/review/{number}")
    assert "Village data cafés" in review.text and 'id="approve"' in review.text
    assert "12000" in review.text  # the diff shows the new budget
    r = rita.post(f"/review/{number}/approve", {"csrf_token": csrf(review), "comment": "welcome"})
    assert r.status_code == 303, r.text
    public_everywhere(site, present=True)
    assert (site.data / "practices" / f"{SLUG}.yaml").is_file()
    history = requests.get(f"{site.url}/practice/{SLUG}/history", headers={"Accept": "application/json"},
                           timeout=30).json()
    assert any("approved by rita" in str(v) for v in history.get("versions", history))
    state = anna.get(f"/review/{number}.ttl")
    g = rdflib.Graph().parse(data=state.text, format="turtle")
    assert (None, ADMS_STATUS, rdflib.URIRef(f"{BASE}concept/submission-status/approved")) in g


def test_send_back_with_a_comment_the_author_reads_then_resubmit(site):
    anna, rita = Partner(site, "anna"), Partner(site, "rita")
    number = submit(anna)
    review = rita.get(f"/review/{number}")
    r = rita.post(f"/review/{number}/send-back", {"csrf_token": csrf(review), "comment": ""})
    assert r.status_code == 303 and "comment-needed" in r.headers["Location"]  # a comment is required
    r = rita.post(f"/review/{number}/send-back", {"csrf_token": csrf(review),
                                                  "comment": "Please add the village hall's organisation."})
    assert r.status_code == 303
    mine = anna.get("/submissions")
    assert "Please add the village hall&#39;s organisation." in mine.text
    g = rdflib.Graph().parse(data=anna.get(f"/review/{number}.ttl").text, format="turtle")
    assert (None, ADMS_STATUS, rdflib.URIRef(f"{BASE}concept/submission-status/sent-back")) in g
    assert any("village hall" in str(o) for o in g.objects(None, rdflib.URIRef("https://schema.org/text")))
    edit = anna.get(f"/submissions/{number}/edit")
    assert "Village data cafés" in edit.text and "Please add the village hall" in edit.text
    revision = edit.text.split('name="revision" value="')[1].split('"')[0]
    data = {**NEW_PRACTICE, "action": "submit", "revision": revision,
            "stakeholders.1.organisation": "organisation/emra", "stakeholders.1.role": "partner"}
    r = anna.post(f"/submissions/{number}/edit", [("csrf_token", csrf(edit)), *data.items()])
    assert r.status_code == 303, r.text[:2000]
    assert f"/review/{number}" in rita.get("/review").text
    versions = site.kg.extensions["submissions"].versions(number)
    assert [v.message.split(":")[0] for v in versions] == ["submitted", "sent-back", "submitted"]


def test_a_stale_edit_is_not_approved_over_a_newer_version(site):
    anna, rita = Partner(site, "anna"), Partner(site, "rita")
    slug = "digital-consultations-longford"
    form = anna.get(f"/practice/{slug}/edit")
    assert form.status_code == 200 and "Digital consultations to inform Local Digital Strategies" in form.text
    r = anna.post(f"/practice/{slug}/edit", [("csrf_token", csrf(form)), ("action", "submit"), *_fields(form.text,
                  {"title.en": "Digital consultations (edited by anna)"})])
    assert r.status_code == 303, r.text[:3000]
    number = int(r.headers["Location"].split("submitted-")[1].split("&")[0])
    # meanwhile an administrator changes the published practice through the API
    api = requests.get(f"{site.url}/api/practices/{slug}", headers={"Accept": "application/yaml"}, timeout=30)
    changed = api.text.replace("Survey123 for ArcGIS", "Survey123")
    r = requests.put(f"{site.url}/api/practices/{slug}", data=changed.encode(), timeout=60,
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/yaml",
                              "If-Match": api.headers["ETag"]})
    assert r.status_code == 200, r.text
    review = rita.get(f"/review/{number}")
    assert "changed after this edit was begun" in review.text
    r = rita.post(f"/review/{number}/approve", {"csrf_token": csrf(review)}, headers={"Accept": "application/json"})
    assert r.status_code == 412 and "Send it back" in r.json()["detail"]
    page = requests.get(f"{site.url}/practice/{slug}", headers=HTML, timeout=30).text
    assert "edited by anna" not in page and "Survey123 for ArcGIS" not in page


def _fields(html: str, changes: dict) -> list[tuple[str, str]]:
    """The values a browser would send for the form in ``html`` (text inputs, text areas, checked boxes, chosen
    options), with ``changes`` applied."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__()
            self.pairs, self.area, self.select = [], None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("hidden", "submit"):
                if a.get("type") != "checkbox" or "checked" in a:
                    self.pairs.append([name, a.get("value") or ""])
            elif tag == "input" and name and a.get("type") == "hidden" and name in ("base_etag", "slug", "revision"):
                self.pairs.append([name, a.get("value") or ""])
            elif tag == "textarea" and name:
                self.area = [name, ""]
                self.pairs.append(self.area)
            elif tag == "select":
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                self.pairs.append([self.select, a.get("value") or ""])

        def handle_endtag(self, tag):
            if tag == "textarea":
                self.area = None
            elif tag == "select":
                self.select = None

        def handle_data(self, data):
            if self.area is not None:
                self.area[1] += data

    reader = Reader()
    reader.feed(html.split('id="practice-form"', 1)[1])
    pairs = [(k, changes.get(k, v)) for k, v in reader.pairs if k not in ("csrf_token", "action")]
    return pairs + [(k, v) for k, v in changes.items() if k not in {p[0] for p in pairs}]


def test_who_may_edit_which_practice(site):
    slug = "digital-consultations-longford"  # in IE063, by Longford County Council, submitted by EMRA
    bob = Partner(site, "bob")  # a contributor for Päijät-Häme
    r = bob.get(f"/practice/{slug}/edit")
    assert r.status_code == 403
    assert "own organisation or region" in r.text and "FI1C" in r.text and "IE063" in r.text
    r = bob.http.get(f"{site.url}/practice/{slug}/edit", headers={"Accept": "application/json"}, timeout=30)
    assert r.status_code == 403 and "organisation or region" in r.json()["detail"]
    assert Partner(site, "anna").get(f"/practice/{slug}/edit").status_code == 200  # IE06 contains IE063
    assert Partner(site, "rita").get("/review").status_code == 200
    r = Partner(site, "anna").http.get(f"{site.url}/review", headers={"Accept": "application/json"}, timeout=30)
    assert r.status_code == 403  # the queue is for reviewers
    anonymous = requests.get(f"{site.url}/practice/{slug}/edit", headers=HTML, allow_redirects=False, timeout=30)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")


def test_another_contributors_submission_is_theirs(site):
    number = submit(Partner(site, "anna"))
    bob = Partner(site, "bob")
    assert bob.get(f"/submissions/{number}/edit").status_code == 403
    assert bob.get(f"/submissions/{number}/preview").status_code == 403
    assert bob.http.get(f"{site.url}/review/{number}.ttl", timeout=30).status_code == 403
