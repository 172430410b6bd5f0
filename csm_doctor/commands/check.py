"""`csm-doctor check`: probe this machine (or replay a facts file) and judge it against a recipe."""

from __future__ import annotations

import click

from csm_doctor.commands.common import (
    auto_recipe,
    common_probe_options,
    guarded,
    probe_machine,
    recipe_option,
    validate_python,
)


@click.command()
@recipe_option
@common_probe_options
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="Evaluate a saved facts document instead of probing this machine.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@click.option("-v", "--verbose", is_flag=True, help="Show every check, details and timings.")
@guarded
def check(recipe_ref: str | None, python: str | None, offline: bool, level: str,
          facts_file: str | None, as_json: bool, verbose: bool) -> int:
    """Probe this machine and judge it against a recipe."""
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.evaluate import evaluate
    from csm_doctor.facts import load_facts
    from csm_doctor.findings import exit_code_for
    from csm_doctor.recipe import load_recipe

    given = load_recipe(recipe_ref) if recipe_ref else None  # bad --recipe: exit 2 before probing
    catalogue = shipped_catalogue()
    if facts_file:
        facts = load_facts(facts_file)
    else:
        validate_python(python)
        if not as_json:
            click.echo("csm-doctor: probing this machine...", err=True)
        facts = probe_machine(python, offline, level, given)
    recipe, reason = (given, None) if given else auto_recipe(facts)
    findings = evaluate(facts, recipe, catalogue)
    code = exit_code_for(findings)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope, summary

        emit(envelope("check", recipe={"id": recipe.id, "title": recipe.title, "path": recipe.path,
                                       "selected": "given" if given else "auto", "reason": reason},
                      facts=facts, findings=[f.to_json() for f in findings],
                      summary=summary(findings), exit_code=code))
    else:
        from csm_doctor.render.human import render_check

        why = f"chosen for this machine: {reason} (--recipe ID to choose another)" if reason else None
        render_check(findings, facts, recipe, catalogue, verbose=verbose, recipe_reason=why)
    return code
