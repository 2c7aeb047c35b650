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

import json
import logging
from pathlib import Path

from ..errors import ConfigError, KGError
from ..settings import Settings
from ..store import Store
from .apply import SOURCES, Applied, Change, Edit, apply_change
from .files import STATE
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
    sums = _Checksums(settings.data_path)
    for src in sources:
        name = src.path.relative_to(src.root).as_posix()
        seen.add(name)
        if recorded.get(name) != sums.of(src.path, name):
            edits.append(Edit(src.graph_iri(base), read_source(src, settings, context)))
    sums.save()
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


class _Checksums:
    """SHA-256 of the data files, read again only for a file whose size or modification time changed since the
    last start (as git does; at a million quads hashing every file took about a second of each start). Kept in
    ``.next2met/checksums.json`` of the data folder, a cache that may be deleted at any time."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE / "checksums.json"
        try:
            self.known: dict[str, list] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.now: dict[str, list] = {}

    def of(self, path: Path, name: str) -> str:
        st = path.stat()
        size, mtime, value = self.known.get(name) or (None, None, None)
        if (size, mtime) != (st.st_size, st.st_mtime_ns) or not isinstance(value, str):
            value = checksum(path.read_bytes())
        self.now[name] = [st.st_size, st.st_mtime_ns, value]
        return value

    def save(self) -> None:
        if self.now == self.known:
            return
        try:  # a cache: written whole or not at all, never needed for correctness
            self.path.parent.mkdir(exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.now, sort_keys=True), encoding="utf-8")
            temporary.replace(self.path)
        except OSError as e:
            log.info("the checksums of the data files were not kept: %s", e)


def _in_folder(name: str) -> str:
    return name[len("data/") :] if name.startswith("data/") else name
