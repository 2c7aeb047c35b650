"""Partner accounts, their roles and the audit log, kept in one SQLite file beside the store (never in the dataset).

An account has a name, a role (contributor, reviewer or admin) and optionally the organisation and the NUTS region
it speaks for. Its secret is a token ``n2m_<name>_<random>`` shown once when the account is added or rotated and
stored only as an scrypt hash (hashlib.scrypt, a salt per account). The same token is the password of the login
form and the bearer token of the API. The audit log records who did what, when, and with what outcome.

SQLite gives atomic, durable writes from the server and the CLI at the same time (WAL mode, a busy timeout).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

ROLES = ("contributor", "reviewer", "admin")
NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
NUTS = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")
TOKEN = re.compile(r"^n2m_([a-z][a-z0-9-]{1,39})_([A-Za-z0-9_-]{20,100})$")
# scrypt cost: 16 MiB and about 50 ms a check here; the server remembers a checked token for a while (see
# server/auth.py), so the cost is paid once per token, not per request.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, organisation TEXT NOT NULL DEFAULT '', region TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL, created TEXT NOT NULL, rotated TEXT NOT NULL DEFAULT '', revoked TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    organisation: str = ""
    region: str = ""
    created: str = ""
    rotated: str = ""
    revoked: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked

    def can(self, role: str) -> bool:
        """True when this account has ``role`` or a stronger one (admin > reviewer > contributor)."""
        return self.active and ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    who: str
    action: str
    target: str
    outcome: str
    detail: str


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **SCRYPT)
    enc = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${enc(salt).decode()}${enc(digest).decode()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got, expected)


@functools.cache
def _dummy() -> str:
    """A hash to check against when the account does not exist, so that a wrong name costs as long as a wrong
    secret (made on first use: a scrypt hash takes ~80 ms, which every start-up paid)."""
    return hash_secret(secrets.token_urlsafe(16))


class Accounts:
    """The accounts and audit log of one server (``Settings.accounts_path``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)
        self.path.chmod(0o600)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # what is acknowledged survives a power cut
            db.row_factory = sqlite3.Row
            self._local.db = db
        yield db

    # -- accounts --------------------------------------------------------------------------------------------
    def add(self, name: str, role: str, organisation: str = "", region: str = "") -> tuple[Account, str]:
        """Create an account; returns it and its token (shown once, never stored)."""
        _check(name, role, region)
        token = _new_token(name)
        with self._db() as db:
            try:
                db.execute(
                    "INSERT INTO accounts (name, role, organisation, region, secret, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (name, role, organisation, region, hash_secret(token), now()),
                )
            except sqlite3.IntegrityError:
                raise InputError(
                    f"there is already an account {name!r} (rotate its token, or choose another name)"
                ) from None
        return self.get(name), token  # type: ignore[return-value]

    def get(self, name: str) -> Account | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        return _account(row) if row else None

    def all(self) -> list[Account]:
        with self._db() as db:
            return [_account(r) for r in db.execute("SELECT * FROM accounts ORDER BY name")]

    def revoke(self, name: str) -> Account:
        account = self._existing(name)
        with self._db() as db:
            db.execute("UPDATE accounts SET revoked = ? WHERE name = ?", (now(), name))
        return self.get(account.name)  # type: ignore[return-value]

    def rotate(self, name: str) -> tuple[Account, str]:
        """A new token for the account (the old one stops working); revoked accounts come back active."""
        self._existing(name)
        token = _new_token(name)
        with self._db() as db:
            db.execute(
                "UPDATE accounts SET secret = ?, rotated = ?, revoked = '' WHERE name = ?",
                (hash_secret(token), now(), name),
            )
        return self.get(name), token  # type: ignore[return-value]

    def authenticate(self, token: str, name: str | None = None) -> Account | None:
        """The active account whose token this is (and whose name is ``name``, when given), else None."""
        match = TOKEN.match(token.strip())
        owner = match.group(1) if match else ""
        with self._db() as db:
            row = db.execute("SELECT * FROM accounts WHERE name = ?", (owner,)).fetchone() if owner else None
        ok = check_secret(token.strip(), row["secret"] if row else _dummy())
        if not (ok and row and not row["revoked"]) or (name is not None and name != owner):
            return None
        return _account(row)

    def version(self, name: str) -> str:
        """Changes when the account's token or standing changes (cached logins are checked against it)."""
        with self._db() as db:
            row = db.execute("SELECT secret, revoked, role FROM accounts WHERE name = ?", (name,)).fetchone()
        return hashlib.sha256("|".join(row).encode()).hexdigest() if row else ""

    def _existing(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise InputError(f"there is no account {name!r}")
        return account

    # -- settings kept with the accounts -----------------------------------------------------------------------
    def secret_key(self) -> str:
        """The key that signs session cookies: made once, kept with the accounts (sessions survive restarts)."""
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('session_key', ?)", (secrets.token_urlsafe(48),)
            )
            return db.execute("SELECT value FROM meta WHERE key = 'session_key'").fetchone()[0]

    # -- audit log -----------------------------------------------------------------------------------------------
    def record(self, who: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (at, who, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (now(), who, action, target[:500], outcome, detail[:1000]),
            )

    def audit(self, limit: int = 200, before: int | None = None, who: str | None = None) -> list[AuditEntry]:
        sql, args = "SELECT * FROM audit WHERE 1=1", list[object]()
        if before is not None:
            sql, args = sql + " AND id < ?", [*args, before]
        if who:
            sql, args = sql + " AND who = ?", [*args, who]
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEntry(**dict(r)) for r in rows]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _check(name: str, role: str, region: str) -> None:
    if not NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid account name: 2-40 lower-case letters, digits and hyphens, starting with a letter"
        )
    if role not in ROLES:
        raise InputError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    if region and not NUTS.match(region):
        raise InputError(f"{region!r} is not a NUTS code (e.g. FI1C3, AT12, ES511)")


def _new_token(name: str) -> str:
    return f"n2m_{name}_{secrets.token_urlsafe(32)}"


def _account(row: sqlite3.Row) -> Account:
    return Account(
        row["name"], row["role"], row["organisation"], row["region"], row["created"], row["rotated"], row["revoked"]
    )
