"""Reading and writing RDF: file parsing with readable errors, conversions between rdflib and pyoxigraph (the
formats themselves are in ``formats.py``). Parsing goes through pyoxigraph (fast, and its errors carry line and
column)."""

from __future__ import annotations

import codecs
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pyoxigraph as ox
import rdflib

from .errors import InputError, PayloadTooLarge, RDFSyntaxError
from .formats import NTRIPLES, RDFXML, Format, guess_format

Term = ox.NamedNode | ox.BlankNode | ox.Literal  # an RDF term as pyoxigraph gives it (no RDF-star here)


def parse_file(path: Path, fmt: Format | None = None, graph: str | None = None) -> list[ox.Quad]:
    """Parse one RDF file into quads; a syntax error becomes RDFSyntaxError naming the file and the line."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an RDF file")
    fmt = fmt or guess_format(path)
    if fmt is None:
        raise InputError(f"{path}: cannot tell the RDF format from the file name; use --input-format")
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        data = gzip.decompress(data)
    return parse_bytes(data, fmt, source=str(path), graph=graph, base_iri=path.resolve().as_uri())


def parse_bytes(
    data: bytes | str,
    fmt: Format,
    *,
    source: str = "input",
    graph: str | None = None,
    base_iri: str | None = None,
    max_triples: int | None = None,
) -> list[ox.Quad]:
    """Parse RDF text; triples go to ``graph`` (None: the default graph). Past ``max_triples`` the parse stops
    with PayloadTooLarge."""
    if fmt is RDFXML:
        check_xml(data, source)
    to_graph = ox.NamedNode(graph) if graph else ox.DefaultGraph()
    try:
        parsed: Iterable[ox.Quad] = ox.parse(data, format=fmt.rdf, base_iri=base_iri)
        if max_triples is not None:
            parsed = itertools.islice(parsed, max_triples + 1)
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, to_graph if graph or not fmt.quads else q.graph_name)
            for q in parsed
        ]
    except SyntaxError as e:
        raise RDFSyntaxError(f"{source}: {fmt.key} syntax error: {e.msg if hasattr(e, 'msg') else e}") from None
    except (ValueError, OSError) as e:
        raise RDFSyntaxError(f"{source}: cannot read as {fmt.key}: {e}") from None
    if max_triples is not None and len(quads) > max_triples:
        raise PayloadTooLarge(
            f"{source}: more than {max_triples} triples; the limit is {max_triples}", limit=max_triples
        )
    return quads


_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.I)
_TAG = re.compile(rb"<(/?)([^<>]*?)(/?)>")
# Elements nested deeper than this are refused: pyoxigraph's RDF/XML parser takes time quadratic in the depth
# (measured: 3,000 levels 0.09 s, 100,000 levels 165 s); real RDF/XML nests a few levels.
MAX_XML_DEPTH = 256


def check_xml(data: bytes | str, source: str) -> None:
    """Refuse XML that declares a document type or entities before any parser sees it.

    pyoxigraph's RDF/XML parser refuses external entities but expands internal ones: a kilobyte of nested entity
    definitions (the "billion laughs") grows into gigabytes. RDF/XML has no use for a DTD, so any declaration is
    refused, as defusedxml's ``forbid_dtd`` does. Only UTF-8 is read (the encoding pyoxigraph reads), so a
    declaration cannot hide in another encoding."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
        raise InputError(f"{source}: RDF/XML is read in UTF-8 only")
    match = _DECLARATION.search(raw)
    if match:
        raise InputError(
            f"{source}: the XML declares {match.group(1).decode().upper()}; document type and entity "
            "declarations are not accepted in RDF/XML here"
        )
    depth = 0
    for tag in _TAG.finditer(raw):
        if tag.group(2).startswith((b"!", b"?")):  # a comment, CDATA or processing instruction
            continue
        if tag.group(1):
            depth -= 1
        elif not tag.group(3):
            depth += 1
            if depth > MAX_XML_DEPTH:
                raise InputError(f"{source}: the XML nests elements more than {MAX_XML_DEPTH} deep")


def quads_to_rdflib(quads: Iterable[ox.Quad]) -> rdflib.Graph:
    """Merge quads into one rdflib Graph (graph names dropped), through N-Triples."""
    buf = io.BytesIO()
    ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads), buf, ox.RdfFormat.N_TRIPLES)
    g = rdflib.Graph()
    g.parse(data=buf.getvalue().decode("utf-8"), format="nt")
    return g


def rdflib_to_quads(graph: rdflib.Graph, graph_name: str | None = None) -> list[ox.Quad]:
    """Convert an rdflib graph to pyoxigraph quads in the given named graph."""
    nt = graph.serialize(format="nt", encoding="utf-8")
    return parse_bytes(nt, NTRIPLES, source="graph", graph=graph_name)


def serialize_quads(
    quads: Iterable[ox.Quad], fmt: Format, output: IO[bytes] | None = None, prefixes: dict[str, str] | None = None
) -> bytes | None:
    """Serialise quads (triples when the format has no graphs) to ``output`` or return the bytes."""
    items: Iterator[ox.Quad] | Iterator[ox.Triple] = iter(quads)
    if not fmt.quads:
        items = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
    return fmt.write(items, output, prefixes)


def _escape(error: UnicodeError) -> tuple[str | bytes, int]:
    assert isinstance(error, UnicodeEncodeError)
    chars = error.object[error.start : error.end]
    return "".join(f"\\u{ord(c):04X}" if ord(c) < 0x10000 else f"\\U{ord(c):08X}" for c in chars), error.end


codecs.register_error("next2met-ntriples-escape", _escape)


def ascii_ntriples(text: str | bytes, chunk: int = 1 << 24) -> str:
    """N-Triples (or N-Quads) with every character outside ASCII written as its \\u escape, which the format allows
    in IRIs and literals (and in comments nothing reads). Python then keeps the text in one byte a character and
    hands it to native code without another copy: at 1M triples 180 MB instead of 360 MB plus a 180 MB UTF-8 copy.
    UTF-8 bytes are converted a few megabytes at a time, cut at line ends."""
    if isinstance(text, str):
        return text if text.isascii() else text.encode("ascii", "next2met-ntriples-escape").decode("ascii")
    if text.isascii():
        return text.decode("ascii")
    pieces, at = [], 0
    while at < len(text):
        end = text.find(b"\n", min(at + chunk, len(text)))
        end = len(text) if end < 0 else end + 1
        pieces.append(ascii_ntriples(text[at:end].decode("utf-8")))
        at = end
    return "".join(pieces)


def scope_blank_nodes(triples: Iterable, prefix: str) -> list:
    """The triples (or quads) with every blank node label prefixed: what keeps the blank nodes of one document apart
    from those of another when their statements are put together."""

    def scoped(term):
        return ox.BlankNode(f"{prefix}x{term.value}") if isinstance(term, ox.BlankNode) else term

    out = []
    for t in triples:
        s, o = t.subject, t.object
        if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
            t = (
                ox.Quad(scoped(s), t.predicate, scoped(o), t.graph_name)
                if isinstance(t, ox.Quad)
                else ox.Triple(scoped(s), t.predicate, scoped(o))
            )
        out.append(t)
    return out
