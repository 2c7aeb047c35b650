"""An approval that fails half-way is recovered by approving again, over real HTTP with a real disk fault.

Approving publishes the practice through the write path and then records "approved" on the submission. Here the
submissions' folder is a small file system of its own (a tmpfs mounted for the test; skipped where mounting is not
allowed), filled to the last block after the contributor has submitted: the practice is published, the approval
cannot be recorded (507 saying so). Once the folder takes files again, the same approval answers 200 and records
the approval only: one published version, the submission approved and naming it. For an edit of a published
practice too, where the practice's version no longer being the one the edit began from would otherwise refuse the
approval (412), and through the reviewer's page."""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest
import rdflib
import requests

from next2met.graph.changes.history import History
from tests.test_server.contribute_helpers import HTML, NEW_PRACTICE, Partner, csrf, serve
from tests.test_server.test_disk_faults import fill
from tests.test_server.test_review import ADMS_STATUS, BASE, SLUG, _fields, submit

PROV_GENERATED = rdflib.URIRef("http://www.w3.org/ns/prov#generated")


@pytest.fixture
def site_with_small_submissions_folder(store_copy, tmp_path):
    site = serve(store_copy, tmp_path)
    folder = site.data / ".next2met" / "submissions"
    folder.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        site.close()
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    yield site, folder
    site.close()
    subprocess.run(["umount", "-l", str(folder)], check=False)


def approve(site, number: int, comment: str) -> requests.Response:
    return requests.post(
        f"{site.url}/review/{number}/approve",
        data={"comment": comment},
        headers={"Authorization": f"Bearer {site.tokens['rita']}", "Accept": "application/json"},
        timeout=120,
    )


def submission_status(site, number: int) -> tuple[str, str | None]:
    r = requests.get(f"{site.url}/review/{number}.ttl", headers={"Authorization": f"Bearer {site.tokens['rita']}"},
                     timeout=30)
    assert r.status_code == 200, r.text[:500]
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    this = rdflib.URIRef(f"{BASE}submission/{number}")
    status = str(g.value(this, ADMS_STATUS)).rsplit("/", 1)[-1]
    generated = g.value(this, PROV_GENERATED)
    return status, str(generated) if generated is not None else None


def test_an_approval_cut_short_by_a_full_disk_is_recorded_when_approved_again(site_with_small_submissions_folder):
    site, folder = site_with_small_submissions_folder
    number = submit(Partner(site, "anna"))
    filler = fill(folder)
    try:
        r = approve(site, number, "welcome")
        assert r.status_code == 507, r.text[:1000]
        assert r.headers["Content-Type"].startswith("application/problem+json")
        detail = r.json()["detail"]
        assert f"practice/{SLUG} is published" in detail and "Approve it again" in detail
        assert str(folder) in detail and "nothing was changed" not in detail
        # the half state: public, while the submission still waits for review
        assert requests.get(f"{site.url}/practice/{SLUG}", headers=HTML, timeout=30).status_code == 200
        assert submission_status(site, number) == ("submitted", None)
        queue = requests.get(f"{site.url}/review", headers={"Authorization": f"Bearer {site.tokens['rita']}",
                                                            "Accept": "application/json"}, timeout=30).json()
        assert number in [s["submission"] for s in queue]
        detail_json = requests.get(f"{site.url}/review/{number}", timeout=30, headers={
            "Authorization": f"Bearer {site.tokens['rita']}", "Accept": "application/json"}).json()
        published = detail_json["published_as"]
        assert isinstance(published, int)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(filler)

    r = approve(site, number, "welcome, second try")
    assert r.status_code == 200, r.text[:1000]
    assert r.json() == {"submission": number, "status": "approved", "practice": f"{BASE}practice/{SLUG}",
                        "version": published}
    assert submission_status(site, number) == ("approved", f"{BASE}practice/{SLUG}?version={published}")
    # no duplicate: the practice was published once, by this submission, in the version the submission names
    data_history = [v for v in History(site.data).versions() if f"{BASE}practice/{SLUG}" in v.subjects]
    assert [(v.number, v.message) for v in data_history] == [
        (published, f"submission {number} by anna, approved by rita: welcome")]
    page_history = requests.get(f"{site.url}/practice/{SLUG}/history", headers={"Accept": "application/json"},
                                timeout=30).json()
    assert [v["version"] for v in page_history["versions"]] == [published]
    assert [p.name for p in (site.data / "practices").glob("village-data-cafes*")] == ["village-data-cafes.yaml"]
    # the submission's own history: submitted, then approved once (the failed attempt left no version)
    versions = site.kg.extensions["submissions"].versions(number)
    assert [v.message for v in versions] == [f"submitted: {SLUG}", f"approved: {SLUG}: welcome, second try"]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    # a third approval is refused: the submission is approved already
    assert approve(site, number, "again").status_code == 409
    assert NEW_PRACTICE["title.en"] in requests.get(f"{site.url}/practice/{SLUG}", headers=HTML, timeout=30).text


def test_an_edit_whose_approval_was_cut_short_is_approved_again_from_the_review_page(
    site_with_small_submissions_folder,
):
    site, folder = site_with_small_submissions_folder
    slug, title = "digital-consultations-longford", "Digital consultations (edited by anna)"
    iri = f"{BASE}practice/{slug}"
    anna, rita = Partner(site, "anna"), Partner(site, "rita")
    form = anna.get(f"/practice/{slug}/edit")
    r = anna.post(f"/practice/{slug}/edit", [("csrf_token", csrf(form)), ("action", "submit"),
                                             *_fields(form.text, {"title.en": title})])
    assert r.status_code == 303, r.text[:3000]
    number = int(r.headers["Location"].split("submitted-")[1].split("&")[0])
    before = [v.number for v in History(site.data).versions() if iri in v.subjects]
    filler = fill(folder)
    try:
        assert approve(site, number, "thanks").status_code == 507
    finally:
        with contextlib.suppress(OSError):
            os.unlink(filler)
    assert title in requests.get(f"{site.url}/practice/{slug}", headers=HTML, timeout=30).text
    published = [v for v in History(site.data).versions() if iri in v.subjects and v.number not in before]
    assert len(published) == 1
    # the reviewer's page says what happened and offers the approval (not "changed after this edit was begun")
    review = rita.get(f"/review/{number}")
    assert 'id="already-published"' in review.text and f"(version {published[0].number})" in review.text
    assert "changed after this edit was begun" not in review.text
    assert 'id="approve" disabled' not in review.text
    r = rita.post(f"/review/{number}/approve", {"csrf_token": csrf(review), "comment": ""})
    assert r.status_code == 303 and "approved-" in r.headers["Location"], r.text[:1000]
    assert submission_status(site, number) == ("approved", f"{iri}?version={published[0].number}")
    assert [v.number for v in History(site.data).versions() if iri in v.subjects and v.number not in before] == [
        published[0].number]
