"""``/releases``: the frozen, citable versions of the dataset (``next2met release NAME`` makes them).

``/releases`` (HTML or JSON) lists them; ``/releases/{name}`` shows one with its citation (CFF, BibTeX), files
and checksums, each file downloadable at ``/releases/{name}/{file}``; ``/releases/{a}/diff/{b}`` says what changed
between two, in words (HTML, JSON) and exactly (``added.nq``, ``removed.nq``, ``patch.rdfp``). Queries run on a
release as it was with ``/sparql?release={name}``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, send_file

from next2met.graph.analysis.quality import template_fields
from next2met.graph.errors import NotFound
from next2met.graph.release_diff import Diff, diff
from next2met.graph.releases import (
    Release,
    citation_text,
    get_release,
    list_releases,
    release_iri,
    releases_dir,
)

from .i18n import gettext as _
from .i18n import ngettext
from .page_data import labels
from .problems import wants_html
from .state import get_kg

bp = Blueprint("releases", __name__)
EXTRA_FILES = {
    "CITATION.cff": "text/plain; charset=utf-8",
    "CITATION.bib": "application/x-bibtex; charset=utf-8",
    "SHA256SUMS": "text/plain; charset=utf-8",
}
DIFF_CACHE = 8


def _folder():
    return releases_dir(get_kg().settings)


def describe(r: Release) -> dict:
    base = get_kg().settings.base_iri
    return {
        "name": r.name,
        "iri": release_iri(base, r.name),
        "created": r.created,
        "previous": r.previous,
        "dataGeneration": r.generation,
        "quads": r.quads,
        "sparql": f"{request.url_root}sparql?release={r.name}",
        "files": [
            {
                "filename": f.filename,
                "url": f"{request.url_root}releases/{r.name}/{f.filename}",
                "size": f.size,
                "sha256": f.sha256,
                "mediaType": f.media_type,
                "compressed": f.compressed,
            }
            for f in r.files
        ],
        "citation": citation_text(r, base),
        "cff": f"{request.url_root}releases/{r.name}/CITATION.cff",
        "bibtex": f"{request.url_root}releases/{r.name}/CITATION.bib",
    }


@bp.get("/releases")
def index() -> Response:
    releases = list_releases(_folder())
    if not wants_html() or request.args.get("format") == "json":
        return jsonify([describe(r) for r in releases])
    return Response(
        render_template("releases.html", releases=[describe(r) for r in reversed(releases)]), mimetype="text/html"
    )


@bp.get("/releases.json")
def index_json() -> Response:
    return jsonify([describe(r) for r in list_releases(_folder())])


@bp.get("/releases/<name>")
def show(name: str) -> Response:
    r = get_release(_folder(), name)
    if not wants_html() or request.args.get("format") == "json":
        return jsonify(describe(r))
    bib = (r.path / "CITATION.bib").read_text(encoding="utf-8")
    return Response(render_template("releases.html", release=describe(r), bibtex=bib), mimetype="text/html")


@bp.get("/releases/<name>/<filename>")
def download(name: str, filename: str) -> Response:
    r = get_release(_folder(), name)
    if filename in EXTRA_FILES:
        return send_file(r.path / filename, mimetype=EXTRA_FILES[filename])
    f = r.file(filename)
    response = send_file(r.path / f.filename, mimetype=f.served_type, conditional=True, etag=f.sha256)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"  # a release never changes
    return response


def _diff(a: str, b: str) -> Diff:
    kg = get_kg()
    old, new = get_release(_folder(), a), get_release(_folder(), b)
    names = labels(kg)
    fields = {f.path: f.name for f in template_fields(kg.settings.base_iri)}

    def compute() -> Diff:
        return diff(old, new, kg.settings.base_iri, property_name=lambda iri: fields.get(iri) or names.get(iri))

    cache = kg.extensions.setdefault("release-diffs", {})
    key = (a, b, old.created, new.created)
    if key not in cache:
        if len(cache) >= DIFF_CACHE:
            cache.pop(next(iter(cache)))
        cache[key] = compute()
    return cache[key]


@bp.get("/releases/<a>/diff/<b>")
def diff_page(a: str, b: str) -> Response:
    d = _diff(a, b)
    names = labels(get_kg())
    words = in_words(d, lambda iri: names.get(iri))
    body = {
        "from": a,
        "to": b,
        "summary": words,
        "practicesAdded": d.practices_added,
        "practicesRemoved": d.practices_removed,
        "practicesChanged": d.practices_changed,
        "otherChanged": d.other_changed,
        "derivedChanged": d.derived_changed,
        "quadsAdded": len(d.added),
        "quadsRemoved": len(d.removed),
        "added": f"{request.url_root}releases/{a}/diff/{b}/added.nq",
        "removed": f"{request.url_root}releases/{a}/diff/{b}/removed.nq",
        "patch": f"{request.url_root}releases/{a}/diff/{b}/patch.rdfp",
    }
    if not wants_html() or request.args.get("format") == "json":
        return jsonify(body)
    return Response(render_template("releases.html", diff=body), mimetype="text/html")


def in_words(d: Diff, label) -> list[str]:
    """Sentences for people; ``label(iri)`` names a resource."""
    if not d.added and not d.removed:
        return [_("Nothing changed between %(old)s and %(new)s.", old=d.old, new=d.new)]
    out = []
    if d.practices_added:
        out.append(
            ngettext(
                "%(num)d practice added: %(names)s.",
                "%(num)d practices added: %(names)s.",
                len(d.practices_added),
                names=", ".join(label(p) for p in d.practices_added),
            )
        )
    if d.practices_removed:
        out.append(
            ngettext(
                "%(num)d practice removed: %(names)s.",
                "%(num)d practices removed: %(names)s.",
                len(d.practices_removed),
                names=", ".join(label(p) for p in d.practices_removed),
            )
        )
    for p, props in d.practices_changed.items():
        out.append(_("%(practice)s: changed %(fields)s.", practice=label(p), fields=", ".join(props)))
    if d.other_changed:
        out.append(
            ngettext(
                "%(num)d other record changed: %(names)s.",
                "%(num)d other records changed: %(names)s.",
                len(d.other_changed),
                names=", ".join(label(r) for r in d.other_changed[:10]) + (" …" if len(d.other_changed) > 10 else ""),
            )
        )
    if d.derived_changed:
        out.append(
            _("Derived graphs recomputed: %(names)s.", names=", ".join(g.rsplit("/", 1)[-1] for g in d.derived_changed))
        )
    out.append(_("In all %(added)d quads added and %(removed)d removed.", added=len(d.added), removed=len(d.removed)))
    return out


@bp.get("/releases/<a>/diff/<b>/<part>")
def diff_part(a: str, b: str, part: str) -> Response:
    d = _diff(a, b)
    if part == "patch.rdfp":
        return Response(d.patch(), mimetype="text/rdf-patch")
    quads = {"added.nq": d.added, "removed.nq": d.removed}.get(part)
    if quads is None:
        raise NotFound(f"a diff has added.nq, removed.nq and patch.rdfp, not {part!r}")
    import pyoxigraph as ox

    return Response(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"", mimetype="application/n-quads")
