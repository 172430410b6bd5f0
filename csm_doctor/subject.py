"""What check, report, fix and cluster judge: the facts (probed or replayed) and the recipe.

Domain code, not a command: fix/flow.py and the commands both use it (no module outside
csm_doctor/commands imports the commands). Light at import: `--help` stays instant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from csm_doctor.render.verbosity import Verbosity, say


def auto_recipe(facts: dict[str, Any]) -> tuple[Any, str]:
    """The built-in recipe that fits these facts, and why (no --recipe given)."""
    from csm_doctor.recipe import builtin_recipe_paths, load_recipe
    from csm_doctor.select import select_recipe

    choice = select_recipe(facts, set(builtin_recipe_paths()))
    return load_recipe(choice.recipe_id), choice.reason


def still_working(seconds: float, pending: list[str]) -> None:
    """The note a long probe run prints on stderr (a probe waiting on a slow driver or network)."""
    say(f"csm-doctor: still working, {seconds:.0f} s (waiting for: {', '.join(pending)})")


def probe_machine(python: Any, offline: bool, level: str, recipe: Any | None,
                  quiet: bool = False) -> dict[str, Any]:
    """Probe this machine; facts.doctor.target says which environment was judged and why.

    `python` is --python (a path or None) or an already resolved TargetChoice.
    """
    from csm_doctor.probes import ProbeContext, collect_facts
    from csm_doctor.probes.resolve import TargetChoice, resolve_target

    from csm_doctor.settings import timeout_scale

    choice = python if isinstance(python, TargetChoice) else resolve_target(python)
    ctx = ProbeContext(python=choice.python, offline=offline, level=int(level), recipe=recipe,
                       timeout_scale=timeout_scale(),
                       on_wait=None if quiet or Verbosity.quiet else still_working)
    facts = collect_facts(ctx)
    facts["doctor"]["target"] = {"python": choice.python, "source": choice.source,
                                 "own_tool": choice.own_tool, "note": choice.describe()}
    return facts


def validate_python(python: str | None) -> None:
    from csm_doctor.errors import InputError

    if python and not os.path.isfile(python):
        raise InputError.single(None, f"no interpreter at {python}", key="--python")


@dataclass
class Subject:
    """What check and report judge: the facts (probed or replayed) and the recipe, with why."""

    facts: dict[str, Any]
    recipe: Any
    reason: str | None  # why it was chosen; None when --recipe named it
    given: bool


def gather(recipe_ref: str | None, python: str | None, offline: bool, level: str,
           facts_file: str | None, quiet: bool) -> Subject:
    """Load the named recipe (bad input: exit 2 before probing), then the facts, then choose."""
    from csm_doctor.facts import load_facts
    from csm_doctor.recipe import load_recipe

    given = load_recipe(recipe_ref) if recipe_ref else None
    if facts_file:
        facts = load_facts(facts_file)
    else:
        validate_python(python)
        if not quiet:
            say("csm-doctor: probing this machine...")
        facts = probe_machine(python, offline, level, given, quiet=quiet)
    if given is not None:
        return Subject(facts, given, None, True)
    recipe, reason = auto_recipe(facts)
    return Subject(facts, recipe, reason, False)
