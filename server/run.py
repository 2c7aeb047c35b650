"""``next2met serve``: assemble the app (building the dataset first when the store is empty), then serve it with
waitress, a production WSGI server (not Flask's development server).

The command is registered from here, under the entry-point group ``next2met.commands`` (pyproject.toml), which
the ``next2met`` command line of ``next2met.graph`` reads: the graph package never imports the server.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading

import click
import waitress

from next2met.graph.changes import ensure_data_folder
from next2met.graph.cli import settings_from, store_options
from next2met.graph.errors import ConfigError
from next2met.graph.settings import Settings

from .app import create_app
from .state import KnowledgeGraph

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop the query workers and close the store.

    The socket opens as soon as the app is assembled: the query workers start meanwhile (a query waits for the
    first), and the dumps and the change log are prepared in the background after it (``/health`` lists them).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_port(settings.host, settings.port)  # before the build and the workers: a busy port is known in a moment
    folder = ensure_data_folder(settings.data_dir, announce=lambda text: print(text, flush=True))
    settings = settings.with_(data_dir=str(folder))
    app = create_app(settings, start=False)
    kg: KnowledgeGraph = app.extensions["next2met"]
    try:
        kg.take_changed_files()  # files changed while no server ran: a hand edit, a write a crash cut short
    except ConfigError:  # the store was built from another data folder
        kg.close()
        raise
    # waitress refuses grossly oversized bodies itself, before buffering them; anything up to that reaches the
    # app, which answers an oversized body with a problem document (413).
    # Answers up to 16 MB are sent from memory: past waitress's default of 1 MB it writes them to a temporary file
    # first (a cached 5 MB answer: 5.3 → 4.1 ms at the client). The answer is in memory already, in the cache.
    # Slow clients: waitress reads requests in its event loop and hands a request to a thread only once it has
    # arrived whole, so a connection that trickles its headers holds a socket, not a thread. Connections are many
    # (connection_limit; poll() instead of select(), which stops at 1024 descriptors) and one that sends nothing
    # for channel_timeout seconds is closed. On the internet, put a reverse proxy in front that bounds how long
    # headers and bodies may take to arrive (nginx: client_header_timeout, client_body_timeout).
    try:
        server = waitress.create_server(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            ident="next2met-kg",
            max_request_body_size=max(2 * settings.max_body, settings.max_body + 65536),
            outbuf_overflow=16 << 20,
            connection_limit=settings.connection_limit,
            channel_timeout=settings.channel_timeout,
            asyncore_use_poll=True,
            cleanup_interval=min(30, max(1, int(settings.channel_timeout))),
        )
    except OSError as e:  # taken meanwhile by another program
        kg.close()
        raise _listen_error(settings.host, settings.port, e) from None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    store = settings.store_url or f"{kg.store.kind} at {settings.store}"
    print(f"Serving http://{host}:{server.effective_port} (store: {store}; data folder: {folder})", flush=True)
    kg.start()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
        kg.close()  # the query workers, the dump writer, the store


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, an address the server could not listen on (a port in use, a host not of this
    machine): found before the minutes a build may take, not after."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ConfigError(f"cannot listen on {host}: {e.strerror}; give another address with --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as e:
            raise _listen_error(host, port, e) from None


def _listen_error(host: str, port: int, e: OSError) -> ConfigError:
    if e.errno == errno.EADDRINUSE:
        return ConfigError(
            f"port {port} on {host} is in use by another program (another next2met serve?); "
            "choose a free one with --port or NEXT2MET_PORT"
        )
    return ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}")


@click.command("serve")
@store_options
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8080).")
@click.option("--query-timeout", default=None, type=float, help="Seconds a user SPARQL query may run.")
@click.option("--max-rows", default=None, type=int, help="Most rows/triples a user query returns (cut with notice).")
@click.option(
    "--update-token-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File holding the bearer token that turns on /update and the write API.",
)
@click.option(
    "--update-token",
    default=None,
    help="The token itself (visible to anyone who lists processes: prefer --update-token-file or "
    "NEXT2MET_UPDATE_TOKEN).",
)
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="The data folder: the source files that accepted writes go to (default: data/ of a checkout, "
    "else a per-user copy of the packaged data).",
)
def serve_command(host, port, query_timeout, max_rows, update_token_file, update_token, data_dir, **opts) -> None:
    """Serve the graph over HTTP (SPARQL endpoint, pages, harvesting), building it first when the store is empty."""
    if update_token:
        click.echo(
            "next2met: warning: --update-token shows the token to anyone who lists processes; use "
            "--update-token-file or NEXT2MET_UPDATE_TOKEN instead",
            err=True,
        )
    serve(
        settings_from(
            opts,
            host=host,
            port=port,
            query_timeout=query_timeout,
            max_rows=max_rows,
            update_token=update_token,
            update_token_file=update_token_file,
            data_dir=data_dir,
        )
    )
