"""Why two practices are related, in the reader's language, over HTTP: the practice page's "why related" sentences
in Finnish, German, Polish, Spanish and Catalan are the catalogue's own translations (read from the .po files, in
the plural form the number of things named asks for), with the data's labels in that language, and no English
phrase left; ``/practice/{slug}/related`` gives the same reasons as data (kind, IRIs, labels) and as words."""

from __future__ import annotations

import gettext
import html
import re
from pathlib import Path

import pytest
import requests
from babel.lists import format_list
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "server" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
LANGUAGES = ("fi", "de", "pl", "es", "ca")
REASON = re.compile(r'<span class="reason">(.*?)</span>', re.S)
MORE = "%(num)d more"
NAMED = 3


def phrases() -> list[str | tuple[str, str]]:
    """The messages of server/related.py as the extractor finds them (what the catalogues are made from)."""
    found = [m for _, m, _, _ in extract_from_file("python", ROOT / "server" / "related.py", keywords=KEYWORDS)]
    assert len(found) > 10
    return found


def catalogue(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def words(cat, msgid: str | tuple[str, str], n: int, names: str) -> str:
    """The catalogue's translation of ``msgid`` for ``n`` things, filled in (the English msgid for English)."""
    key = msgid[0] if isinstance(msgid, tuple) else msgid
    entry = cat.get(key)
    assert entry is not None and entry.string and not entry.fuzzy, f"{key!r} is not translated in {cat.locale}"
    text = entry.string[gettext.c2py(cat.plural_expr)(n)] if isinstance(msgid, tuple) else entry.string
    return text % {"names": names, "num": n}


def listed(cat, labels: list[str]) -> str:
    shown = labels[:NAMED]
    if len(labels) > NAMED:
        shown.append(words(cat, (MORE, MORE), len(labels) - NAMED, ""))
    return format_list(shown, locale=str(cat.locale))


def related_json(url: str, slug: str, lang: str) -> dict:
    r = requests.get(f"{url}/practice/{slug}/related", params={"lang": lang}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), r.text[:500]
    return r.json()


@pytest.fixture(scope="module")
def chosen(live_server) -> list[tuple[str, dict]]:
    """The three practices whose related practices give the most kinds of reasons (English JSON)."""
    slugs = [p.stem for p in (ROOT / "data" / "practices").glob("*.yaml")]
    answers = [(slug, related_json(live_server.url, slug, "en")) for slug in sorted(slugs)]

    def kinds(answer: dict) -> int:
        return len({r["kind"] for rel in answer["related"] for r in rel["reasons"]})

    best = sorted(answers, key=lambda a: -kinds(a[1]))[:3]
    every = [r for _, a in best for rel in a["related"] for r in rel["reasons"]]
    assert len({r["kind"] for r in every}) >= 5, "the data gives few kinds of reasons"
    assert any(len(r["nodes"]) > 1 for r in every), "no reason names two things: plural forms untested"
    return best


def which(en_clause: str, reason: dict, english) -> str | tuple[str, str]:
    """The message the English clause was made from."""
    names = listed(english, [n["label"] for n in reason["nodes"]])
    found = [m for m in phrases() if m != (MORE, MORE) and words(english, m, len(reason["nodes"]), names) == en_clause]
    assert len(found) == 1, (en_clause, found)
    return found[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_why_related_is_in_the_readers_language(live_server, chosen, lang):
    english, cat = catalogue("en"), catalogue(lang)
    frames = {re.split(r"%\(\w+\)[sd]", m[0] if isinstance(m, tuple) else m)[0].strip() for m in phrases()}
    frames.discard("")
    for slug, in_english in chosen:
        page = requests.get(f"{live_server.url}/practice/{slug}", params={"lang": lang}, timeout=60,
                            headers={"Accept": "text/html"})
        assert page.status_code == 200
        shown = [html.unescape(s) for s in REASON.findall(page.text)]
        answer = related_json(live_server.url, slug, lang)
        assert answer["language"] == lang
        assert [r["practice"] for r in answer["related"]] == [r["practice"] for r in in_english["related"]]
        assert len(shown) == len(answer["related"]) > 0
        for sentence, rel, rel_en in zip(shown, answer["related"], in_english["related"], strict=True):
            clauses = []
            for reason, reason_en in zip(rel["reasons"], rel_en["reasons"], strict=True):
                assert reason["kind"] == reason_en["kind"]
                assert [n["iri"] for n in reason["nodes"]] == [n["iri"] for n in reason_en["nodes"]]
                msgid = which(reason_en["text"], reason_en, english)
                clause = words(cat, msgid, len(reason["nodes"]), listed(cat, [n["label"] for n in reason["nodes"]]))
                assert clause != words(english, msgid, len(reason["nodes"]), "")  # translated, not the English
                assert reason["text"] == clause
                clauses.append(clause)
            expected = "; ".join(clauses)
            expected = expected[:1].upper() + expected[1:]
            assert sentence == expected == rel["reason"]
            assert not [f for f in frames if f in sentence], f"English words left in {sentence!r}"


def test_the_labels_follow_the_readers_language(live_server, chosen):
    """A thing named in a reason is named in the reader's language when the data has a label in it."""
    differ = 0
    for slug, in_english in chosen:
        answer = related_json(live_server.url, slug, "fi")
        for rel, rel_en in zip(answer["related"], in_english["related"], strict=True):
            for reason, reason_en in zip(rel["reasons"], rel_en["reasons"], strict=True):
                for node, node_en in zip(reason["nodes"], reason_en["nodes"], strict=True):
                    assert node["label"] and node_en["label"]
                    differ += node["label"] != node_en["label"]
    assert differ, "no label of a reason is in Finnish"


def test_each_language_is_its_own_variant(live_server, chosen):
    slug = chosen[0][0]
    en = requests.get(f"{live_server.url}/practice/{slug}/related", params={"lang": "en"}, timeout=30)
    pl = requests.get(f"{live_server.url}/practice/{slug}/related", headers={"Accept-Language": "pl"}, timeout=30)
    assert en.headers["Content-Language"] == "en" and pl.headers["Content-Language"] == "pl"
    assert "Accept-Language" in pl.headers["Vary"] and en.headers["ETag"] != pl.headers["ETag"]
    again = requests.get(f"{live_server.url}/practice/{slug}/related", timeout=30,
                         headers={"Accept-Language": "pl", "If-None-Match": pl.headers["ETag"]})
    assert again.status_code == 304
    assert requests.get(f"{live_server.url}/practice/{slug}/related", timeout=30, headers={
        "Accept-Language": "fi", "If-None-Match": pl.headers["ETag"]}).status_code == 200


def test_related_of_no_practice_is_404(live_server):
    r = requests.get(f"{live_server.url}/practice/no-such-practice/related", timeout=30)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/problem+json")
