"""``next2met import FILE.xlsx|FILE.csv [--dry-run]``: the Interreg Europe good-practice template, one practice a row
(graph/contribute/spreadsheet.py). Every problem is one line on stdout (sheet!cell (column): message); the summary
goes to stderr. Exit 0 when imported (or, with --dry-run, when it would be), 1 when a row does not conform (nothing
is stored), 2 when the file cannot be read."""

from __future__ import annotations

from pathlib import Path

import click

from .backend import open_store
from .errors import InputError
from .settings import Settings
from .sources import load_context, parse_yaml, yaml_quads


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@click.option("--warnings", is_flag=True, help="List the warnings (fields the template asks for) too.")
@click.option(
    "--submit-as",
    default=None,
    metavar="ACCOUNT",
    help="Make each row a submission of this account, waiting for review, instead of publishing.",
)
@click.option("--author", default="import", show_default=True, help="Who the history names for a publication.")
@click.option(
    "--store", default=None, type=click.Path(file_okay=False), help="Store folder (default: $NEXT2MET_STORE)."
)
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Data folder to write to (default: $NEXT2MET_DATA_DIR, else data/ of the checkout).",
)
@click.option(
    "--template",
    "template_out",
    is_flag=True,
    help="Write the empty template to FILE instead (.xlsx or .csv, by its name) and stop.",
)
def import_command(file: Path, dry_run, warnings, submit_as, author, store, data_dir, template_out) -> None:
    """Import practices from a filled-in template: one per row, checked against the shapes together with the
    published data; all rows or none. By default the rows are published as one new version of the data (the
    command is run by the server's administrator); --submit-as makes them submissions for review instead."""
    from .contribute import importing, spreadsheet
    from .contribute.form import practice_form
    from .contribute.lookups import Lookups
    from .contribute.sheettemplate import template_csv, template_xlsx
    from .contribute.submissions import Submissions

    settings = Settings.from_env(store=store, data_dir=data_dir)
    form = practice_form(settings.base_iri)
    if template_out:
        file.write_bytes(template_csv(form) if file.suffix.lower() == ".csv" else template_xlsx(form))
        click.echo(f"wrote the template to {file}", err=True)
        return
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    rows, unknown = spreadsheet.read(file.read_bytes(), file.name, form, max_bytes=settings.max_body * 20)
    for header in unknown:
        click.echo(f"{header}: not a column of the template; ignored", err=True)
    context = load_context(settings.base_iri, settings.data_path)
    kg_store = open_store(settings, shared=True)
    try:
        lookups = Lookups(lambda q: kg_store.query(q).rows(), context, settings.base_iri)
        plan = importing.prepare(form, rows, resolve=lookups.resolve)
        report = importing.validate_with_store(kg_store, plan.text(), context, settings.base_iri, settings.shacl_engine)
        importing.check(form, plan, report, context, settings.base_iri)
        shown = [p for p in plan.problems if warnings or p.severity == "Violation"]
        for line in importing.problems_text(shown):
            click.echo(line)
        bad = sum(p.severity == "Violation" for p in plan.problems)
        warned = sum(p.severity == "Warning" for p in plan.problems)
        if not plan.ok:
            click.echo(
                f"{file.name}: {bad} problem(s) in {len(rows)} row(s); nothing was imported "
                f"({warned} warnings{'' if warnings else ', --warnings lists them'})",
                err=True,
            )
            raise SystemExit(1)
        if dry_run:
            click.echo(
                f"{file.name}: {len(rows)} row(s) conform ({warned} warnings); dry run, nothing stored", err=True
            )
            return
        if submit_as:
            subs = Submissions(
                settings.data_path, settings.base_iri, lambda text, graph: yaml_quads(parse_yaml(text, context), graph)
            )
            made = importing.submit(subs, kg_store, plan, author=submit_as, base=settings.base_iri, source=file.name)
            click.echo(
                f"{file.name}: {len(made)} submission(s) waiting for review: " + ", ".join(str(s.number) for s in made),
                err=True,
            )
            return
        applied = importing.publish(
            kg_store, settings, plan, context, author=author, message=f"import of {file.name}: {len(rows)} practice(s)"
        )
        click.echo(
            f"{file.name}: {len(rows)} practice(s) published as version {applied.version} ({', '.join(applied.files)})",
            err=True,
        )
    finally:
        kg_store.close()
