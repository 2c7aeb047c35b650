"""The ``next2met`` command line: thin wrappers over the library.

Exit codes (as pySHACL's): 0 = ok / conforms, 1 = the data does not conform, 2 = error (usage included).
Errors are one line on stderr; results go to stdout.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pyoxigraph as ox

from . import build as build_mod
from . import queries as queries_mod
from . import sources as sources_mod
from .backend import open_store
from .changes import Change, apply_change
from .cli_accounts import accounts as accounts_group
from .cli_import import import_command
from .errors import InputError, KGError, ShapesInvalid
from .formats import RDF, RESULTS, TURTLE, Format, guess_format, rdf_format, results_format
from .prefixes import curie
from .rdfio import parse_file
from .settings import Settings
from .sourceformat import Place
from .stats import statistics
from .validate import reference_quads, validate_quads, validate_text


class RdfFormatChoice(click.ParamType):
    """An RDF format by its key or any name of it (``xml`` for RDF/XML, ``ttl`` for Turtle); the keys are shown."""

    name = "format"

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(RDF) + "]"

    def convert(self, value, param, ctx) -> Format:
        if isinstance(value, Format):
            return value
        try:
            return rdf_format(value)
        except InputError:
            self.fail(f"{value!r} is not an RDF format; use one of {', '.join(RDF)}", param, ctx)


STORE_OPTION_NAMES = ("store", "store_url", "store_update_url", "store_user", "store_password", "base_iri")


def store_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that opens the store shares (collected by ``settings_from``)."""
    f = click.option(
        "--base-iri", default=None, help="Base IRI of the resources (default https://w3id.org/next2met/)."
    )(f)
    f = click.option("--store-password", default=None, help="Password for the remote store's update endpoint.")(f)
    f = click.option("--store-user", default=None, help="User for the remote store's update endpoint.")(f)
    f = click.option("--store-update-url", default=None, help="SPARQL 1.1 update endpoint of the remote store.")(f)
    f = click.option("--store-url", default=None, help="Use a remote SPARQL 1.1 store at this query endpoint URL.")(f)
    f = click.option(
        "--store",
        "store",
        default=None,
        type=click.Path(file_okay=False),
        help="Folder of the embedded store (default: $NEXT2MET_STORE or a per-user data folder).",
    )(f)
    return f


def settings_from(opts: dict[str, Any], **extra: Any) -> Settings:
    """Settings from the environment, overridden by the command-line options that were given."""
    return Settings.from_env(**{k: opts.pop(k) for k in STORE_OPTION_NAMES}, **extra)


PLUGINS = "next2met.commands"  # the entry-point group of commands other packages add (the server's ``serve``)


class Commands(click.Group):
    """Our subcommands, and those that installed packages register under the entry-point group ``PLUGINS``
    (``next2met.server`` registers ``serve``), loaded only when asked for: ``next2met build`` never imports Flask,
    and this package never imports the server."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in _plugins():
            command = _plugins()[name].load()
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:
            if not _plugins():  # installed before the server registered its commands (an old editable install)
                raise click.UsageError(
                    f"{e.message} (no package registers commands under {PLUGINS}: reinstall with pip install -e .)",
                    e.ctx,
                ) from None
            raise


def _plugins() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=PLUGINS)}


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="next2met-kg")
def cli() -> None:
    """next2met-kg: build, check, query and serve the Next2Met good-practice knowledge graph."""


@cli.command()
@store_options
@click.option(
    "--engine",
    type=click.Choice(["auto", "pyshacl", "turbo"]),
    default=None,
    help="SHACL engine (default: turbo when pyshacl-turbo is installed).",
)
@click.option("--dry-run", is_flag=True, help="Compile and validate only; leave the store as it is.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary.")
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False, exists=True),
    help="Folder of source files to build instead of the curated data/ (e.g. generated benchmark data).",
)
@click.option(
    "--warnings",
    "list_warnings",
    is_flag=True,
    help="List the warnings too, by file (by default they are counted by kind).",
)
def build(engine, dry_run, quiet, data_dir, list_warnings, **opts) -> None:
    """Compile data/ and ontology/ into the store, one named graph per source file.

    The dataset is validated with SHACL first; if it has violations the report is printed (by file and line), the
    exit code is 1 and the store keeps its previous content. A source file the format cannot read (an unknown key
    at any depth, an id used in two files, a YAML error) stops the build with exit code 2 and one line naming the
    file and the line; nothing is written.
    """
    settings = settings_from(opts, data_dir=data_dir)
    sources = sources_mod.discover_sources(settings.data_path)

    def progress(items):
        if quiet:
            return items
        return _progress(items, len(sources), "Reading sources")

    target = None if dry_run else open_store(settings, shared=True)
    try:
        if target is None:
            result = build_mod.build_dataset(
                target, settings, sources=sources, engine=engine, progress=progress, dry_run=True
            )
        else:
            built = apply_change(
                target, settings, Change(channel="build", rebuild=True), engine=engine, progress=progress
            ).build
            assert built is not None  # a rebuild reports its build
            result = built
        derived = _derive(target, settings) if target is not None else []
    except ShapesInvalid as e:
        if e.report is not None:
            click.echo(e.report.text(warnings=list_warnings), err=False)
        raise
    finally:
        if target is not None:
            target.close()
    if list_warnings and result.report is not None:
        click.echo(result.report.text(warnings=True))
    if not quiet and result.report is not None:
        where = "checked only (dry run)" if dry_run else f"written to {settings.store_url or settings.store}"
        click.echo(
            f"Built {result.quads} quads in {len(result.graphs)} graphs from {result.files} files; "
            f"{result.report.violation_count} violations, {result.report.warning_count} warnings; {where}. "
            + ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
            + (f"; derived graphs: {', '.join(g.rsplit('/', 1)[-1] for g in derived)}" if derived else ""),
            err=True,
        )


def _derive(store, settings: Settings) -> list[str]:
    """Compute the derived graphs (learning network, quality) into the freshly built store; a running server that
    shares the store (opened read-only here) computes them itself when it picks up the build."""
    if getattr(store, "read_only", False):
        return []
    from .analysis.derived import refresh

    return refresh(store, settings.base_iri)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@store_options
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["text", "turtle"]),
    default="text",
    help="text: violations by file and line, warnings counted by kind; turtle: the W3C validation report.",
)
@click.option("--input-format", default=None, help="RDF format of the files when the extension does not tell.")
@click.option("--engine", type=click.Choice(["auto", "pyshacl", "turbo"]), default=None, help="SHACL engine.")
@click.option("--warnings", "list_warnings", is_flag=True, help="List the warnings too, by file and line.")
@click.option("--violations-only", is_flag=True, hidden=True, help="The default now; kept for old scripts.")
def validate(paths, out_format, input_format, engine, list_warnings, violations_only, **opts) -> None:
    """Validate RDF files (any RDF format, or our YAML) against the shapes; without PATHS, the built dataset.

    Files are checked together with the ontology, the SKOS schemes and the curated data, so that links to
    existing organisations and concepts resolve; the report covers only the files' own resources. The text report
    lists the violations, each once, by file and line, and counts the warnings by kind (--warnings lists them).
    """
    settings = settings_from(opts)
    engine = engine or settings.shacl_engine
    if paths:
        own, focus, places = _read_inputs(paths, input_format, settings)
        curated_paths = {p.resolve() for p in paths}
        sources = [s for s in sources_mod.discover_sources(settings.data_path) if s.path.resolve() not in curated_paths]
        _, per_graph = build_mod.compile_dataset(settings, sources)
        # a file that describes a curated resource replaces the curated graph that holds it (an edit being checked)
        curated = [
            q
            for quads in per_graph.values()
            if not any(isinstance(q.subject, ox.NamedNode) and q.subject.value in focus for q in quads)
            for q in quads
        ]
        merged = [*own, *curated, *reference_quads(settings.base_iri)]
        report = validate_quads(merged, engine=engine, base=settings.base_iri).only_focus(focus).located(places)
    else:
        st = open_store(settings, read_only=True)
        try:
            if st.is_empty():
                raise InputError("the store is empty: run `next2met build` first, or name files to validate")
            report = validate_text(st.triples_text(), engine=engine, base=settings.base_iri)
            report = report.located(sources_mod.source_places(settings, st))
        finally:
            st.close()
    if out_format == "turtle":
        click.echo(report.turtle())
    else:
        click.echo(report.text(warnings=list_warnings and not violations_only))
    if not report.conforms:
        sys.exit(1)


def _read_inputs(paths: tuple[Path, ...], input_format: str | None, settings: Settings):
    """The quads of the named files, the resources they describe, and where the YAML ones are written."""
    quads: list[ox.Quad] = []
    places: dict[str, Place] = {}
    context = sources_mod.load_context(settings.base_iri, settings.data_path)
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.suffix in (".yaml", ".yml"):
            found: dict[str, Place] = {}
            src = sources_mod.SourceFile(path.resolve(), path.resolve().parent)
            quads += sources_mod.read_source(src, settings, context, found)
            for iri, place in found.items():
                if places.setdefault(iri, place) is not place:
                    raise InputError(f"the id {place.ref} is used in two files, {places[iri]} and {place}")
        else:
            fmt = rdf_format(input_format) if input_format else guess_format(path)
            quads += parse_file(path, fmt)
    focus = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    return quads, focus, places


@cli.command()
@store_options
@click.option(
    "--format",
    "fmt",
    default="nquads",
    type=RdfFormatChoice(),
    show_default=True,
    help="Serialisation; formats without graphs get the union of all graphs.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (a .gz name compresses); default stdout.",
)
def export(fmt, output, **opts) -> None:
    """Write the whole dataset in one RDF format."""
    settings = settings_from(opts)
    st = open_store(settings, read_only=True)
    try:
        if st.is_empty():
            raise InputError("the store is empty: run `next2met build` first")
        if output is None:
            buf = io.BytesIO()
            st.dump(buf, fmt)
            sys.stdout.buffer.write(buf.getvalue())
            return
        tmp = output.with_name(output.name + ".part")
        opener = gzip.open if output.suffix == ".gz" else open
        with opener(tmp, "wb") as fh:
            st.dump(fh, fmt)
        tmp.replace(output)
    finally:
        st.close()


@cli.command()
@click.argument("name", required=False)
@store_options
@click.option("--query", "query_text", default=None, help="SPARQL text to run instead of a named query or file.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of a named query.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", *RESULTS, *RDF]),
    default="table",
    show_default=True,
    help="Output format: a table, a SPARQL results format (SELECT, ASK) or an RDF format (CONSTRUCT).",
)
@click.option("--list", "list_only", is_flag=True, help="List the named research queries and their parameters.")
def query(name, query_text, params, fmt, list_only, **opts) -> None:
    """Run a named research query (see --list), a .rq file, or --query TEXT against the store."""
    settings = settings_from(opts)
    if list_only:
        for q in queries_mod.list_queries():
            ps = ", ".join(f"{p.name} ({p.describe()})" for p in q.params)
            click.echo(f"{q.name}: {q.title}" + (f"  [params: {ps}]" if ps else ""))
        return
    values = {}
    for item in params:
        if "=" not in item:
            raise InputError(f"--param needs KEY=VALUE, got {item!r}")
        key, _, value = item.partition("=")
        values[key.strip()] = value.strip()
    if query_text:
        if name or values:
            raise InputError("give either --query TEXT or a query NAME/FILE, not both")
        text = query_text
    elif name and name.endswith(".rq"):
        path = Path(name)
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        text = queries_mod.parse_query_file(path).bind(values, settings.base_iri)
    elif name:
        text = queries_mod.get_query(name).bind(values, settings.base_iri)
    else:
        raise InputError("name a query (see --list), a .rq file, or give --query TEXT")
    st = open_store(settings, read_only=True)
    try:
        result = st.query(text)
        click.echo(format_result(result, fmt), nl=False)
    finally:
        st.close()


def format_result(result, fmt: str) -> str:
    """Render a query result for the terminal or as a standard format."""
    if result.kind == "graph":
        if fmt in RESULTS:
            raise InputError(f"a CONSTRUCT or DESCRIBE answer is RDF: use --format table or one of {', '.join(RDF)}")
        chosen = TURTLE if fmt == "table" else RDF[fmt]
        return _bytes(chosen.write_triples(result.triples())).decode()
    if fmt in RDF:
        raise InputError(f"a {result.kind.upper()} answer is not RDF: use --format table or {', '.join(RESULTS)}")
    if fmt in RESULTS:
        return result.value.serialize(format=results_format(fmt).results).decode()
    if result.kind == "ask":
        return ("yes" if bool(result.value) else "no") + "\n"
    names = result.variables
    rows = [[_show(r.get(n)) for n in names] for r in result.rows()]
    return _table(names, rows) + f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n"


def _show(term) -> str:
    if term is None:
        return ""
    return curie(term.value) if isinstance(term, ox.NamedNode) else term.value


def _bytes(data: bytes | None) -> bytes:
    assert data is not None  # no output file given: the bytes are returned
    return data


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(headers)]

    def line(cells):
        cut = [(c if len(c) <= w else c[: w - 1] + "…").ljust(w) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(cut).rstrip()

    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out) + "\n"


@cli.command()
@store_options
def stats(**opts) -> None:
    """Counts per class, and practices per region, RIS3 sector, innovation stage, measure type and standing."""
    settings = settings_from(opts)
    st = open_store(settings, read_only=True)
    try:
        if st.is_empty():
            raise InputError("the store is empty: run `next2met build` first")
        data = statistics(st, settings.base_iri)
    finally:
        st.close()
    titles = {
        "class": "Resources per class",
        "region": "Practices per region",
        "sector": "Practices per RIS3 sector",
        "stage": "Practices per innovation-chain stage",
        "measure": "Practices per measure type",
        "standing": "Practices per standing",
    }
    for key, rows in data.items():
        click.echo(f"\n{titles[key]}")
        click.echo(_table(["count", "name", "IRI"], [[str(r.count), r.label, r.key] for r in rows]), nl=False)


@cli.command()
@click.argument("name")
@store_options
def release(name, **opts) -> None:
    """Freeze the current dataset as release NAME (e.g. 2026.1): dumps with checksums, a store to query it as it
    was (/sparql?release=NAME), CITATION.cff and BibTeX, listed in the catalogue and at /releases."""
    from .releases import make_release, releases_dir

    settings = settings_from(opts)
    store = open_store(settings, shared=True)
    try:
        made = make_release(store, settings, name)
    finally:
        store.close()
    click.echo(f"{made.path}")
    click.echo(
        f"Release {made.name}: {made.quads} quads, data generation {made.generation[:12]}, "
        f"{len(made.files)} files in {releases_dir(settings)}"
        + (f"; previous release {made.previous}" if made.previous else ""),
        err=True,
    )


@cli.command()
@click.argument("source")
@store_options
@click.option(
    "--kind",
    type=click.Choice(["auto", "sparql", "dump", "ldes"]),
    default="auto",
    show_default=True,
    help="What SOURCE is: a SPARQL endpoint, an RDF dump URL or file, or an LDES of another instance.",
)
@click.option("--graph", "graph_name", default=None, help="Named graph to put the harvested data in.")
@click.option("--engine", type=click.Choice(["auto", "pyshacl", "turbo"]), default=None, help="SHACL engine.")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST",
    help="A host (or host:port) the harvest may follow besides SOURCE's own origin; repeatable.",
)
@click.option(
    "--allow-private", is_flag=True, help="Allow private, loopback and link-local addresses (refused by default)."
)
@click.option(
    "--timeout",
    "total_timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds the whole harvest may take to download.",
)
@click.option(
    "--max-bytes",
    type=int,
    default=512 * 1024 * 1024,
    show_default=True,
    help="Largest document, counted after decompression.",
)
@click.option(
    "--shapes",
    "shapes",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A SHACL file of your own that the harvested data must conform to, besides the harvest profile.",
)
def harvest(
    source, kind, graph_name, engine, allow_hosts, allow_private, total_timeout, max_bytes, shapes, **opts
) -> None:
    """Pull RDF from SOURCE into its own named graph, after SHACL validation, with provenance.

    The harvest stays on SOURCE's origin (scheme, host and port): redirects and stream links elsewhere are
    refused unless --allow-host names their host."""
    from .harvest import harvest as run_harvest
    from .http import FetchPolicy

    settings = settings_from(opts)
    policy = FetchPolicy(
        allow_hosts=tuple(h.lower() for h in allow_hosts),
        allow_private=allow_private,
        total_timeout=total_timeout,
        max_bytes=max_bytes,
    )
    result = run_harvest(
        settings,
        source,
        kind=kind,
        graph=graph_name,
        engine=engine,
        policy=policy,
        shapes=shapes,
        progress=lambda n: click.echo(f"  {n} triples read", err=True),
    )
    click.echo(result.summary(), err=True)


def _progress(items, total: int, label: str):
    with click.progressbar(items, length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


cli.add_command(accounts_group, "accounts")
cli.add_command(import_command, "import")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn our errors into one line on stderr and an exit code."""
    try:
        cli.main(args=argv, prog_name="next2met", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("next2met: aborted", err=True)
        return 2
    except click.ClickException as e:
        e.show()
        return 2
    except ShapesInvalid as e:
        click.echo(f"next2met: {e.detail}", err=True)
        return 1
    except KGError as e:
        click.echo(f"next2met: error: {e.detail}", err=True)
        return e.exit_code
    except SystemExit as e:  # sys.exit inside a command (validate's exit 1)
        return int(e.code or 0)
    except BrokenPipeError:
        return 0
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
