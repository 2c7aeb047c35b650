"""Open the store the settings name: a remote SPARQL 1.1 store when ``store_url`` is set, else the embedded one.

Apart from ``store.py`` (the seam and the embedded store) and ``remote.py`` (the remote store, built on the seam),
so that neither needs the other.
"""

from __future__ import annotations

from typing import Any

from .remote import SparqlStore
from .store import OxigraphStore, Store


def open_store(settings: Any, *, read_only: bool = False, shared: bool = False) -> Store:
    """The store of ``settings``. ``read_only`` and ``shared`` concern the embedded store (see OxigraphStore)."""
    if settings.store_url:
        return SparqlStore.from_settings(settings)
    return OxigraphStore(settings.store, read_only=read_only, shared=shared)
