"""The W3C SPARQL 1.1 Protocol tests (``tests/data/standards/w3c-sparql11-protocol/manifest.ttl``, 34 HTTP cases)
against a live server whose store holds the manifest's data files.

The manifest sends queries and updates to one path, ``/sparql/``. Here queries go to ``/sparql/`` and updates
(a body of type application/sparql-update, a form with ``update=``, or ``?update=`` in the URL) go to ``/update``
with the bearer token, since this server keeps updates apart; an update sent to ``/sparql`` gets 400 instead,
which ``test_sparql.py`` checks. The store is reset before each case, as the update cases clear it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from rdflib.collection import Collection
from werkzeug.serving import make_server

from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore
from next2met.server.app import create_app
from next2met.server.state import Change
from tests.conftest import data_copy

FOLDER = Path(__file__).resolve().parents[1] / "data" / "standards" / "w3c-sparql11-protocol"  # vendored

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
TOKEN = "w3c-test-token"
DATA = "http://kasei.us/2009/09/sparql/data/"
FORMATS = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values"},
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples"},
}


def read_manifest() -> list[dict]:
    g = rdflib.Graph().parse(FOLDER / "manifest.ttl", format="turtle")
    manifest = g.value(predicate=rdflib.RDF.type, object=MF.Manifest)
    cases = []
    for test in Collection(g, g.value(manifest, MF.entries)):
        action = g.value(test, MF.action)
        requests_ = []
        for req in Collection(g, g.value(action, HT.requests)):
            body = g.value(req, HT.body)
            headers = {}
            if g.value(req, HT.headers) is not None:
                for h in Collection(g, g.value(req, HT.headers)):
                    headers[str(g.value(h, HT.fieldName)).lower()] = str(g.value(h, HT.fieldValue))
            resp = g.value(req, HT.resp)
            requests_.append({
                "method": str(g.value(req, HT.methodName)),
                "path": str(g.value(req, HT.absolutePath)),
                "body": None if body is None else str(g.value(body, CNT.chars)),
                "encoding": None if body is None else str(g.value(body, CNT.characterEncoding) or "UTF-8"),
                "headers": headers,
                "statuses": {str(s).rsplit("StatusCode", 1)[-1][0] for s in g.objects(resp, MF.expectedStatus)},
                "format": g.value(resp, MF.expectedFormat),
                "boolean": g.value(resp, MF.expectedBoolean),
            })
        name = str(test).rsplit("#", 1)[-1]
        cases.append({"name": name, "title": str(g.value(test, MF.name)), "requests": requests_})
    return cases


CASES = read_manifest()


def update_side(case: dict) -> bool:
    return "update" in case["name"]  # update_*, bad_update_*, bad_multiple_updates


def goes_to_update(case: dict, req: dict) -> bool:
    """In an update case, every request but the checking queries is an update (valid or not)."""
    return update_side(case) and not req["headers"].get("content-type", "").startswith("application/sparql-query")


@pytest.fixture(scope="module")
def w3c(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w3c") / "store"
    quads = [ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(f"{DATA}data{i}.rdf"))
             for i in (1, 2, 3) for q in ox.parse(path=str(FOLDER / f"data{i}.nt"), format=ox.RdfFormat.N_TRIPLES)]
    store = OxigraphStore(folder)
    store.replace_dataset(quads)
    app = create_app(Settings(store=str(folder), update_token=TOKEN, data_dir=str(data_copy())), store=store,
                     build_if_empty=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", app, quads
    server.shutdown()
    app.extensions["next2met"].close()


def test_manifest_has_all_cases():
    assert len(CASES) == 34
    assert sum(not update_side(c) for c in CASES) == 20  # the query-side cases
    # every update case sends an update, and no query case does
    for case in CASES:
        sends_update = any("update" in (r["body"] or "") + r["path"] + r["headers"].get("content-type", "")
                           or r["body"] == "CLEAR NAMED" for r in case["requests"])
        assert sends_update == update_side(case), case["name"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_w3c_protocol(w3c, case):
    url, app, quads = w3c
    kg = app.extensions["next2met"]
    with kg.write_lock:  # each case starts from the manifest's data
        kg.store.replace_dataset(quads)
        kg.changed(Change((), "build"))
    for req in case["requests"]:
        path = req["path"]
        headers = dict(req["headers"])
        if goes_to_update(case, req):
            path = "/update" + path[len("/sparql/"):]
            headers["authorization"] = f"Bearer {TOKEN}"
        body = None if req["body"] is None else req["body"].encode(req["encoding"].lower())
        r = requests.request(req["method"], url + path, data=body, headers=headers, allow_redirects=False)
        assert str(r.status_code)[0] in req["statuses"], f"{case['title']}: {r.status_code} {r.text[:300]}"
        media = r.headers.get("Content-Type", "").split(";")[0]
        if req["format"] is not None:
            assert media in FORMATS[str(req["format"])], f"{case['title']}: {media}"
        if req["boolean"] is not None:
            fmt = ox.QueryResultsFormat.JSON if media.endswith("json") else ox.QueryResultsFormat.XML
            assert bool(ox.parse_query_results(r.content, fmt)) == req["boolean"].toPython(), case["title"]
