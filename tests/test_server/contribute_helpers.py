"""A served app with partner accounts, and a partner's browser session over real HTTP (login form, CSRF tokens):
shared by the tests of the review workflow, the practice form and the spreadsheet upload."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import requests

from next2met.server.app import create_app
from tests.conftest import LiveServer, data_copy, make_settings

HTML = {"Accept": "text/html"}
ADMIN_TOKEN = "contribute-admin-token"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    url: str
    kg: object
    data: Path
    tokens: dict[str, str]
    server: LiveServer
    app: object

    def close(self) -> None:
        self.server.stop()
        self.app.extensions["next2met"].close()


def serve(store: Path, tmp_path: Path, **settings) -> Site:
    """The real app over a copy of the store and of data/, with four accounts: anna (contributor for the Eastern
    and Midland region IE06 and EMRA), bob (contributor for Päijät-Häme FI1C), rita (reviewer), adam (admin)."""
    data = data_copy(tmp_path / "data")
    app = create_app(make_settings(store, data_dir=str(data), update_token=ADMIN_TOKEN, **settings))
    accounts = app.extensions["next2met_accounts"]
    tokens = {
        "anna": accounts.add("anna", "contributor", organisation="organisation/emra", region="IE06")[1],
        "bob": accounts.add("bob", "contributor", region="FI1C")[1],
        "rita": accounts.add("rita", "reviewer")[1],
        "adam": accounts.add("adam", "admin")[1],
    }
    server = LiveServer(app)
    return Site(server.url, app.extensions["next2met"], data, tokens, server, app)


class Partner:
    """One person in a browser: a cookie session, pages as HTML."""

    def __init__(self, site: Site, name: str | None = None) -> None:
        self.site = site
        self.http = requests.Session()
        self.http.headers.update(HTML)
        if name:
            self.login(name)

    def login(self, name: str) -> None:
        token = csrf(self.get("/login"))
        r = self.http.post(self.site.url + "/login", data={"name": name, "token": self.site.tokens[name],
                                                           "csrf_token": token}, allow_redirects=False, timeout=30)
        assert r.status_code == 303, r.text

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.site.url + path, timeout=60, **kw)

    def post(self, path: str, data, **kw) -> requests.Response:
        return self.http.post(self.site.url + path, data=data, timeout=120, allow_redirects=False, **kw)

    def form_post(self, page_path: str, data: dict, post_path: str | None = None) -> requests.Response:
        """Load the form page for its CSRF token, then send ``data`` (a dict or a list of pairs)."""
        token = csrf(self.get(page_path))
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        return self.post(post_path or page_path, [("csrf_token", token), *pairs])


def csrf(page: requests.Response) -> str:
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


NEW_PRACTICE = {
    "form": "practice", "slug": "village-data-cafes", "title.en": "Village data cafés",
    "summary.en": "Volunteers help residents of small villages to use public e-services, once a week in the "
                  "village hall.",
    "standing": "candidate", "confidence": "low", "region": "IE063",
    "sources": "https://example.org/village-data-cafes",
    "budgets.0.amount": "12000", "budgets.0.currency": "EUR",
    "budgets.0.covers.en": "two years of volunteer training",
    "stakeholders.0.stakeholder_type": "citizens", "stakeholders.0.role": "user",
    "stakeholders.0.label.en": "residents",
}
