"""Fetch documents over HTTP(S) for harvesting, under a policy: where a fetch may go, how long it may take and how
much it may bring back, with a clear error for each way it can fail.

A ``Fetcher`` is made once per harvest and shared by all its requests:

- Only ``http`` and ``https`` are fetched (local files are named as paths by the caller).
- Every request, and every redirect it follows, stays on the origin (scheme, host and port) of the first URL, or
  on a host listed in ``allow_hosts``; a redirect or link elsewhere is refused with a message naming it.
- A host whose address is private, loopback, link-local or otherwise not public is refused unless
  ``allow_private``; the connection goes to the address that was checked (a second DNS answer cannot move it).
- Each connection has a connect deadline, each read a read deadline, and the whole harvest a total deadline,
  enforced by closing the socket when it passes (a source that trickles a byte at a time is stopped there too).
- Bodies are counted while they stream, and gzip is decompressed while it streams and counted after
  decompression: neither a large download nor a small bomb is ever held past ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from .errors import InputError

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
USER_AGENT = "next2met-kg harvester"
MAX_REDIRECTS = 5
GZIP_TYPES = ("application/gzip", "application/x-gzip")


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # media type without parameters, lower case
    body: bytes
    etag: str = ""
    cache_control: str = ""
    truncated: bool = False  # the endpoint cut the answer at its row cap (X-Next2Met-Truncated; Virtuoso:
    # X-SPARQL-MaxRows)


@dataclass(frozen=True)
class FetchPolicy:
    """Where fetches may go and what they may cost (the defaults of ``next2met harvest``)."""

    allow_hosts: tuple[str, ...] = ()  # hosts (or host:port) allowed besides the first URL's origin
    allow_private: bool = False  # private, loopback and link-local addresses
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 600.0  # the whole harvest, every request together
    max_bytes: int = DEFAULT_MAX_BYTES  # one body, after decompression
    same_origin: bool = True


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url}: not an http(s) URL")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet (not private, loopback, link-local, reserved, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass
class Fetcher:
    """Fetch URLs under one ``FetchPolicy``; the first URL fetched sets the origin, and the total deadline starts
    when the fetcher is made."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    origin: tuple[str, str, int] | None = None
    started: float = field(default_factory=time.monotonic)
    final_urls: list[str] = field(default_factory=list)  # where each fetch ended, after redirects

    @property
    def deadline(self) -> float:
        return self.started + self.policy.total_timeout

    def allow(self, url: str, *, via: str = "") -> None:
        """Refuse a URL the policy does not allow (scheme, origin or host list)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"{via + ' → ' if via else ''}{url}: not an http(s) URL; only http and https are followed")
        if self.origin is None:
            self.origin = _origin(url)
        if not self.policy.same_origin or _origin(url) == self.origin:
            return
        host = parts.hostname.lower()
        hostport = f"{host}:{_origin(url)[2]}"
        if host in self.policy.allow_hosts or hostport in self.policy.allow_hosts:
            return
        scheme, first, port = self.origin
        raise InputError(
            f"{via + ' leads to ' if via else ''}{url}, outside the source's origin {scheme}://{first}:{port}; "
            f"allow its host with --allow-host {host}"
        )

    def fetch(self, url: str, *, accept: str, max_bytes: int | None = None) -> Fetched:
        """GET ``url`` (following up to MAX_REDIRECTS redirects the policy allows) and return its body."""
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.allow(current, via=url if current != url else "")
            status, headers, body_or_location = self._get(current, accept, limit)
            if status in (301, 302, 303, 307, 308):
                current = urljoin(current, body_or_location)
                continue
            self.final_urls.append(current)
            return Fetched(
                current,
                headers.get_content_type(),
                body_or_location,
                headers.get("ETag", ""),
                headers.get("Cache-Control", ""),
                headers.get("X-Next2Met-Truncated", "").lower() == "true" or bool(headers.get("X-SPARQL-MaxRows")),
            )
        raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, accept: str, limit: int):
        parts = urlsplit(url)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise InputError(f"{url}: the harvest took more than its total limit of {self.policy.total_timeout:g} s")
        address = self._address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), url)
        try:
            sock = socket.create_connection(address, timeout=min(self.policy.connect_timeout, remaining))
        except TimeoutError:
            raise InputError(f"{url}: no connection within {self.policy.connect_timeout:g} seconds") from None
        except OSError as e:
            raise InputError(f"{url}: cannot fetch: {e.strerror or e}") from None
        # the total deadline: the socket is shut when it passes, whatever the connection is doing then
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), expire)
        timer.daemon = True
        timer.start()
        try:
            sock.settimeout(self.policy.read_timeout)
            conn: http.client.HTTPConnection
            if parts.scheme == "https":
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=parts.hostname)
                conn = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, context=context)
            else:
                conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80)
            conn.sock = sock
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(
                "GET", path, headers={"Accept": accept, "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
            )
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise InputError(f"{url}: a redirect without a Location")
                return response.status, response.headers, location
            if response.status >= 400:
                said = f"{url}: the server answered HTTP {response.status} {response.reason}"
                explanation = _explanation(response)
                raise InputError(f"{said}: {explanation}" if explanation else said)
            length = response.headers.get("Content-Length")
            gzipped = (
                response.headers.get_content_type() in GZIP_TYPES
                or parts.path.endswith(".gz")
                or response.headers.get("Content-Encoding", "").lower() == "gzip"
            )
            if length and length.isdigit() and int(length) > limit and not gzipped:
                raise InputError(f"{url}: {int(length)} bytes is more than the limit of {limit} bytes")
            body = read_limited(response, limit, url, gzipped=gzipped)
            if expired.is_set():  # a shut socket reads as the end of the body: not a complete document
                raise OSError("deadline")
            return response.status, response.headers, body
        except TimeoutError:
            raise InputError(f"{url}: nothing received for {self.policy.read_timeout:g} seconds") from None
        except (OSError, http.client.HTTPException) as e:
            if expired.is_set():
                raise InputError(
                    f"{url}: the harvest took more than its total limit of {self.policy.total_timeout:g} s"
                ) from None
            raise InputError(f"{url}: cannot fetch: {e}") from None
        finally:
            timer.cancel()
            sock.close()

    def _address(self, host: str, port: int, url: str) -> tuple[str, int]:
        """The address to connect to: the first the host resolves to, refused if not public (unless allowed)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise InputError(f"{url}: cannot resolve {host}: {e.strerror}") from None
        addresses = [str(info[4][0]) for info in infos]
        if not self.policy.allow_private:
            hidden = [a for a in addresses if not is_public(a)]
            if hidden:
                raise InputError(
                    f"{url}: {host} is at {hidden[0]}, a private, loopback or link-local address; "
                    "harvest from there only with --allow-private"
                )
        return addresses[0], port


ERROR_EXCERPT = 300  # characters of an error answer's own explanation shown to the user
_MARKUP = re.compile(r"<[^>]*>")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")


def _explanation(response: http.client.HTTPResponse) -> str:
    """The start of an error answer's body as one line of plain text (an endpoint says there why it failed: a
    SPARQL server names the error of the query), or "" when it has no text. At most 4 KB is read; markup, control
    characters and terminal escapes are removed, so that nothing the source sends can act on the user's terminal."""
    if response.headers.get_content_maintype() != "text" and response.headers.get_content_subtype() not in (
        "json",
        "problem+json",
        "xml",
        "sparql-results+json",
        "sparql-results+xml",
    ):
        return ""
    try:
        raw = response.read(4096)
    except (OSError, http.client.HTTPException):
        return ""
    text = raw.decode(response.headers.get_content_charset() or "utf-8", errors="replace")
    text = " ".join(_UNPRINTABLE.sub(" ", _MARKUP.sub(" ", text)).split())
    return text if len(text) <= ERROR_EXCERPT else text[: ERROR_EXCERPT - 1].rstrip() + "…"


def fetch(url: str, *, accept: str, max_bytes: int = DEFAULT_MAX_BYTES, fetcher: Fetcher | None = None) -> Fetched:
    """GET one URL under the default policy (or ``fetcher``'s)."""
    return (fetcher or Fetcher()).fetch(url, accept=accept, max_bytes=max_bytes)


def read_limited(response, max_bytes: int, url: str, *, gzipped: bool = False) -> bytes:
    """Read a body in blocks, refusing more than ``max_bytes`` (after decompression when ``gzipped``)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    chunks, total = [], 0
    while block := response.read(1 << 16):
        if inflater is not None:
            block = _inflate(inflater, block, max_bytes - total, url, max_bytes)
        total += len(block)
        if total > max_bytes:
            raise InputError(
                f"{url}: more than the limit of {max_bytes} bytes" + (" once decompressed" if gzipped else "")
            )
        chunks.append(block)
    if inflater is not None and not inflater.eof:
        raise InputError(f"{url}: not valid gzip: the data ends early")
    return b"".join(chunks)


def _inflate(inflater, data: bytes, room: int, source: str, max_bytes: int) -> bytes:
    try:
        out = inflater.decompress(data, max(room, 0) + 1)
    except zlib.error as e:
        raise InputError(f"{source}: not valid gzip: {e}") from None
    if len(out) > room or inflater.unconsumed_tail:
        raise InputError(f"{source}: more than the limit of {max_bytes} bytes once decompressed")
    return out


def gunzip(data: bytes, max_bytes: int, source: str) -> bytes:
    """Decompress gzip data, refusing output past ``max_bytes`` (a small bomb cannot fill the memory)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as e:
        raise InputError(f"{source}: not valid gzip: {e}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise InputError(f"{source}: more than the limit of {max_bytes} bytes once decompressed")
    return out
