"""/dumps: every format parses to exactly the store's data, the files are regenerated when the data changes and are
the same bytes for the same data; /sitemap.xml lists every resource page with its lastmod; /robots.txt points to
the sitemap."""

from __future__ import annotations

import gzip
import hashlib
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest

from next2met.graph.dumps import DUMP_FORMATS, write_dumps
from next2met.graph.formats import guess_format
from next2met.graph.settings import Settings
from next2met.server.app import create_app
from next2met.server.state import Change
from tests.conftest import prepared

FILES = [f"next2met.{fmt.suffix}{gz}" for fmt in DUMP_FORMATS for gz in ("", ".gz")]
DCT = "http://purl.org/dc/terms/"
N2M = "https://w3id.org/next2met/ontology#"


def download(client, path: str) -> tuple[int, str, bytes]:
    with client.get(path) as response:  # closes the file the response streams
        return response.status_code, response.mimetype, response.data


def canonical(quads, with_graphs: bool) -> set[str]:
    """The data with blank nodes relabelled canonically (RDFC-1.0), as N-Quads lines, to compare any two copies."""
    ds = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object, q.graph_name if with_graphs else ox.DefaultGraph())
                    for q in quads)
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in ds}


@pytest.fixture(scope="module")
def store_data(app):
    quads = list(app.extensions["next2met"].store.quads())
    return {True: canonical(quads, True), False: canonical(quads, False)}


@pytest.mark.parametrize("name", FILES)
def test_every_dump_holds_exactly_the_store_data(client, store_data, name):
    status, mimetype, body = download(client, f"/dumps/{name}")
    assert status == 200
    if name.endswith(".gz"):
        assert mimetype == "application/gzip"
        body = gzip.decompress(body)
    fmt = guess_format(Path(name))
    assert mimetype == ("application/gzip" if name.endswith(".gz") else fmt.media_type)
    parsed = list(ox.parse(body, format=fmt.ox_format))
    assert canonical(parsed, fmt.quads) == store_data[fmt.quads]
    assert len({(q.subject, q.predicate, q.object) for q in parsed}) == len(store_data[False])


def test_listing_matches_the_files(client):
    listing = client.get("/dumps").get_json()
    assert sorted(f["url"].rsplit("/", 1)[-1] for f in listing["files"]) == sorted(FILES)
    for f in listing["files"]:
        _, _, body = download(client, f["url"].replace("http://localhost", ""))
        assert (len(body), hashlib.sha256(body).hexdigest()) == (f["bytes"], f["sha256"])


def test_same_data_gives_same_bytes(app, tmp_path):
    kg = app.extensions["next2met"]
    served = {f.filename: f.sha256 for f in kg.extensions["publish"].dumps.files}
    again = write_dumps(kg.store, tmp_path / "again", force=True)
    assert {f.filename: f.sha256 for f in again.files} == served


def test_unknown_files_are_404_problems(client):
    status, mimetype, body = download(client, "/dumps/next2met.xlsx")
    assert (status, mimetype) == (404, "application/problem+json")
    assert b"next2met.ttl.gz" in body  # the message lists what there is
    for path in ("/dumps/manifest.json", "/dumps/..%2Fmanifest.json", "/dumps/.next2met.ttl.part"):
        assert download(client, path)[0] == 404


@pytest.fixture
def fresh_app(store_copy):
    application = prepared(create_app(Settings(store=str(store_copy))))
    yield application
    application.extensions["next2met"].close()


def retitle(kg, title: str) -> str:
    """Change the English title of one practice through the store, as a write would; return the practice."""
    first = f"SELECT ?p ?g WHERE {{ GRAPH ?g {{ ?p a <{N2M}GoodPractice> }} }} ORDER BY ?p LIMIT 1"
    row = kg.store.query(first).rows()[0]
    practice, graph = row["p"], row["g"]
    quads = [q for q in kg.store.quads(graph.value)
             if not (q.subject == practice and q.predicate.value == DCT + "title" and q.object.language == "en")]
    quads.append(ox.Quad(practice, ox.NamedNode(DCT + "title"), ox.Literal(title, language="en"), graph))
    with kg.write_lock:
        kg.store.replace_graphs({graph.value: quads})
        kg.changed(Change((graph.value,), "update"))
    return practice.value


def test_dumps_are_regenerated_when_the_data_changes(fresh_app):
    client = fresh_app.test_client()
    before = client.get("/dumps").get_json()
    retitle(fresh_app.extensions["next2met"], "A title written by the dump test")
    deadline = time.monotonic() + 60  # written in the background: poll as a harvester would
    while (after := client.get("/dumps").get_json())["generation"] == before["generation"]:
        assert time.monotonic() < deadline, "the dumps were not rewritten within a minute"
        time.sleep(0.1)
    assert after["generation"] == fresh_app.extensions["next2met"].store.generation
    assert {f["sha256"] for f in after["files"]}.isdisjoint({f["sha256"] for f in before["files"]})
    _, _, body = download(client, "/dumps/next2met.nt")
    assert b'"A title written by the dump test"@en' in body
    catalog = client.get("/catalog").data.decode()
    assert all(f["sha256"] in catalog for f in after["files"])


# -- sitemap and robots.txt ---------------------------------------------------------------------------------------
def sitemap(client) -> dict[str, str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.fromstring(response.data)
    return {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", default="", namespaces=ns)
            for u in root.findall("s:url", ns)}


def test_sitemap_lists_every_practice_with_its_modification_date(app, client):
    entries = sitemap(client)
    rows = app.extensions["next2met"].store.query(
        f"SELECT ?p (MAX(STR(?m)) AS ?mod) WHERE {{ ?p a <{N2M}GoodPractice> ; <{DCT}modified> ?m }} GROUP BY ?p"
    ).rows()
    assert rows
    base = app.extensions["next2met"].settings.base_iri
    for row in rows:
        url = "http://localhost/" + row["p"].value[len(base):]
        assert entries[url] == row["mod"].value[:10]


def test_sitemap_urls_are_pages(client):
    entries = sitemap(client)
    kinds: dict[str, str] = {}
    for url in entries:  # one page of each kind (practice, organisation, region, concept, ...)
        kinds.setdefault(url.split("/")[3], url)
    assert {"practice", "organisation", "region", "concept"} <= set(kinds)
    for url in kinds.values():
        response = client.get(url.replace("http://localhost", ""), headers={"Accept": "text/turtle"})
        assert response.status_code == 200, url


def test_robots_points_to_the_sitemap(client):
    body = client.get("/robots.txt").data.decode()
    assert "Sitemap: http://localhost/sitemap.xml" in body.splitlines()
    assert "Disallow: /sparql" in body.splitlines()


def test_only_the_gzip_files_are_kept_on_disk(app):
    """The uncompressed dumps are unzipped while sent: on disk each format takes its gzip file only."""
    harvest = app.extensions["next2met"].extensions["publish"]
    dumps = harvest.dumps
    on_disk = {p.name for p in (harvest.folder / dumps.folder).iterdir()}
    assert on_disk == {f.filename for f in dumps.files if f.compressed}
    assert {f.stored for f in dumps.files if not f.compressed} == on_disk
