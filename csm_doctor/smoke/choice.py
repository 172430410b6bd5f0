"""Which smoke run the options and the recipe ask for, and the run `check --smoke` and
`fix --smoke` end with.

Which recipes smoke can run, and how, is recipe data (`smoke: official | transformers`),
not a list of ids here. Domain code: the smoke, check and fix commands all call it.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _smoke_recipes() -> tuple[list[str], list[str]]:
    from csm_doctor.recipe import builtin_recipe_ids

    return builtin_recipe_ids(smoke="official"), builtin_recipe_ids(smoke="transformers")


def choose_kind(tiny: bool, random_weights: bool, repo: str | None, recipe: str | None) -> str:
    """Which model path the options ask for; contradictions are bad input (exit 2)."""
    from csm_doctor.errors import InputError

    chosen = [name for name, on in (("--tiny", tiny), ("--random-weights", random_weights),
                                    ("--repo", bool(repo))) if on]
    if len(chosen) > 1:
        raise InputError.single(None, f"choose one of {', '.join(chosen)}", key=chosen[1])
    official, transformers = _smoke_recipes() if recipe is not None else ([], [])
    if recipe is not None and recipe not in official + transformers:
        raise InputError.single(None, f"smoke runs CSM-1B; recipe '{recipe}' has no smoke test "
                                      f"(use {' or '.join(official)} or "
                                      f"{', '.join(transformers)})", key="--recipe")
    if recipe in official and not repo:
        raise InputError.single(None, f"the {recipe} recipe runs the official repository: add "
                                      "--repo PATH (a checkout of SesameAILabs/csm)", key="--recipe")
    if repo and recipe is not None and recipe not in official:
        raise InputError.single(None, f"--repo runs the official generator, not '{recipe}'",
                                key="--recipe")
    if tiny:
        return "tiny"
    if random_weights:
        return "random-weights"
    return "official" if repo else "transformers"


def smoke_kind(recipe_id: str, model: str, repo: str | None) -> str:
    """The smoke run `--smoke`/`--smoke-tiny` asks for; bad combinations are exit 2, early.

    The tiny model is built offline and needs no checkout, so any recipe can ask for it.
    """
    if model == "tiny":
        return choose_kind(True, False, None, None)
    return choose_kind(False, False, repo, recipe_id)


def run_smoke_after_check(kind: str, python: str | None, repo: str | None, offline: bool,
                          quiet: bool) -> Any:
    """The same run as `csm-doctor smoke`, for `check --smoke` and the end of `fix --smoke`."""
    from csm_doctor.probes.target import default_python
    from csm_doctor.render.verbosity import Verbosity
    from csm_doctor.smoke.render import ProgressView
    from csm_doctor.smoke.runner import SmokeOptions, run_smoke

    options = SmokeOptions(python=os.path.abspath(python) if python else default_python(),
                           kind=kind, repo=repo, offline=offline)
    with ProgressView(stream=sys.stderr, quiet=quiet or Verbosity.quiet) as progress:
        return run_smoke(options, progress=progress)
