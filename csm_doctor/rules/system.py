"""OS support, RAM and disk minimums."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule

OS_LABELS = {"linux": "Linux", "windows": "Windows", "darwin": "macOS"}
RAM_SLACK = 0.9  # an "8 GB" machine reports ~7.6 GiB after firmware and kernel reservations


def gib(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB"


@rule("os_supported")
def os_supported(ctx: RuleContext) -> Iterable[Finding]:
    name = ctx.need("os.name")
    label = OS_LABELS.get(name, name)
    supported = ctx.recipe.platforms
    if not supported or name in supported:
        release = ctx.fact("os.distro.name") or ctx.fact("os.version") or ""
        yield ctx.passed(f"{label} {release}".strip(), observed=name)
        return
    wanted = ", ".join(OS_LABELS.get(p, p) for p in supported)
    hint = ctx.alternatives_hint()
    yield ctx.failed(f"{ctx.recipe.id} does not support {label} (supports {wanted})",
                     observed=name, expected=list(supported),
                     fix=hint or f"use {wanted}, or a recipe made for {label}")


@rule("ram_minimum")
def ram_minimum(ctx: RuleContext) -> Iterable[Finding]:
    total = ctx.need("memory.total_mib")
    minimum = ctx.recipe.hardware.get("ram_min_gb")
    if minimum is None:
        yield ctx.passed(f"RAM {gib(total)}", observed=total)
    elif total >= minimum * 1024 * RAM_SLACK:
        yield ctx.passed(f"RAM {gib(total)} (recipe needs {minimum:g} GB)", observed=total,
                         expected=minimum * 1024)
    else:
        yield ctx.failed(f"RAM {gib(total)} is below the recipe's {minimum:g} GB", observed=total,
                         expected=minimum * 1024)


@rule("disk_minimum")
def disk_minimum(ctx: RuleContext) -> Iterable[Finding]:
    free = ctx.need("disk.free_mib")
    where = ctx.fact("disk.path", "the cache disk")
    minimum = ctx.recipe.hardware.get("disk_free_min_gb")
    if minimum is None or free >= minimum * 1024:
        needs = f" (recipe needs {minimum:g} GB)" if minimum else ""
        yield ctx.passed(f"{gib(free)} free at {where}{needs}", observed=free)
    else:
        yield ctx.failed(f"only {gib(free)} free at {where}; the recipe needs {minimum:g} GB",
                         observed=free, expected=minimum * 1024,
                         fix="free disk space, or point HF_HOME at a disk with room")
