"""`csm-doctor facts`: the raw facts document, printed or saved; nothing evaluated."""

from __future__ import annotations

import click

from csm_doctor.commands.common import (
    verbosity_options,
    common_probe_options,
    guarded,
    probe_machine,
    recipe_option,
    validate_python,
)


@click.command()
@recipe_option
@common_probe_options
@click.option("-o", "--output", default=None, metavar="FILE", help="Write the document to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON (the default).")
@verbosity_options()
@guarded
def facts(recipe_ref: str | None, python: str | None, offline: bool, level: str,
          output: str | None, as_json: bool) -> int:
    """Print or save the raw facts document; nothing is evaluated."""
    from csm_doctor.errors import InputError
    from csm_doctor.facts import dump_facts
    from csm_doctor.recipe import load_recipe

    validate_python(python)
    recipe = load_recipe(recipe_ref) if recipe_ref else None  # None: every built-in's needs
    from csm_doctor.report.redact import redact_secrets_in

    document = probe_machine(python, offline, level, recipe)
    text = dump_facts(redact_secrets_in(document))  # a saved document travels: no secrets in it
    if output:
        from csm_doctor.safeio import replace_file

        try:  # a link planted at FILE is replaced, never written through
            replace_file(output, text)
        except OSError as exc:
            raise InputError.single(output, f"cannot write: {exc.strerror or exc}") from None
        click.echo(f"csm-doctor: facts written to {output}", err=True)
    else:
        click.echo(text, nl=False)
    return 0
