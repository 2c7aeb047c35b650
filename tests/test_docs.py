"""The README documents every setting and every CLI command as they are in the code."""

from __future__ import annotations

import re
from pathlib import Path

import click

from next2met.graph.cli import cli
from next2met.graph.settings import settings_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_settings_table_is_current():
    match = re.search(r"<!-- settings-table[^>]*-->\n(.*?)\n<!-- /settings-table -->", README, re.S)
    assert match, "README lacks the settings table markers"
    assert match.group(1) == settings_table(), "regenerate with: python -m next2met.graph.settings"


def test_every_command_is_documented():
    """Ours and those other packages register (the server's ``serve``)."""
    names = cli.list_commands(click.Context(cli))
    assert "serve" in names and "build" in names
    for name in names:
        assert f"`next2met {name}" in README, name


def test_readme_starts_with_the_two_commands():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert "pip install -e '.[test]'" in blocks[0] and "next2met serve" in blocks[0]
    assert blocks[1].strip() == ".venv/bin/python -m pytest"
