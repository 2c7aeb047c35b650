"""The same checks of the source format reach the server over HTTP: ``/validate`` and the write API answer 400 with
the same one-line message as the command line for what the format cannot hold, and group a SHACL report by file and
line (``/validate``'s JSON and HTML, the write API's 422) the way ``next2met build`` prints it."""

from __future__ import annotations

import pytest
import requests

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOGIG = (paths.DATA_DIR / "practices" / "nogig-open-access-fibre.yaml").read_text()
# a practice of our own, so that writes touch nothing else
PRACTICE = NOGIG.replace("practice/nogig-open-access-fibre", "practice/format-test")
YAML = {"Content-Type": "application/yaml", "Accept": "application/json"}


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def typo(text: str) -> str:
    """The first stakeholder_type inside stakeholders: misspelt."""
    at = text.index("stakeholders:")
    return text[:at] + text[at:].replace("stakeholder_type:", "stakeholder_typ:", 1)


@pytest.fixture
def server(store_copy):
    app = create_app(make_settings(store_copy, update_token=TOKEN))
    live = LiveServer(app)
    yield live, app.extensions["next2met"]
    live.stop()
    app.extensions["next2met"].close()


def test_validate_refuses_a_nested_key_typo_with_its_line(server):
    live, _ = server
    body = typo(PRACTICE)
    r = requests.post(f"{live.url}/validate", data=body.encode(), headers=YAML, timeout=60)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json")
    line = line_of(body, "stakeholder_typ:")
    expected = (f"posted data: line {line}, column 5: unknown key 'stakeholder_typ' in stakeholders[1]; did you "
                "mean 'stakeholder_type'? (the source format has no such field, so its value would be lost)")
    assert r.json()["detail"] == expected and r.json()["problems"] == [expected]


def test_the_write_api_refuses_it_too_and_writes_nothing(server):
    live, kg = server
    before = kg.store.count()
    r = requests.put(f"{live.url}/api/practices/format-test", data=typo(PRACTICE).encode(),
                     headers={**YAML, **AUTH}, timeout=60)
    assert r.status_code == 400
    assert "request body: line " in r.json()["detail"] and "did you mean 'stakeholder_type'?" in r.json()["detail"]
    assert kg.store.count() == before
    assert requests.get(f"{live.url}/api/practices/format-test", timeout=30).status_code == 404


def test_validate_groups_its_report_by_file_and_line(server):
    live, _ = server
    body = PRACTICE.replace("measures: [connectivity]", "measures: [conectivity]")
    r = requests.post(f"{live.url}/validate", data=body.encode(), headers=YAML, timeout=60)
    assert r.status_code == 200
    report = r.json()
    assert report["conforms"] is False and report["violations"] == 1
    violations = [(group["file"], res["line"], res["path"]) for group in report["files"]
                  for res in group["results"] if res["severity"] == "Violation"]
    assert violations == [("posted data", line_of(body, "measures:"), "n2m:measureType")]
    assert sum(report["warningKinds"].values()) == report["warnings"] > 0
    assert report["summary"].startswith("Does not conform: 1 violation in 1 file; ")
    page = requests.post(f"{live.url}/validate", data={"data": body, "format": "application/yaml"},
                         headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200
    assert f"line {line_of(body, 'measures:')}" in page.text and "Warnings by kind" in page.text


def test_the_write_api_422_has_the_same_grouping(server):
    live, kg = server
    before = kg.store.count()
    body = PRACTICE.replace("measures: [connectivity]", "measures: [conectivity]")
    r = requests.put(f"{live.url}/api/practices/format-test", data=body.encode(), headers={**YAML, **AUTH},
                     timeout=60)
    assert r.status_code == 422
    problem = r.json()
    assert [(g["file"], [(v["line"], v["path"]) for v in g["results"]]) for g in problem["files"]] == [
        ("request body", [(line_of(body, "measures:"), "n2m:measureType")])]
    assert len(problem["violations"]) == 1  # the same violation, once
    assert problem["report"].startswith("Violations in request body\n")
    assert kg.store.count() == before
