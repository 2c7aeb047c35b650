"""Every response a harvester reads carries ETag and Last-Modified and answers If-None-Match / If-Modified-Since
with 304 (and a changed tag with the full answer)."""

from __future__ import annotations

import pytest

HARVESTABLE = [
    ("/catalog", "text/turtle"),
    ("/catalog", "application/ld+json"),
    ("/catalog", "application/rdf+xml"),
    ("/.well-known/void", "text/turtle"),
    ("/dumps", "application/json"),
    ("/dumps/next2met.nq", "*/*"),
    ("/dumps/next2met.ttl.gz", "*/*"),
    ("/ldes", "application/trig"),
    ("/ldes/0", "application/trig"),
    ("/ldes/0", "application/ld+json"),
    ("/sitemap.xml", "*/*"),
    ("/robots.txt", "*/*"),
]


def get(client, path, accept, **headers):
    with client.get(path, headers={"Accept": accept, **headers}) as response:
        response.get_data()
        return response


@pytest.mark.parametrize("path,accept", HARVESTABLE)
def test_validators_and_304(client, path, accept):
    first = get(client, path, accept)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified and first.headers["Cache-Control"].startswith("public")

    again = get(client, path, accept, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag

    since = get(client, path, accept, **{"If-Modified-Since": modified})
    assert since.status_code == 304

    other = get(client, path, accept, **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_head_has_the_same_validators(client):
    for path, accept in HARVESTABLE:
        with client.head(path, headers={"Accept": accept}) as head:
            assert head.status_code == 200, path
            assert head.data == b""
            assert head.headers["ETag"] == get(client, path, accept).headers["ETag"], path


def test_variants_have_their_own_tags(client):
    tags = {get(client, "/catalog", accept).headers["ETag"] for accept in
            ("text/turtle", "application/ld+json", "application/rdf+xml")}
    assert len(tags) == 3


def test_full_ldes_pages_are_immutable_and_dated_by_their_members(app, client):
    changes = app.extensions["next2met"].extensions["publish"].log
    response = get(client, "/ldes/0", "application/trig")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    last = changes.page(0)[-1].time  # e.g. 2026-11-26T15:44:09.653936Z
    assert response.last_modified.strftime("%Y-%m-%dT%H:%M:%S") == last[:19]
