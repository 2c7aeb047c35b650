"""The application factory: the only place the Flask app is assembled."""

from __future__ import annotations

import importlib
import logging

from flask import Flask, current_app

from next2met.graph.build import build_dataset
from next2met.graph.settings import Settings
from next2met.graph.store import Store

from . import i18n, problems
from .state import Change, KnowledgeGraph

log = logging.getLogger(__name__)

# Each feature is one module with a blueprint ``bp`` and, optionally, ``init_app(app, kg)`` to register change
# listeners or CLI commands. Order matters only for routes that could overlap (none do).
FEATURES = ["health", "sparql", "queries_ui", "resources", "browse", "ontology_doc", "harvest", "api", "auth"]


def create_app(settings: Settings | None = None, *, store: Store | None = None, build_if_empty: bool = True) -> Flask:
    """Create the app: open the store (building the dataset into it when empty) and register every feature."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body,
        JSON_SORT_KEYS=False,
        NEXT2MET_SETTINGS=settings,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    kg = KnowledgeGraph(settings, store)
    if build_if_empty and kg.store.is_empty():
        log.info("the store is empty: building the dataset from data/")
        with kg.write_lock:
            build_dataset(kg.store, settings)
    app.extensions["next2met"] = kg
    problems.init_app(app)
    i18n.init_app(app)
    for name in FEATURES:
        module = importlib.import_module(f".{name}", __package__)
        app.register_blueprint(module.bp)
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app, kg)
    kg.changed(Change((), "start"))
    app.before_request(kg.refresh)
    return app


def get_kg() -> KnowledgeGraph:
    """The knowledge graph of the current app (inside a request or app context)."""
    return current_app.extensions["next2met"]
