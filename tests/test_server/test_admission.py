"""Fair admission, with ``next2met serve`` as a user runs it: one client's runaway queries never make another client's
small query wait. Clients are told apart by address: 127.0.0.2 and 127.0.0.3 are two clients on loopback."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.served import serve_copy

TIMEOUT = 3
# every pair of triples, three times over: far more than the timeout allows
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SMALL = "SELECT ?s WHERE { ?s a ?t } LIMIT 1"


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    served = serve_copy(built_store, tmp_path_factory.mktemp("admission"), query_timeout=TIMEOUT,
                        query_workers=2, max_queries_per_client=1)
    yield served
    served.stop()


def ask(server, query: str, source: str) -> tuple[int, dict, dict, float]:
    """Send a query from the loopback address ``source``; status, headers, body and seconds taken."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60, source_address=(source, 0))
    try:
        body = urllib.parse.urlencode({"query": query})
        conn.request("POST", "/sparql", body, {"Content-Type": "application/x-www-form-urlencoded",
                                               "Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data or b"{}"), time.monotonic() - started
    finally:
        conn.close()


def test_runaways_from_one_client_do_not_delay_another(server):
    ask(server, SMALL, "127.0.0.3")
    with ThreadPoolExecutor(14) as pool:
        runaways = [pool.submit(ask, server, RUNAWAY, "127.0.0.2") for _ in range(13)]
        time.sleep(0.5)
        small = []
        for _ in range(12):  # through the runaways and the replacement of the killed worker
            small.append(ask(server, SMALL, "127.0.0.3"))
            time.sleep(0.4)
        answers = [f.result() for f in runaways]
    assert all(status == 200 for status, *_ in small), [s for s, *_ in small]
    waits = [round(seconds, 3) for *_, seconds in small]
    assert max(waits) < 1, waits
    statuses = sorted(status for status, *_ in answers)
    assert statuses.count(503) == 1 and statuses.count(429) == 12, statuses  # one ran to the timeout
    refused = next((headers, body) for status, headers, body, _ in answers if status == 429)
    assert int(refused[0]["Retry-After"]) >= 1
    assert refused[0]["Content-Type"].startswith("application/problem+json")
    assert "the most one client may have at once" in refused[1]["detail"]


def test_a_client_is_admitted_again_once_its_query_is_done(server):
    for _ in range(3):
        status, *_ = ask(server, SMALL, "127.0.0.2")
        assert status == 200
