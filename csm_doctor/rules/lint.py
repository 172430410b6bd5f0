"""The fine-tuning problems `check` can judge from the facts alone (diagnoses/90-lint.yaml).

Most lint problems need a user's file (a training YAML, a dataset): they are the entries'
`lint:` items, judged by `csm-doctor lint PATH` only, and are not checks. Two can be judged
from the facts and are, with the code `csm-doctor lint` uses: CosyVoice's `cosyvoice_join`
against a torch without `ProcessGroup.options`, and pynini's missing wheels.
"""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule


def _family_gate(ctx: RuleContext) -> tuple[bool, str]:
    """(applies, why not): a lint check belongs to the setup its name says."""
    from csm_doctor.lint.kinds import family_of_recipe, family_recipes

    family = ctx.check.name.split("-")[1]
    if family_of_recipe(ctx.recipe) != family:
        return False, f"applies to {family_recipes().get(family, family)} fine-tuning only"
    return True, ""


@rule("lint_processgroup")
def lint_processgroup(ctx: RuleContext) -> Iterable[Finding]:
    from csm_doctor.lint.verdicts import processgroup_verdict

    applies, why = _family_gate(ctx)
    if not applies:
        yield ctx.skipped(f"{ctx.check.title}: {why}")
        return
    torch = ctx.need("torch.version")
    if processgroup_verdict(torch):
        yield ctx.warned(f"torch {torch} has no ProcessGroup.options: CosyVoice's cosyvoice_join "
                         "(cosyvoice/utils/train_utils.py) stops training at the first batch "
                         "unless it is patched; `csm-doctor lint` on the checkout tells",
                         observed=torch, expected="torch < 2.5 (the recipe pins 2.3.1)")
    else:
        yield ctx.passed(f"torch {torch} has ProcessGroup.options, as cosyvoice_join expects",
                         observed=torch)


@rule("lint_pynini")
def lint_pynini(ctx: RuleContext) -> Iterable[Finding]:
    from csm_doctor.lint.verdicts import pynini_verdict

    applies, why = _family_gate(ctx)
    if not applies:
        yield ctx.skipped(f"{ctx.check.title}: {why}")
        return
    verdict = pynini_verdict(ctx.need("os.name"), ctx.fact("os.arch"),
                             ctx.need("python.version"), ctx.fact("packages"))
    if verdict is None:
        yield ctx.skipped(f"{ctx.check.title}: the platform is not known")
    elif verdict[0] == "ok":
        yield ctx.passed(verdict[1])
    else:
        yield ctx.warned(f"{verdict[1]}: if the checkout's requirements ask for pynini "
                         "(WeTextProcessing), pip stops at building it")
