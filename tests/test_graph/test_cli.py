"""The next2met command line: exit codes (0 ok, 1 does not conform, 2 error), one-line errors, results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from next2met.graph import paths
from next2met.graph.cli import main
from next2met.graph.formats import NQUADS, RDF
from next2met.graph.rdfio import parse_file
from next2met.graph.store import OxigraphStore

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "cli"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_valid_file(capsys, tmp_path):
    code, out, err = run(capsys, "validate", str(FIXTURES / "valid-practice.ttl"), "--store", str(tmp_path))
    assert code == 0, out + err
    summary = out.splitlines()[-1]
    assert summary.startswith("Conforms: 0 violations; ") and "--warnings lists them" in summary
    assert "cli-test-valid" not in out  # warnings are counted by kind, not listed
    code, out, err = run(capsys, "validate", str(FIXTURES / "valid-practice.ttl"), "--warnings",
                         "--store", str(tmp_path))
    assert code == 0 and "practice/cli-test-valid" in out  # listed with --warnings


def test_validate_invalid_file_reports_each_violation_once(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", str(FIXTURES / "invalid-practice.ttl"), "--store", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    violations = [line for line in lines if line.startswith("  ")]
    assert any("practice/cli-test-invalid n2m:standing" in v for v in violations)
    assert any("practice/cli-test-invalid dcterms:title" in v for v in violations)
    assert len(violations) == len(set(violations))
    assert lines[-1].startswith("Does not conform: ")
    # the curated data is context only: none of its warnings are reported
    assert "practice/digital-consultations-longford" not in out


def test_validate_turtle_report(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", str(FIXTURES / "invalid-practice.ttl"), "--format", "turtle",
                       "--store", str(tmp_path))
    assert code == 1
    report = list(ox.parse(out, format=ox.RdfFormat.TURTLE))
    conforms = [q for q in report if q.predicate.value == "http://www.w3.org/ns/shacl#conforms"]
    assert conforms and conforms[0].object.value == "false"


def test_validate_malformed_file_names_file_and_line(capsys, tmp_path):
    code, out, err = run(capsys, "validate", str(FIXTURES / "malformed.ttl"), "--store", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1, err  # one line, no traceback
    assert "malformed.ttl" in err and "line 2" in err


def test_validate_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.ttl"), "--store", str(tmp_path))
    assert code == 2
    assert err.strip() == f"next2met: error: {tmp_path / 'nope.ttl'}: no such file"


def test_validate_yaml_source(capsys, tmp_path):
    practice = tmp_path / "p.yaml"
    practice.write_text((paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()
                        .replace("standing: gp-database\n", ""))
    code, out, _ = run(capsys, "validate", str(practice), "--store", str(tmp_path / "s"))
    assert code == 1
    assert "n2m:standing" in out


def test_unknown_command_is_usage_error(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2
    assert "No such command" in err


def test_build_refuses_invalid_data_and_keeps_store(capsys, built_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(built_store, store, symlinks=True)
    before = OxigraphStore(store, read_only=True)
    count, generation = before.count(), before.generation
    before.close()
    folders = sorted(p.name for p in store.iterdir())
    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    broken = data / "practices" / "digital-consultations-longford.yaml"
    broken.write_text(broken.read_text().replace("standing: gp-database\n", "standing: nonsense\n"))
    code, out, err = run(capsys, "build", "--store", str(store), "--data", str(data), "--quiet")
    assert code == 1
    assert "Violations in data/practices/digital-consultations-longford.yaml" in out
    assert "practice/digital-consultations-longford n2m:standing" in out
    assert "store is unchanged" in err
    after = OxigraphStore(store, read_only=True)
    assert (after.count(), after.generation) == (count, generation)
    after.close()
    # the refused data was written aside while it was checked; nothing of it is left behind
    assert sorted(p.name for p in store.iterdir()) == folders


def test_build_reports_yaml_error_with_line(capsys, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    (data / "practices" / "broken.yaml").write_text("id: practice/broken\ntitle: {en: [unclosed\n")
    code, _, err = run(capsys, "build", "--store", str(tmp_path / "s"), "--data", str(data), "--quiet")
    assert code == 2
    assert "data/practices/broken.yaml: YAML error at line 3, column 1: " in err
    assert "begins at line 2, column 13" in err  # where the unclosed bracket was opened


def test_build_rejects_unknown_yaml_field(capsys, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    (data / "practices" / "typo.yaml").write_text("id: practice/typo\ntitel: {en: Typo}\n")
    code, _, err = run(capsys, "build", "--store", str(tmp_path / "s"), "--data", str(data), "--quiet")
    assert code == 2
    assert err == ("next2met: error: data/practices/typo.yaml: line 2, column 1: unknown field 'titel'; did you "
                   "mean 'title'? (the source format has no such field, so its value would be lost)\n")


@pytest.mark.parametrize("fmt", sorted(RDF))
def test_export_round_trip(capsys, built_store, tmp_path, fmt):
    """Every export format parses back to the same number of triples (quads for graph-aware formats)."""
    info = RDF[fmt]
    out = tmp_path / f"dump.{info.suffix}"
    code, _, err = run(capsys, "export", "--store", str(built_store), "--format", fmt, "--output", str(out))
    assert code == 0, err
    store = OxigraphStore(built_store, read_only=True)
    quads = list(store.quads())
    store.close()
    parsed = parse_file(out, info)
    if info.quads:
        assert len(parsed) == len(quads)
        assert {q.graph_name for q in parsed} == {q.graph_name for q in quads}
    else:
        assert len({(q.subject, q.predicate, q.object) for q in parsed}) == len(
            {(q.subject, q.predicate, q.object) for q in quads}
        )


def test_export_gzip(capsys, built_store, tmp_path):
    out = tmp_path / "dump.nq.gz"
    code, _, _ = run(capsys, "export", "--store", str(built_store), "--output", str(out))
    assert code == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert len(parse_file(out, NQUADS)) > 1000


def test_export_empty_store_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "export", "--store", str(tmp_path / "empty"))
    assert code == 2
    assert "run `next2met build` first" in err


def test_query_text_json(capsys, built_store):
    code, out, _ = run(capsys, "query", "--store", str(built_store), "--format", "json", "--query",
                       "SELECT (COUNT(*) AS ?n) WHERE { ?p a <https://w3id.org/next2met/ontology#GoodPractice> }")
    assert code == 0
    n = int(json.loads(out)["results"]["bindings"][0]["n"]["value"])
    assert n == len(list((paths.DATA_DIR / "practices").glob("*.yaml")))


def test_query_syntax_error(capsys, built_store):
    code, _, err = run(capsys, "query", "--store", str(built_store), "--query", "SELECT * WHERE { ?s ?p }")
    assert code == 2
    assert err.startswith("next2met: error:") and err.count("\n") == 1


def test_stats(capsys, built_store):
    code, out, _ = run(capsys, "stats", "--store", str(built_store))
    assert code == 0
    practices = len(list((paths.DATA_DIR / "practices").glob("*.yaml")))
    line = next(line for line in out.splitlines() if line.rstrip().endswith("ontology#GoodPractice"))
    assert line.split()[0] == str(practices)
    assert "Practices per region" in out and "Practices per innovation-chain stage" in out
    classes = out.split("Resources per class", 1)[1].split("\n\n", 1)[0]
    assert "ontology#GoodPractice" in classes  # our classes; not the terms of the ontology and shapes graphs
    assert "http://www.w3.org/ns/shacl#" not in classes and "http://www.w3.org/2002/07/owl#" not in classes
