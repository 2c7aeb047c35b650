"""The practice form: ``/practices/new``, ``/practice/{slug}/edit`` and ``/submissions/{n}/edit`` (the fields come
from the shapes, see ``next2met.graph.contribute.form``), the preview of the practice page, and the form's check
as you go through ``/validate``.

Every button of the form is a submit button with a name, so the whole essential path works without JavaScript:
fill, check, save a draft, add an entry to a group, preview, submit and see the messages beside the fields. The
script (static/practice-form.js) only adds language tabs, typeahead and the check as you type. A form that comes
back without a valid CSRF token or after the session ended is shown again with what was entered and a message;
nothing is lost and nothing is stored."""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request
from werkzeug.datastructures import MultiDict

from next2met.graph.accounts import Account
from next2met.graph.contribute.formdata import (
    Problem,
    document,
    entry_iris,
    normalise,
    problems,
    values_of,
    yaml_text,
)
from next2met.graph.contribute.submissions import SLUG, Submission
from next2met.graph.errors import Conflict, KGError, NotFound, Overloaded, TooManyRequests

from ..auth import current_account
from ..i18n import gettext as _
from ..links import lang_path
from . import common, lookup

bp = Blueprint("editing", __name__)
CONTROLS = {"csrf_token", "action", "slug", "note", "revision", "base_etag", "form", "lang"}


# -- values and checks ---------------------------------------------------------------------------------------------
def _values() -> dict[str, list[str]]:
    raw = MultiDict(request.form)
    return normalise(common.form(), {k: raw.getlist(k) for k in raw if k not in CONTROLS})


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain))[:60].strip("-")


def _slug_for_new(values: dict) -> str:
    given = request.form.get("slug", "").strip().lower()
    return given or slugify(" ".join(values.get("title.en") or []))


def _slug_problems(slug: str, account: Account, number: int | None) -> list[Problem]:
    if not slug or not SLUG.match(slug):
        return [
            Problem(
                "slug",
                "Violation",
                _("The page address takes lower-case letters, digits and single hyphens, such as digital-hub-lahti."),
            )
        ]
    if common.is_published(slug):
        return [
            Problem(
                "slug",
                "Violation",
                _("A practice with this address exists already; edit that one, or choose another address."),
            )
        ]
    for sub in common.submissions().open_for(slug):
        if sub.new and sub.number != number:
            return [
                Problem(
                    "slug",
                    "Violation",
                    _("Another submission waiting for review uses this address; choose another one."),
                )
            ]
    return []


def check(values: dict, slug: str) -> tuple[str, list[Problem]]:
    """The YAML of the values and every problem: values the format cannot hold, then the SHACL report of the
    published data with this practice in it."""
    f = common.form()
    doc, found = document(f, values, f"practice/{slug}", resolve=lookup.resolver)
    text = yaml_text(doc)
    try:
        report = validate(text)
    except (Overloaded, TooManyRequests):
        raise
    except KGError as e:
        return text, [*found, Problem("", "Violation", e.detail)]
    entries = entry_iris(f, doc, common.context(), common.kg().settings.base_iri)
    # a value left out because of its form is said once, not again as a missing value
    dropped = {p.name for p in found}
    said = [p for p in problems(f, report.results, common.practice_iri(slug), entries) if p.name not in dropped]
    return text, found + said


def validate(text: str):
    """The /validate service on a practice's YAML: in a validation worker, with the published data (the practice
    replaces its published version), bounded in time and per client like every validation."""
    from ..api import validation_pool
    from ..jobs import ValidateJob
    from ..sparql import client_key

    k = common.kg()
    settings = k.settings
    job = ValidateJob(
        text.encode("utf-8"),
        "application/yaml",
        settings.base_iri,
        str(settings.data_path),
        settings.shacl_engine,
        settings.max_posted_triples,
    )
    deadline = time.monotonic() + settings.validate_timeout
    while True:
        try:
            return validation_pool(k).run(job, settings.validate_timeout, client_key())
        except TooManyRequests:
            # the same reader's check as you go may still be running when the form is sent: wait for it
            if request.form.get("action") in (None, "") or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _violations(found: list[Problem]) -> bool:
    return any(p.severity == "Violation" for p in found)


# -- the page ------------------------------------------------------------------------------------------------------
def page(
    values: dict,
    found: list[Problem],
    *,
    mode: str,
    slug: str,
    sub: Submission | None = None,
    base_etag: str = "",
    message: str = "",
    status: int = 200,
    note: str = "",
    extra: dict | None = None,
):
    f = common.form()
    lookups = {}
    for field in [*f.fields, *(s for g in f.fields for s in g.subfields)]:
        if field.lookup and field.lookup not in lookups:
            lookups[field.lookup] = lookup.entries(field)
    action = {"new": "/practices/new", "edit": f"/practice/{slug}/edit"}.get(
        mode
    ) or f"/submissions/{sub.number if sub else ''}/edit"
    html = render_template(
        "contribute/form.html",
        form=f,
        values=values,
        problems=common.by_name(found),
        mode=mode,
        slug=slug,
        sub=sub,
        base_etag=base_etag,
        message=message,
        note=note,
        action=lang_path(action),
        lookups=lookups,
        extra=extra or {},
        lang=common.ui_lang(),
        summary=[(p.name, common.shown(p)) for p in found if p.severity == "Violation"],
    )
    return html, status


def _extra_entries() -> dict:
    """One more empty entry for the group whose 'add' button was pressed (the page without JavaScript)."""
    action = request.form.get("action", "")
    return {action[4:]: 1} if action.startswith("add:") else {}


def _refused_or_account(mode: str, slug: str, sub: Submission | None, values: dict):
    """None and the account when the post may go on; else the page again, values kept, with the reason."""
    keep: dict[str, Any] = dict(
        mode=mode, slug=slug, sub=sub, base_etag=request.form.get("base_etag", ""), note=request.form.get("note", "")
    )
    if not common.csrf_ok():
        return page(
            values,
            [],
            message=_("The form had expired, so nothing was saved. What you entered is kept below: send it again."),
            status=400,
            **keep,
        ), None
    account = current_account()
    if account is None:
        return page(
            values,
            [],
            message=_(
                "Your session has ended, so nothing was saved. What you entered is kept "
                "below: log in again in another tab, then send the form again."
            ),
            status=401,
            **keep,
        ), None
    if not account.can("contributor"):
        return common.refuse(
            403,
            "only accounts with the contributor role or stronger submit practices",
            _("Only accounts with the contributor role or stronger submit practices."),
        ), None
    return None, account


def _store(
    account: Account,
    values: dict,
    *,
    slug: str,
    sub: Submission | None,
    new: bool,
    base_etag: str | None,
    status: str,
    text: str,
) -> Submission:
    note = request.form.get("note", "").strip()[:2000]
    if sub is None:
        return common.submissions().create(
            author=account.name, slug=slug, text=text, new=new, base_etag=base_etag, status=status, note=note
        )
    return common.submissions().save(
        sub.number,
        author=account.name,
        text=text,
        status=status,
        note=note,
        revision=int(request.form.get("revision") or -1),
    )


def _handle(mode: str, slug: str, sub: Submission | None, base_etag: str | None):
    values = _values()
    refused, account = _refused_or_account(mode, slug, sub, values)
    if refused:
        return refused
    action = request.form.get("action", "check")
    new = sub.new if sub else mode == "new"
    if new and sub is None:
        slug = _slug_for_new(values)
    keep: dict[str, Any] = dict(
        mode=mode, slug=slug, sub=sub, base_etag=base_etag or "", note=request.form.get("note", "")
    )
    if action.startswith("add:"):
        return page(values, [], extra=_extra_entries(), **keep)
    found = _slug_problems(slug, account, sub.number if sub else None) if new else []
    text, more = check(values, slug or "new-practice")
    found += more
    if action == "check":
        return page(
            values,
            found,
            message=_("Checked: the messages are beside the fields.") if found else _("Checked: nothing to correct."),
            **keep,
        )
    if action == "submit" and _violations(found):
        return page(
            values, found, message=_("Nothing was submitted: correct the fields marked below."), status=422, **keep
        )
    if found and any(p.name == "slug" for p in found):
        return page(values, found, message=_("Choose another page address first."), status=422, **keep)
    status = "submitted" if action == "submit" else ("sent-back" if sub and sub.status == "sent-back" else "draft")
    try:
        stored = _store(account, values, slug=slug, sub=sub, new=new, base_etag=base_etag, status=status, text=text)
    except Conflict as e:
        return page(
            values,
            found,
            message=_(
                "This submission changed in another window since you opened it; "
                "nothing was saved. Open it again to see the other change."
            )
            + f" ({e.detail})",
            status=409,
            **keep,
        )
    if action == "submit":
        return redirect(lang_path(f"/submissions?notice=submitted-{stored.number}"), code=303)
    if action == "preview":
        return redirect(lang_path(f"/submissions/{stored.number}/preview"), code=303)
    return redirect(lang_path(f"/submissions/{stored.number}/edit?notice=saved"), code=303)


# -- routes --------------------------------------------------------------------------------------------------------
def _login(next_path: str):
    return redirect(f"/login?next={next_path}", code=303)


@bp.route("/practices/new", methods=["GET", "POST"])
def new_practice():
    if request.method == "POST":
        return _handle("new", "", None, None)
    account = current_account()
    if account is None:
        return _login("/practices/new")
    return page({}, [], mode="new", slug="")


@bp.route("/practice/<slug>/edit", methods=["GET", "POST"])
def edit_practice(slug: str):
    if not SLUG.match(slug) or not common.is_published(slug):
        raise NotFound(f"there is no practice practice/{slug} to edit")
    account = current_account()
    if account is None:
        if request.method == "GET":
            return _login(f"/practice/{slug}/edit")
        return _handle("edit", slug, None, request.form.get("base_etag") or None)
    rule = common.edit_rule(account, common.published(slug)[2], slug)
    if rule is not None:
        return common.refuse(403, common.english_edit_rule(account, slug), rule)
    mine = [s for s in common.submissions().open_for(slug) if s.author == account.name]
    if mine:
        return redirect(lang_path(f"/submissions/{mine[0].number}/edit"), code=303)
    if request.method == "POST":
        return _handle("edit", slug, None, request.form.get("base_etag") or None)
    doc = common.load_yaml(common.published_yaml(slug))
    return page(values_of(common.form(), doc), [], mode="edit", slug=slug, base_etag=common.published_etag(slug) or "")


def _own_open(number: int) -> tuple[Submission | None, object]:
    account = current_account()
    sub = common.submissions().get(number)
    if account is None:
        return sub, None
    if sub.author != account.name:
        return sub, common.refuse(
            403,
            f"submission {number} is {sub.author}'s; only its author edits it",
            _(
                "Submission %(number)s belongs to %(author)s; only its author edits it.",
                number=number,
                author=sub.author,
            ),
        )
    if not sub.open:
        return sub, common.refuse(
            409,
            f"submission {number} is {sub.status}; it cannot be changed any more",
            _(
                "Submission %(number)s is closed (%(status)s); it cannot be changed any more.",
                number=number,
                status=sub.status,
            ),
            Conflict,
        )
    return sub, None


@bp.route("/submissions/<int:number>/edit", methods=["GET", "POST"])
def edit_submission(number: int):
    sub, refused = _own_open(number)
    if refused is not None:
        return refused
    assert sub is not None  # refused when there is none
    if request.method == "POST":
        return _handle("submission", sub.slug, sub, sub.base_etag)
    if current_account() is None:
        return _login(f"/submissions/{number}/edit")
    notice = {"saved": _("Draft saved on the server.")}.get(request.args.get("notice", ""), "")
    values = values_of(common.form(), common.load_yaml(sub.text))
    found = check(values, sub.slug)[1] if sub.status == "sent-back" else []
    return page(values, found, mode="submission", slug=sub.slug, sub=sub, message=notice, note=sub.note)


@bp.get("/submissions/<int:number>/preview")
def preview(number: int):
    """The practice page as it will look once the submission is approved (not published: only its author and
    reviewers see it)."""
    from ..page_data import Page, construct
    from ..practice_page import context as practice_context
    from ..resources import page_context, set_language

    account = current_account()
    if account is None:
        return _login(f"/submissions/{number}/preview")
    sub = common.submissions().get(number)
    if sub.author != account.name and not account.can("reviewer"):
        return common.refuse(
            403,
            f"submission {number} is {sub.author}'s",
            _("Submission %(number)s belongs to %(author)s.", number=number, author=sub.author),
        )
    k, iri = common.kg(), common.practice_iri(sub.slug)
    own = [q.triple for q in common.to_quads(sub.text, "urn:x-preview")]
    around = [t for t in construct(k, iri) if t.subject.value.split("#", 1)[0] != iri]
    view = Page(k, iri, set_language(k), triples=own + around)
    ctx = page_context(k, view, "practice")
    ctx.update(practice_context(k, view))
    html = render_template("practice.html", preview=sub, **ctx)
    return Response(html, mimetype="text/html", headers={"Cache-Control": "private, no-store"})


@bp.post("/submissions/<int:number>/submit")
def submit(number: int):
    """Submit a saved draft for review (from its preview): refused back to the form when a field needs work."""
    sub, refused = _own_open(number)
    if refused is not None:
        return refused
    assert sub is not None  # refused when there is none
    if not common.csrf_ok() or current_account() is None:
        return redirect(lang_path(f"/submissions/{number}/preview"), code=303)
    values = values_of(common.form(), common.load_yaml(sub.text))
    text, found = check(values, sub.slug)
    if _violations(found):
        return page(
            values,
            found,
            mode="submission",
            slug=sub.slug,
            sub=sub,
            status=422,
            message=_("Nothing was submitted: correct the fields marked below."),
        )
    common.submissions().save(number, author=sub.author, text=text, revision=sub.revision, status="submitted")
    return redirect(lang_path(f"/submissions?notice=submitted-{number}"), code=303)


def validate_form() -> Response:
    """``POST /validate`` with the practice form's fields (``form=practice``): the messages by field name, in the
    reader's language, and whether anything stops a submission. Nothing is stored."""
    values = _values()
    slug = request.form.get("slug", "").strip() or slugify(" ".join(values.get("title.en") or [])) or "new-practice"
    if not SLUG.match(slug):
        slug = "new-practice"
    _text, found = check(values, slug)
    return jsonify({"conforms": not _violations(found), "problems": common.by_name(found)})
