"""A living graph over real HTTP: every write ends up in the data folder's YAML and survives a rebuild; ETags
stop lost updates; history, diff, versions and revert; what cannot be written back is refused with 409 naming
the file; a refused write changes nothing."""

from __future__ import annotations

import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml
from rdflib.compare import isomorphic

from next2met.graph.changes import Change
from next2met.graph.rdfio import quads_to_rdflib
from next2met.server.app import create_app
from tests.conftest import LiveServer, data_copy, derived, make_settings

TOKEN = "living-token"
BASE = "https://w3id.org/next2met/"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YAML = {"Content-Type": "application/yaml"}
SLUG = "digital-consultations-longford"
TITLE = "Digital consultations to inform Local Digital Strategies"


@pytest.fixture
def living(store_copy, tmp_path):
    data = data_copy(tmp_path / "data")
    app = create_app(make_settings(store_copy, update_token=TOKEN, data_dir=str(data)))
    server = LiveServer(app)
    yield server.url, app.extensions["next2met"], data
    server.stop()
    app.extensions["next2met"].close()


def read(url: str, slug: str = SLUG) -> requests.Response:
    r = requests.get(f"{url}/api/practices/{slug}", headers={"Accept": "application/yaml"})
    assert r.status_code == 200, r.text
    return r


def renamed(text: str, title: str) -> str:
    return text.replace(TITLE, title)


def dataset(store) -> set[str]:
    return {str(q) for q in store.quads()}


def test_put_writes_the_yaml_and_survives_a_rebuild(living):
    url, kg, data = living
    before = read(url)
    assert before.headers["ETag"].startswith('"')  # a strong ETag
    r = requests.put(f"{url}/api/practices/{SLUG}", data=renamed(before.text, "Consultations, renamed").encode(),
                     headers={**AUTH, **YAML, "If-Match": before.headers["ETag"], "X-Next2Met-Message": "shorter"})
    assert r.status_code == 200, r.text
    assert r.json()["files"] == [f"data/practices/{SLUG}.yaml"] and r.headers["ETag"] != before.headers["ETag"]
    source = (data / "practices" / f"{SLUG}.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(source)["title"]["en"] == "Consultations, renamed"
    assert source.startswith("#")  # the file's own comments stay
    derived(url)  # the derived graphs follow the write in the background
    stored = quads_to_rdflib(kg.store.quads())
    kg.apply(Change(channel="build", rebuild=True))  # next2met build
    derived(url)  # then the derived graphs, in the background
    assert isomorphic(quads_to_rdflib(kg.store.quads()), stored)


def test_update_into_a_practice_graph_is_written_back_and_survives_a_rebuild(living):
    url, kg, data = living
    graph = f"{BASE}graph/practices/{SLUG}"
    r = requests.post(f"{url}/update", headers={**AUTH, "Content-Type": "application/sparql-update"}, data=(
        f'INSERT DATA {{ GRAPH <{graph}> {{ <{BASE}practice/{SLUG}> '
        '<http://www.w3.org/ns/dcat#keyword> "consultation by update"@en } }').encode())
    assert r.status_code == 200, r.text
    assert r.json()["files"] == [f"data/practices/{SLUG}.yaml"]
    keywords = yaml.safe_load((data / "practices" / f"{SLUG}.yaml").read_text(encoding="utf-8"))["keywords"]["en"]
    assert "consultation by update" in keywords
    derived(url)  # the derived graphs follow the write in the background
    stored = quads_to_rdflib(kg.store.quads())
    kg.apply(Change(channel="build", rebuild=True))  # next2met build
    derived(url)  # then the derived graphs, in the background
    assert isomorphic(quads_to_rdflib(kg.store.quads()), stored)


def test_update_the_format_cannot_hold_is_refused_naming_the_file(living):
    url, kg, data = living
    graph = f"{BASE}graph/practices/{SLUG}"
    before, text = dataset(kg.store), (data / "practices" / f"{SLUG}.yaml").read_bytes()
    r = requests.post(f"{url}/update", headers={**AUTH, "Content-Type": "application/sparql-update"}, data=(
        f'INSERT DATA {{ GRAPH <{graph}> {{ <{BASE}practice/{SLUG}> <https://example.org/unknown> "x" }} }}'))
    assert r.status_code == 409 and r.headers["Content-Type"] == "application/problem+json"
    assert f"data/practices/{SLUG}.yaml" in r.json()["detail"]
    r = requests.post(f"{url}/update", headers={**AUTH, "Content-Type": "application/sparql-update"}, data=(
        f'INSERT DATA {{ GRAPH <{BASE}graph/ontology/next2met> {{ <{BASE}x> <{BASE}y> "z" }} }}'))
    assert r.status_code == 409 and "ontology/next2met.ttl" in r.json()["detail"]
    assert dataset(kg.store) == before and (data / "practices" / f"{SLUG}.yaml").read_bytes() == text


def test_preconditions(living):
    url, kg, _ = living
    current = read(url)
    body = renamed(current.text, "Changed").encode()
    r = requests.put(f"{url}/api/practices/{SLUG}", data=body, headers={**AUTH, **YAML})
    assert r.status_code == 428 and r.json()["type"].endswith("#precondition-required")
    assert r.headers["ETag"] == current.headers["ETag"]
    r = requests.put(f"{url}/api/practices/{SLUG}", data=body, headers={**AUTH, **YAML, "If-Match": '"stale"'})
    assert r.status_code == 412 and r.headers["ETag"] == current.headers["ETag"]
    assert "changed since you read it" in r.json()["detail"]
    r = requests.delete(f"{url}/api/practices/{SLUG}", headers={**AUTH, "If-Match": '"stale"'})
    assert r.status_code == 412
    assert read(url).headers["ETag"] == current.headers["ETag"]  # nothing changed


def test_two_concurrent_edits_one_wins(living):
    url, _, _ = living
    current = read(url)
    barrier = threading.Barrier(6)

    def edit(i: int) -> int:
        barrier.wait()
        return requests.put(f"{url}/api/practices/{SLUG}", data=renamed(current.text, f"Edit {i}").encode(),
                            headers={**AUTH, **YAML, "If-Match": current.headers["ETag"]}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(edit, range(6)))
    assert codes == [200] + [412] * 5


def test_concurrent_creates_of_one_practice_exactly_one_201(living):
    url, kg, data = living
    body = read(url).text.replace(f"practice/{SLUG}", "practice/brand-new-practice")
    barrier = threading.Barrier(6)

    def create(_: int) -> int:
        barrier.wait()
        return requests.post(f"{url}/api/practices", data=body.encode(), headers={**AUTH, **YAML}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(create, range(6)))
    assert codes == [201] + [409] * 5
    assert (data / "practices" / "brand-new-practice.yaml").is_file()


def test_invalid_write_changes_nothing_anywhere(living):
    url, kg, data = living
    current = read(url)
    before, files = dataset(kg.store), sorted(p.read_bytes() for p in data.rglob("*.yaml"))
    versions = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "application/json"}).json()
    bad = current.text.replace("  en: " + TITLE, "  fi: vain suomeksi")  # no English title: a violation
    r = requests.put(f"{url}/api/practices/{SLUG}", data=bad.encode(),
                     headers={**AUTH, **YAML, "If-Match": current.headers["ETag"]})
    assert r.status_code == 422 and any(v["path"] == "dcterms:title" for v in r.json()["violations"])
    assert dataset(kg.store) == before and sorted(p.read_bytes() for p in data.rglob("*.yaml")) == files
    assert requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "application/json"}).json() == versions


def test_history_diff_version_and_revert(living):
    url, kg, data = living
    first = read(url)
    r = requests.put(f"{url}/api/practices/{SLUG}", data=renamed(first.text, "Second title").encode(),
                     headers={**AUTH, **YAML, "If-Match": first.headers["ETag"], "X-Next2Met-Message": "rename"})
    v1 = r.json()["version"]
    second = read(url)
    r = requests.put(f"{url}/api/practices/{SLUG}", data=renamed(first.text, "Third title").encode(),
                     headers={**AUTH, **YAML, "If-Match": second.headers["ETag"]})
    v2 = r.json()["version"]
    history = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "application/json"}).json()
    assert [v["version"] for v in history["versions"]] == [v2, v1]
    assert history["versions"][1]["message"] == "rename" and history["versions"][1]["author"] == "maintainer"
    assert history["versions"][1]["changes"] == ["title"]
    html = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "text/html"}).text
    assert "rename" in html and f"?version={v1}" in html
    turtle = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "text/turtle"}).text
    assert "prov:Activity" in turtle or "http://www.w3.org/ns/prov#Activity" in turtle
    diff = requests.get(f"{url}/practice/{SLUG}/diff", params={"from": v1, "to": v2},
                        headers={"Accept": "application/json"}).json()
    assert diff["changes"] == [{"field": "title", "language": "en", "change": "changed", "old": ["Second title"],
                                "new": ["Third title"], "text": "title (en) changed from Second title to Third title"}]
    page = requests.get(f"{url}/practice/{SLUG}", params={"version": v1}, headers={"Accept": "text/html"}).text
    heading = re.search(r'<h1 id="practice-title"[^>]*>([^<]*)</h1>', page)
    assert heading and heading.group(1) == "Second title" and f"version {v1}" in page
    r = requests.post(f"{url}/api/practices/{SLUG}/revert", params={"version": v1}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert yaml.safe_load((data / "practices" / f"{SLUG}.yaml").read_text())["title"]["en"] == "Second title"
    # the history lives in the data folder: it survives a rebuild (and a restart: tests/test_server/test_crash.py)
    kg.apply(Change(channel="build", rebuild=True))  # next2met build (then the derived graphs)
    history = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "application/json"}).json()
    assert [v["version"] for v in history["versions"]][:3] == [r.json()["version"], v2, v1]


def test_history_of_unknown_practice_is_404(living):
    url, _, _ = living
    r = requests.get(f"{url}/practice/no-such-practice/history", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    r = requests.post(f"{url}/api/practices/{SLUG}/revert", params={"version": "x"}, headers=AUTH)
    assert r.status_code == 400 and "version" in r.json()["detail"]


def test_oversized_body_is_413(living):
    url, _, _ = living
    r = requests.put(f"{url}/api/practices/{SLUG}", data=b"x" * 2_000_000, headers={**AUTH, **YAML, "If-Match": "*"})
    assert r.status_code == 413 and r.headers["Content-Type"] == "application/problem+json"


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="no git")
def test_a_data_folder_that_is_a_git_repository_gets_a_commit_per_version(store_copy, tmp_path):
    data = data_copy(tmp_path / "data")
    subprocess.run(["git", "init", "-q", str(data)], check=True)
    subprocess.run(["git", "-C", str(data), "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(data), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
                   check=True)
    app = create_app(make_settings(store_copy, update_token=TOKEN, data_dir=str(data)))
    client = app.test_client()
    try:
        current = client.get(f"/api/practices/{SLUG}", headers={"Accept": "application/yaml"})
        r = client.put(f"/api/practices/{SLUG}", data=renamed(current.get_data(as_text=True), "Committed"),
                       headers={**AUTH, **YAML, "If-Match": current.headers["ETag"], "X-Next2Met-Message": "a fix"})
        assert r.status_code == 200, r.json
        log = subprocess.run(["git", "-C", str(data), "log", "-1", "--format=%an|%s", "--name-only"],
                             capture_output=True, text=True, check=True).stdout
        assert log.startswith("maintainer|a fix") and f"practices/{SLUG}.yaml" in log
        assert ".next2met" not in log
    finally:
        app.extensions["next2met"].close()



def test_the_language_menu_follows_the_data_after_each_change(living):
    """A title in a language no practice uses yet adds it to the menu; taking it out takes it away (the languages
    are kept by graph: a change reads only the graphs it names)."""
    url, _, _ = living

    def offered() -> bool:  # ?lang= is taken when the interface or the data has the language; links keep it
        page = requests.get(f"{url}/practices", params={"lang": "sv"}, headers={"Accept": "text/html"})
        assert page.status_code == 200
        return 'href="/?lang=sv"' in page.text

    def put(text: str, etag: str) -> None:
        r = requests.put(f"{url}/api/practices/{SLUG}", data=text.encode(), headers={**AUTH, **YAML, "If-Match": etag})
        assert r.status_code == 200, r.text

    assert not offered()
    before = read(url)
    put(before.text.replace(f"  en: {TITLE}\n", f"  en: {TITLE}\n  sv: Digitala samråd\n", 1), before.headers["ETag"])
    assert offered()
    now = read(url)
    put(now.text.replace("  sv: Digitala samråd\n", ""), now.headers["ETag"])
    assert not offered()
