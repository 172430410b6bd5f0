"""What the planner is told about the machine, gathered the same way for check, fix and report.

check shows each finding's remedy as the commands fix would run, so both must
plan with the same inputs: the same installer for the same target, the same
checkpoint states, the same package managers and root-ness. fix passes what it
measured itself (its installer choice, the cache it hashed); everything else
comes from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from csm_doctor.facts import get_path
from csm_doctor.findings import Finding
from csm_doctor.fix.download import FileState, checkpoint_findings, facts_state
from csm_doctor.fix.installer import Installer
from csm_doctor.fix.plan import PlanInput
from csm_doctor.recipe import Recipe


def package_managers(facts: dict[str, Any]) -> dict[str, str]:
    """The package managers the system probe found on PATH (absolute paths), from the facts."""
    from csm_doctor.fix.system import managers_in

    return managers_in(get_path(facts, "tools"))


def downloads_mode(facts: dict[str, Any], offline: bool, no_download: bool = False) -> str:
    if no_download:
        return "off"
    return "offline" if offline or get_path(facts, "hf.offline") else "on"


def plan_input(facts: dict[str, Any], recipe: Recipe, findings: list[Finding], installer: Installer,
               checkpoints: list[FileState], *, downloads: str = "on",
               profile: Path | None = None, run_system: bool = False,
               get_uv: bool = False, torch_index: str = "add") -> PlanInput:
    """The planner's input; root-ness and package managers come from the facts, so a replay
    prints what that machine would run."""
    return PlanInput(facts=facts, recipe=recipe, findings=findings, installer=installer,
                     checkpoints=checkpoints, downloads=downloads, profile=profile,
                     run_system=run_system, is_root=get_path(facts, "os.is_root") is True,
                     package_managers=package_managers(facts), get_uv=get_uv,
                     torch_index=torch_index)


def facts_checkpoints(recipe: Recipe, facts: dict[str, Any]) -> tuple[list[FileState], list[Finding]]:
    """The recipe's checkpoint files as the facts know them, and the findings fix judges them by."""
    states = facts_state(recipe.checkpoints, facts) if recipe.checkpoints else []
    return states, checkpoint_findings(states)


def target_installer(target: str, live: bool) -> Installer:
    """The installer fix would choose with its default `--installer auto` for this target."""
    from csm_doctor.fix import installer as inst

    if not live:
        return inst.for_remote(target)
    return inst.choose_installer(inst.AUTO, target, None)[0]


def check_remedies(facts: dict[str, Any], recipe: Recipe, findings: list[Finding], target: str,
                   *, live: bool, offline: bool = False) -> list[Any]:
    """Attach to check's findings the remedies fix would plan for them; returns that plan."""
    from csm_doctor.fix.plan import plan_with_remedies

    states = facts_state(recipe.checkpoints, facts) if recipe.checkpoints else []
    return plan_with_remedies(plan_input(facts, recipe, findings, target_installer(target, live),
                                         states, downloads=downloads_mode(facts, offline)))
