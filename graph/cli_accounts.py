"""``next2met accounts``: partner accounts (graph/accounts.py). Tokens are printed once, on stdout, and never
stored or logged; everything else goes to stderr."""

from __future__ import annotations

import click

from .accounts import ROLES, Accounts
from .settings import Settings


def _accounts(store: str | None, accounts_dir: str | None) -> Accounts:
    settings = Settings.from_env(store=store, accounts_dir=accounts_dir)
    return Accounts(settings.accounts_path)


def _where(f):
    f = click.option(
        "--accounts-dir",
        default=None,
        type=click.Path(file_okay=False),
        help="Folder of the accounts (default: $NEXT2MET_ACCOUNTS_DIR, else 'accounts' beside the store folder).",
    )(f)
    return click.option(
        "--store",
        default=None,
        type=click.Path(file_okay=False),
        help="Store folder whose accounts these are (default: $NEXT2MET_STORE or per-user).",
    )(f)


@click.group()
def accounts() -> None:
    """Partner accounts: contributors submit practices, reviewers publish them, admins do everything."""


@accounts.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option(
    "--organisation",
    default="",
    metavar="IRI",
    help="The organisation it speaks for (its practices may be edited by it).",
)
@click.option("--region", default="", metavar="NUTS", help="The region it speaks for (NUTS code, e.g. FI1C3).")
@_where
def add(name, role, organisation, region, store, accounts_dir) -> None:
    """Add an account and print its token (shown this once; give it to the partner over a safe channel)."""
    account, token = _accounts(store, accounts_dir).add(name, role, organisation, region)
    click.echo(f"added {account.name} ({account.role}); its token, shown only now:", err=True)
    click.echo(token)


@accounts.command("list")
@_where
def list_accounts(store, accounts_dir) -> None:
    """List the accounts (never their tokens)."""
    for a in _accounts(store, accounts_dir).all():
        state = f"revoked {a.revoked}" if a.revoked else "active"
        click.echo("\t".join([a.name, a.role, a.organisation or "-", a.region or "-", state]))


@accounts.command("revoke")
@click.argument("name")
@_where
def revoke(name, store, accounts_dir) -> None:
    """Stop an account's token and sessions at once (rotate gives it a new token)."""
    _accounts(store, accounts_dir).revoke(name)
    click.echo(f"revoked {name}", err=True)


@accounts.command("rotate")
@click.argument("name")
@_where
def rotate(name, store, accounts_dir) -> None:
    """Give an account a new token (printed once); the old token and its sessions stop working."""
    _, token = _accounts(store, accounts_dir).rotate(name)
    click.echo(f"new token for {name}, shown only now:", err=True)
    click.echo(token)


@accounts.command("audit")
@click.option("--limit", default=50, show_default=True, help="How many entries, newest first.")
@click.option("--who", default=None, help="Only this account's entries.")
@_where
def audit(limit, who, store, accounts_dir) -> None:
    """Print the audit log: every write and refusal (when, who, what, target, outcome)."""
    for e in _accounts(store, accounts_dir).audit(limit=limit, who=who):
        click.echo("\t".join([e.at, e.who, e.action, e.target, e.outcome]))
