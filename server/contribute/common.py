"""What the contribution pages share: the submissions of the data folder, the practice as it is published, the rule
of who may edit which practice, validation of a submission against the published data, messages of the shapes in
the reader's language, and refusals that a browser reads as a page."""

from __future__ import annotations

import pyoxigraph as ox
import yaml
from flask import g, request
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from next2met.graph.accounts import Account
from next2met.graph.changes import graph_etag
from next2met.graph.changes.incremental import bounded_report, full_report
from next2met.graph.contribute.form import Form, practice_form
from next2met.graph.contribute.formdata import Problem, plain_message, translate
from next2met.graph.contribute.submissions import Submission, Submissions
from next2met.graph.errors import Forbidden, InputError, KGError
from next2met.graph.sources import load_context, parse_yaml, yaml_quads
from next2met.graph.validate import ValidationReport
from next2met.graph.writeback import write_yaml

from ..i18n import gettext as _
from ..problems import problem, wants_html
from ..state import KnowledgeGraph, get_kg

GOOD_PRACTICE = "https://w3id.org/next2met/ontology#GoodPractice"
ORGANISATION_LINKS = (
    "https://w3id.org/next2met/ontology#mainInstitution",
    "https://w3id.org/next2met/ontology#submittedBy",
    "http://www.w3.org/ns/prov#agent",
)
SPATIAL = "http://purl.org/dc/terms/spatial"
NUTS = "http://data.europa.eu/nuts/code/"


def kg() -> KnowledgeGraph:
    return get_kg()


def form() -> Form:
    return practice_form(kg().settings.base_iri)


def context() -> dict:
    settings = kg().settings
    return load_context(settings.base_iri, settings.data_path)


def to_quads(text: str, graph: str) -> list[ox.Quad]:
    """The quads of a practice's YAML in ``graph`` (the source format read strictly, as the build reads it)."""
    return yaml_quads(parse_yaml(text, context(), source="submission"), graph)


def submissions() -> Submissions:
    k = kg()
    found = k.extensions.get("submissions")
    if found is None:
        found = k.extensions["submissions"] = Submissions(k.settings.data_path, k.settings.base_iri, to_quads)
    return found


# -- the published practice ----------------------------------------------------------------------------------------
def practice_iri(slug: str) -> str:
    return f"{kg().settings.base_iri}practice/{slug}"


def published(slug: str) -> tuple[str, list[ox.Quad], list[ox.Quad]]:
    """(the graph holding the practice, that graph's quads, the practice's own quads in it); quads empty when
    it is not published."""
    from ..api import _located

    return _located(slug)


def is_published(slug: str) -> bool:
    return kg().store.ask(f"ASK {{ <{practice_iri(slug)}> a <{GOOD_PRACTICE}> }}")


def published_etag(slug: str) -> str | None:
    return graph_etag(published(slug)[2]) if is_published(slug) else None


def published_yaml(slug: str) -> str:
    graph, _, own = published(slug)
    return write_yaml(own, context(), graph=graph, source=f"practice {slug}")


def submission_quads(sub: Submission) -> tuple[str, list[ox.Quad], list[ox.Quad]]:
    """(the graph the submission would replace, that graph's content after approval, the practice's own quads)."""
    graph, current, _ = published(sub.slug)
    iri = practice_iri(sub.slug)
    own = to_quads(sub.text, graph)
    kept = [q for q in current if q.subject.value.split("#", 1)[0] != iri]
    return graph, kept + own, own


def report_for(graph: str, quads: list[ox.Quad]) -> ValidationReport:
    """The SHACL report of the published data with ``graph`` replaced by ``quads`` (nothing is written)."""
    k = kg()
    replaced = {graph: quads}
    engine = k.settings.shacl_engine
    report = bounded_report(k.store, replaced, k.settings.base_iri, engine)
    return report if report is not None else full_report(k.store, replaced, k.settings.base_iri, engine)


# -- who may edit what ---------------------------------------------------------------------------------------------
def account_organisation(account: Account) -> str:
    org = account.organisation.strip()
    return org if not org or "://" in org else kg().settings.base_iri + org.lstrip("/")


def edit_rule(account: Account, own: list[ox.Quad], slug: str) -> str | None:
    """None when the account may edit the published practice, else the rule it breaks, in the reader's language.

    A contributor may edit the practices of their organisation (its main institution, submitting partner or a
    stakeholder) or of their region (the practice's NUTS region is the account's region or inside it); reviewers
    and administrators may edit every practice."""
    if account.can("reviewer"):
        return None
    org = account_organisation(account)
    region = account.region.strip().upper()
    orgs = {q.object.value for q in own if q.predicate.value in ORGANISATION_LINKS}
    regions = {
        q.object.value[len(NUTS) :] for q in own if q.predicate.value == SPATIAL and q.object.value.startswith(NUTS)
    }
    if (org and org in orgs) or (region and any(r.startswith(region) for r in regions)):
        return None
    return _(
        "A contributor may edit the practices of their own organisation or region. The account %(name)s "
        "speaks for %(org)s and the region %(region)s; practice/%(slug)s is in %(regions)s and does not name "
        "that organisation.",
        name=account.name,
        org=account.organisation or _("no organisation"),
        region=region or _("none"),
        slug=slug,
        regions=", ".join(sorted(regions)) or _("no region"),
    )


def english_edit_rule(account: Account, slug: str) -> str:
    return (
        f"a contributor may edit the practices of their own organisation or region; the account {account.name} "
        f"speaks for {account.organisation or 'no organisation'} and region {account.region or 'none'}, and "
        f"practice/{slug} is neither"
    )


def refuse(status: int, english: str, shown: str, error: type[KGError] = Forbidden):
    """A refusal: a page in the reader's language for a browser, a problem+json in English for a program."""
    if wants_html():
        return problem(status, error.title, shown, error.slug)
    raise error(english)


def csrf_ok() -> bool:
    """A form post carries a valid CSRF token (a program that sends a bearer token needs none)."""
    from ..auth import bearer

    if bearer() is not None:
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


# -- messages of the shapes in the reader's language ----------------------------------------------------------------
def shown(p: Problem) -> str:
    """A problem's message in the reader's language: its shape's sh:message through the catalogue, with the values
    of the English message filled in."""
    template = plain_message(form().messages.get(p.shape, "")) if p.shape else ""
    text = translate(template, _(template), p.message) if template else _(p.message) if p.message else ""
    return text.replace(NUTS, "").replace(kg().settings.base_iri, "")  # IRIs filled into a message, as codes


def by_name(found: list[Problem]) -> dict[str, list[dict]]:
    """Problems by field name, as the templates and the JSON of /validate show them."""
    out: dict[str, list[dict]] = {}
    for p in found:
        entry = {"severity": p.severity, "message": shown(p)}
        if entry not in out.setdefault(p.name, []):
            out[p.name].append(entry)
    return out


def load_yaml(text: str) -> dict:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InputError(f"the submission's YAML does not parse: {e}") from None
    return doc if isinstance(doc, dict) else {}


def title_of(text: str, lang: str) -> str:
    titles = load_yaml(text).get("title") or {}
    if isinstance(titles, dict):
        return str(titles.get(lang) or titles.get("en") or next(iter(titles.values()), ""))
    return str(titles)


def ui_lang() -> str:
    return getattr(g, "lang", "en")
