"""check and fix must give the same advice: the equivalence every scenario machine is held to.

check's path (commands/check.py: evaluate, the checkpoint findings, remedies
attached) and fix's path (fix/flow.py: its judge, its plan from the same
inputs it would use for a --facts file) are run separately on one facts
document; every runnable step's command must be one of the remedy commands of
each failing finding it addresses, and a recipe that cannot run plans nothing
to install or download.
"""

from __future__ import annotations

from typing import Any

from csm_doctor.catalogue import shipped_catalogue
from csm_doctor.commands.check import with_remedies
from csm_doctor.evaluate import evaluate
from csm_doctor.findings import Status
from csm_doctor.fix import actions as kinds
from csm_doctor.fix.flow import FixOptions, _checkpoints, _judge
from csm_doctor.fix.inputs import plan_input, target_installer
from csm_doctor.fix.plan import plan_with_remedies
from csm_doctor.recipe import Recipe

SEEN: list[tuple[str, str]] = []  # (recipe id, os) of every machine held to it, for the count test


def check_view(facts: dict[str, Any], recipe: Recipe) -> list[Any]:
    return with_remedies(evaluate(facts, recipe, shipped_catalogue()), facts, recipe, None,
                         "facts.json", offline=False)


def fix_plan(facts: dict[str, Any], recipe: Recipe) -> list[Any]:
    opts = FixOptions(facts_file="facts.json")
    checkpoints = _checkpoints(recipe, facts, opts)
    findings = _judge(facts, recipe, checkpoints)
    target = (facts.get("python") or {}).get("executable") or "python"
    return plan_with_remedies(plan_input(facts, recipe, findings, target_installer(target, False),
                                         checkpoints))


def assert_check_and_fix_agree(facts: dict[str, Any], recipe: Recipe) -> None:
    SEEN.append((recipe.id, str((facts.get("os") or {}).get("name"))))
    findings = check_view(facts, recipe)
    plan = fix_plan(facts, recipe)
    by_key = {(f.id, f.check, f.subject): f for f in findings}
    for step in plan:
        if not step.runs:
            continue
        for ref in step.addresses:
            finding = by_key.get((ref.id, ref.check, ref.subject))
            assert finding is not None, f"{recipe.id}: step {step.id} addresses {ref} check never shows"
            if finding.status is not Status.FAIL:
                continue
            assert step.command in finding.remedy.commands, (
                f"{recipe.id}: fix runs {step.command!r} for {ref.label()}, "
                f"check shows {finding.remedy.commands!r}")
    if any(s.id == "switch-recipe" for s in plan):  # a recipe that cannot run installs nothing
        assert plan[0].id == "switch-recipe" and not any(s.runs for s in plan)
        assert not any(s.kind in (*kinds.PACKAGE_KINDS, kinds.DOWNLOAD, kinds.SYSTEM) for s in plan)
        assert sum(s.id == "switch-recipe" for s in plan) == 1
