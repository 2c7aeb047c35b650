"""The storage seam. Everything above it speaks SPARQL and quads; below it is either the embedded on-disk
Oxigraph store (default, here) or a remote SPARQL 1.1 store (``remote.py``); ``backend.open_store`` opens the one
the settings name.

Query results use pyoxigraph's result objects for both backends, so serialising them to any SPARQL results
format or RDF format is the same code whatever answered the query.

The embedded store keeps each build in its own generation folder and points ``current`` at it with a symlink
that is swapped atomically: a build that fails (or is killed) leaves the previous data untouched, and a reader
can tell from the link that the data changed.
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import os
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from .diskfaults import folder_takes_writes, fsync_path, guarded_write, sync_logs
from .errors import RDFSyntaxError, StoreError
from .formats import NQUADS, NTRIPLES, Format
from .rdfio import ascii_ntriples, parse_bytes, scope_blank_nodes
from .rewrite import seeded
from .sparqltext import has_dataset_clause, syntax_error

QueryValue = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | Iterator[ox.Triple]


@dataclass
class Result:
    """The answer to a SPARQL query: ``kind`` is select, ask or graph."""

    kind: str
    value: QueryValue
    truncated: bool = False

    @property
    def variables(self) -> list[str]:
        if self.kind != "select":
            return []
        return [v.value for v in self.value.variables]  # type: ignore[union-attr]

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Solutions as dicts of pyoxigraph terms (unbound variables left out); consumes the result."""
        if self.kind != "select":
            raise TypeError("rows() needs a SELECT result")
        names = self.variables
        out = []
        for i, solution in enumerate(self.value):  # type: ignore[arg-type]
            if limit is not None and i >= limit:
                self.truncated = True
                break
            out.append({n: solution[n] for n in names if solution[n] is not None})
        return out

    def triples(self) -> Iterator[ox.Triple]:
        if self.kind != "graph":
            raise TypeError("triples() needs a CONSTRUCT or DESCRIBE result")
        return iter(self.value)  # type: ignore[arg-type]


class Staged:
    """A dataset written aside by :meth:`Store.stage_dataset`: ``commit()`` makes it the store's content,
    ``discard()`` drops it; until then the store answers with what it had."""

    def __init__(self, commit: Callable[[], None], discard: Callable[[], None] = lambda: None) -> None:
        self._commit, self._discard, self.done = commit, discard, False

    def commit(self) -> None:
        self.done = True  # from here on the staged data may be the store's content: never discard it
        self._commit()

    def discard(self) -> None:
        if not self.done:
            self._discard()
            self.done = True


class Store(abc.ABC):
    """What the rest of the code may ask of a store."""

    write_failure: str | None = None  # why writes fail now (a full or read-only disk), None while they work

    def recover(self, *, probe: bool = True) -> bool:
        """Try to take writes again after a disk failure; True when writes may go on."""
        return True

    kind = "abstract"

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
        base_iri: str | None = None,
    ) -> Result:
        """Run a SPARQL query. Without ``default_graph`` the default graph is the union of all named graphs."""

    @abc.abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update as one transaction."""

    @abc.abstractmethod
    def replace_dataset(self, quads: Iterable[ox.Quad]) -> None:
        """Replace the whole dataset atomically: afterwards the store holds exactly ``quads``."""

    def stage_dataset(self, quads: Iterable[ox.Quad]) -> Staged:
        """Prepare :meth:`replace_dataset` so that the caller may drop ``quads`` before deciding (the embedded
        store writes them to disk aside; this default keeps them in memory until ``commit()``)."""
        kept = list(quads)
        return Staged(lambda: self.replace_dataset(kept))

    def stage_text(self, text: str, parts: Iterable) -> Staged:
        """:meth:`stage_dataset` from N-Triples text, each part (``graph``, ``start``, ``end``, ``source``) into its
        named graph (what ``DatasetStream.compile_text`` makes). A syntax error names the part's source."""

        def quads() -> Iterator[ox.Quad]:
            for part in parts:
                yield from parse_bytes(text[part.start : part.end], NTRIPLES, source=part.source, graph=part.graph)

        return self.stage_dataset(quads())

    @abc.abstractmethod
    def replace_graphs(self, graphs: dict[str, list[ox.Quad]]) -> None:
        """Replace (or, with an empty list, drop) the given named graphs in one step."""

    def change_graphs(
        self, graphs: dict[str, list[ox.Quad]], remove: Iterable[ox.Quad] = (), add: Iterable[ox.Quad] = ()
    ) -> None:
        """:meth:`replace_graphs`, and in the same step take the quads ``remove`` out of their graphs and put
        ``add`` into theirs (a few descriptions in a large graph, such as the provenance graph: the graph is not
        written whole). This default rewrites the graphs those quads are in."""
        gone, added = set(remove), list(add)
        touched = {q.graph_name.value for q in (*gone, *added) if isinstance(q.graph_name, ox.NamedNode)}
        whole = dict(graphs)
        for name in touched - set(graphs):
            kept = [q for q in self.quads(name) if q not in gone]
            whole[name] = kept + [q for q in added if q.graph_name == ox.NamedNode(name)]
        self.replace_graphs(whole)

    @abc.abstractmethod
    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Stream every quad, or those of one named graph."""

    def triples_text(self) -> str:
        """Every stated triple (graph names dropped) as N-Triples text: what the SHACL engine reads."""
        from .validate import nquads_text

        return nquads_text(self.quads())

    @abc.abstractmethod
    def named_graphs(self) -> list[str]:
        """The names of the graphs that hold data."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of quads."""

    @property
    @abc.abstractmethod
    def generation(self) -> str:
        """A token that changes whenever the data changes (for caches, ETags and worker reloads)."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release files and connections."""

    def ask(self, sparql: str) -> bool:
        return bool(self.query(sparql).value)

    def dump(self, output: IO[bytes], fmt: Format = NQUADS, prefixes: dict[str, str] | None = None) -> None:
        """Stream the dataset to ``output`` (triples only, merged, for formats without graphs)."""
        from .rdfio import serialize_quads

        serialize_quads(self.quads(), fmt, output, prefixes=prefixes)

    def is_empty(self) -> bool:
        return self.count() == 0


SMALL_PART = 1 << 20  # characters of N-Triples below which stage_text gathers parts into one bulk load


class OxigraphStore(Store):
    """The embedded store: pyoxigraph on disk (``path``) or in memory (``path=None``)."""

    kind = "oxigraph"

    def __init__(
        self, path: str | Path | None, *, read_only: bool = False, shared: bool = False, sync: bool = True
    ) -> None:
        """Open the store at ``path`` (in memory when None).

        ``shared``: when another process (a running server) holds the store, open it read-only instead of
        failing; that is enough to rebuild it into a new generation, which the server then picks up.
        """
        self.root = Path(path) if path is not None else None
        self.read_only = read_only
        self.shared = shared
        self._gen = "memory-" + uuid.uuid4().hex[:8]
        self.write_failure: str | None = None  # why the last write failed on the disk (diskfaults.py)
        self.sync = sync  # sync each write to disk before it returns
        self._open()

    # -- generations -------------------------------------------------------------------------------
    @property
    def _link(self) -> Path:
        assert self.root is not None
        return self.root / "current"

    def _open(self) -> None:
        if self.root is None:
            self.store = ox.Store()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._link.exists():
            target = self._new_generation_dir()
            ox.Store(str(target)).flush()  # create an empty database
            self._switch_to(target)
        target = self._link.resolve()
        try:
            self.store = ox.Store.read_only(str(target)) if self.read_only else ox.Store(str(target))
        except OSError as e:
            if "lock" in str(e).lower() and self.shared and not self.read_only:
                self.read_only = True
                self.store = ox.Store.read_only(str(target))
                self._gen = target.name
                return
            if "lock" in str(e).lower():
                raise StoreError(
                    f"the store at {self.root} is in use by another process (a running server?); stop it or "
                    "query the server instead"
                ) from None
            raise StoreError(f"cannot open the store at {self.root}: {e}") from None
        self._gen = target.name

    def _new_generation_dir(self) -> Path:
        assert self.root is not None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.root / f"gen-{stamp}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def _switch_to(self, target: Path) -> None:
        """Point ``current`` at ``target`` atomically (rename of a fresh symlink over the old one), on disk before
        this returns."""
        tmp = self.root / f".current-{uuid.uuid4().hex[:6]}"  # type: ignore[operator]
        os.symlink(target.name, tmp)
        os.replace(tmp, self._link)
        fsync_path(self.root)  # type: ignore[arg-type]

    def _sync(self) -> None:
        """Put a write on disk before it is acknowledged: Oxigraph hands each write to RocksDB's log (a write()
        per transaction) but never syncs it, so a power cut could lose an acknowledged write. Syncing the log files
        and their folder closes that (``benchmarks/durable_writes.py`` measures the cost)."""
        if self.root is None or not self.sync:
            return
        sync_logs(self._link.resolve())

    def _remove_old_generations(self, keep: set[str]) -> None:
        assert self.root is not None
        for child in self.root.glob("gen-*"):
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def refresh(self) -> bool:
        """Reopen if another process switched the store to a new generation; True when it did."""
        # _gen carries a "+..." suffix after in-place updates (_touch); only the folder name says "rebuilt"
        if self.root is None or not self._link.exists() or self._link.resolve().name == self._gen.split("+", 1)[0]:
            return False
        self.store = None  # type: ignore[assignment]  # close the old database before opening the new one
        self._open()
        return True

    @property
    def generation(self) -> str:
        return self._gen

    @property
    def path(self) -> Path | None:
        """The folder of the current generation (None in memory)."""
        return self._link.resolve() if self.root is not None else None

    # -- reading -----------------------------------------------------------------------------------
    def query(self, sparql, *, default_graph=None, named_graphs=None, base_iri=None, rewrite=True) -> Result:
        """Run a query; ``rewrite``: have Oxigraph start from the selective part of a pattern, where the answers
        are the same (``rewrite.py``; False runs the text as it is)."""
        kwargs: dict[str, Any] = {}
        if default_graph is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graph]
        elif not has_dataset_clause(sparql):
            # pyoxigraph's union flag overrides a query's own FROM / FROM NAMED, so set it only without them
            kwargs["use_default_graph_as_union"] = True
        if named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        value = None
        if rewrite:
            try:
                text = seeded(sparql)
                value = self.store.query(text, base_iri=base_iri, **kwargs) if text else None
            except SyntaxError:  # (an unknown prefix, say) the original text says what is wrong, and where
                value = None
        if value is None:
            try:
                value = self.store.query(sparql, base_iri=base_iri, **kwargs)
            except SyntaxError as e:
                raise syntax_error(e, sparql) from None
        return Result(result_kind(value), value)

    def quads(self, graph=None):
        graph_name = ox.NamedNode(graph) if graph else None
        return self.store.quads_for_pattern(None, None, None, graph_name)

    def triples_text(self):
        # serialised inside pyoxigraph: no Python object per triple (at 1M triples 8.5 s and 0.2 GB against 10 s and
        # 0.8 GB through quads())
        found = self.store.query("CONSTRUCT { ?s ?p ?o } WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")
        return ascii_ntriples(found.serialize(format=ox.RdfFormat.N_TRIPLES))

    def named_graphs(self):
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def count(self):
        return len(self.store)

    # -- writing -----------------------------------------------------------------------------------
    @guarded_write
    def update(self, sparql):
        try:
            self.store.update(sparql)
        except SyntaxError as e:
            raise syntax_error(e, sparql) from None
        self._sync()
        self._touch()

    @guarded_write
    def replace_graphs(self, graphs):
        parts = _replacing(graphs)
        if parts:
            self.store.update(" ;\n".join(parts))
        self._sync()
        self._touch()

    @guarded_write
    def change_graphs(self, graphs, remove=(), add=()):
        remove, add = list(remove), list(add)
        if any(isinstance(t, ox.BlankNode) for q in (*remove, *add) for t in (q.subject, q.object)):
            return super().change_graphs(graphs, remove, add)  # DELETE DATA takes no blank nodes
        parts = _replacing(graphs)
        for verb, quads in (("DELETE", remove), ("INSERT", add)):
            if quads:
                body = " ".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}" for q in quads)
                parts.append(f"{verb} DATA {{ {body} }}")
        if parts:
            self.store.update(" ;\n".join(parts))
        self._sync()
        self._touch()

    @guarded_write
    def replace_dataset(self, quads):
        if self.root is None:
            self.store.clear()
            self.store.bulk_extend(quads)
            self._touch()
            return
        self.stage_dataset(quads).commit()

    @guarded_write
    def stage_dataset(self, quads):
        if self.root is None:
            return super().stage_dataset(quads)
        return self._staged(self._fill_generation(lambda fresh: fresh.bulk_extend(quads), optimize=True))

    @guarded_write
    def stage_text(self, text, parts):
        if self.root is None:
            return super().stage_text(text, parts)

        def fill(fresh: ox.Store) -> None:
            # A big part goes through Oxigraph's own parser and bulk loader (no Python object per triple); small
            # ones are gathered into one bulk load, since each bulk load has a fixed cost (about 7 ms: at 10k
            # triples, 67 of them took 0.5 s against 0.1 s for one)
            small: list[ox.Quad] = []
            for i, part in enumerate(parts):
                try:
                    if part.end - part.start < SMALL_PART:
                        graph, chunk = ox.NamedNode(part.graph), text[part.start : part.end]
                        triples: Iterable = ox.parse(chunk, format=ox.RdfFormat.N_TRIPLES)
                        if "_:" in chunk:  # a blank node label belongs to its part, as in a bulk load of its own
                            triples = scope_blank_nodes(triples, f"p{i}")
                        small += (ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
                    else:
                        fresh.bulk_load(
                            text[part.start : part.end],
                            format=ox.RdfFormat.N_TRIPLES,
                            to_graph=ox.NamedNode(part.graph),
                        )
                except SyntaxError as e:
                    raise RDFSyntaxError(f"{part.source}: N-Triples syntax error: {e}") from None
            fresh.bulk_extend(small)

        return self._staged(self._fill_generation(fill, optimize=True))

    def _staged(self, target: Path) -> Staged:
        """A filled generation that ``commit()`` makes current and ``discard()`` removes."""
        return Staged(lambda: self._commit_generation(target), lambda: shutil.rmtree(target, ignore_errors=True))

    def _fill_generation(self, fill: Callable[[ox.Store], object], *, optimize: bool = False) -> Path:
        """Fill a new generation folder that nothing points at yet; on any failure it is removed."""
        target = self._new_generation_dir()
        fresh = None
        try:
            fresh = ox.Store(str(target))
            fill(fresh)
            fresh.flush()
            if optimize:
                fresh.optimize()
            del fresh
        except BaseException as e:
            # close the database before its folder goes: the traceback's frames would keep it open, and RocksDB
            # would write into the folder again when it closes later
            fresh = None  # noqa: F841 (drops the last reference to the database)
            traceback.clear_frames(e.__traceback__)
            shutil.rmtree(target, ignore_errors=True)
            raise
        return target

    def _commit_generation(self, target: Path) -> None:
        """Point ``current`` at a filled generation folder and reopen."""
        previous = self._gen
        self.store = None  # type: ignore[assignment]
        self._switch_to(target)
        self._open()
        # keep the previous generation one round: a server that still has it open can finish its requests
        self._remove_old_generations(keep={target.name, previous})

    def recover(self, *, probe: bool = True) -> bool:
        """After a write failed on the disk: once the folder takes writes again, reopen the database (RocksDB
        refuses every write after a failed one until then); meanwhile keep it open for reading. True when
        writes may go on."""
        if self.write_failure is None or self.root is None:
            return True
        if probe and not folder_takes_writes(self.root):
            return False
        self.store = None  # type: ignore[assignment]
        try:
            self._open()
        except Exception:
            with contextlib.suppress(Exception):
                self.store = ox.Store.read_only(str(self._link.resolve()))
            return False
        self.write_failure = None
        return True

    def is_empty(self) -> bool:
        # one quad looked up, not all of them counted (1M quads: 0.6 s at start-up)
        return next(iter(self.store.quads_for_pattern(None, None, None, None)), None) is None

    def snapshot(self, target: Path) -> None:
        """Write a consistent copy of the current data to ``target`` (a RocksDB checkpoint: cheap, hard links)."""
        self.store.flush()
        self.store.backup(str(target))

    def _touch(self) -> None:
        """Give in-place changes a new generation token (the link does not move)."""
        base = self._gen.split("+", 1)[0]
        self._gen = f"{base}+{uuid.uuid4().hex[:8]}"

    def memory_copy(self, scratch: Path) -> OxigraphStore:
        """A copy of the data in memory, for reading: Oxigraph's joins look each row up in an index, and in memory
        a lookup costs a third to a fifth of one on disk (1M quads: 0.5 GB, ~15 s to make).

        The data goes through an N-Quads file in ``scratch``, streamed out and in, so that the copy is all this
        holds in memory (a dump held as bytes would add its size while loading). Blank nodes keep their labels,
        so that answers from the copy and from the disk agree on them (a client paging through a CONSTRUCT joins
        pages by them; Oxigraph's ``load`` would rename them). It is read in chunks: between two, other threads
        get the interpreter (a worker answers from the disk meanwhile; in one go it would wait seconds)."""
        copy = OxigraphStore(None)
        fd, name = tempfile.mkstemp(prefix="memory-copy-", suffix=".nq", dir=scratch)
        os.close(fd)
        try:
            self.store.dump(name, format=ox.RdfFormat.N_QUADS)
            quads = ox.parse(path=name, format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False)
            while chunk := list(itertools.islice(quads, 5000)):
                copy.store.extend(chunk)
        finally:
            os.unlink(name)
        return copy

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.store is not None and not self.read_only:
                self.store.flush()
        self.store = None  # type: ignore[assignment]


def result_kind(value: object) -> str:
    if isinstance(value, ox.QueryBoolean):
        return "ask"
    if isinstance(value, ox.QuerySolutions):
        return "select"
    return "graph"


def _replacing(graphs) -> list[str]:
    """The operations of one SPARQL update (one transaction in Oxigraph) that replace each graph by its quads."""
    parts = []
    for name, quads in graphs.items():
        parts.append(f"DROP SILENT GRAPH <{name}>")
        if quads:
            body = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads)
            parts.append(f"INSERT DATA {{ GRAPH <{name}> {{ {body} }} }}")
    return parts
