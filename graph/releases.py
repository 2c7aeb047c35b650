"""Releases: the dataset frozen under a name, to cite and to query exactly as it was.

``next2met release NAME`` writes ``{store}/releases/NAME/``:

- the dumps (the six RDF formats, each also gzipped, as ``dumps.py`` writes them) and ``SHA256SUMS``;
- ``store/``: the release loaded into a store of its own (the layout of the embedded store), which the query
  workers open read-only for ``/sparql?release=NAME``;
- ``release.json``: name, date, the previous release, the data generation (``n2m:dataGeneration``: the digest of
  the curated data, derived graphs left out, so that a release and a derived graph or an evidence pack made from
  the same data say the same), the number of quads and the files with their sizes and checksums;
- ``CITATION.cff`` and ``CITATION.bib``: how to cite it.

The folder is written aside and renamed into place, so a release is either complete or absent; a name is never
reused. The catalogue describes the releases with DCAT 3 versioning (``catalog_triples``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox

from .analysis.derived import digest_quads
from .dumps import DumpFile, filename, write_files
from .errors import InputError, NotFound
from .formats import NQUADS, rdf_format
from .settings import Settings
from .store import Store

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,39}$")
META = "release.json"
TITLE = "Next2Met good practices knowledge graph"
AUTHOR = "next2met-kg developers"
LICENSE = "CC-BY-4.0"


@dataclass(frozen=True)
class Release:
    name: str
    created: str  # ISO 8601 UTC
    previous: str | None
    generation: str  # data generation (content digest of the curated data)
    quads: int
    files: tuple[DumpFile, ...]
    folder: str  # absolute path of the release folder

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def store_path(self) -> Path:
        return self.path / "store"

    @property
    def date(self) -> str:
        return self.created[:10]

    @property
    def nquads(self) -> Path:
        return self.path / filename(dump_name(self.name), NQUADS, False)

    def file(self, name: str) -> DumpFile:
        for f in self.files:
            if f.filename == name:
                return f
        raise NotFound(f"release {self.name} has no file {name!r}; it has " + ", ".join(f.filename for f in self.files))


def releases_dir(settings: Settings) -> Path:
    return Path(settings.store) / "releases"


def dump_name(name: str) -> str:
    return "next2met-" + name.replace(".", "-")


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InputError(
            f"{name!r} is not a release name: use lower-case letters, digits, '.' and '-' (up to 40, "
            "starting with a letter or digit), e.g. 2026.1"
        )
    return name


def list_releases(folder: Path) -> list[Release]:
    """The releases in ``folder``, oldest first."""
    out = []
    for meta in sorted(folder.glob(f"*/{META}")) if folder.is_dir() else []:
        try:
            out.append(_read(meta))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a release (a torn copy by hand, say): never offered
    return sorted(out, key=lambda r: (r.created, r.name))


def get_release(folder: Path, name: str) -> Release:
    check_name(name)
    meta = folder / name / META
    if not meta.is_file():
        known = ", ".join(r.name for r in list_releases(folder)) or "none yet"
        raise NotFound(f"there is no release {name!r} (releases: {known})")
    return _read(meta)


def _read(meta: Path) -> Release:
    data = json.loads(meta.read_text(encoding="utf-8"))
    files = tuple(DumpFile(**f) for f in data["files"])
    return Release(
        data["name"], data["created"], data["previous"], data["generation"], data["quads"], files, str(meta.parent)
    )


def make_release(store: Store, settings: Settings, name: str, *, now: dt.datetime | None = None) -> Release:
    """Freeze the store's current dataset as release ``name``."""
    check_name(name)
    folder = releases_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / name).exists():
        raise InputError(f"release {name!r} exists already; a release is never replaced, choose another name")
    if store.is_empty():
        raise InputError("the store is empty: build the dataset first (next2met build)")
    earlier = list_releases(folder)
    created = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.part"
    tmp.mkdir()
    try:
        nquads = tmp / filename(dump_name(name), NQUADS, False)
        with nquads.open("wb") as out:  # the store is read once, into the N-Quads file
            store.dump(out, NQUADS)
        files = write_files(nquads, tmp, dump_name(name), keep_plain=True)
        quads = list(ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False))
        generation = digest_quads(quads, settings.base_iri)
        db = tmp / "store" / "data"
        db.parent.mkdir()
        frozen = ox.Store(str(db))
        frozen.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
        frozen.flush()
        frozen.optimize()
        del frozen
        (tmp / "store" / "current").symlink_to("data")
        release = Release(
            name,
            created,
            earlier[-1].name if earlier else None,
            generation,
            len(quads),
            tuple(files),
            str(folder / name),
        )
        (tmp / "SHA256SUMS").write_text("".join(f"{f.sha256}  {f.filename}\n" for f in files), encoding="utf-8")
        (tmp / "CITATION.cff").write_text(citation_cff(release, settings.base_iri), encoding="utf-8")
        (tmp / "CITATION.bib").write_text(bibtex(release, settings.base_iri), encoding="utf-8")
        (tmp / META).write_text(
            json.dumps({**asdict(release), "files": [asdict(f) for f in files]}, indent=1), encoding="utf-8"
        )
        os.rename(tmp, folder / name)  # complete or absent
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return get_release(folder, name)


def release_iri(base: str, name: str) -> str:
    return f"{base}dataset/next2met/release/{name}"


def citation_cff(release: Release, base: str) -> str:
    """A CITATION.cff (Citation File Format 1.2.0) for the release."""
    return "\n".join(
        [
            "cff-version: 1.2.0",
            "message: If you use this dataset, please cite it as below.",
            "type: dataset",
            f'title: "{TITLE}"',
            f'version: "{release.name}"',
            f"date-released: {release.date}",
            "authors:",
            f'  - name: "{AUTHOR}"',
            f"license: {LICENSE}",
            f'url: "{release_iri(base, release.name)}"',
            f'repository: "{base}"',
            "identifiers:",
            "  - type: other",
            f'    value: "sha256:{release.generation}"',
            '    description: "data generation: SHA-256 of the sorted N-Quads of the curated data"',
            "",
        ]
    )


def bibtex(release: Release, base: str) -> str:
    key = "next2met_" + re.sub(r"[^A-Za-z0-9]+", "_", release.name)
    return (
        f"@misc{{{key},\n"
        f"  title = {{{{{TITLE}}}, release {release.name}}},\n"
        f"  author = {{{{{AUTHOR}}}}},\n"
        f"  year = {{{release.date[:4]}}},\n"
        f"  version = {{{release.name}}},\n"
        f"  howpublished = {{\\url{{{release_iri(base, release.name)}}}}},\n"
        f"  note = {{Dataset, licence {LICENSE}; data generation sha256:{release.generation}}}\n"
        f"}}\n"
    )


def citation_text(release: Release, base: str) -> str:
    """The citation in one line, for pages and reports."""
    return (
        f"{AUTHOR} ({release.date[:4]}). {TITLE}, release {release.name} [dataset]. {release_iri(base, release.name)}"
    )


def catalog_triples(g, site, releases: list[Release]) -> None:
    """The releases in the catalogue (DCAT 3 versioning): each a dcat:Dataset with its version, date, previous
    version and downloads, all in the series of releases; the dataset itself ``dcat:hasVersion`` each release."""
    from .catalogue import DCAT, DCT, IANA, SHA256, SPDX, XSD

    if not releases:
        return
    series = f"{site.dataset}/releases"
    g.a(series, DCAT + "DatasetSeries")
    g.text(series, DCT + "title", f"Releases of the {TITLE}", "en")
    g.text(
        series,
        DCT + "description",
        "Named, frozen versions of the dataset that can be cited and queried as they were.",
        "en",
    )
    g.add(site.dataset, DCT + "relation", series)
    by_name = {r.name: r for r in releases}
    for r in releases:
        iri = release_iri(site.base, r.name)
        g.add(site.dataset, DCAT + "hasVersion", iri)
        g.add(site.dataset, DCT + "hasVersion", iri)
        g.a(iri, DCAT + "Dataset")
        g.text(iri, DCT + "title", f"{TITLE}, release {r.name}", "en")
        g.text(
            iri,
            DCT + "description",
            f"The dataset as it was on {r.date}, frozen as release {r.name} ({r.quads} quads).",
            "en",
        )
        g.add(iri, DCAT + "version", ox.Literal(r.name))
        g.typed(iri, DCT + "issued", r.date, XSD + "date")
        g.add(iri, DCT + "isVersionOf", site.dataset)
        g.add(iri, DCAT + "inSeries", series)
        g.add(iri, DCT + "publisher", site.publisher)
        g.add(iri, "https://w3id.org/next2met/ontology#dataGeneration", ox.Literal(r.generation))
        if r.previous and r.previous in by_name:
            g.add(iri, DCAT + "previousVersion", release_iri(site.base, r.previous))
        for f in r.files:
            if not f.compressed:
                continue
            dist = f"{iri}/distribution/{f.filename}"
            url = f"{site.origin}/releases/{r.name}/{f.filename}"
            fmt = rdf_format(f.format)
            code, label = fmt.eu_file_type or ("RDF", fmt.label)
            g.add(iri, DCAT + "distribution", dist)
            g.a(dist, DCAT + "Distribution")
            g.text(dist, DCT + "title", f"Release {r.name} as {label}, gzipped", "en")
            g.url(dist, DCAT + "downloadURL", url)
            g.url(dist, DCAT + "accessURL", url)
            g.add(dist, DCAT + "mediaType", IANA + f.media_type)
            g.a(IANA + f.media_type, DCT + "MediaType")
            g.add(dist, DCT + "format", f"http://publications.europa.eu/resource/authority/file-type/{code}")
            g.add(dist, DCAT + "compressFormat", IANA + "application/gzip")
            g.typed(dist, DCAT + "byteSize", f.size, XSD + "nonNegativeInteger")
            checksum = dist + "#checksum"
            g.add(dist, SPDX + "checksum", checksum)
            g.a(checksum, SPDX + "Checksum")
            g.add(checksum, SPDX + "algorithm", SHA256)
            g.typed(checksum, SPDX + "checksumValue", f.sha256, XSD + "hexBinary")
