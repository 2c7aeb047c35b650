"""Generate synthetic practices that look like the real ones, for benchmarks.

Each synthetic practice is a copy of a real practice's triples (same properties, same shapes, the same nested
stakeholder, budget and indicator nodes) with a new IRI, and with its concepts (stages, measures, sectors),
region, organisations and years drawn at random from the real schemes, regions and a pool of synthetic
organisations, so that facets and joins spread like real data. The output folder is a data folder that
``next2met build --data DIR`` takes: the real curated files plus ``synthetic/*.nt`` files (one named graph each).

    python benchmarks/generate.py --triples 1000000 --out /tmp/n2m-1m

Prints the number of practices, organisations and triples written. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

from next2met.graph import paths
from next2met.graph.build import compile_dataset
from next2met.graph.settings import Settings

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
N2M = "https://w3id.org/next2met/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"
PROV = "http://www.w3.org/ns/prov#"
XSD_GYEAR = ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear")
CONCEPT_PROPS = {
    N2M + "innovationStage": "stage", N2M + "measureType": "measure", N2M + "ris3Sector": "ris3",
    N2M + "stakeholderType": "stakeholder-type",
}
ORG_PROPS = {N2M + "mainInstitution", N2M + "submittedBy", PROV + "agent"}
TEXT_PROPS = {DCT + "title", DCT + "abstract", DCT + "description"}
PRACTICES_PER_FILE = 500
ORGS_PER_PRACTICE = 0.4


def load_real(settings: Settings):
    quads, per_graph = compile_dataset(settings)
    practices: dict[str, list[ox.Quad]] = {}
    schemes: dict[str, list[ox.NamedNode]] = defaultdict(list)
    regions: list[ox.NamedNode] = []
    for q in quads:
        if q.predicate.value == RDF_TYPE and q.object.value == N2M + "GoodPractice":
            practices[q.subject.value] = []
        if q.predicate.value == SKOS + "inScheme":
            schemes[q.object.value.rsplit("/", 1)[-1]].append(q.subject)
        if q.predicate.value == RDF_TYPE and q.object.value == N2M + "Region":
            regions.append(q.subject)
    for q in quads:
        owner = q.subject.value.split("#", 1)[0]
        if owner in practices:
            practices[owner].append(q)
    return practices, schemes, sorted(set(regions), key=lambda n: n.value)


def synthetic_org(i: int, rng: random.Random, schemes, regions, base: str) -> list[ox.Triple]:
    org = ox.NamedNode(f"{base}organisation/syn-org-{i:06d}")
    return [
        ox.Triple(org, ox.NamedNode(RDF_TYPE), ox.NamedNode("http://www.w3.org/ns/org#Organization")),
        ox.Triple(org, ox.NamedNode(SKOS + "prefLabel"), ox.Literal(f"Synthetic organisation {i}", language="en")),
        ox.Triple(org, ox.NamedNode(N2M + "stakeholderType"), rng.choice(schemes["stakeholder-type"])),
        ox.Triple(org, ox.NamedNode(DCT + "spatial"), rng.choice(regions)),
        ox.Triple(org, ox.NamedNode(DCT + "source"), ox.NamedNode("https://example.org/synthetic")),
        ox.Triple(org, ox.NamedNode(N2M + "confidence"), ox.NamedNode(f"{base}concept/confidence/low")),
        ox.Triple(org, ox.NamedNode(DCT + "modified"),
                  ox.Literal("2026-11-26", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))),
    ]


def synthetic_practice(i: int, template: list[ox.Quad], rng: random.Random, schemes, regions, n_orgs: int,
                       base: str) -> list[ox.Triple]:
    old = template[0].subject.value.split("#", 1)[0]
    new = f"{base}practice/syn-{i:07d}"
    region = rng.choice(regions)
    start = rng.randint(2000, 2023)
    out = []

    def node(term):
        if isinstance(term, ox.NamedNode) and term.value.startswith(old):
            return ox.NamedNode(new + term.value[len(old):])
        return term

    for q in template:
        p, o = q.predicate.value, q.object
        if p == N2M + "presentedAt":
            continue  # a copy with a random start year may not have been shown at the real practice's event
        if p in CONCEPT_PROPS and CONCEPT_PROPS[p] in schemes:
            o = rng.choice(schemes[CONCEPT_PROPS[p]])
        elif p in ORG_PROPS:
            o = ox.NamedNode(f"{base}organisation/syn-org-{rng.randrange(n_orgs):06d}")
        elif p == DCT + "spatial":
            o = region
        elif p == SCHEMA + "startDate" and o.datatype == XSD_GYEAR:
            o = ox.Literal(str(start), datatype=XSD_GYEAR)
        elif p == SCHEMA + "endDate" and o.datatype == XSD_GYEAR:
            o = ox.Literal(str(start + rng.randint(0, 6)), datatype=XSD_GYEAR)
        elif p in TEXT_PROPS and isinstance(o, ox.Literal):
            o = ox.Literal(f"{o.value} [synthetic {i}]", language=o.language)
        out.append(ox.Triple(node(q.subject), q.predicate, node(o)))
    return out


def generate(triples: int, out: Path, seed: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    settings = Settings()
    practices, schemes, regions = load_real(settings)
    templates = [practices[k] for k in sorted(practices)]
    per_practice = sum(len(t) for t in templates) / len(templates)
    real = len(compile_dataset(settings)[0])
    n_practices = max(1, int((triples - real) / (per_practice + 7 * ORGS_PER_PRACTICE)))
    n_orgs = max(10, int(n_practices * ORGS_PER_PRACTICE))

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(paths.DATA_DIR, out, ignore=shutil.ignore_patterns("__pycache__"))
    syn = out / "synthetic"
    syn.mkdir()
    written = 0
    org_triples = [t for i in range(n_orgs) for t in synthetic_org(i, rng, schemes, regions, settings.base_iri)]
    ox.serialize(org_triples, str(syn / "organisations.nt"), ox.RdfFormat.N_TRIPLES)
    written += len(org_triples)
    for start in range(0, n_practices, PRACTICES_PER_FILE):
        batch = []
        for i in range(start, min(n_practices, start + PRACTICES_PER_FILE)):
            batch += synthetic_practice(i, templates[i % len(templates)], rng, schemes, regions, n_orgs,
                                        settings.base_iri)
        ox.serialize(batch, str(syn / f"practices-{start // PRACTICES_PER_FILE:05d}.nt"), ox.RdfFormat.N_TRIPLES)
        written += len(batch)
    return {"practices": n_practices, "organisations": n_orgs, "synthetic_triples": written,
            "real_quads": real, "total": written + real}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000, help="approximate total size (default 100000)")
    parser.add_argument("--out", type=Path, required=True, help="output data folder (replaced)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts = generate(args.triples, args.out, args.seed)
    print(", ".join(f"{k} {v}" for k, v in counts.items()) + f"; {time.perf_counter() - t0:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
