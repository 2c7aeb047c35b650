"""The source format never drops a fact silently: what it cannot represent is refused at every level, with the file
and the line, through the real ``next2met`` command; the build's report points at the file and line of each
violation, each once."""

from __future__ import annotations

import shutil

import pytest

from next2met.graph import paths
from next2met.graph.cli import main
from next2met.graph.errors import DataFileError
from next2met.graph.sourceformat import MAX_YAML_NODES, load
from next2met.graph.sources import load_context
from next2met.graph.store import OxigraphStore

CONTEXT = load_context("https://w3id.org/next2met/")
PRACTICE = "practices/nogig-open-access-fibre.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(text: str, needle: str) -> int:
    """The 1-based line where ``needle`` first occurs, found independently of the code under test."""
    return text[:text.index(needle)].count("\n") + 1


@pytest.fixture
def data(tmp_path):
    """A copy of the curated data to plant mistakes in."""
    folder = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, folder)
    return folder


@pytest.fixture
def store(built_store, tmp_path):
    """A built store; the test checks that a refused build leaves it as it was."""
    folder = tmp_path / "store"
    shutil.copytree(built_store, folder, symlinks=True)
    return folder


def state(folder) -> tuple[int, str]:
    st = OxigraphStore(folder, read_only=True)
    try:
        return st.count(), st.generation
    finally:
        st.close()


def test_a_typo_in_a_nested_key_is_refused_with_file_line_and_suggestion(capsys, data, store):
    """Planted mistake 1: `stakeholder_typ:` inside `stakeholders:` built with exit 0 and the key dropped."""
    file = data / PRACTICE
    text = file.read_text()
    first = text.index("    stakeholder_type: public-agency")
    file.write_text(text[:first] + text[first:].replace("stakeholder_type:", "stakeholder_typ:", 1))
    before = state(store)
    code, out, err = run(capsys, "build", "--store", str(store), "--data", str(data), "--quiet")
    line = line_of(file.read_text(), "stakeholder_typ:")
    assert code == 2 and out == ""
    assert err == (f"next2met: error: data/{PRACTICE}: line {line}, column 5: unknown key 'stakeholder_typ' in "
                   "stakeholders[1]; did you mean 'stakeholder_type'? (the source format has no such field, so its "
                   "value would be lost)\n")
    assert state(store) == before


def test_a_copied_practice_file_keeping_its_id_is_refused_naming_both_files(capsys, data, store):
    """Planted mistake 2: a copy of a practice file that keeps its id put the practice in two graphs."""
    shutil.copy(data / PRACTICE, data / "practices" / "nogig-open-access-fibre-copy.yaml")
    before = state(store)
    code, out, err = run(capsys, "build", "--store", str(store), "--data", str(data), "--quiet")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "the id practice/nogig-open-access-fibre is used in two files" in err
    assert "data/practices/nogig-open-access-fibre-copy.yaml:2" in err and f"data/{PRACTICE}:2" in err
    assert state(store) == before


def test_an_unknown_concept_code_is_one_violation_with_file_and_line(capsys, data, store):
    """Planted mistake 3: an unknown code gave three violations in a 330-line report, one printed twice, no file."""
    file = data / PRACTICE
    file.write_text(file.read_text().replace("measures: [connectivity]", "measures: [conectivity]"))
    before = state(store)
    code, out, err = run(capsys, "build", "--store", str(store), "--data", str(data), "--quiet")
    assert code == 1 and "the store is unchanged" in err
    lines = out.splitlines()
    line = line_of(file.read_text(), "measures:")
    assert lines[0] == f"Violations in data/{PRACTICE}"
    assert lines[1].startswith(f"  line {line}: practice/nogig-open-access-fibre n2m:measureType: A measure type")
    assert lines[1].endswith("(value: concept/measure/conectivity)")
    assert len(lines) == 3  # the violation once, then the summary line
    assert lines[2].startswith("Does not conform: 1 violation in 1 file; ") and "--warnings lists them" in lines[2]
    assert state(store) == before


def test_build_lists_warnings_by_file_when_asked(capsys, data, tmp_path):
    code, out, _ = run(capsys, "build", "--store", str(tmp_path / "s"), "--data", str(data), "--quiet",
                       "--warnings")
    assert code == 0
    assert "Warnings in data/practices/evrylab-imc-krems.yaml" in out
    summary = out.splitlines()[-1]
    assert summary.startswith("Conforms: 0 violations; ") and "start_year" in summary


def test_a_yaml_syntax_error_gives_file_line_and_column(capsys, data, store):
    (data / "practices" / "broken.yaml").write_text("id: practice/broken\nsummary:\n  en: 'unclosed\n")
    code, _, err = run(capsys, "build", "--store", str(store), "--data", str(data), "--quiet")
    assert code == 2
    assert err.startswith("next2met: error: data/practices/broken.yaml: YAML error at line 4, column 1: ")


@pytest.mark.parametrize("text, message", [
    # a key inside a nested entry of a list
    ("id: practice/x\nbudgets:\n  - amount: 5\n    ammount: 6\n    currency: EUR\n",
     "line 4, column 5: unknown key 'ammount' in budgets[1]; did you mean 'amount'?"),
    # a key inside a nested mapping that is not in a list
    ("id: practice/x\nmilestones:\n  date: 2020-01-01\n  lable: {en: x}\n",
     "line 4, column 3: unknown key 'lable' in milestones; did you mean 'label'?"),
    # a language map takes language codes only
    ("id: practice/x\ntitle:\n  english: A title\n",
     "line 3, column 3: 'english' in title is not a language code such as en, fi or de"),
    # a field that is not a language map cannot hold one: its value would vanish
    ("id: practice/x\nstart_year: {en: 2019}\n", "line 2, column 14: unknown key 'en' in start_year"),
    # the same key twice: YAML keeps the last, so the first value would be lost
    ("id: practice/x\nsources: [https://a.example/]\nconfidence: low\nsources: [https://b.example/]\n",
     "line 4, column 1: the key 'sources' is written twice (first on line 2); only the last value would be kept"),
    # one id twice in one file
    ("- id: practice/x\n  confidence: low\n- id: practice/x\n  confidence: high\n",
     "line 3, column 3: the id of this item is used already by the item on line 1"),
    # a top-level field
    ("id: practice/x\ntitel: {en: x}\n", "line 2, column 1: unknown field 'titel'; did you mean 'title'?"),
])
def test_what_the_format_cannot_hold_is_refused_with_its_line(text, message):
    with pytest.raises(DataFileError) as e:
        load(text, CONTEXT, source="f.yaml")
    assert e.value.detail.startswith(f"f.yaml: {message}")


def test_the_value_of_an_unknown_key_is_not_reported_again():
    with pytest.raises(DataFileError) as e:
        load("id: practice/x\ntitel: {en: x, fi: y}\n", CONTEXT, source="f.yaml")
    assert e.value.extra["problems"] == [
        "f.yaml: line 2, column 1: unknown field 'titel'; did you mean 'title'? (the source format has no such "
        "field, so its value would be lost)"]


def test_every_problem_of_a_file_is_listed():
    with pytest.raises(DataFileError) as e:
        load("id: practice/x\ntitel: {en: x}\nsumary: {en: y}\nbudgets:\n  - amout: 1\n", CONTEXT, source="f.yaml")
    assert [p.split(": ")[1] for p in e.value.extra["problems"]] == ["line 2, column 1", "line 3, column 1",
                                                                    "line 5, column 5"]
    assert "(and 2 more: " in e.value.detail


def test_keywords_and_alias_bombs_are_still_refused():
    with pytest.raises(DataFileError, match=r"the key '@context' in budgets\[1\] is not allowed"):
        load('id: practice/x\nbudgets:\n  - "@context": http://a.example/\n', CONTEXT)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join('*' + p for _ in range(10))}]\n" for p, c in zip("abcdef", "bcdefg", strict=True))
    with pytest.raises(DataFileError, match=f"more than {MAX_YAML_NODES:,} values"):
        load("- id: practice/x\n  " + bomb.replace("\n", "\n  ").rstrip() + "\n", CONTEXT)


def test_places_give_the_line_of_each_resource_and_key():
    text = (paths.DATA_DIR / "events.yaml").read_text()
    doc = load(text, CONTEXT, source="data/events.yaml")
    place = doc.places["https://w3id.org/next2met/event/calella-visit"]
    assert place.line == line_of(text, "- id: event/calella-visit")
    assert place.line_of("host") == line_of(text, "  host: organisation/calella-city-council")
    assert place.line_of("n2m:host") == place.line_of("host")  # also found by the property a report names


@pytest.mark.parametrize(
    ("written", "stored"),
    [("1358584.00", "1358584"), ("0.50", "0.5"), ("2.5e3", "2500"), ("1e-7", "0.0000001"), ("12", "12")],
)
def test_a_decimal_amount_compiles_to_the_literal_the_store_keeps(written, stored):
    """Numbers with a point are written in the decimal's canonical form, as the store keeps them: the compiled
    quads and the stored ones are then the same (they were not for ``1358584.00``, compiled "1358584.0")."""
    import pyoxigraph as ox

    from next2met.graph.sources import parse_yaml, yaml_quads

    text = f"id: project/x\ntype: Project\nbudgets:\n  - amount: {written}\n    currency: EUR\n"
    quads = yaml_quads(parse_yaml(text, CONTEXT, source="x.yaml"), "https://w3id.org/next2met/graph/x")
    amounts = [q.object for q in quads if q.predicate.value == "https://schema.org/value"]
    assert [a.value for a in amounts] == [stored]
    store = ox.Store()
    store.extend(quads)
    assert set(store) == set(quads)
