"""Every format we read or write, once: one ``Format`` record per RDF syntax and per SPARQL results syntax.

What the rest of the code needs to know about a format is a field here: its media type and the older names
clients still send, its file suffix, pyoxigraph's and rdflib's names for it, its W3C format IRI (service
description, VoID), its code in the EU file-type table (DCAT-AP catalogue), and whether it holds named graphs.
Parsing, dumps, the CLI's choices, the catalogue, the service description and content negotiation all read these
records, so a new format is one record (and its tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from .errors import InputError

W3C_FORMATS = "http://www.w3.org/ns/formats/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class Format:
    """One syntax: what it is called, how it is sent, and which library writes it."""

    key: str  # our name: CLI choices, ``format=`` values, dump manifests
    label: str  # what people call it ("RDF/XML")
    media_type: str
    kind: str  # "rdf" (triples or quads), "results" (SPARQL solutions and booleans) or "page" (HTML, JSON)
    suffix: str = ""  # file and URL suffix, without the dot
    ox_format: ox.RdfFormat | ox.QueryResultsFormat | None = None  # pyoxigraph's reader and writer
    rdflib_name: str | None = None  # rdflib's parser and serializer plugin
    w3c: str = ""  # the local name of its IRI in http://www.w3.org/ns/formats/
    eu_file_type: tuple[str, str] | None = None  # (code, English label) in the EU file-type authority table
    quads: bool = False  # holds named graphs
    synonyms: tuple[str, ...] = ()  # other media types of the same syntax, matched like the main one
    fallbacks: tuple[str, ...] = ()  # looser media types, chosen only when nothing else the client accepts fits
    names: tuple[str, ...] = ()  # other names people type (``format=``, ``--format``) and other file suffixes
    prefixes: bool = False  # the writer abbreviates IRIs with prefixes

    @property
    def content_type(self) -> str:
        """The Content-Type header: textual formats say their charset."""
        textual = self.media_type.startswith("text/") or self.media_type.endswith(
            ("+xml", "+json", "triples", "quads", "trig")
        )
        return f"{self.media_type}; charset=utf-8" if textual else self.media_type

    @property
    def iri(self) -> str | None:
        """The W3C format IRI (``http://www.w3.org/ns/formats/Turtle``), when the W3C names one."""
        return W3C_FORMATS + self.w3c if self.w3c else None

    @property
    def eu_file_type_iri(self) -> str | None:
        return EU_FILE_TYPE + self.eu_file_type[0] if self.eu_file_type else None

    def called(self, name: str) -> bool:
        """Whether ``name`` (a key, another name, a suffix or a media type, any case) means this format."""
        name = name.strip().lower().lstrip(".")
        return name in (self.key, self.suffix, *self.names, self.media_type, *self.synonyms)

    @property
    def rdf(self) -> ox.RdfFormat:
        """pyoxigraph's RDF format (for the records of RDF syntaxes)."""
        assert isinstance(self.ox_format, ox.RdfFormat), f"{self.label} is not an RDF format"
        return self.ox_format

    @property
    def results(self) -> ox.QueryResultsFormat:
        """pyoxigraph's query results format (for the records of results syntaxes)."""
        assert isinstance(self.ox_format, ox.QueryResultsFormat), f"{self.label} is not a results format"
        return self.ox_format

    def write(
        self, items: Iterable, output: IO[bytes] | None = None, prefixes: dict[str, str] | None = None
    ) -> bytes | None:
        """Serialise triples or quads with pyoxigraph (prefixes where the syntax has them); the bytes, or into
        ``output``."""
        used = prefixes if prefixes and self.prefixes else None
        if output is None:
            return ox.serialize(items, format=self.rdf, prefixes=used)
        ox.serialize(items, output, self.rdf, prefixes=used)
        return None

    def write_triples(
        self, triples: Iterable, output: IO[bytes] | None = None, prefixes: dict[str, str] | None = None
    ) -> bytes | None:
        """Serialise triples (in the default graph for formats that hold quads); the bytes, or into ``output``."""
        items = triples
        if self.quads:
            items = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
        return self.write(items, output, prefixes)


def _rdf(key, label, media_type, suffix, ox_format, rdflib_name, w3c, eu, **more) -> Format:
    return Format(key, label, media_type, "rdf", suffix, ox_format, rdflib_name, w3c, eu, **more)


def _results(key, label, media_type, suffix, ox_format, w3c, **more) -> Format:
    return Format(key, label, media_type, "results", suffix, ox_format, None, w3c, **more)


# In order of preference when a client accepts several equally: graph-aware formats hold the whole dataset.
NQUADS = _rdf(
    "nquads",
    "N-Quads",
    "application/n-quads",
    "nq",
    ox.RdfFormat.N_QUADS,
    "nquads",
    "N-Quads",
    ("RDF_N_QUADS", "RDF N-Quads"),
    quads=True,
    names=("n-quads",),
)
TRIG = _rdf(
    "trig",
    "TriG",
    "application/trig",
    "trig",
    ox.RdfFormat.TRIG,
    "trig",
    "TriG",
    ("RDF_TRIG", "RDF TriG"),
    quads=True,
    prefixes=True,
)
TURTLE = _rdf(
    "turtle",
    "Turtle",
    "text/turtle",
    "ttl",
    ox.RdfFormat.TURTLE,
    "turtle",
    "Turtle",
    ("RDF_TURTLE", "RDF Turtle"),
    synonyms=("application/x-turtle",),
    fallbacks=("text/n3",),
    prefixes=True,
)
NTRIPLES = _rdf(
    "nt",
    "N-Triples",
    "application/n-triples",
    "nt",
    ox.RdfFormat.N_TRIPLES,
    "nt",
    "N-Triples",
    ("RDF_N_TRIPLES", "RDF N-Triples"),
    fallbacks=("text/plain",),
    names=("ntriples", "n-triples"),
)
JSONLD = _rdf(
    "jsonld",
    "JSON-LD",
    "application/ld+json",
    "jsonld",
    ox.RdfFormat.JSON_LD,
    "json-ld",
    "JSON-LD",
    ("JSON_LD", "JSON-LD"),
    quads=True,
    fallbacks=("application/json",),
    names=("json-ld", "ld+json", "json"),
)
RDFXML = _rdf(
    "rdfxml",
    "RDF/XML",
    "application/rdf+xml",
    "rdf",
    ox.RdfFormat.RDF_XML,
    "xml",
    "RDF_XML",
    ("RDF_XML", "RDF/XML"),
    fallbacks=("application/xml", "text/xml"),
    names=("xml", "rdf+xml", "rdf/xml", "owl"),
    prefixes=True,
)
N3 = _rdf(
    "n3", "N3", "text/n3", "n3", ox.RdfFormat.N3, "n3", "N3", ("N3", "N3"), synonyms=("text/rdf+n3",), prefixes=True
)
RDF_FORMATS: tuple[Format, ...] = (NQUADS, TRIG, TURTLE, NTRIPLES, JSONLD, RDFXML, N3)

JSON = _results(
    "json",
    "SPARQL JSON",
    "application/sparql-results+json",
    "srj",
    ox.QueryResultsFormat.JSON,
    "SPARQL_Results_JSON",
    synonyms=("application/json",),
)
XML = _results(
    "xml",
    "SPARQL XML",
    "application/sparql-results+xml",
    "srx",
    ox.QueryResultsFormat.XML,
    "SPARQL_Results_XML",
    synonyms=("application/xml", "text/xml"),
)
CSV = _results("csv", "CSV", "text/csv", "csv", ox.QueryResultsFormat.CSV, "SPARQL_Results_CSV")
TSV = _results("tsv", "TSV", "text/tab-separated-values", "tsv", ox.QueryResultsFormat.TSV, "SPARQL_Results_TSV")
RESULTS_FORMATS: tuple[Format, ...] = (JSON, XML, CSV, TSV)

# Not RDF: what people and plain JSON clients read.
HTML = Format("html", "HTML", "text/html", "page", "html", synonyms=("application/xhtml+xml",))
PLAIN_JSON = Format("json", "JSON", "application/json", "page", "json")
SOURCE_YAML = Format(
    "yaml",
    "YAML (the source format)",
    "application/yaml",
    "page",
    "yaml",
    synonyms=("application/x-yaml", "text/yaml", "text/x-yaml"),
    names=("yml",),
)

RDF: dict[str, Format] = {f.key: f for f in RDF_FORMATS}
RESULTS: dict[str, Format] = {f.key: f for f in RESULTS_FORMATS}
# Graph answers (CONSTRUCT, a description) in order of preference when the client accepts several equally.
_PREFERRED = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)
GRAPH_ANSWERS: tuple[Format, ...] = (*_PREFERRED, *(f for f in RDF_FORMATS if f not in _PREFERRED))
# The formats of one resource's description (one graph: not the formats whose point is a dataset of graphs).
TRIPLE_FORMATS: tuple[Format, ...] = (
    TURTLE,
    JSONLD,
    RDFXML,
    NTRIPLES,
    *(f for f in RDF_FORMATS if f not in (TURTLE, JSONLD, RDFXML, NTRIPLES, TRIG, NQUADS)),
)


def rdf_format(name: str) -> Format:
    """The RDF format a name stands for (key, other name, suffix or media type); InputError when none does."""
    for f in RDF_FORMATS:
        if f.called(name):
            return f
    raise InputError(f"unknown RDF format {name!r}; use one of {', '.join(RDF)}")


def results_format(name: str) -> Format:
    """The SPARQL results format a name stands for; InputError when none does."""
    for f in RESULTS_FORMATS:
        if f.called(name):
            return f
    raise InputError(f"unknown results format {name!r}; use one of {', '.join(RESULTS)}")


def guess_format(path: Path) -> Format | None:
    """The RDF format of a file from its suffix (``.gz`` is looked through), or None."""
    suffixes = [s.lstrip(".").lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == "gz":
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    for f in RDF_FORMATS:
        if suffixes[-1] in (f.suffix, *f.names) and "/" not in suffixes[-1]:
            return f
    return None


def by_media_type(media_type: str, offers: tuple[Format, ...] = RDF_FORMATS) -> Format | None:
    """The format among ``offers`` that a body of ``media_type`` is in (its media type or a synonym; the looser
    names that negotiation falls back on, such as ``text/plain``, say too little about a body); None if none is."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    return next((f for f in offers if media_type in (f.media_type, *f.synonyms)), None)
