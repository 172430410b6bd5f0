"""Ascend: the driver library, the sourced CANN environment, and torch_npu pairing."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.knowledge import base_release
from csm_doctor.rules.base import RuleContext, rule


def uses_npu(ctx: RuleContext) -> bool:
    return ("npu" in ctx.recipe.accelerators or bool(ctx.fact("ascend.npus"))
            or "torch-npu" in (ctx.fact("packages") or {}))


@rule("npu_environment")
def npu_environment(ctx: RuleContext) -> Iterable[Finding]:
    if not uses_npu(ctx):
        yield ctx.skipped("no Ascend NPU, torch_npu or NPU recipe here")
        return
    npus = ctx.fact("ascend.npus", [])
    script = ctx.fact("ascend.set_env_script") or "/usr/local/Ascend/ascend-toolkit/set_env.sh"
    cann = ctx.fact("ascend.cann_version")
    if not npus and not ctx.fact("ascend.npu_smi_version"):
        yield ctx.failed("no Ascend NPU answered (npu-smi is missing or found none)",
                         observed=ctx.fact("ascend.error"),
                         fix="install the Ascend driver and firmware for this card, then reboot")
    elif not ctx.fact("ascend.hal_library"):
        yield ctx.failed("libascend_hal.so (the Ascend driver library) was not found",
                         fix="install the Ascend NPU driver; its libraries live under "
                             "/usr/local/Ascend/driver/lib64")
    elif not cann:
        yield ctx.failed("no CANN toolkit found", fix="install Ascend-cann-toolkit matching "
                                                      "torch_npu (the recipe says which), then "
                                                      f"source {script}")
    elif not _cann_in_range(ctx, cann):
        want = ctx.recipe.ascend.cann if ctx.recipe.ascend else ""
        yield ctx.failed(f"CANN {cann} is outside {ctx.recipe.id}'s range {want}", observed=cann,
                         expected=want, id="torch-npu-version-mismatch",
                         fix=f"install Ascend-cann-toolkit {ctx.recipe.ascend.cann_recommended or want}"
                             if ctx.recipe.ascend else None)
    elif not ctx.fact("ascend.env_sourced"):
        yield ctx.failed(f"CANN {cann} is installed but its environment is not sourced in this "
                         "shell (ASCEND_HOME_PATH is unset)", observed=None,
                         expected="ASCEND_HOME_PATH set", fix=f"source {script}  "
                         "(add it to ~/.bashrc to make it permanent)")
    else:
        yield ctx.passed(f"{len(npus)} NPU chip(s), CANN {cann}, environment sourced",
                         observed=cann)


def _cann_in_range(ctx: RuleContext, cann: str) -> bool:
    """CANN '8.0.RC3' reads as the pre-release 8.0rc3, which is what it is."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    spec = ctx.recipe.ascend.cann if ctx.recipe.ascend else None
    if not spec:
        return True
    try:
        return SpecifierSet(spec).contains(Version(cann.lower()), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True  # an unreadable version is not evidence of a mismatch


@rule("torch_npu_usable")
def torch_npu_usable(ctx: RuleContext) -> Iterable[Finding]:
    packages = ctx.fact("packages") or {}
    npu_version, torch_version = packages.get("torch-npu"), packages.get("torch")
    if not npu_version:
        yield ctx.skipped("torch_npu is not installed")
        return
    if torch_version and base_release(npu_version).split(".post")[0] != base_release(torch_version):
        yield ctx.failed(f"torch_npu {npu_version} is paired with another torch than {torch_version}",
                         observed=npu_version, expected=base_release(torch_version),
                         fix=f"install the torch_npu release for torch {base_release(torch_version)} "
                             "and your CANN (the Ascend/pytorch README's table)")
        return
    from csm_doctor.knowledge.tables import cann_supports

    cann = ctx.fact("ascend.cann_version")
    if cann and cann_supports(cann, npu_version) is False:
        yield ctx.failed(f"torch_npu {npu_version} does not support CANN {cann}",
                         observed=cann, expected=f"the CANN paired with torch_npu {npu_version}",
                         fix="install the CANN toolkit paired with this torch_npu, or the "
                             "torch_npu paired with your CANN (Ascend/pytorch README's table)")
        return
    error = ctx.fact("torch.npu_import_error")
    if error:
        yield ctx.failed(f"import torch_npu fails: {error}", observed=error)
    elif ctx.fact("torch.npu_available") is False:
        yield ctx.warned("torch_npu imports but torch.npu.is_available() is False",
                         fix="check the CANN environment above and `npu-smi info`")
    elif ctx.fact("torch.npu_available"):
        yield ctx.passed(f"torch_npu {npu_version} sees {ctx.fact('torch.npu_count')} NPU(s)")
    else:
        yield ctx.passed(f"torch_npu {npu_version} matches torch {torch_version}",
                         details=["not imported: run with --level 3 to try it"])
