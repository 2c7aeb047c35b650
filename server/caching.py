"""HTTP caching for everything a harvester reads: ETag and Last-Modified from the data generation, and 304
answers to If-None-Match / If-Modified-Since (werkzeug's make_conditional does the comparison)."""

from __future__ import annotations

import datetime as dt
import zlib

from flask import Response, g, request

from .state import KnowledgeGraph


def conditional(
    response: Response,
    kg: KnowledgeGraph,
    *,
    etag: str | None = None,
    max_age: int = 60,
    last_modified: float | None = None,
) -> Response:
    """Add validators to a 200 response and turn it into a 304 when the client already has this version.

    The ETag combines the data generation with the response's own negotiated variant (type and language), so
    the Turtle and the HTML of one page never share a tag. ``last_modified`` (seconds since the epoch) replaces
    the data's last change for responses that have their own date (an immutable LDES page, a dump).
    """
    if response.status_code != 200:
        return response
    if response.mimetype == "text/html" and "Content-Language" not in response.headers:
        response.headers["Content-Language"] = getattr(g, "lang", "en")  # the interface's language (server/i18n.py)
        response.vary.add("Accept-Language")
    variant = f"{response.mimetype}|{response.headers.get('Content-Language', '')}"
    # crc32, not hash(): the tag must be the same in every server process (hash() is salted per process)
    response.set_etag(f"{etag or kg.etag}-{zlib.crc32(variant.encode()) % 10**8}")
    if last_modified is not None:
        response.last_modified = dt.datetime.fromtimestamp(last_modified, dt.UTC)
    else:
        response.headers["Last-Modified"] = kg.last_modified
    response.headers.setdefault("Cache-Control", f"public, max-age={max_age}")
    response.make_conditional(request)  # turns it into a 304 in place
    return response
