"""The spreadsheet upload (``/import``) and the template to download (``/import/template.xlsx``, ``.csv``): the
Interreg Europe good-practice template, one practice a row (``next2met.graph.contribute.spreadsheet``), every problem
shown at its sheet, row and column with the shape's message in the reader's language. All rows or none: a
contributor's rows become submissions waiting for review, an administrator's are published as one new version; with
"check only" nothing is stored. The file is only read (no formula, no macro, nothing in it is run)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from next2met.graph.contribute import importing, spreadsheet
from next2met.graph.contribute.formdata import Problem
from next2met.graph.contribute.sheettemplate import template_csv, template_xlsx
from next2met.graph.errors import KGError, Overloaded, TooManyRequests

from ..auth import current_account
from ..i18n import gettext as _
from . import common, lookup
from .editing import validate

bp = Blueprint("upload", __name__)


@bp.get("/import/template.xlsx")
def template_file() -> Response:
    words = {
        "column": _("Column"),
        "required": _("Required"),
        "what": _("What to write"),
        "codes": _("Codes"),
        "yes": _("yes"),
        "recommended": _("recommended"),
        "several": _("Several values: one per line, or separated by ;."),
        "languages": _("Other languages: the same column name followed by (fi), (de), (es), (ca) or (pl)."),
        "slug": _("The last part of the page address (/practice/…); left empty, it is made from the English title."),
    }
    body = template_xlsx(common.form(), lang=common.ui_lang(), say=_, words=words)
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="next2met-practices-template.xlsx"'},
    )


@bp.get("/import/template.csv")
def template_text() -> Response:
    return Response(
        template_csv(common.form()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="next2met-practices-template.csv"'},
    )


def _page(status: int = 200, **ctx):
    account = current_account()
    return render_template(
        "contribute/import.html",
        account=account,
        **{"plan": None, "message": "", "made": [], "version": None, "unknown": [], **ctx},
    ), status


@bp.route("/import", methods=["GET", "POST"])
def upload():
    from flask import redirect

    account = current_account()
    if request.method == "GET":
        if account is None:
            return redirect("/login?next=/import", code=303)
        return _page()
    if not common.csrf_ok():
        return _page(400, message=_("The form had expired, so nothing was changed. Please try again."))
    if account is None:
        return _page(
            401, message=_("Your session has ended, so nothing was imported. Log in again, then send the file again.")
        )
    if not account.can("contributor"):
        return common.refuse(
            403,
            "only accounts with the contributor role or stronger import practices",
            _("Only accounts with the contributor role or stronger submit practices."),
        )
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        return _page(400, message=_("Choose the file to send."))
    dry_run = bool(request.form.get("dry_run"))
    k = common.kg()
    form = common.form()
    try:
        rows, unknown = spreadsheet.read(upload_file.read(), upload_file.filename, form, max_bytes=k.settings.max_body)
        plan = importing.prepare(
            form, rows, resolve=lookup.resolver, refuse=None if account.can("reviewer") else _refusal(account)
        )
        importing.check(form, plan, validate(plan.text()), common.context(), k.settings.base_iri)
    except (Overloaded, TooManyRequests):
        raise
    except KGError as e:
        return _page(413 if e.status == 413 else 400, message=_("The file was refused: %(why)s", why=e.detail))
    shown = [(p, common.shown(Problem(p.header, p.severity, p.message, p.shape))) for p in plan.problems]
    ctx = {"plan": plan, "shown": shown, "unknown": unknown, "dry_run": dry_run, "filename": upload_file.filename}
    if not plan.ok:
        return _page(
            422, message=_("Nothing was imported: correct the cells listed below and send the file again."), **ctx
        )
    if dry_run:
        return _page(message=_("Checked: the file can be imported. Nothing was stored."), **ctx)
    if account.can("admin"):
        with k.write_lock:
            applied = importing.publish(
                k.store,
                k.settings,
                plan,
                common.context(),
                author=account.name,
                message=f"import of {upload_file.filename}: {len(rows)} practice(s)",
                apply=k.apply,
            )
        return _page(message=_("Imported and published."), version=applied.version, **ctx)
    made = importing.submit(
        common.submissions(), k.store, plan, author=account.name, base=k.settings.base_iri, source=upload_file.filename
    )
    return _page(message=_("Imported: each row is a submission waiting for review."), made=made, **ctx)


def _refusal(account):
    def refuse(slug: str) -> str | None:
        if not common.is_published(slug):
            return None
        return common.edit_rule(account, common.published(slug)[2], slug)

    return refuse
