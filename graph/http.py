"""Fetch a document over HTTP(S) for harvesting, with a size limit and a clear error for each way it can fail.

Only ``http`` and ``https`` URLs are fetched (local files are named as paths by the caller), the body is read in
blocks and refused past ``max_bytes`` (also after gzip decompression), and redirects stay on http(s).
"""

from __future__ import annotations

import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InputError

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
USER_AGENT = "next2met-kg harvester"


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # media type without parameters, lower case
    body: bytes
    etag: str = ""
    cache_control: str = ""


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url}: not an http(s) URL")


def fetch(url: str, *, accept: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 60.0) -> Fetched:
    """GET ``url`` and return its body (gunzipped when it is a .gz file), refusing more than ``max_bytes``."""
    check_url(url)
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise InputError(f"{url}: {int(length)} bytes is more than the limit of {max_bytes} bytes")
            body = _read_limited(response, max_bytes, url)
            final = response.geturl()
            content_type = response.headers.get_content_type()
            etag = response.headers.get("ETag", "")
            cache_control = response.headers.get("Cache-Control", "")
    except urllib.error.HTTPError as e:
        raise InputError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise InputError(f"{url}: cannot fetch: {e.reason}") from None
    except TimeoutError:
        raise InputError(f"{url}: no answer within {timeout:g} seconds") from None
    check_url(final)
    if content_type in ("application/gzip", "application/x-gzip") or urlsplit(final).path.endswith(".gz"):
        body = gunzip(body, max_bytes, url)
    return Fetched(final, content_type, body, etag, cache_control)


def _read_limited(response, max_bytes: int, url: str) -> bytes:
    chunks, total = [], 0
    while block := response.read(1 << 16):
        total += len(block)
        if total > max_bytes:
            raise InputError(f"{url}: more than the limit of {max_bytes} bytes")
        chunks.append(block)
    return b"".join(chunks)


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
