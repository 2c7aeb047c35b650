"""The review of submissions: a contributor's own list (``/submissions``), the reviewers' queue (``/review``), one
submission with its diff against the published practice and its SHACL report (``/review/{n}``), approval (the
practice is written through the one write path: then it is on every public page, in ``/sparql``, the dumps and the
change feed) and sending back with a comment, which the contributor reads on their list.

Pages for people (a login session) and JSON for programs (a bearer token) from the same URLs; every state change is
a POST with a CSRF token or a bearer token."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from next2met.graph.accounts import Account
from next2met.graph.changes import Change, Edit, graph_etag
from next2met.graph.changes.diff import resource_changes
from next2met.graph.changes.history import History, content_text, digest
from next2met.graph.contribute.formdata import entry_iris, problems
from next2met.graph.contribute.submissions import Submission
from next2met.graph.errors import (
    Conflict,
    DataFolderUnwritable,
    Forbidden,
    InputError,
    PreconditionFailed,
    Unauthorized,
)
from next2met.graph.formats import TURTLE

from ..auth import bearer, current_account, require
from ..links import lang_path
from ..problems import wants_html
from . import common

bp = Blueprint("review", __name__)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _signed_in(next_path: str):
    """The account of the request, or a redirect to the login page for a browser without one."""
    account = current_account()
    if account is None:
        if wants_html() and bearer() is None:
            return None, redirect(f"/login?next={next_path}", code=303)
        raise Unauthorized("log in, or send an account token as 'Authorization: Bearer <token>'")
    return account, None


def _summary(sub: Submission) -> dict:
    return {
        "submission": sub.number,
        "practice": common.practice_iri(sub.slug),
        "slug": sub.slug,
        "author": sub.author,
        "status": sub.status,
        "new": sub.new,
        "created": sub.created,
        "modified": sub.modified,
        "note": sub.note,
        "revision": sub.revision,
        "title": common.title_of(sub.text, common.ui_lang()),
        "comments": [c.__dict__ for c in sub.comments],
        "published_version": sub.published_version,
    }


def _status_labels() -> dict[str, str]:
    from ..page_data import labels

    names = labels(common.kg())
    base = common.kg().settings.base_iri
    return {
        s: names.get(f"{base}concept/submission-status/{s}", common.ui_lang())
        for s in ("draft", "submitted", "sent-back", "approved", "withdrawn")
    }


@bp.get("/submissions")
def mine() -> Response | str:
    account, to_login = _signed_in("/submissions")
    if to_login:
        return to_login
    subs = common.submissions().of_author(account.name)
    if not wants_html():
        return jsonify([_summary(s) for s in subs])
    return render_template(
        "contribute/submissions.html",
        subs=subs,
        account=account,
        labels=_status_labels(),
        title_of=common.title_of,
        notice=request.args.get("notice", ""),
    )


@bp.get("/review")
def queue() -> Response | str:
    account, to_login = _signed_in("/review")
    if to_login:
        return to_login
    require("reviewer")
    every = request.args.get("status") == "all"
    subs = common.submissions().all() if every else common.submissions().queue()
    if not wants_html():
        return jsonify([_summary(s) for s in subs])
    return render_template(
        "contribute/queue.html", subs=subs, every=every, labels=_status_labels(), title_of=common.title_of
    )


def _visible(number: int) -> tuple[Submission, Account]:
    """The submission, if the account may see it: its author, or a reviewer."""
    account = current_account()
    if account is None:
        raise Unauthorized("log in, or send an account token as 'Authorization: Bearer <token>'")
    sub = common.submissions().get(number)
    if sub.author != account.name and not account.can("reviewer"):
        raise Forbidden(f"submission {number} is {sub.author}'s; only its author and reviewers may see it")
    return sub, account


@bp.get("/review/<int:number>")
def detail(number: int) -> Response | str:
    account, to_login = _signed_in(f"/review/{number}")
    if to_login:
        return to_login
    sub, account = _visible(number)
    iri = common.practice_iri(sub.slug)
    graph, after, own = common.submission_quads(sub)
    _, _, before = common.published(sub.slug)
    changes = [
        c
        for c in resource_changes(_triples(before), _triples(own), iri, common.context(), common.kg().settings.base_iri)
        if c.field != RDF_TYPE
    ]
    report = common.report_for(graph, after)
    found = problems(
        common.form(),
        report.results,
        iri,
        entry_iris(common.form(), common.load_yaml(sub.text), common.context(), common.kg().settings.base_iri),
    )
    # published exactly as submitted by an approval that could not be recorded: approving records it
    already = published_as(graph, after, list(common.kg().store.quads(graph))) if sub.status == "submitted" else None
    stale = not sub.new and already is None and sub.base_etag != common.published_etag(sub.slug)
    if not wants_html():
        return jsonify(
            {
                **_summary(sub),
                "changes": [c.as_json() for c in changes],
                "conforms": report.conforms,
                "violations": report.violation_count,
                "warnings": report.warning_count,
                "problems": [{"field": p.name, "severity": p.severity, "message": p.message} for p in found],
                "published_changed_since": stale,
                "published_as": already,
            }
        )
    return render_template(
        "contribute/review.html",
        sub=sub,
        account=account,
        changes=changes,
        report=report,
        problems=[(p, common.shown(p)) for p in found],
        stale=stale,
        already=already,
        labels=_status_labels(),
        title=common.title_of(sub.text, common.ui_lang()),
        message=request.args.get("notice", ""),
    )


@bp.get("/review/<int:number>.ttl")
def state(number: int) -> ResponseReturnValue:
    """The submission's state as RDF (adms:status, its comments, what it revises)."""
    sub, _ = _visible(number)
    body = common.submissions().state_graph(sub).serialize(format="turtle", encoding="utf-8")
    return Response(body, mimetype=TURTLE.media_type, headers={"Cache-Control": "private, no-store"})


def _csrf_or_page(number: int):
    if common.csrf_ok():
        return None
    if wants_html():
        return redirect(lang_path(f"/review/{number}?notice=expired"), code=303)
    raise Forbidden("the form's CSRF token is missing or has expired; load the page again")


@bp.post("/review/<int:number>/approve")
def approve(number: int) -> ResponseReturnValue:
    """Publish the submission: its practice is written through the one write path as a new version."""
    refused = _csrf_or_page(number)
    if refused:
        return refused
    reviewer = require("reviewer")
    k = common.kg()
    subs = common.submissions()
    comment = request.form.get("comment", "").strip()
    with k.write_lock:
        sub = subs.get(number)
        if sub.status != "submitted":
            raise Conflict(f"submission {number} is {sub.status}; only a submission waiting for review is approved")
        graph, after, own = common.submission_quads(sub)
        current = list(k.store.quads(graph))
        version = published_as(graph, after, current)
        if version is None:
            version = _publish(sub, graph, after, own, current, reviewer.name, comment)
        try:
            subs.move(
                number,
                who=reviewer.name,
                role="reviewer",
                status="approved",
                comment=comment,
                published_version=version,
            )
        except DataFolderUnwritable as e:
            raise DataFolderUnwritable(
                f"practice/{sub.slug} is published (version {version}), but the approval of submission {number} "
                f"could not be recorded ({_why(e)}). Approve it again once "
                "the folder takes writes: the approval is then recorded without publishing the practice twice",
                folder=e.extra.get("folder"),
                version=version,
            ) from None
    if wants_html():
        return redirect(lang_path(f"/review?notice=approved-{number}"), code=303)
    return jsonify(
        {
            "submission": number,
            "status": "approved",
            "practice": common.practice_iri(sub.slug),
            "version": version,
        }
    )


def _why(e: DataFolderUnwritable) -> str:
    """What the write path said about the folder, without its "nothing was changed" (the practice was)."""
    said = e.detail.removeprefix(f"cannot write to the data folder {e.extra.get('folder')}: ")
    return f"{e.extra.get('folder')}: {said.split(';', 1)[0]}"


def published_as(graph: str, after: list[ox.Quad], current: list[ox.Quad]) -> int | None:
    """The data folder's version that made ``graph`` what approving would make it (the same triples), or None.

    An approval publishes the practice, then records "approved" on the submission; if the second step fails (a
    full disk), the practice is public while the submission still waits. Approving it again finds the practice
    already published exactly as submitted and records the approval only, naming the version that published it."""
    if not current or graph_etag(current) != graph_etag(after):
        return None
    content = digest(content_text(current))
    for v in reversed(History(common.kg().settings.data_path).of_graph(graph)):
        touched = v.touches(graph)
        if touched is not None and touched.after == content:
            return v.number
    return None


def _publish(
    sub: Submission,
    graph: str,
    after: list[ox.Quad],
    own: list[ox.Quad],
    current: list[ox.Quad],
    reviewer: str,
    comment: str,
) -> int | None:
    """Write the submission's practice through the one write path (refused if the published practice moved on)."""
    k = common.kg()
    if sub.new and common.is_published(sub.slug):
        raise Conflict(f"practice/{sub.slug} was published meanwhile by another submission; send this one back")
    if not sub.new and sub.base_etag != common.published_etag(sub.slug):
        raise PreconditionFailed(
            f"practice/{sub.slug} changed after submission {sub.number} was begun; approving it would undo that "
            "change. Send it back so that its author redoes the edit on the current version",
            etag=common.published_etag(sub.slug),
        )
    applied = k.apply(
        Change(
            [Edit(graph, after, hint=sub.text if len(after) == len(own) else None)],
            channel="review",
            author=reviewer,
            message=f"submission {sub.number} by {sub.author}, approved by {reviewer}"
            + (f": {comment}" if comment else ""),
            expect={graph: graph_etag(current) if current else None},
            subjects=[common.practice_iri(sub.slug)],
        )
    )
    return applied.version


@bp.post("/review/<int:number>/send-back")
def send_back(number: int) -> ResponseReturnValue:
    """Return the submission to its author with a comment (required: the author must learn what to change)."""
    refused = _csrf_or_page(number)
    if refused:
        return refused
    reviewer = require("reviewer")
    comment = request.form.get("comment", "").strip() or (request.get_json(silent=True) or {}).get("comment", "")
    if not str(comment).strip():
        if wants_html():
            return redirect(lang_path(f"/review/{number}?notice=comment-needed"), code=303)
        raise InputError("send a comment that tells the author what to change")
    common.submissions().move(number, who=reviewer.name, role="reviewer", status="sent-back", comment=str(comment))
    if wants_html():
        return redirect(lang_path(f"/review?notice=sent-back-{number}"), code=303)
    return jsonify({"submission": number, "status": "sent-back"})


@bp.post("/submissions/<int:number>/withdraw")
def withdraw(number: int) -> ResponseReturnValue:
    if not common.csrf_ok():
        if wants_html():
            return redirect(lang_path("/submissions?notice=expired"), code=303)
        raise Forbidden("the form's CSRF token is missing or has expired; load the page again")
    sub, account = _visible(number)
    if sub.author != account.name:
        raise Forbidden(f"only the author of submission {number} withdraws it")
    common.submissions().move(number, who=account.name, role="author", status="withdrawn")
    if wants_html():
        return redirect(lang_path(f"/submissions?notice=withdrawn-{number}"), code=303)
    return jsonify({"submission": number, "status": "withdrawn"})


def _triples(quads) -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
