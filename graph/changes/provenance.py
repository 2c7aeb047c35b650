"""The one provenance builder: what the provenance graph says of each named graph, whoever wrote it.

A graph compiled from a source file is described from the file alone (its path, its checksum, the facts of its
triples), so that ``next2met build`` after any sequence of writes describes it exactly as the write path did. A
graph without a file (harvested, derived, written by ``/update`` under its own name) names the activity that made
it, when, and where its data came from; a rebuild keeps such graphs and their descriptions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
SD_GRAPH = "http://www.w3.org/ns/sparql-service-description#Graph"
SPDX = "http://spdx.org/rdf/terms#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
BUILD = "build"  # the activity that compiles source files; a graph it made is made again by every build


def provenance_graph_iri(base: str) -> str:
    return f"{base}graph/provenance"


def activity_iri(base: str, activity: str) -> str:
    """``{base}graph/provenance#build``, ``…#harvest``, ``…#update``: the activity that made a graph."""
    return f"{provenance_graph_iri(base)}#{activity}"


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe_graph(
    name: str,
    facts,
    base: str,
    *,
    file: str | None = None,
    digest: str | None = None,
    activity: str = BUILD,
    origin: str | None = None,
    read_from: str | None = None,
    when: str | None = None,
    label: str | None = None,
) -> list[ox.Quad]:
    """The provenance quads of one named graph.

    Args:
        facts: the graph's ``GraphFacts`` (size, latest ``dcterms:modified``, web sources, resources).
        file: the source file as people name it (``data/practices/x.yaml``), for graphs compiled from one.
        digest: the SHA-256 of that file's bytes (what start-up compares to find files changed meanwhile).
        activity: what made a graph without a file (``harvest``, ``update``, ``derive``).
        origin: where its data came from (a URL or a local path); ``read_from``: where it was read in the end,
            when a redirect led elsewhere (then the graph was derived from that).
        when: the time of that write (``xsd:dateTime`` text); never given for file graphs, so that a rebuild
            describes them identically.
    """
    prov = provenance_graph_iri(base)
    graph = ox.NamedNode(prov)
    node = ox.NamedNode(name)
    out: list[tuple] = [
        (node, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        (node, RDF_TYPE, ox.NamedNode(SD_GRAPH)),
        (node, PROV + "wasGeneratedBy", ox.NamedNode(activity_iri(base, activity))),
        (node, VOID_TRIPLES, ox.Literal(str(facts.triples), datatype=ox.NamedNode(XSD + "integer"))),
    ]
    if file is not None:
        file_node = ox.NamedNode(f"{prov}#file-{file}")
        out += [
            (node, DCT + "identifier", ox.Literal(file)),
            (node, PROV + "wasDerivedFrom", file_node),
            (file_node, RDF_TYPE, ox.NamedNode(PROV + "Entity")),
            (file_node, DCT + "identifier", ox.Literal(file)),
        ]
        if digest:
            sum_node = ox.NamedNode(f"{prov}#sha256-{file}")
            out += [
                (file_node, SPDX + "checksum", sum_node),
                (sum_node, RDF_TYPE, ox.NamedNode(SPDX + "Checksum")),
                (sum_node, SPDX + "algorithm", ox.NamedNode(SPDX + "checksumAlgorithm_sha256")),
                (sum_node, SPDX + "checksumValue", ox.Literal(digest, datatype=ox.NamedNode(XSD + "hexBinary"))),
            ]
    if origin is not None:
        asked = _iri(origin)
        derived = _iri(read_from) if read_from else asked
        out += [(node, PROV + "wasDerivedFrom", derived), (node, DCT + "source", asked)]
    if label:
        out.append((node, DCT + "description", ox.Literal(label, language="en")))
    if when:
        out.append((node, PROV + "generatedAtTime", ox.Literal(when, datatype=ox.NamedNode(XSD + "dateTime"))))
    if facts.modified:
        out.append((node, DCT + "modified", ox.Literal(facts.modified, datatype=ox.NamedNode(XSD + "date"))))
    out += [
        (node, DCT + "source", ox.NamedNode(url))
        for url in sorted(facts.sources)
        if origin is None or url != _iri(origin).value
    ]
    out += [(node, DCT + "subject", ox.NamedNode(s)) for s in sorted(facts.subjects)]
    return [ox.Quad(s, p if isinstance(p, ox.NamedNode) else ox.NamedNode(p), o, graph) for s, p, o in out]


def _iri(where: str) -> ox.NamedNode:
    scheme = urlsplit(where).scheme
    return ox.NamedNode(where if scheme in ("http", "https", "file") else Path(where).resolve().as_uri())


def describe_activity(base: str, activity: str = BUILD) -> list[ox.Quad]:
    node = ox.NamedNode(activity_iri(base, activity))
    graph = ox.NamedNode(provenance_graph_iri(base))
    return [
        ox.Quad(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(PROV + "Activity"), graph),
        ox.Quad(node, ox.NamedNode(RDFS_LABEL), ox.Literal(f"next2met {activity}", language="en"), graph),
    ]


def descriptions(store, names: Iterable[str], base: str) -> list[ox.Quad]:
    """The quads of the provenance graph that describe ``names`` (and their files and checksums), read from the
    store by subject: what a change of those graphs replaces, without reading the whole provenance graph."""
    prov = provenance_graph_iri(base)
    graphs = sorted(names)
    if not graphs:
        return []
    values = " ".join(f"<{g}>" for g in graphs)
    files = [
        row["f"].value
        for row in store.query(f"""SELECT ?f WHERE {{ GRAPH <{prov}> {{ VALUES ?g {{ {values} }}
            ?g <{PROV}wasDerivedFrom> ?f FILTER(STRSTARTS(STR(?f), "{prov}#file-")) }} }}""").rows()
    ]
    subjects = [*graphs, *files, *(f.replace("#file-", "#sha256-", 1) for f in files)]
    values = " ".join(f"<{s}>" for s in subjects)
    graph = ox.NamedNode(prov)
    rows = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{prov}> {{ VALUES ?s {{ {values} }} ?s ?p ?o }} }}").rows()
    return [ox.Quad(row["s"], row["p"], row["o"], graph) for row in rows]


def has_activity(store, base: str, activity: str) -> bool:
    """Whether the provenance graph describes the activity already."""
    return store.ask(
        f"ASK {{ GRAPH <{provenance_graph_iri(base)}> {{ <{activity_iri(base, activity)}> a <{PROV}Activity> }} }}"
    )


def without(prov_quads: Iterable[ox.Quad], names: set[str], base: str) -> list[ox.Quad]:
    """The provenance quads less the descriptions of ``names`` (and of their files and checksums)."""
    prov = provenance_graph_iri(base)
    prov_quads = list(prov_quads)
    files = {
        q.object.value
        for q in prov_quads
        if q.subject.value in names
        and q.predicate.value == PROV + "wasDerivedFrom"
        and q.object.value.startswith(prov + "#file-")
    }
    files |= {f.replace("#file-", "#sha256-", 1) for f in files}
    drop = names | files
    return [q for q in prov_quads if q.subject.value not in drop]
