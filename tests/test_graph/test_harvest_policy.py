"""``next2met harvest`` stays where it was pointed: redirects and stream links to other origins or schemes are
refused (unless their host is allowed), private addresses are refused unless allowed, the whole harvest has a
deadline, a gzip bomb is stopped while it streams, and the provenance names the URL the data was read from.

The sources are real HTTP servers on loopback: 127.0.0.1 and 127.0.0.2 are two different hosts for the policy."""

from __future__ import annotations

import gzip
import http.server
import threading
import time

import pytest

from next2met.graph.cli import main
from next2met.graph.errors import InputError
from next2met.graph.harvest import harvest
from next2met.graph.http import Fetcher, FetchPolicy, is_public
from next2met.graph.ldes import TREE
from next2met.graph.ldes_reader import read_ldes
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore

LOCAL = FetchPolicy(allow_private=True)
TRIPLE = b'<https://example.org/thing> <http://www.w3.org/2000/01/rdf-schema#label> "a thing"@en .\n'
PROV = "http://www.w3.org/ns/prov#"


class Source:
    """A real HTTP server on ``host`` answering each path from ``routes``: bytes (200, N-Triples), a
    ("redirect", location) pair, or a callable that writes the answer itself."""

    def __init__(self, host: str, routes: dict) -> None:
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                source.hits.append(self.path)
                route = routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                elif isinstance(route, tuple):
                    self.send_response(302)
                    self.send_header("Location", route[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/n-triples")
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)

            def log_message(self, *args) -> None:
                pass

        self.hits: list[str] = []
        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sources():
    made: list[Source] = []

    def make(host: str, routes: dict) -> Source:
        made.append(Source(host, routes))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_a_redirect_to_another_host_is_refused_unless_allowed(sources, store_copy):
    other = sources("127.0.0.2", {"/data.nt": TRIPLE})
    first = sources("127.0.0.1", {"/data.nt": ("redirect", other.url + "/data.nt")})
    settings = Settings(store=str(store_copy))
    with pytest.raises(InputError, match="outside the source's origin .*--allow-host 127.0.0.2"):
        harvest(settings, first.url + "/data.nt", policy=LOCAL)
    assert other.hits == []  # refused before any request went there
    allowed = FetchPolicy(allow_private=True, allow_hosts=("127.0.0.2",))
    result = harvest(settings, first.url + "/data.nt", policy=allowed)
    assert result.triples == 1


def test_a_redirect_to_another_scheme_is_refused(sources, store_copy):
    first = sources("127.0.0.1", {"/data.nt": ("redirect", "ftp://127.0.0.1/data.nt"),
                                  "/file.nt": ("redirect", "file:///etc/passwd")})
    settings = Settings(store=str(store_copy))
    for path in ("/data.nt", "/file.nt"):
        with pytest.raises(InputError, match="not an http\\(s\\) URL"):
            harvest(settings, first.url + path, policy=LOCAL)


def test_stream_links_to_another_host_are_refused(sources):
    other = sources("127.0.0.2", {"/page": TRIPLE})
    routes: dict = {}
    first = sources("127.0.0.1", routes)  # the handler reads the routes at each request
    routes["/ldes"] = f"<{first.url}/ldes> <{TREE}view> <{other.url}/page> .\n".encode()
    with pytest.raises(InputError, match="outside the source's origin"):
        read_ldes(first.url + "/ldes", fetcher=Fetcher(LOCAL))
    assert other.hits == []


def test_private_addresses_are_refused_by_default(sources, store_copy, capsys):
    local = sources("127.0.0.1", {"/data.nt": TRIPLE})
    settings = Settings(store=str(store_copy))
    with pytest.raises(InputError, match="private, loopback or link-local address; .*--allow-private"):
        harvest(settings, local.url + "/data.nt")
    assert local.hits == []
    # the command line: one line, exit 2; with --allow-private it goes through
    assert main(["harvest", local.url + "/data.nt", "--store", str(store_copy)]) == 2
    assert "--allow-private" in capsys.readouterr().err
    assert main(["harvest", local.url + "/data.nt", "--store", str(store_copy), "--allow-private"]) == 0
    for address in ("10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"):
        assert not is_public(address), address
    assert is_public("93.184.215.14")


def test_a_trickling_source_is_stopped_at_the_total_deadline(sources, store_copy):
    def trickle(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/n-triples")
        handler.end_headers()
        for byte in TRIPLE * 10:  # one byte every 0.2 s: every read is quick, the whole is not
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    slow = sources("127.0.0.1", {"/data.nt": trickle})
    policy = FetchPolicy(allow_private=True, total_timeout=1.5, read_timeout=5)
    started = time.monotonic()
    with pytest.raises(InputError, match="total limit of 1.5 s"):
        harvest(Settings(store=str(store_copy)), slow.url + "/data.nt", policy=policy)
    assert time.monotonic() - started < 3


def test_a_gzip_bomb_is_refused_while_it_streams(sources, store_copy):
    bomb = gzip.compress(TRIPLE * 400_000)  # 31 MB once decompressed, from ~100 kB
    assert len(bomb) < 200_000
    source = sources("127.0.0.1", {"/data.nt.gz": bomb})
    policy = FetchPolicy(allow_private=True, max_bytes=1_000_000)
    with pytest.raises(InputError, match="limit of 1000000 bytes once decompressed"):
        harvest(Settings(store=str(store_copy)), source.url + "/data.nt.gz", policy=policy)
    small = sources("127.0.0.1", {"/small.nt.gz": gzip.compress(TRIPLE)})
    assert harvest(Settings(store=str(store_copy)), small.url + "/small.nt.gz", policy=policy).triples == 1


def test_the_provenance_names_the_url_the_data_was_read_from(sources, store_copy):
    source = sources("127.0.0.1", {"/old.nt": ("redirect", "/new.nt"), "/new.nt": TRIPLE})
    settings = Settings(store=str(store_copy))
    result = harvest(settings, source.url + "/old.nt", policy=LOCAL)
    store = OxigraphStore(store_copy)
    try:
        prov = {q.predicate.value: q.object.value for q in store.quads(f"{settings.base_iri}graph/provenance")
                if q.subject.value == result.graph}
    finally:
        store.close()
    assert prov[PROV + "wasDerivedFrom"] == source.url + "/new.nt"
    assert prov["http://purl.org/dc/terms/source"] == source.url + "/old.nt"


def test_an_error_answer_says_why_in_one_clean_line(sources, store_copy, capsys):
    """An endpoint that fails says why in its answer (a SPARQL server names the error of the query): the harvest's
    one line carries the start of it, as plain text, without the markup or terminal escapes a source could send."""

    def failing(handler) -> None:
        body = ("<html><body><h1>SPARQL Request Failed</h1>\n<p>Virtuoso 22023 Error SR353: Sorted TOP clause "
                "specifies more then 15000 rows to sort.\x1b[2J\x1b]0;owned\x07</p>" + "x" * 5000 + "</body></html>")
        data = body.encode()
        handler.send_response(500, "SPARQL Request Failed")
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    source = sources("127.0.0.1", {"/data.nt": failing})
    assert main(["harvest", source.url + "/data.nt", "--store", str(store_copy), "--allow-private"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "HTTP 500 SPARQL Request Failed: SPARQL Request Failed Virtuoso 22023 Error SR353: Sorted TOP" in err, err
    assert "\x1b" not in err and "\x07" not in err and "<" not in err
    assert len(err) < 600  # the start of the answer, not all of it
