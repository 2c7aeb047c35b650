"""``next2met serve``: assemble the app (building the dataset first when the store is empty), then serve it with
waitress, a production WSGI server (not Flask's development server)."""

from __future__ import annotations

import logging
import signal
import threading

import waitress

from next2met.graph.settings import Settings

from .app import create_app

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop the query workers and close the store.

    The socket is opened only once the app is complete, so ``/health`` answers as soon as queries are accepted.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    kg = app.extensions["next2met"]
    pool = kg.extensions.get("sparql")
    if pool is not None and not pool.wait_ready():
        log.warning("the query workers are slow to start; queries wait for them")
    # waitress refuses grossly oversized bodies itself, before buffering them; anything up to that reaches the
    # app, which answers an oversized body with a problem document (413).
    # Answers up to 16 MB are sent from memory: past waitress's default of 1 MB it writes them to a temporary file
    # first (a cached 5 MB answer: 5.3 → 4.1 ms at the client). The answer is in memory already, in the cache.
    # Slow clients: waitress reads requests in its event loop and hands a request to a thread only once it has
    # arrived whole, so a connection that trickles its headers holds a socket, not a thread. Connections are many
    # (connection_limit; poll() instead of select(), which stops at 1024 descriptors) and one that sends nothing
    # for channel_timeout seconds is closed. On the internet, put a reverse proxy in front that bounds how long
    # headers and bodies may take to arrive (nginx: client_header_timeout, client_body_timeout).
    server = waitress.create_server(
        app, host=settings.host, port=settings.port, threads=settings.threads, ident="next2met-kg",
        max_request_body_size=max(2 * settings.max_body, settings.max_body + 65536), outbuf_overflow=16 << 20,
        connection_limit=settings.connection_limit, channel_timeout=settings.channel_timeout,
        asyncore_use_poll=True, cleanup_interval=min(30, max(1, int(settings.channel_timeout))),
    )
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    store = settings.store_url or f"{kg.store.kind} at {settings.store}, {kg.store.count()} quads"
    print(f"Serving http://{host}:{server.effective_port} (store: {store})", flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
        if pool is not None:
            pool.close()
        kg.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
