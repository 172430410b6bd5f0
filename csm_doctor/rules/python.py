"""The interpreter under test: version range and virtual environment."""

from __future__ import annotations

from typing import Iterable

from packaging.specifiers import SpecifierSet

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule


@rule("python_version")
def python_version(ctx: RuleContext) -> Iterable[Finding]:
    version = ctx.need("python.version")
    requires = ctx.recipe.python_requires
    recommended = ctx.recipe.python_recommended
    implementation = ctx.fact("python.implementation", "CPython")
    if requires and not SpecifierSet(requires).contains(version, prereleases=True):
        pick = recommended or requires
        yield ctx.failed(
            f"Python {version} is outside {ctx.recipe.id}'s range {requires}: its pinned wheels "
            "do not exist for it", observed=version, expected=requires,
            fix=f"create a virtual environment with Python {pick}: "
                f"python{pick if recommended else '3'} -m venv .venv")
        return
    from csm_doctor.knowledge.tables import python_supported

    pin = ctx.recipe.torch_version
    if pin and python_supported(pin, version, ctx.os_name) is False:
        pick = recommended or requires or "3.10"
        yield ctx.failed(f"torch {pin} (the recipe's pin) publishes no wheels for Python "
                         f"{version}", observed=version, expected=requires,
                         fix=f"create a virtual environment with Python {pick}: "
                             f"python{pick} -m venv .venv")
        return
    details = []
    if recommended and not version.startswith(recommended + "."):
        details.append(f"the recipe is tested on Python {recommended}")
    if implementation != "CPython":
        yield ctx.warned(f"Python {version} is {implementation}; the recipe's wheels are CPython's",
                         observed=implementation, expected="CPython",
                         fix="use CPython (python.org, pyenv, or your OS packages)")
        return
    yield ctx.passed(f"Python {version}", observed=version, expected=requires, details=details)


@rule("in_venv")
def in_venv(ctx: RuleContext) -> Iterable[Finding]:
    in_env = ctx.need("python.in_venv")
    prefix = ctx.fact("python.prefix", "")
    if in_env:
        kind = ctx.fact("python.venv_kind") or "virtual environment"
        yield ctx.passed(f"{kind} at {prefix}", observed=prefix)
    else:
        yield ctx.warned(f"{prefix or 'this interpreter'} is not a virtual environment: "
                         "installs would change the system Python", observed=prefix,
                         fix="python3 -m venv .venv && . .venv/bin/activate "
                             "(Windows: .venv\\Scripts\\activate), then run csm-doctor again")
