"""The one place that reads configuration: a frozen dataclass filled from defaults, ``NEXT2MET_*`` variables
and command-line options, in that order of precedence (last wins)."""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

DEFAULT_BASE_IRI = "https://w3id.org/next2met/"
# IRIs under the default base that name the vocabulary, not data: they stay when the base IRI is changed.
FIXED_IRI_PREFIXES = (DEFAULT_BASE_IRI + "ontology", DEFAULT_BASE_IRI + "shapes")


def rebase_iri(iri: str, base: str) -> str:
    """Move an IRI under the default base to ``base``; vocabulary IRIs (ontology, shapes) stay as they are."""
    if base == DEFAULT_BASE_IRI or not iri.startswith(DEFAULT_BASE_IRI) or iri.startswith(FIXED_IRI_PREFIXES):
        return iri
    return base + iri[len(DEFAULT_BASE_IRI) :]


def rebase_text(text: str, base: str) -> str:
    """Move every IRI under the default base in a text (Turtle, JSON-LD context) to ``base``."""
    if base == DEFAULT_BASE_IRI:
        return text
    parts = re.split("(" + "|".join(re.escape(p) for p in FIXED_IRI_PREFIXES) + ")", text)
    # odd parts are the fixed prefixes themselves: keep them and replace only in the text between
    return "".join(p if i % 2 else p.replace(DEFAULT_BASE_IRI, base) for i, p in enumerate(parts))


def _default_store() -> str:
    return str(Path(platformdirs.user_data_dir("next2met-kg")) / "store")


def setting(default: Any = MISSING, *, help: str, factory: Any = MISSING) -> Any:
    """Declare a setting with its one-line help text (kept in the field metadata for --help and the docs)."""
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Configuration of the graph, the store and the server."""

    base_iri: str = setting(DEFAULT_BASE_IRI, help="Base IRI of the resources; the server serves IRIs under it.")
    store: str = setting(factory=_default_store, help="Folder of the embedded on-disk store.")
    store_url: str = setting("", help="SPARQL 1.1 query endpoint of a remote store; replaces the embedded store.")
    store_update_url: str = setting("", help="SPARQL 1.1 update endpoint of the remote store (default: store_url).")
    store_user: str = setting("", help="User name for the remote store's update endpoint.")
    store_password: str = setting("", help="Password for the remote store's update endpoint.")
    store_auth: str = setting("digest", help="HTTP authentication scheme of the remote store: digest or basic.")
    shacl_engine: str = setting(
        "auto", help="SHACL engine: pyshacl, turbo (pyshacl-turbo) or auto (turbo if installed)."
    )
    host: str = setting("127.0.0.1", help="Address the server listens on (loopback by default).")
    port: int = setting(8080, help="Port the server listens on.")
    threads: int = setting(8, help="Request threads of the WSGI server.")
    connection_limit: int = setting(
        1000, help="Connections the WSGI server keeps open at once (slow ones included); more wait to be accepted."
    )
    channel_timeout: float = setting(
        30.0, help="Seconds the WSGI server keeps a connection that sends nothing; then it is closed."
    )
    query_timeout: float = setting(10.0, help="Seconds a user SPARQL query may run before it is stopped.")
    max_rows: int = setting(
        10000, help="Most result rows (or triples) a user query returns; more are cut, with notice."
    )
    result_cache_mb: int = setting(
        64, help="Memory (MB) for answers to repeated user queries, dropped when the data changes; 0 turns it off."
    )
    max_body: int = setting(1_000_000, help="Largest request body in bytes.")
    max_posted_triples: int = setting(
        20_000, help="Most triples a body posted to /validate or the write API may hold; more get 413."
    )
    validate_timeout: float = setting(
        30.0, help="Seconds /validate may take (it runs in a worker process, stopped at this limit)."
    )
    validate_workers: int = setting(1, help="Worker processes that run /validate, started on first use.")
    max_concurrent_validations: int = setting(4, help="/validate requests running or waiting at once; more get 503.")
    query_workers: int = setting(2, help="Worker processes that run user SPARQL queries.")
    query_memory_quads: int = setting(
        2_000_000,
        help="Workers copy the data into memory (faster joins; ~0.5 GB a worker per million quads) when "
        "it holds at most this many quads; 0 keeps them on disk.",
    )
    query_memory_copies: int = setting(
        1,
        help="How many query workers make that copy; the others read the data on disk (2-5x slower joins, "
        "~0.1 GB each), and a query goes to an idle worker with a copy first.",
    )
    max_concurrent_queries: int = setting(8, help="User queries running or waiting at once; more get 503.")
    max_queries_per_client: int = setting(
        1,
        help="Query workers one client (bearer token, else address) may hold at once; beyond, 429 with "
        "Retry-After. 0: no per-client limit.",
    )
    max_query_depth: int = setting(
        64, help="Deepest nesting of braces, parentheses and brackets in a query or update; deeper gets 400."
    )
    worker_memory_mb: int = setting(
        2048,
        help="Memory (MB, RLIMIT_DATA) of each query or validation worker; a job that needs more is stopped "
        "and answered 503, and the worker replaced. 0: no limit.",
    )
    service_allowlist: tuple[str, ...] = setting(
        factory=tuple, help="SPARQL endpoints that SERVICE may call (comma-separated); empty refuses SERVICE."
    )
    update_token: str = setting("", help="Bearer token that allows /update and the write API; empty turns writes off.")
    update_token_file: str = setting(
        "", help="File holding the update token (read at start; kept out of the process list and environment)."
    )
    trusted_hosts: tuple[str, ...] = setting(
        factory=tuple,
        help="Host names (or host:port) the server answers as, for the absolute links of /catalog, "
        "/dumps, /ldes and the sitemap (comma-separated); a request naming another Host gets links under base_iri. "
        "Loopback names are always trusted.",
    )
    dumps_dir: str = setting("", help="Folder for the generated dumps (default: inside the store folder).")
    data_dir: str = setting(
        "",
        help="Folder of the curated source files, where accepted writes go (default: data/ in a checkout; "
        "else a per-user data folder, filled from the packaged data on the server's first start).",
    )
    update_token_name: str = setting(
        "maintainer", help="Name the history records as the author of changes made with the update token."
    )
    accounts_dir: str = setting(
        "", help="Folder of the partner accounts and the audit log (default: 'accounts' beside the store folder)."
    )
    login_limit: str = setting("10 per minute", help="Login attempts allowed per client address (Flask-Limiter).")
    auth_failure_limit: str = setting(
        "30 per minute", help="Refused bearer tokens allowed per client address before it gets 429."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``NEXT2MET_*`` variables, then apply explicit overrides that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("NEXT2MET_" + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("update_token_file") and not values.get("update_token"):
            values["update_token"] = _read_token(values["update_token_file"])
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def data_path(self) -> Path:
        """The data folder: ``data_dir``, else data/ of a checkout, else the per-user copy once there is one."""
        from .changes.files import is_checkout, user_data_folder
        from .paths import DATA_DIR

        if self.data_dir:
            return Path(self.data_dir)
        if is_checkout() or not user_data_folder().is_dir():
            return DATA_DIR
        return user_data_folder()

    @property
    def accounts_path(self) -> Path:
        """The accounts database: beside the store, never inside the data folder or the dataset."""
        folder = Path(self.accounts_dir) if self.accounts_dir else Path(self.store).parent / "accounts"
        return folder / "accounts.sqlite3"

    @property
    def dumps_path(self) -> Path:
        return Path(self.dumps_dir) if self.dumps_dir else Path(self.store) / "dumps"


def _read_token(path: str) -> str:
    from .errors import ConfigError

    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the update token file {path}: {e}") from None
    if not token:
        raise ConfigError(f"the update token file {path} is empty")
    return token


def _convert(annotation: Any, raw: str, name: str) -> Any:
    kind = str(annotation)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        from .errors import ConfigError

        raise ConfigError(f"NEXT2MET_{name.upper()} must be a number, got {raw!r}") from None
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def documented_settings() -> list[tuple[str, str, str]]:
    """Name, default and help of every setting, for --help texts and the README."""
    rows = []
    for f in fields(Settings):
        if f.default is not MISSING:
            default = repr(f.default)
        else:
            default = "(per-user data folder)" if f.name == "store" else repr(f.default_factory())  # type: ignore[operator]
        rows.append((f.name, default, f.metadata["help"]))
    return rows


def settings_table() -> str:
    """The Markdown table of all settings that the README carries (checked by tests/test_docs.py)."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for name, default, help_text in documented_settings():
        shown = default if default.startswith("(") else f"`{default}`"
        rows.append(f"| `{name}` | {shown} | {help_text} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
