"""`csm-doctor check`: probe this machine (or replay a facts file) and judge it against a recipe."""

from __future__ import annotations

from typing import Any

import click

from csm_doctor.commands.common import (
    verbosity_options,
    common_probe_options,
    gather,
    guarded,
    recipe_option,
    smoke_options,
)


@click.command()
@recipe_option
@common_probe_options
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="Evaluate a saved facts document instead of probing this machine.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@verbosity_options("Show every check, details and timings.")
@smoke_options
@guarded
def check(recipe_ref: str | None, python: str | None, offline: bool, level: str,
          facts_file: str | None, as_json: bool, verbose: bool, smoke_model: str | None,
          repo: str | None) -> int:
    """Probe this machine and judge it against a recipe."""
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.evaluate import evaluate
    from csm_doctor.findings import exit_code_for
    from csm_doctor.smoke.choice import run_smoke_after_check, smoke_kind

    if smoke_model and facts_file:
        from csm_doctor.errors import InputError

        raise InputError.single(None, "--smoke runs the model on this machine; it cannot be "
                                      "combined with --facts", key="--smoke")
    subject = gather(recipe_ref, python, offline, level, facts_file, quiet=as_json)
    facts, recipe, reason = subject.facts, subject.recipe, subject.reason
    catalogue = shipped_catalogue()
    kind = smoke_kind(recipe.id, smoke_model, repo) if smoke_model else None
    findings = with_remedies(evaluate(facts, recipe, catalogue), facts, recipe, python,
                             facts_file, offline)
    smoke = run_smoke_after_check(kind, python, repo, offline, as_json) if kind else None
    if smoke is not None:
        from csm_doctor.findings import sort_findings

        findings = sort_findings(findings + smoke.findings)
    code = exit_code_for(findings)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope, summary

        emit(envelope("check", recipe={"id": recipe.id, "title": recipe.title, "path": recipe.path,
                                       "selected": "given" if subject.given else "auto",
                                       "reason": reason},
                      facts=facts, findings=[f.to_json() for f in findings],
                      summary=summary(findings), exit_code=code,
                      smoke=smoke.to_json() if smoke is not None else None))
    else:
        from csm_doctor.render.human import render_check

        why = f"chosen for this machine: {reason} (--recipe ID to choose another)" if reason else None
        render_check(findings, facts, recipe, catalogue, verbose=verbose, recipe_reason=why)
    return code


def with_remedies(findings: list[Any], facts: dict[str, Any], recipe: Any, python: str | None,
                  facts_file: str | None, offline: bool) -> list[Any]:
    """Add the checkpoint findings fix judges, and give every finding the steps fix would take."""
    import os

    from csm_doctor.findings import sort_findings
    from csm_doctor.fix.inputs import check_remedies, facts_checkpoints
    from csm_doctor.probes.target import default_python

    findings = sort_findings(findings + facts_checkpoints(recipe, facts)[1])
    if facts_file:
        target = (facts.get("python") or {}).get("executable") or "python"
    else:
        target = os.path.abspath(python) if python else default_python()
    check_remedies(facts, recipe, findings, target, live=not facts_file, offline=offline)
    return findings
