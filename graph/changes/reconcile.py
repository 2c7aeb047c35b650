"""Start-up: bring the store in line with the data folder when its files changed while no server was running.

The provenance graph records the SHA-256 of every source file as the store last took it. A file whose bytes differ
now (edited by hand, or written by a change that a crash stopped before the store took it), a new file, or a file
that is gone is taken through the write path on the ``sources`` channel: validated, put in the store with its
provenance, and recorded in the history as a change of the data folder; the file itself is left as it is. A file
that does not conform leaves the store as it was and is reported. When more of the store's files are missing from
the folder than present, the store was built from another folder (a benchmark's generated data, say): that is
refused, not taken as the removal of most of the data.
"""

from __future__ import annotations

import logging

from ..errors import ConfigError, KGError
from ..settings import Settings
from ..store import Store
from .apply import SOURCES, Applied, Change, Edit, apply_change
from .provenance import SPDX, checksum, provenance_graph_iri

log = logging.getLogger(__name__)


def recorded_checksums(store: Store, base: str) -> dict[str, str]:
    """File (``data/practices/x.yaml``) -> the SHA-256 the store's provenance records for it."""
    prov = provenance_graph_iri(base)
    rows = store.query(
        f"SELECT ?file ?sum WHERE {{ GRAPH <{prov}> {{ ?node <http://purl.org/dc/terms/identifier> ?file ; "
        f"<{SPDX}checksum>/<{SPDX}checksumValue> ?sum }} }}"
    ).rows()
    return {r["file"].value: r["sum"].value for r in rows}


def reconcile(store: Store, settings: Settings, notify=None) -> Applied | None:
    """Take the data files that changed since the store last took them; None when nothing changed."""
    from ..sources import discover_sources, load_context, read_source

    base = settings.base_iri
    found = recorded_checksums(store, base)
    if not found:  # a store built before checksums were recorded, or a remote one: nothing to compare with
        return None
    everything = discover_sources(settings.data_path)
    folder = settings.data_path.resolve()
    sources = [s for s in everything if s.root.resolve() == folder]
    ontology = {s.relative for s in everything if s.root.resolve() != folder}
    # files of the data folder by their path in it: the provenance names them "data/practices/x.yaml" when the
    # folder is called data, "practices/x.yaml" otherwise
    recorded = {_in_folder(f): value for f, value in found.items() if f not in ontology}
    context = load_context(base, settings.data_path)
    edits, seen = [], set()
    for src in sources:
        name = src.path.relative_to(src.root).as_posix()
        seen.add(name)
        if recorded.get(name) != checksum(src.path.read_bytes()):
            edits.append(Edit(src.graph_iri(base), read_source(src, settings, context)))
    gone = sorted(set(recorded) - seen)
    kept = len(recorded) - len(gone)
    if len(gone) > kept:  # more files missing than present: another folder than the store's, not a hand edit
        raise ConfigError(
            f"the store holds other data than the data folder {settings.data_path}: {len(gone)} of its "
            f"{len(recorded)} data files are not there (e.g. {gone[0]}); nothing was changed. Serve it with "
            "--data naming the folder it was built from, or rebuild it from this folder with next2met build"
        )
    for name in gone:
        edits.append(Edit(f"{base}graph/{name.rsplit('.', 1)[0]}", []))
    if not edits:
        return None
    names = ", ".join(e.graph.rsplit("/graph/", 1)[-1] for e in edits[:5]) + (" …" if len(edits) > 5 else "")
    try:
        applied = apply_change(
            store,
            settings,
            Change(edits, channel=SOURCES, author="the data folder", message=f"changed in the data folder: {names}"),
            notify=notify,
        )
    except KGError as e:
        log.warning("files changed in the data folder were not taken (%s): %s", names, e.detail)
        return None
    log.info("took %d file(s) changed in the data folder: %s", len(edits), names)
    return applied


def _in_folder(name: str) -> str:
    return name[len("data/") :] if name.startswith("data/") else name
