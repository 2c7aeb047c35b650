"""Partner accounts over real HTTP: tokens shown once and stored hashed, bearer tokens on the API, the login form
with its session cookie and CSRF token, the roles, rate limits, and the audit log; and the CLI."""

from __future__ import annotations

import re

import pytest
import requests

from next2met.graph.accounts import Accounts
from next2met.graph.cli import main
from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings

UPDATE_TOKEN = "legacy-update-token"
PRACTICE = "digital-consultations-longford"


@pytest.fixture
def site(store_copy, tmp_path):
    settings = make_settings(store_copy, update_token=UPDATE_TOKEN, accounts_dir=str(tmp_path / "accounts"),
                             login_limit="5 per minute", auth_failure_limit="6 per minute")
    app = create_app(settings)
    server = LiveServer(app)
    accounts: Accounts = app.extensions["next2met_accounts"]
    yield server.url, accounts, app
    server.stop()
    app.extensions["next2met"].close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def login(url: str, name: str, token: str, http: requests.Session | None = None) -> requests.Response:
    http = http or requests.Session()
    form = http.get(url + "/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return http.post(url + "/login", data={"name": name, "token": token, "csrf_token": csrf, "next": "/account"},
                     allow_redirects=False, timeout=30)


def test_tokens_are_stored_hashed_and_shown_once(tmp_path, capsys):
    where = ["--accounts-dir", str(tmp_path / "acc")]
    assert main(["accounts", "add", "maria", "--role", "contributor", "--region", "ES511", *where]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert re.fullmatch(r"n2m_maria_[A-Za-z0-9_-]{40,}", token)
    assert token not in out.err
    raw = b"".join(f.read_bytes() for f in (tmp_path / "acc").iterdir())  # the database and its write-ahead log
    secret = token[len("n2m_maria_"):]
    assert token.encode() not in raw and secret.encode() not in raw and b"scrypt$" in raw
    assert main(["accounts", "list", *where]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("maria\tcontributor\t-\tES511\tactive") and token not in listed
    assert main(["accounts", "rotate", "maria", *where]) == 0
    new = capsys.readouterr().out.strip()
    accounts = Accounts(tmp_path / "acc" / "accounts.sqlite3")
    assert accounts.authenticate(token) is None and accounts.authenticate(new).name == "maria"
    assert main(["accounts", "revoke", "maria", *where]) == 0
    assert accounts.authenticate(new) is None
    # bad input: one line, exit 2
    assert main(["accounts", "add", "maria", "--role", "admin", *where]) == 2
    assert "already an account" in capsys.readouterr().err
    assert main(["accounts", "add", "x y", "--role", "admin", *where]) == 2
    assert main(["accounts", "add", "lena", "--role", "admin", "--region", "nowhere", *where]) == 2


def test_bearer_tokens_and_roles_on_the_api(site):
    url, accounts, _app = site
    _, admin = accounts.add("ada", "admin")
    _, contributor = accounts.add("carl", "contributor", region="IE061")
    body = requests.get(f"{url}/api/practices/{PRACTICE}", headers={"Accept": "text/turtle"}, timeout=30).text
    put = {"Content-Type": "text/turtle", "If-Match": "*"}  # any current version (the write API needs If-Match)
    r = requests.put(f"{url}/api/practices/{PRACTICE}", data=body, headers={**bearer(contributor), **put}, timeout=60)
    assert r.status_code == 403 and "carl is a contributor" in r.json()["detail"]
    r = requests.put(f"{url}/api/practices/{PRACTICE}", data=body, headers={**bearer(admin), **put}, timeout=60)
    assert r.status_code == 200, r.text
    r = requests.put(f"{url}/api/practices/{PRACTICE}", data=body, headers={**bearer(UPDATE_TOKEN), **put},
                     timeout=60)
    assert r.status_code == 200  # the update token of the settings is an admin token
    # a wrong token reads the same whether the account exists or not
    known = requests.delete(f"{url}/api/practices/{PRACTICE}", headers={**bearer(admin[:-2] + "xx"), "If-Match": "*"},
                            timeout=30)
    unknown = requests.delete(f"{url}/api/practices/{PRACTICE}",
                              headers={**bearer("n2m_nobody_" + "a" * 43), "If-Match": "*"}, timeout=30)
    assert known.status_code == unknown.status_code == 401
    assert known.json()["detail"] == unknown.json()["detail"]
    accounts.revoke("ada")
    r = requests.put(f"{url}/api/practices/{PRACTICE}", data=body, headers={**bearer(admin), **put}, timeout=60)
    assert r.status_code == 401  # revoked at once, although the server had checked the token before


def test_login_form_session_and_csrf(site):
    url, accounts, _app = site
    _, token = accounts.add("rita", "reviewer", organisation="https://w3id.org/next2met/organisation/city-of-lahti")
    http = requests.Session()
    r = login(url, "rita", token, http)
    assert r.status_code == 303 and r.headers["Location"] == "/account"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain HTTP here
    page = http.get(url + "/account?lang=fi", timeout=30)
    assert "rita" in page.text and "arvioija" in page.text
    assert page.headers["Cache-Control"] == "private, no-store"
    # wrong token, or a name that is not the token's: the form again, the name kept, no hint which was wrong
    for name, secret in (("rita", token[:-3] + "abc"), ("nobody", token)):
        r = login(url, name, secret)
        assert r.status_code == 401 and f'value="{name}"' in r.text
        assert "The account name or the token is not right." in r.text
    # no CSRF token (an expired form, or another site's form): shown again with the name kept and a message
    r = requests.post(url + "/login", data={"name": "rita", "token": token}, timeout=30)
    assert r.status_code == 400 and 'value="rita"' in r.text and "expired" in r.text
    # logout needs the form's token too, then the session is gone
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    http.post(url + "/logout", data={"csrf_token": csrf}, timeout=30)
    assert http.get(url + "/account", allow_redirects=False, timeout=30).status_code == 303


def test_revoking_ends_the_session(site):
    url, accounts, _app = site
    _, token = accounts.add("sam", "contributor")
    http = requests.Session()
    assert login(url, "sam", token, http).status_code == 303
    assert http.get(url + "/account", allow_redirects=False, timeout=30).status_code == 200
    accounts.revoke("sam")
    assert http.get(url + "/account", allow_redirects=False, timeout=30).status_code == 303


def test_secure_cookie_behind_tls(site):
    _url, accounts, app = site
    _, token = accounts.add("tess", "contributor")
    client = app.test_client()
    form = client.get("/login", base_url="https://kg.example.org").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/login", base_url="https://kg.example.org",
                    data={"name": "tess", "token": token, "csrf_token": csrf})
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]


def test_rate_limits(site):
    url, accounts, _app = site
    for _ in range(5):
        assert login(url, "ghost", "n2m_ghost_" + "b" * 43).status_code == 401
    assert login(url, "ghost", "n2m_ghost_" + "b" * 43).status_code == 429
    statuses = [requests.get(f"{url}/admin/audit", headers=bearer("n2m_ghost_" + "c" * 43), timeout=30).status_code
                for _ in range(7)]
    assert statuses[:6] == [401] * 6 and statuses[6] == 429
    assert requests.get(url + "/practices", timeout=30).status_code == 200  # readers are never limited


def test_audit_log(site):
    url, accounts, _app = site
    _, admin = accounts.add("ada", "admin")
    _, contributor = accounts.add("carl", "contributor")
    requests.delete(f"{url}/api/practices/{PRACTICE}", headers=bearer(contributor), timeout=30)
    requests.delete(f"{url}/api/practices/{PRACTICE}", timeout=30)
    assert requests.get(f"{url}/admin/audit", headers=bearer(contributor), timeout=30).status_code == 403
    r = requests.get(f"{url}/admin/audit", allow_redirects=False, timeout=30, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    entries = requests.get(f"{url}/admin/audit", headers=bearer(admin), timeout=30).json()
    seen = {(e["who"], e["action"], e["target"], e["outcome"]) for e in entries}
    assert ("carl", "DELETE", f"/api/practices/{PRACTICE}", "refused 403") in seen
    assert ("anonymous", "DELETE", f"/api/practices/{PRACTICE}", "refused 401") in seen
    assert ("carl", "GET", "/admin/audit", "refused 403") in seen
    assert all(admin not in str(e) and contributor not in str(e) for e in entries)  # tokens are never logged
    html = requests.get(f"{url}/admin/audit?lang=de", timeout=30, headers={**bearer(admin), "Accept": "text/html"})
    assert "Prüfprotokoll" in html.text and "carl" in html.text
