"""next2met.graph: build, store, validate, query and analyse the Next2Met good-practice knowledge graph.

The public API::

    from next2met.graph import Settings, open_store, build, validate_quads, get_query
"""

from .backend import open_store
from .build import build_dataset, compile_dataset
from .errors import KGError
from .queries import get_query, list_queries
from .settings import Settings
from .sources import discover_sources
from .store import OxigraphStore, Result, Store
from .validate import ValidationReport, validate_graph, validate_quads

__all__ = [
    "KGError",
    "OxigraphStore",
    "Result",
    "Settings",
    "Store",
    "ValidationReport",
    "build_dataset",
    "compile_dataset",
    "discover_sources",
    "get_query",
    "list_queries",
    "open_store",
    "validate_graph",
    "validate_quads",
]
