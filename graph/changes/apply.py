"""The one write path: :func:`apply_change` is how data enters the store.

In order, under the data folder's lock, for a change of named graphs:

1. preconditions: the ETag each graph must have now (``If-Match``), or that it must not exist yet (a create);
2. where each graph is kept: its source file in the data folder (written back as the same YAML a person writes,
   or in the file's RDF format), or no file (harvested, derived); the provenance graph and the ontology's graphs
   cannot be written (409 naming the file to edit instead);
3. SHACL: the change merged with the rest of the dataset is validated (only what the change can affect, see
   ``incremental.py``); a violation raises ShapesInvalid with the report and nothing is written;
4. provenance of the changed graphs (one builder, ``provenance.py``);
5. the source files, written durably (``files.py``);
6. the store, in one transaction (the graphs and their provenance together); if it fails the files are put back;
7. the version in the history (``history.py``), and a git commit when the data folder is in a repository;
8. the change event, for caches, dumps, the change feed and analytics.

A rebuild (``Change(rebuild=True)``) compiles every source file instead, validates the whole dataset, keeps the
graphs that have no file, and replaces the store's content in one switch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..errors import Conflict, PreconditionFailed, StoreError, StoreUnwritable, WriteBackRefused
from ..formats import guess_format
from ..rdfio import serialize_quads
from ..settings import Settings
from ..store import Store
from ..validate import ValidationReport
from . import files as files_mod
from . import provenance as prov_mod

if TYPE_CHECKING:
    from ..build import BuildResult
from .history import GraphVersion, History, Version, content_text, digest, git_commit

log = logging.getLogger(__name__)
# Channels whose writes create a source file for a new graph named like one ({base}graph/practices/x).
FILE_CHANNELS = {"api", "update", "import", "revert", "review"}
SOURCES = "sources"  # the channel of files changed in the data folder itself (reconcile.py): nothing is written
HISTORY_MAX_TRIPLES = 200_000  # larger graphs are versioned by digest only (their content is not kept twice)


@dataclass(frozen=True)
class Edit:
    """The new content of one named graph (``quads`` empty or None: drop the graph)."""

    graph: str
    quads: Sequence[ox.Quad] | None
    hint: str | None = None  # the YAML as a person sent it: lends its order of keys and lists to the file


@dataclass(frozen=True)
class Change:
    """One change of the data, as a channel received it."""

    edits: Sequence[Edit] = ()
    channel: str = "api"  # api, update, harvest, import, revert, derive, sources, build
    author: str = "anonymous"
    message: str = ""
    expect: Mapping[str, str | None] = field(default_factory=dict)  # graph -> its ETag now; None: must not exist
    origin: str | None = None  # where harvested data came from (a URL or a path)
    read_from: str | None = None  # where it was read, when a redirect led elsewhere
    subjects: Sequence[str] = ()  # the resources the change is about (a practice's IRI), for the history
    rebuild: bool = False  # compile every source file instead of applying ``edits``


@dataclass(frozen=True)
class ChangeEvent:
    """What listeners hear after a change: the graphs replaced (empty for a rebuild), why, and its version."""

    graphs: tuple[str, ...]
    reason: str
    version: int | None = None
    at: float = field(default_factory=time.time)


@dataclass
class Applied:
    """The outcome of an accepted change."""

    report: ValidationReport | None
    graphs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    version: int | None = None
    etags: dict[str, str | None] = field(default_factory=dict)
    commit: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    build: BuildResult | None = None  # the BuildResult of a rebuild


def graph_etag(quads: Sequence[ox.Quad] | None) -> str | None:
    """The strong ETag of a graph's content (None: no such graph): the SHA-256 of its sorted N-Triples."""
    return digest(content_text(quads))[:32] if quads else None


def apply_change(
    store: Store,
    settings: Settings,
    change: Change,
    *,
    notify: Callable[[ChangeEvent], None] | None = None,
    engine: str | None = None,
    progress=None,
    dry_run: bool = False,
) -> Applied:
    """Apply one change through the write path; raise a KGError (nothing changed) when it is refused.

    Args:
        notify: called once with the ChangeEvent after the change is durable (the server's listeners).
        engine: the SHACL engine (default: the settings').
        progress, dry_run: for a rebuild (the CLI's progress bar; compile and validate only).
    """
    data_dir = settings.data_path
    with files_mod.folder_lock(data_dir):
        if change.rebuild:
            applied = _rebuild(store, settings, engine, progress, dry_run)
        else:
            applied = _apply_edits(store, settings, change, engine or settings.shacl_engine)
    if notify is not None and (applied.graphs or change.rebuild) and not dry_run:
        notify(ChangeEvent(applied.graphs, change.channel, applied.version))
    return applied


def _rebuild(store: Store, settings: Settings, engine, progress, dry_run) -> Applied:
    from ..build import build_dataset

    result = build_dataset(store, settings, engine=engine, progress=progress, dry_run=dry_run)
    return Applied(result.report, (), seconds=result.seconds, build=result)


def _apply_edits(store: Store, settings: Settings, change: Change, engine: str) -> Applied:
    from ..facts import GraphFacts
    from ..sources import load_context
    from .incremental import validate_change

    t0 = time.perf_counter()
    base, data_dir = settings.base_iri, settings.data_path
    prov_name = prov_mod.provenance_graph_iri(base)
    new = {e.graph: list(e.quads or ()) for e in change.edits}
    hints = {e.graph: e.hint for e in change.edits}
    old = {g: list(store.quads(g)) if g else [] for g in new}
    _check_preconditions(change, old)
    if change.channel != SOURCES:  # a file edited by hand is recorded even when only its comments changed
        new = {g: q for g, q in new.items() if _differs(q, old[g])}
    if not new:
        return Applied(None, etags={g: graph_etag(q) for g, q in old.items()})
    # where each graph is kept, and the text of its file
    context = load_context(base, data_dir)
    places: dict[str, files_mod.Destination] = {}
    texts: dict[Path, bytes | None] = {}
    for graph, quads in new.items():
        place = _place(graph, base, data_dir, change.channel)
        places[graph] = place
        if place.path is not None and change.channel == SOURCES:  # the file is as it should be: read, not written
            texts[place.path] = place.path.read_bytes() if place.path.is_file() else None
        elif place.path is not None:
            texts[place.path] = _file_text(place, quads, context, graph, hints.get(graph)) if quads else None
    t1 = time.perf_counter()
    # provenance (only the descriptions of the changed graphs are read and rewritten), then SHACL on what the
    # change can affect
    prov_old = prov_mod.descriptions(store, new, base)
    prov_new: list[ox.Quad] = []
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    activities: set[str] = set()
    for graph, quads in new.items():
        if not quads:
            continue
        place, facts = places[graph], GraphFacts.of(quads)
        if place.path is not None:
            data = texts[place.path]
            prov_new += prov_mod.describe_graph(
                graph, facts, base, file=place.relative, digest=prov_mod.checksum(data or b"")
            )
        else:
            activity = change.channel if change.channel in ("harvest", "derive") else "update"
            said = f"Harvested from {change.origin}" + (f", read from {change.read_from}" if change.read_from else "")
            prov_new += prov_mod.describe_graph(
                graph,
                facts,
                base,
                activity=activity,
                origin=change.origin,
                read_from=change.read_from,
                when=when,
                label=said if change.origin and activity == "harvest" else None,
            )
            if activity not in activities and not prov_mod.has_activity(store, base, activity):
                prov_new += prov_mod.describe_activity(base, activity)
            activities.add(activity)
    gone, kept = set(prov_old) - set(prov_new), set(prov_old)
    prov_remove = [q for q in prov_old if q in gone]
    prov_add = [q for q in prov_new if q not in kept]

    def provenance_after() -> list[ox.Quad]:  # the whole provenance graph, for a full validation only
        return [q for q in store.quads(prov_name) if q not in gone] + prov_add

    report = validate_change(store, new, settings, engine=engine, provenance=provenance_after)
    t2 = time.perf_counter()
    # files, then the store
    history = History(data_dir)
    to_write = {} if change.channel == SOURCES else texts
    previous = files_mod.write_files(to_write, data_dir) if to_write else {}
    try:
        store.change_graphs(new, remove=prov_remove, add=prov_add)
    except StoreUnwritable as e:  # a full or read-only disk: 507 naming the folder (graph/diskfaults.py)
        files_mod.restore_files(previous, data_dir)
        raise StoreUnwritable(f"{e.detail} The source files were put back.", **e.extra) from e
    except Exception as e:
        files_mod.restore_files(previous, data_dir)
        raise StoreError(f"the store did not take the change ({e}); the source files were put back") from e
    t3 = time.perf_counter()
    version = _record(history, change, new, old, places, context, base)
    commit = (
        git_commit(data_dir, list(to_write), change.author, _commit_message(change, version, places))
        if to_write
        else None
    )
    t4 = time.perf_counter()
    return Applied(
        report,
        (*new, prov_name),
        tuple(p.relative for p in places.values() if p.relative),
        version.number,
        {g: graph_etag(q) for g, q in new.items()},
        commit,
        {"prepare": t1 - t0, "validate": t2 - t1, "write": t3 - t2, "history": t4 - t3},
    )


def _differs(new: list[ox.Quad], old: list[ox.Quad]) -> bool:
    return content_text(new) != content_text(old)


def _check_preconditions(change: Change, old: dict[str, list[ox.Quad]]) -> None:
    for graph, expected in change.expect.items():
        current = graph_etag(old.get(graph) or [])
        if expected is None and current is not None:
            raise Conflict(
                f"{_name(graph)} exists already; read it and send PUT with If-Match to change it", etag=current
            )
        if expected is not None and expected != current:
            raise PreconditionFailed(
                f"{_name(graph)} changed since you read it (it is at version {current}, you sent {expected}); "
                "read it again, redo your edit and send it with the new ETag"
                if current
                else f"{_name(graph)} does not exist any more",
                etag=current,
            )


def _name(graph: str) -> str:
    return graph.rsplit("/graph/", 1)[-1] if "/graph/" in graph else graph


def _place(graph: str, base: str, data_dir: Path, channel: str) -> files_mod.Destination:
    """Where a graph may be written; Conflict for graphs the write path does not write."""
    if not graph:
        raise Conflict(
            "the default graph has no source file and no name that a rebuild could keep: write into a "
            "named graph (GRAPH <...>), such as the graph of a practice "
            f"<{base}graph/practices/{{slug}}>"
        )
    if graph == prov_mod.provenance_graph_iri(base):
        raise Conflict("the provenance graph is kept by the server from the other graphs; it cannot be written")
    if graph.startswith(f"{base}graph/derived/"):  # computed by the server from the data (graph.analysis): no file
        return files_mod.Destination(None, None, False)
    if graph.startswith(f"{base}graph/ontology/"):
        rel = graph[len(f"{base}graph/") :]
        raise WriteBackRefused(
            f"<{graph}> is compiled from {rel}.ttl, part of the ontology shipped with the "
            f"software; change it by editing {rel}.ttl in the repository, not through the "
            "server",
            file=f"{rel}.ttl",
        )
    return files_mod.destination(graph, base, data_dir, create=channel in FILE_CHANNELS)


def _file_text(
    place: files_mod.Destination, quads: list[ox.Quad], context: dict, graph: str, hint: str | None
) -> bytes:
    from ..writeback import write_yaml

    assert place.path is not None and place.relative is not None
    if place.kind == "yaml":
        # an existing file lends its own order and comments (a change rewrites only what changed); a new one
        # takes the order of the YAML as it was sent
        previous = place.path.read_text(encoding="utf-8") if place.exists else None
        text = write_yaml(quads, context, graph=graph, source=place.relative, hint_text=previous or hint)
        return text.encode("utf-8")
    fmt = guess_format(place.path)
    assert fmt is not None  # a source file's suffix names its format
    return serialize_quads(quads, fmt) or b""


def _record(
    history: History,
    change: Change,
    new: dict[str, list[ox.Quad]],
    old: dict[str, list[ox.Quad]],
    places: dict[str, files_mod.Destination],
    context: dict,
    base: str,
) -> Version:
    from .diff import resource_changes

    graphs, fields = [], {}
    subjects = (
        list(change.subjects)
        or sorted(
            {
                q.subject.value.split("#", 1)[0]
                for qs in (*new.values(), *(old[g] for g in new))
                for q in qs
                if q.predicate.value == prov_mod.RDF_TYPE and "#" not in q.subject.value
            }
        )[:50]
    )
    for graph, quads in new.items():
        before = _keep(history, old[graph])
        after = _keep(history, quads)
        graphs.append(GraphVersion(graph, places[graph].relative, before, after))
        for s in subjects:
            found = resource_changes(_triples(old[graph]), _triples(quads), s, context, base)
            if found:
                fields[s] = sorted({f.field for f in found})
    version = Version(
        history.next_number(),
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        change.author,
        change.message,
        change.channel,
        tuple(graphs),
        tuple(subjects),
        fields,
    )
    history.append(version)
    return version


def _keep(history: History, quads: list[ox.Quad]) -> str | None:
    if not quads:
        return None
    text = content_text(quads)
    return history.keep(text) if len(quads) <= HISTORY_MAX_TRIPLES else digest(text)


def _triples(quads: list[ox.Quad]) -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def _commit_message(change: Change, version: Version, places: dict[str, files_mod.Destination]) -> str:
    files = ", ".join(p.relative for p in places.values() if p.relative)
    first = change.message.strip().splitlines()[0] if change.message.strip() else f"{change.channel}: {files}"
    return f"{first}\n\nVersion {version.number} of the data folder, by {change.author} through {change.channel}."
