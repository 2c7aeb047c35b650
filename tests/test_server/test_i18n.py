"""The interface in the partners' languages: every string of the templates and of the server's Python code has a
translation in every catalogue (extracted afresh from the code, so a string added without `pybabel update` fails
here), and the pages over HTTP follow ``?lang=`` and ``Accept-Language``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from next2met.server.i18n import UI_LANGUAGES, load_catalogues

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "server" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"</?[a-z]+")

# One word of the navigation per language: what a reader sees first.
PRACTICES = {"en": "Practices", "fi": "Käytännöt", "de": "Praktiken", "es": "Prácticas", "ca": "Pràctiques",
             "pl": "Praktyki"}


def extracted() -> dict[str | tuple, str]:
    """Every interface string in the code now, with the file it is in (the way babel.cfg extracts them)."""
    method_map = [("server/templates/**.html", "jinja2"), ("server/**.py", "python"),
                  ("ontology/shapes.ttl", "next2met.graph.contribute.shapetext:extract")]
    found: dict[str | tuple, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, {"server/templates/**.html": {"trimmed": "true"}}, keywords=KEYWORDS):
        if filename.startswith(("server/", "server\\", "ontology/")):
            found[message if isinstance(message, str) else tuple(message)] = filename
    return found


def catalogue(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_strings_are_found():
    strings = extracted()
    assert len(strings) > 300
    assert "Practices" in strings and ("%(num)d practice", "%(num)d practices") in strings


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_every_interface_string_is_translated(lang):
    cat = catalogue(lang)
    problems = []
    for msgid, where in extracted().items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = cat.get(key)
        if entry is None or not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            problems.append(f"{where}: {key!r} has no {lang} translation")
        elif entry.fuzzy:
            problems.append(f"{where}: {key!r} is marked fuzzy in {lang}")
        else:
            for text in entry.string if isinstance(entry.string, tuple) else (entry.string,):
                if sorted(set(PLACEHOLDER.findall(text))) != sorted(set(PLACEHOLDER.findall(key))):
                    problems.append(f"{lang} {key!r}: placeholders differ in {text!r}")
                if sorted(TAG.findall(text)) != sorted(TAG.findall(key)):
                    problems.append(f"{lang} {key!r}: HTML tags differ in {text!r}")
    assert not problems, "run the commands of README.md (pybabel extract/update) and translate:\n" + "\n".join(
        problems[:40])


def test_catalogues_compile_in_memory():
    catalogues = load_catalogues()
    assert {lang for lang, _ in catalogues} == set(UI_LANGUAGES)
    assert catalogues[("fi", "messages")].gettext("Practices") == "Käytännöt"
    assert catalogues[("pl", "messages")].ngettext("%(num)d practice", "%(num)d practices", 3) == "%(num)d praktyki"
    assert catalogues[("pl", "messages")].ngettext("%(num)d practice", "%(num)d practices", 5) == "%(num)d praktyk"


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_lang_parameter_translates_the_interface(live_server, lang):
    r = requests.get(f"{live_server.url}/practices?lang={lang}", headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">' in r.text
    assert f">{PRACTICES[lang]}</a>" in r.text  # the navigation
    # the switcher offers all six, the current one marked, and the navigation keeps an explicit choice
    for tag in UI_LANGUAGES:
        assert f'hreflang="{tag}"' in r.text
    assert re.search(rf'hreflang="{lang}"[^>]*aria-current="true"', r.text)
    assert f'href="/regions?lang={lang}"' in r.text


def test_accept_language_chooses_the_interface(live_server):
    r = requests.get(f"{live_server.url}/queries", timeout=30,
                     headers={"Accept": "text/html", "Accept-Language": "de-AT, en;q=0.5"})
    assert r.headers["Content-Language"] == "de"
    assert "Forschungsfragen" in r.text
    assert "Accept-Language" in r.headers["Vary"]
    # no language we offer: English
    r = requests.get(f"{live_server.url}/queries", headers={"Accept": "text/html", "Accept-Language": "ja"}, timeout=30)
    assert r.headers["Content-Language"] == "en" and "Research questions" in r.text


@pytest.mark.parametrize("path", ["/practices", "/queries", "/catalog"])
def test_same_url_other_language_is_another_etag(live_server, path):
    """A cache must never serve the German page to a Finnish reader of the same URL."""
    de = requests.get(f"{live_server.url}{path}", headers={"Accept": "text/html", "Accept-Language": "de"},
                      timeout=30)
    fi = requests.get(f"{live_server.url}{path}", headers={"Accept": "text/html", "Accept-Language": "fi"},
                      timeout=30)
    assert de.headers["ETag"] != fi.headers["ETag"]
    again = requests.get(f"{live_server.url}{path}", timeout=30,
                         headers={"Accept": "text/html", "Accept-Language": "fi", "If-None-Match": de.headers["ETag"]})
    assert again.status_code == 200


def test_data_falls_back_visibly(live_server):
    """Spanish is offered although no practice is written in Spanish: the interface is Spanish, the data English,
    each value marked as shown in another language."""
    r = requests.get(f"{live_server.url}/practices?lang=es", headers={"Accept": "text/html"}, timeout=30)
    first = re.search(r'<h3><a href="(/practice/[^"?]+)', r.text).group(1)
    page = requests.get(f"{live_server.url}{first}?lang=es", headers={"Accept": "text/html"}, timeout=30).text
    assert "Datos clave" in page  # the interface
    assert 'class="fallback"' in page and "No disponible en la idioma" not in page
    assert "se muestra en otro idioma" in page


def test_problem_page_in_the_readers_language(live_server):
    r = requests.get(f"{live_server.url}/practice/no-such-practice?lang=pl", headers={"Accept": "text/html"},
                     timeout=30)
    assert r.status_code == 404
    assert "404 Nie znaleziono" in r.text
    # the JSON problem keeps the English title (clients compare it)
    r = requests.get(f"{live_server.url}/practice/no-such-practice?lang=pl", timeout=30,
                     headers={"Accept": "application/json"})
    assert r.json()["title"] == "Not found"


# Names that are the same in every language: the project, formats, standards.
NOT_WORDS = {"next2met-kg", "VoID", "SHA-256", "JSON", "Turtle", "JSON-LD", "N-Triples", "RDF/XML", "/sparql"}


def unmarked_text(template: str) -> list[str]:
    """Text of a template shown to readers but not passed through gettext (text between tags, and the title,
    aria-label, placeholder and alt attributes), after removing Jinja expressions, statements, trans blocks,
    comments, scripts and styles."""
    s = re.sub(r"\{#.*?#\}", "", template, flags=re.S)
    s = re.sub(r"\{%-?\s*trans\b.*?endtrans\s*-?%\}", "", s, flags=re.S)
    s = re.sub(r"<(script|style)\b.*?</\1>", "", s, flags=re.S)
    s = re.sub(r"\{\{.*?\}\}", " ", s, flags=re.S)
    s = re.sub(r"\{%.*?%\}", " ", s, flags=re.S)
    found = re.findall(r">([^<]*)<", s) + re.findall(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"', s)
    return [t for t in (" ".join(x.split()) for x in found) if re.search(r"[A-Za-z]{2,}", t) and t not in NOT_WORDS]


@pytest.mark.parametrize("template", sorted(str(p.relative_to(ROOT / "server" / "templates"))
                                             for p in (ROOT / "server" / "templates").glob("**/*.html")))
def test_template_text_is_marked_for_translation(template):
    text = unmarked_text((ROOT / "server" / "templates" / template).read_text(encoding="utf-8"))
    assert not text, f"{template}: wrap these in {{{{ _('…') }}}} and translate them: {text}"
