"""`csm-doctor lint`: catch, before the first training step, the settings that waste GPU days.

The fine-tuning seeds' worst failures were runs that started, burned hours and learned
nothing: a CosyVoice length filter of 0, a SongBloom codebook larger than its embedding,
LoRA on the modules that make the vocals, a dataset whose lines and clips are out of step.
`lint_path` detects what PATH is (a training YAML, a dataset folder, a checkout), judges it
against the recipe's knowledge and returns findings that name the file, line and key.

Modules: `kinds` (what PATH is), `files` (YAML with lines, shell scripts), `audio` (WAV
headers), `machine` (the training machine's facts), `unsloth`, `cosyvoice`, `songbloom`
(one per setup), `checks` (ids and fixes from the diagnosis entries, diagnoses/*.yaml), `render` (the human view).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from csm_doctor.errors import InputError
from csm_doctor.lint.model import LintFinding, LintReport, Where


@dataclass(frozen=True)
class LintOptions:
    """What the command line may tell the linters beyond PATH and the recipe."""

    python: str | None = None
    facts_file: str | None = None
    vram_gb: float | None = None
    min_audio_seconds: float = 0.5
    max_audio_seconds: float = 10.0


def lint_path(target: str, recipe_ref: str | None = None,
              options: LintOptions = LintOptions()) -> LintReport:
    """Lint one PATH; InputError (exit 2, with file:line) for anything it cannot read."""
    from csm_doctor.lint.kinds import detect, family_of_recipe, family_recipes
    from csm_doctor.lint.machine import Machine
    from csm_doctor.recipe import load_recipe

    path = Path(target)
    if not path.exists():
        raise InputError.single(target, "no such file or folder", key="PATH")
    given = load_recipe(recipe_ref) if recipe_ref else None
    family = family_of_recipe(given) if given else None
    if given and family is None:
        known = ", ".join(family_recipes().values())
        raise InputError.single(None, f"lint judges the fine-tuning setups ({known}); recipe "
                                      f"{given.id} is none of them", key="--recipe")
    kind, why = detect(path, target, family)
    recipe = given or load_recipe(family_recipes()[kind.family])
    machine = Machine(python=options.python, facts_file=options.facts_file,
                      vram_gb=options.vram_gb, recipe=recipe)
    if options.facts_file:
        machine.facts()  # a bad facts file is bad input: say so before linting anything
    out: list[LintFinding] = []
    files = LINTERS[kind.id](path, target, machine, recipe, out, options)
    return LintReport(target=target, kind=kind.id, kind_title=kind.title, recipe_id=recipe.id,
                      recipe_title=recipe.title, detected=why,
                      recipe_selected="given" if given else "auto", findings=out,
                      files=files, machine=machine.summary())


def _display(path: Path) -> str:
    """A path relative to the working directory when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _unsloth_dataset(path: Path, shown: str, machine: Any, recipe: Any,
                     out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.unsloth import lint_dataset

    return lint_dataset(path, shown, out, options.min_audio_seconds, options.max_audio_seconds)


def _unsloth_config(path: Path, shown: str, machine: Any, recipe: Any,
                    out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.files import load_config
    from csm_doctor.lint.unsloth import lint_config

    lint_config(load_config(path, shown), machine, recipe, out)
    return [shown]


def _unsloth_project(path: Path, shown: str, machine: Any, recipe: Any,
                     out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.unsloth import lint_project

    return lint_project(path, shown, machine, recipe, out)


def _cosyvoice_config(path: Path, shown: str, machine: Any, recipe: Any,
                      out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.cosyvoice import find_checkout, lint_config, lint_project
    from csm_doctor.lint.files import load_config

    lint_config(load_config(path, shown), machine, out)
    files = [shown]
    checkout = find_checkout(path.resolve())
    if checkout is not None:  # the config lives in its checkout: judge that too
        files += lint_project(checkout, _display(checkout), machine, recipe, out, configs=False)
    return files


def _cosyvoice_project(path: Path, shown: str, machine: Any, recipe: Any,
                       out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.cosyvoice import lint_project

    return lint_project(path, shown, machine, recipe, out)


def _songbloom_config(path: Path, shown: str, machine: Any, recipe: Any,
                      out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.files import load_config
    from csm_doctor.lint.songbloom import launch_from_config, lint_launches

    lint_launches([launch_from_config(load_config(path, shown))], Where(shown), machine,
                  recipe, out)
    return [shown]


def _songbloom_script(path: Path, shown: str, machine: Any, recipe: Any,
                      out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.songbloom import launches_from_script, lint_launches

    lint_launches(launches_from_script(path, shown), Where(shown), machine, recipe, out)
    return [shown]


def _songbloom_project(path: Path, shown: str, machine: Any, recipe: Any,
                       out: list[LintFinding], options: LintOptions) -> list[str]:
    from csm_doctor.lint.songbloom import lint_project

    return lint_project(path, shown, machine, recipe, out)


Linter = Callable[[Path, str, Any, Any, list, LintOptions], list[str]]
LINTERS: dict[str, Linter] = {
    "unsloth-dataset": _unsloth_dataset,
    "unsloth-config": _unsloth_config,
    "unsloth-project": _unsloth_project,
    "cosyvoice-config": _cosyvoice_config,
    "cosyvoice-project": _cosyvoice_project,
    "songbloom-config": _songbloom_config,
    "songbloom-script": _songbloom_script,
    "songbloom-project": _songbloom_project,
}

__all__ = ["LintOptions", "LintReport", "lint_path"]
