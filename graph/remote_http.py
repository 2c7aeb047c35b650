"""Queries to a remote SPARQL endpoint over kept-alive HTTP connections, each answer read against a deadline.

SPARQLWrapper (over urllib) opens a new connection for every query; here a few connections stay open and are
reused, which saves a TCP handshake and the store's connection set-up per query (Virtuoso keeps connections alive:
``MaxKeepAlives``, ``KeepAliveTimeout``). At most ``KEEP`` idle connections are kept; a query finds one or opens
one. A kept connection the store has closed meanwhile fails on its first use: the query is sent once more on a new
connection (queries change nothing, so sending one twice is harmless).

A query goes by GET, or by URL-encoded POST when its URL would be long; never POST ``application/sparql-query``
(Virtuoso never answers it and a server thread spins). Every read waits at most until the deadline, and the whole
answer must have arrived by then (a store that trickles its answer is stopped): past it the connection is closed.
The store's error answers become our exceptions (``problem``).
"""

from __future__ import annotations

import http.client
import queue
import socket
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from .errors import QuerySyntaxError, QueryTimeout, StoreError

GET_LIMIT = 1800  # longer request URLs go as a URL-encoded POST
KEEP = 4  # idle connections kept open at most
IDLE = 4.0  # seconds an idle connection is kept (Virtuoso closes them after its KeepAliveTimeout, 10 s by default)
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Reply:
    """A store's answer to a query: its status, headers and body."""

    status: int
    headers: Message
    body: bytes


class Endpoint:
    """One SPARQL query endpoint, with a few kept-alive connections to it (shared by all threads)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self._usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "", parts.port
        self._path = parts.path or "/"
        self._query = parts.query
        self._idle: queue.LifoQueue[tuple[float, http.client.HTTPConnection]] = queue.LifoQueue()

    def query(self, text: str, params: Sequence[tuple[str, str]], accept: str, deadline: float, limit: float) -> Reply:
        """Send a query with its protocol parameters; the store's answer, whatever its status. ``limit`` (seconds)
        is what the messages name. Raises QueryTimeout past ``deadline`` (time.monotonic()) and StoreError when
        the store cannot be reached or breaks off."""
        if not self._usable:
            raise StoreError(f"cannot reach the store at {self.url}: not an http(s) URL")
        fields = urllib.parse.urlencode([("query", text), *params])
        base = self._path + (f"?{self._query}&" if self._query else "?")
        headers = {"Accept": accept, "User-Agent": "next2met"}
        if len(self.url) + len(fields) < GET_LIMIT:
            method, target, body = "GET", base + fields, None
        else:
            method, target, body = "POST", base.rstrip("?&"), fields.encode()
            headers["Content-Type"] = FORM
        for attempt in (1, 2):
            conn, reused = self._take(fresh=attempt == 2)
            try:
                return self._exchange(conn, method, target, body, headers, deadline, limit)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                conn.close()
                if reused and attempt == 1:
                    continue  # the store closed a kept connection: once more on a new one
                raise StoreError(f"the store at {self.url} broke off the answer: {e}") from None
            except TimeoutError:
                conn.close()
                raise QueryTimeout(f"the store did not answer within {limit:g} s") from None
            except QueryTimeout:
                conn.close()
                raise
            except OSError as e:
                conn.close()
                if reused and attempt == 1:
                    continue
                raise StoreError(f"cannot reach the store at {self.url}: {e}") from None
            except http.client.HTTPException as e:  # a malformed response
                conn.close()
                raise StoreError(f"the store at {self.url} broke off the answer: {e!r}") from None
        raise AssertionError("unreachable")

    def _take(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection (the one used last), or a new one; kept ones idle too long are closed."""
        while not fresh:
            try:
                since, conn = self._idle.get_nowait()
            except queue.Empty:
                break
            if time.monotonic() - since < IDLE:
                return conn, True
            conn.close()
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port), False

    def _exchange(self, conn, method, target, body, headers, deadline: float, limit: float) -> Reply:
        conn.timeout = _left(deadline)
        if conn.sock is None:
            conn.connect()
        sock = conn.sock
        assert sock is not None
        sock.settimeout(conn.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        chunks = []
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = response.read1(1 << 16)
            except TimeoutError:
                raise QueryTimeout(f"the store's answer was still arriving after {limit:g} s; it was stopped") from None
            if not chunk:
                break
            chunks.append(chunk)
        response.close()  # read to the end: the connection can take the next request
        reply = Reply(response.status, response.msg, b"".join(chunks))
        if response.will_close or self._idle.qsize() >= KEEP:
            conn.close()
        else:
            self._idle.put((time.monotonic(), conn))
        return reply

    def close(self) -> None:
        """Close the kept connections (a query after this opens a new one)."""
        while True:
            try:
                self._idle.get_nowait()[1].close()
            except queue.Empty:
                return

    def __del__(self) -> None:  # a store dropped without close() leaves no socket open
        self.close()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def problem(status: int, detail: str, url: str) -> Exception:
    """Our exception for a store's error answer (HTTP ``status``, its message ``detail``)."""
    # Virtuoso repeats the whole query (with our FROM clauses) after its message: leave that out
    detail = detail.split("\n\nSPARQL query:", 1)[0].strip()
    if "S1T00" in detail or "SR171" in detail or "timed out" in detail.lower():
        return QueryTimeout(f"the query ran past the store's time limit: {detail[:300]}")
    if "estimated execution time" in detail:  # Virtuoso refuses what its planner expects to run too long
        return QueryTimeout(f"the store expects this query to run too long and refused it: {detail[:300]}")
    if status == 400:
        return QuerySyntaxError(detail[:1000])
    if status == 401:
        return StoreError(f"the store refused the credentials for {url}")
    if status == 404:
        return StoreError(f"no SPARQL endpoint at {url} (HTTP 404)")
    if status == 500:
        return StoreError(f"the store failed: {detail[:1000]}")
    return StoreError(f"the store at {url} answered HTTP {status}: {detail[:1000]}")
