"""Slow clients, with ``next2met serve`` (waitress) as a user runs it: 150 connections that each send a header byte
a second hold no request thread, and another client's /health and small query answer within a second; a
connection that goes silent is closed after ``channel_timeout``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import requests

from tests.served import serve_copy

SLOW = 150


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    served = serve_copy(built_store, tmp_path_factory.mktemp("slow"), channel_timeout=3)
    yield served
    served.stop()


def test_slow_connections_do_not_starve_others(server):
    sockets = []
    stop = threading.Event()
    try:
        for _ in range(SLOW):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            sockets.append(s)

        def trickle() -> None:
            while not stop.is_set():
                for s in sockets:
                    with contextlib.suppress(OSError):
                        s.sendall(b"X")  # one byte of a header that never ends, every second
                stop.wait(1)

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(2)
        waits = []
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(server.url + "/health", timeout=5).status_code == 200
            r = requests.get(server.url + "/sparql", params={"query": "SELECT ?s WHERE { ?s a ?t } LIMIT 1"},
                             headers={"Accept": "application/sparql-results+json"}, timeout=5)
            assert r.status_code == 200
            waits.append(time.monotonic() - started)
            time.sleep(0.3)
        assert max(waits) < 1, waits
    finally:
        stop.set()
        for s in sockets:
            s.close()


def test_a_silent_connection_is_closed(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(b"GET /health HTTP/1.1\r\n")
        started = time.monotonic()
        assert s.recv(100) == b""  # closed by the server, not answered
        assert 2 < time.monotonic() - started < 9
    finally:
        s.close()
