"""Evidence packs: from a /practices selection and from a research question, on a release; the packed SPARQL
re-run against that release gives the packed CSV, also after the live data changed."""

from __future__ import annotations

import io
import json
import zipfile

import requests

from next2met.graph.cli import main
from tests.test_research.conftest import BASE, LONGFORD


def unpack(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(response.content))
    return {name.removeprefix("evidence-pack/"): z.read(name) for name in z.namelist()}


def rerun(served, sparql: str, release: str) -> bytes:
    r = requests.post(f"{served.url}/sparql", data={"query": sparql, "release": release},
                      headers={"Accept": "text/csv"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.content


def test_packs_rerun_against_their_release(served, capsys):
    assert main(["release", "p1", "--store", served.kg.settings.store]) == 0
    capsys.readouterr()
    search = {"q": "digital", "region": "IE06", "release": "p1"}
    practices = unpack(requests.get(f"{served.url}/practices/evidence.zip", params=search, timeout=60))
    hubs = unpack(requests.get(f"{served.url}/queries/network-hubs/evidence.zip",
                               params={"kind": "organisation", "top": "4", "release": "p1"}, timeout=60))
    # the live data changes after the packs were made: the Longford practice is renamed
    renamed = LONGFORD.replace("Digital consultations", "Renamed consultations")
    r = served.write("PUT", "digital-consultations-longford", renamed)
    assert r.status_code == 200, r.text
    served.derived()  # the learning network follows the write in the background
    for pack, name in ((practices, "practices"), (hubs, "network-hubs")):
        manifest = json.loads(pack["manifest.json"])
        assert manifest["data"]["release"] == "p1"
        assert len(manifest["data"]["dataGeneration"]) == 64
        assert "release p1" in manifest["citation"] and "CITATION.cff" in pack and "CITATION.bib" in pack
        table = manifest["tables"][0]
        csv = pack[table["csv"]]
        assert table["rows"] > 0 and csv.count(b"\r\n") == table["rows"] + 1
        assert rerun(served, pack[table["sparql"]].decode(), "p1") == csv
        assert "report.html" in pack and b"<svg" in pack["report.html"]
        assert pack["queries/" + name + ".rq"] == pack[table["sparql"]]
    # the /practices pack names the search and lists the selected practices, in JSON-LD too
    manifest = json.loads(practices["manifest.json"])
    assert manifest["selection"]["search"] == {"q": "digital", "region": ["IE06"]}
    assert b"Digital consultations to inform" in practices["tables/practices.csv"]
    assert f"{BASE}practice/digital-consultations-longford".encode() in practices["practices.jsonld"]
    assert any(name.startswith("charts/") and name.endswith(".svg") for name in practices)
    # on the live data the same query now answers differently: the pack kept what it was run on
    live = requests.get(f"{served.url}/queries/network-hubs/evidence.zip",
                        params={"kind": "organisation", "top": "4"}, timeout=60)
    assert json.loads(unpack(live)["manifest.json"])["data"]["release"] is None


def test_pack_pages_link_and_bad_requests(served):
    page = requests.get(f"{served.url}/practices", params={"q": "hub"}, headers={"Accept": "text/html"},
                        timeout=30).text
    assert 'href="/practices/evidence.zip?q=hub"' in page
    page = requests.get(f"{served.url}/queries/network-hubs", headers={"Accept": "text/html"}, timeout=30).text
    assert "/queries/network-hubs/evidence.zip" in page
    r = requests.get(f"{served.url}/practices/evidence.zip", params={"release": "missing"}, timeout=30)
    assert r.status_code == 404
    r = requests.get(f"{served.url}/queries/no-such-query/evidence.zip", timeout=30)
    assert r.status_code == 404
