"""Compare two copies of the same RDF data regardless of blank-node labels."""

from __future__ import annotations

import pyoxigraph as ox


def canonical(triples) -> set[str]:
    """Triples with blank nodes relabelled canonically (RDFC-1.0), to compare two copies of the same data."""
    ds = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in ds}
