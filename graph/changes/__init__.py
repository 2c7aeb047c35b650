"""The one write path into the knowledge graph: every channel (build, ``/update``, ``/api/practices``, harvest,
import) changes the data through :func:`apply_change`, which validates, writes the source files, the store and the
provenance, records a version and announces the change. See ``apply.py`` for the steps and
the README ("The data folder, history and the write path").

    from next2met.graph.changes import Change, Edit, apply_change

    applied = apply_change(store, settings, Change(
        edits=[Edit(graph, quads)], channel="api", author="alice", message="fix the title",
        expect={graph: etag_read_before}))          # 412 if someone changed it meanwhile
    applied.version, applied.etags[graph], applied.report
"""

from .apply import Applied, Change, ChangeEvent, Edit, apply_change, graph_etag
from .files import ensure_data_folder
from .history import History, Version
from .provenance import describe_graph, provenance_graph_iri

__all__ = [
    "Applied",
    "Change",
    "ChangeEvent",
    "Edit",
    "History",
    "Version",
    "apply_change",
    "describe_graph",
    "ensure_data_folder",
    "graph_etag",
    "provenance_graph_iri",
]
