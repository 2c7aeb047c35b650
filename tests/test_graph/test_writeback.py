"""RDF back to YAML: for every YAML file of data/ (whatever files exist), YAML -> RDF -> YAML -> RDF gives the same
graph and the second YAML is byte-stable; what the format cannot hold is refused, naming the file."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib.compare import isomorphic

from next2met.graph import paths
from next2met.graph.errors import WriteBackRefused
from next2met.graph.rdfio import quads_to_rdflib
from next2met.graph.settings import DEFAULT_BASE_IRI
from next2met.graph.sources import discover_sources, load_context, parse_yaml, read_yaml, yaml_quads
from next2met.graph.writeback import write_yaml

YAML_FILES = [s for s in discover_sources(paths.DATA_DIR) if s.path.suffix in (".yaml", ".yml")]
CONTEXT = load_context(DEFAULT_BASE_IRI)


def test_every_data_file_is_covered():
    assert len(YAML_FILES) >= 40  # practices, organisations, regions, project, events, action plans


@pytest.mark.parametrize("src", YAML_FILES, ids=[s.relative for s in YAML_FILES])
@pytest.mark.parametrize("with_hint", [True, False], ids=["file-as-hint", "no-hint"])
def test_round_trip(src, with_hint):
    graph = src.graph_iri(DEFAULT_BASE_IRI)
    first = yaml_quads(read_yaml(src.path, CONTEXT), graph)
    text = write_yaml(first, CONTEXT, graph=graph, source=src.relative,
                      hint_text=src.path.read_text(encoding="utf-8") if with_hint else None)
    second = yaml_quads(parse_yaml(text, CONTEXT, source=src.relative), graph)
    assert isomorphic(quads_to_rdflib(first), quads_to_rdflib(second))
    again = write_yaml(second, CONTEXT, graph=graph, source=src.relative, hint_text=text)
    assert again == text  # byte-stable on a second round
    assert write_yaml(second, CONTEXT, graph=graph, source=src.relative, hint_text=None) == \
        write_yaml(first, CONTEXT, graph=graph, source=src.relative, hint_text=None)


def test_unchanged_parts_keep_their_text_and_comments():
    src = next(s for s in YAML_FILES if s.relative == "data/practices/digibale.yaml")
    original = src.path.read_text(encoding="utf-8")
    graph = src.graph_iri(DEFAULT_BASE_IRI)
    quads = yaml_quads(read_yaml(src.path, CONTEXT), graph)
    title = next(q for q in quads if q.predicate.value.endswith("/title") and q.object.language == "en")
    edited = [q for q in quads if q != title] + [
        ox.Quad(title.subject, title.predicate, ox.Literal("Digibale, renamed", language="en"), title.graph_name)]
    text = write_yaml(edited, CONTEXT, graph=graph, source=src.relative, hint_text=original)
    changed = [line for line in text.splitlines() if line not in original.splitlines()]
    assert changed == ["  en: Digibale, renamed"]
    assert text.startswith("# Finnish agri-digital practice")


def test_a_graph_the_format_cannot_hold_is_refused_naming_the_file():
    src = YAML_FILES[0]
    graph = src.graph_iri(DEFAULT_BASE_IRI)
    quads = yaml_quads(read_yaml(src.path, CONTEXT), graph)
    subject = quads[0].subject
    odd = quads + [ox.Quad(subject, ox.NamedNode("https://example.org/unknown"), ox.Literal("x"), ox.NamedNode(graph))]
    with pytest.raises(WriteBackRefused) as caught:
        write_yaml(odd, CONTEXT, graph=graph, source=src.relative)
    assert src.relative in caught.value.detail and caught.value.status == 409


def test_an_installed_server_copies_the_packaged_data_once_and_says_so(tmp_path):
    from next2met.graph.changes.files import copy_packaged_data

    said: list[str] = []
    target = copy_packaged_data(tmp_path / "user" / "data", said.append)
    assert (target / "practices" / "digibale.yaml").is_file() and (target / "context.jsonld").is_file()
    assert len(said) == 1 and str(target) in said[0]
    (target / "practices" / "digibale.yaml").write_text("edited", encoding="utf-8")
    assert copy_packaged_data(target, said.append) == target and len(said) == 1  # never copied over edits
    assert (target / "practices" / "digibale.yaml").read_text(encoding="utf-8") == "edited"
