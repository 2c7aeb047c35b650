"""Who is asking: partner accounts (graph/accounts.py) on the API as bearer tokens and on the web pages through a
login form with a session cookie; CSRF protection of the forms (Flask-WTF), rate limits on logins and refused
tokens (Flask-Limiter), and the audit log of every write and refusal (``/admin/audit``, admins only).

The single ``update_token`` of the settings keeps working as an admin token (its history name is
``update-token``). Refusals never say whether an account exists: a wrong name and a wrong token read the same.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, jsonify, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from next2met.graph.accounts import Account, Accounts
from next2met.graph.errors import Forbidden, Unauthorized, UpdateForbidden

from .i18n import gettext as _
from .problems import wants_html

bp = Blueprint("auth", __name__)

UPDATE_TOKEN = Account("update-token", "admin")
TOKEN_CACHE_SECONDS = 300
NOT_AUDITED = ("/sparql", "/validate", "/login")  # reads sent as POST; logins are recorded by the login view


class Sessions(SecureCookieSessionInterface):
    """Session cookies marked Secure whenever the request came over TLS (directly or as the proxy says)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def accounts() -> Accounts:
    return current_app.extensions["next2met_accounts"]


# -- who is asking -----------------------------------------------------------------------------------------------
class TokenCache:
    """Tokens checked recently (by their SHA-256), so scrypt runs once per token and not on every API call; an
    entry is used only while the account's token and standing are unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, str, float]] = {}

    def get(self, token: str, store: Accounts) -> Account | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            hit = self._seen.get(key)
        if hit and hit[2] > time.monotonic():
            name, version, _expiry = hit
            if store.version(name) == version:
                return store.get(name)
        account = store.authenticate(token)
        if account is not None:
            with self._lock:
                if len(self._seen) > 10_000:
                    self._seen.clear()
                self._seen[key] = (account.name, store.version(account.name), time.monotonic() + TOKEN_CACHE_SECONDS)
        return account


def bearer() -> str | None:
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def current_account() -> Account | None:
    """The account of this request: a valid bearer token, else the logged-in session; None for anonymous.

    A bearer token that is not valid raises Unauthorized (a client that sends one expects to be someone)."""
    if "account" in g:
        return g.account
    account = None
    token = bearer()
    if token is not None:
        update_token = current_app.config["NEXT2MET_SETTINGS"].update_token
        if update_token and hmac.compare_digest(token.encode(), update_token.encode()):
            account = UPDATE_TOKEN
        else:
            account = current_app.extensions["next2met_token_cache"].get(token, accounts())
            if account is None:
                g.account = None
                raise Unauthorized("the bearer token is not valid")
    elif session.get("account"):
        found = accounts().get(session["account"])
        if found and found.active and accounts().version(found.name) == session.get("version"):
            account = found
        else:
            session.clear()  # revoked or rotated since the login
    g.account = account
    return account


def writes_possible() -> bool:
    """Writes are on when an update token is configured or any active account exists."""
    return bool(current_app.config["NEXT2MET_SETTINGS"].update_token) or any(a.active for a in accounts().all())


def require(
    role: str, off_message: str = "writes are turned off on this server (no update token or account is configured)"
) -> Account:
    """The account of this request if it has ``role`` (or a stronger one); else 403 (off or not allowed) or 401."""
    if not writes_possible():
        raise UpdateForbidden(off_message)
    account = current_account()
    if account is None:
        raise Unauthorized("log in, or send an account token as 'Authorization: Bearer <token>'")
    if not account.can(role):
        raise Forbidden(f"the account {account.name} is a {account.role}; this needs the {role} role or stronger")
    return account


# -- the login form ----------------------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send the reader to another site."""
    if not target:
        return "/account"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/account"
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    name = request.form.get("name", "").strip().lower()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", name="", next=target, message="")
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _login_again(name, target, _("The form had expired. Please send it again."), 400)
    account = accounts().authenticate(request.form.get("token", ""), name=name or None)
    if account is None:
        accounts().record(name or "anonymous", "login", "", "refused", "wrong name or token")
        return _login_again(name, target, _("The account name or the token is not right."), 401)
    session.clear()
    session.permanent = True
    session["account"] = account.name
    session["version"] = accounts().version(account.name)
    accounts().record(account.name, "login", "", "ok")
    return redirect(target, code=303)


def _login_again(name: str, target: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("login.html", name=name, next=target, message=message), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return redirect("/account", code=303)
    session.clear()
    return redirect("/", code=303)


@bp.get("/account")
def account_page() -> ResponseReturnValue:
    account = current_account()
    if account is None:
        return redirect("/login?next=/account", code=303)
    return render_template("account.html", account=account)


@bp.get("/admin/audit")
def audit() -> ResponseReturnValue:
    account = current_account()
    if account is None and wants_html() and bearer() is None:
        return redirect("/login?next=/admin/audit", code=303)
    require("admin")
    before = request.args.get("before", type=int)
    entries = accounts().audit(limit=200, before=before, who=request.args.get("who") or None)
    if not wants_html():
        return jsonify([e.__dict__ for e in entries])
    return render_template("audit.html", entries=entries)


# -- the audit log of writes and refusals ------------------------------------------------------------------------
def _audit(response: Response) -> Response:
    refused = response.status_code in (401, 403, 429)
    write = request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.path.startswith(NOT_AUDITED)
    if refused or write:
        account = g.get("account")
        who = account.name if account else "anonymous"
        outcome = "ok" if response.status_code < 400 else f"refused {response.status_code}"
        try:
            accounts().record(who, request.method, request.path, outcome, request.remote_addr or "")
        except Exception:  # the log must not turn an answered request into an error
            current_app.logger.exception("could not write the audit log")
    return response


def _private(response: Response) -> Response:
    """A page made for a signed-in reader is nobody else's: no shared caching, no revalidation by ETag."""
    if g.get("account") is not None and session.get("account"):
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.pop("ETag", None)
    return response


def init_app(app: Flask, kg) -> None:
    settings = app.config["NEXT2MET_SETTINGS"]
    store = Accounts(settings.accounts_path)
    app.extensions["next2met_accounts"] = store
    app.extensions["next2met_token_cache"] = TokenCache()
    app.secret_key = store.secret_key()
    app.session_interface = Sessions()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    CSRFProtect(app)  # forms check their token themselves (validate_csrf); API clients send bearer tokens
    app.add_template_global(generate_csrf, "csrf_token")
    app.add_template_global(lambda: g.get("account") if "account" in g else _quiet_account(), "signed_in")
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="memory://",
        application_limits=[lambda: settings.auth_failure_limit],
        application_limits_deduct_when=lambda r: r.status_code == 401,
        application_limits_exempt_when=lambda: bearer() is None,
    )
    app.view_functions["auth.login"] = limiter.limit(  # type: ignore[assignment]  # flask-limiter's wrapper type
        lambda: settings.login_limit, methods=["POST"], deduct_when=lambda r: r.status_code != 303
    )(app.view_functions["auth.login"])
    app.extensions["next2met_limiter"] = limiter
    app.after_request(_audit)
    app.after_request(_private)


def _quiet_account() -> Account | None:
    """The signed-in account for the page header (a bad bearer token on a page shows as anonymous)."""
    try:
        return current_account()
    except Unauthorized:
        return None
