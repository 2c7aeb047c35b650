"""The application factory: the only place the Flask app is assembled."""

from __future__ import annotations

import logging

from flask import Flask

from next2met.graph.changes import Change as DataChange
from next2met.graph.changes import apply_change
from next2met.graph.settings import Settings
from next2met.graph.store import Store

from . import (
    analytics,
    api,
    auth,
    browse,
    health,
    history,
    i18n,
    model_doc,
    ontology_doc,
    packs,
    problems,
    publish,
    quality,
    queries_ui,
    related,
    releases,
    resources,
    sparql,
)
from .contribute import editing, lookup, review, upload
from .state import Change, KnowledgeGraph

log = logging.getLogger(__name__)

# Each feature is one module with a blueprint ``bp`` and, optionally, ``init_app(app, kg)`` to register change
# listeners or start what it needs (it puts that in ``kg.extensions``; ``kg.close()`` stops it). Order matters only
# for routes that could overlap (none do).
# Derivers run in the order registered (analytics first).
FEATURES = (
    analytics,
    health,
    problems,
    sparql,
    queries_ui,
    resources,
    browse,
    ontology_doc,
    publish,
    api,
    auth,
    history,
    related,
    quality,
    releases,
    packs,
    model_doc,
    review,
    editing,
    lookup,
    upload,
)


def create_app(
    settings: Settings | None = None, *, store: Store | None = None, build_if_empty: bool = True, start: bool = True
) -> Flask:
    """Create the app: open the store (building the dataset into it when empty) and register every feature.

    ``start``: begin what is prepared in the background (dumps, change log) now; ``next2met serve`` passes False
    and starts it once the socket is open (``kg.start()``)."""
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
            apply_change(kg.store, settings, DataChange(channel="build", rebuild=True))
    app.extensions["next2met"] = kg
    problems.register_handlers(app)
    i18n.init_app(app)
    for feature in FEATURES:
        app.register_blueprint(feature.bp)
        init = getattr(feature, "init_app", None)
        if init is not None:
            init(app, kg)
    kg.changed(Change((), "start"))
    app.before_request(kg.refresh)
    if start:
        kg.start()
    return app
