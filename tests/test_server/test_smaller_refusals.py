"""The smaller holes, each shut: an impossible YAML date is a 400, a canned query's IRI parameter refuses NUL and
other characters IRIs exclude, the update token comes from a file or the environment (a warning when it is given
on the command line, where any user can list it), and absolute links of /catalog, /dumps, /ldes and the sitemap
never follow a forged Host header."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings, prepared
from tests.served import free_port

TOKEN = "smaller-token-0123456789"
LONGFORD = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    import shutil

    target = tmp_path_factory.mktemp("smaller") / "store"
    shutil.copytree(built_store, target, symlinks=True)
    app = prepared(create_app(make_settings(target, update_token=TOKEN, trusted_hosts=("data.example.org",))))
    live = LiveServer(app)
    yield live
    live.stop()
    app.extensions["next2met"].close()


def test_an_impossible_date_is_a_400(server):
    body = LONGFORD.replace("\nid:", "\nmodified: 2026-13-45\nid:", 1) if "\nid:" in LONGFORD else (
        "modified: 2026-13-45\n" + LONGFORD)
    for route in ("/validate", "/api/practices"):
        r = requests.post(server.url + route, data=body.encode(), timeout=60, headers={
            "Content-Type": "application/yaml", "Accept": "application/json", "Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 400, (route, r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("value", ["https://example.org/a\x00b", "https://example.org/a b", "https://ex.org/\x7f",
                                   "https://example.org/<x>", "https://[bad/", "no-scheme"])
def test_an_iri_parameter_refuses_what_iris_exclude(server, value):
    r = requests.get(server.url + "/queries/practice-neighbourhood", params={"practice": value},
                     headers={"Accept": "text/turtle"}, timeout=30)
    assert r.status_code == 400, (value, r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "must be an IRI" in r.json()["detail"] or "practice" in r.json()["detail"]


def test_an_iri_parameter_still_takes_a_real_iri(server):
    r = requests.get(server.url + "/queries/practice-neighbourhood", timeout=30,
                     params={"practice": "https://w3id.org/next2met/practice/digital-consultations-longford"},
                     headers={"Accept": "text/turtle"})
    assert r.status_code == 200, r.text[:300]


def raw_get(server, path: str, host: str) -> str:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host, "Accept": "text/turtle"})
        response = conn.getresponse()
        assert response.status == 200, (path, response.status)
        return response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/catalog", "/dumps/", "/ldes", "/sitemap.xml"])
def test_links_never_follow_a_forged_host(server, path):
    forged = raw_get(server, path, "evil.example")
    assert "evil.example" not in forged
    assert "https://w3id.org/next2met/" in forged
    port = server.url.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}" in raw_get(server, path, f"127.0.0.1:{port}")  # loopback is trusted
    assert "data.example.org" in raw_get(server, path, "data.example.org")  # so is a listed host


def start(args: list[str], store: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "next2met"), "serve", "--port", str(port), "--store", str(store),
               *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(proc.stderr.read())


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return err


def test_the_token_comes_from_a_file_not_the_process_list(built_store, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(built_store, store, symlinks=True)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
    proc, url = start(["--update-token-file", str(token_file)], store, env)
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert TOKEN.encode() not in cmdline
        update = {"update": "INSERT DATA { GRAPH <https://example.org/t> { <https://example.org/a> "
                            "<http://www.w3.org/2000/01/rdf-schema#label> \"a\" } }"}
        assert requests.post(url + "/update", data=update, timeout=60).status_code == 401
        r = requests.post(url + "/update", data=update, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert r.status_code == 200, r.text[:300]
    finally:
        err = stop(proc)
    assert "warning" not in err
    proc, url = start(["--update-token", TOKEN], store, env)
    err = stop(proc)
    assert "--update-token shows the token to anyone who lists processes" in err
