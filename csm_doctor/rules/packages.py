"""The recipe's packages: installed, on pin, and no conflicting twin."""

from __future__ import annotations

from typing import Iterable

from packaging.specifiers import SpecifierSet

from csm_doctor.findings import Finding
from csm_doctor.recipe import PackageReq, canonical_name
from csm_doctor.rules import RuleContext, rule


def install_hint(ctx: RuleContext, pkg: PackageReq) -> str:
    if pkg.install:  # the recipe knows better (conda-forge, --no-deps, ...)
        return pkg.install
    if pkg.source:
        return f"pip install '{pkg.name} @ {pkg.source}'"
    if pkg.index == "pytorch":
        url = _torch_index(ctx)
        if url:
            return f"pip install '{pkg.name}{pkg.spec}' --index-url {url}"
    return f"pip install '{pkg.name}{pkg.spec}'"


def _torch_index(ctx: RuleContext) -> str | None:
    """The PyTorch index a torch-family package should come from on this machine.

    With a GPU: the CUDA variant the driver and GPU take. Without one, on Linux
    and Windows, PyTorch's CPU index: PyPI's Linux torch is the CUDA build and
    pulls gigabytes of CUDA libraries a CPU-only machine never uses.
    """
    if ctx.fact("nvidia.gpus"):
        from csm_doctor.rules.torch import proposed_variant

        variant = proposed_variant(ctx)
        return ctx.recipe.torch_index_url.format(variant=variant) if variant else None
    if "cpu" in ctx.accelerators and ctx.os_name in ("linux", "windows") \
            and not ctx.fact("nvidia.pci_devices"):  # a card without its driver: fix plans PyPI's build
        return ctx.recipe.torch_index_url.format(variant="cpu")
    return None


@rule("packages_installed")
def packages_installed(ctx: RuleContext) -> Iterable[Finding]:
    installed = ctx.need("packages")
    for pkg in ctx.recipe.packages_for(ctx.os_name):
        version = installed.get(pkg.key)
        if version is not None:
            yield ctx.passed(f"{pkg.name} {version}", id=pkg.missing_id, subject=pkg.name,
                             observed=version)
            continue
        make = ctx.warned if pkg.optional else ctx.failed
        why = f": {pkg.why}" if pkg.why else ""
        yield make(f"{pkg.name} is not installed{why}", id=pkg.missing_id, subject=pkg.name,
                   observed=None, expected=pkg.spec or "any version", fix=install_hint(ctx, pkg))


@rule("packages_pinned")
def packages_pinned(ctx: RuleContext) -> Iterable[Finding]:
    installed = ctx.need("packages")
    for pkg in ctx.recipe.packages_for(ctx.os_name):
        version = installed.get(pkg.key)
        if version is None or not pkg.spec:
            continue  # missing is the other check's finding; no pin means any version
        if SpecifierSet(pkg.spec).contains(version, prereleases=True):
            yield ctx.passed(f"{pkg.name} {version} matches {pkg.spec}", subject=pkg.name,
                             observed=version, expected=pkg.spec)
        else:
            make = ctx.warned if pkg.optional else ctx.failed
            yield make(f"{pkg.name} {version} does not match the recipe's {pkg.spec}",
                       subject=pkg.name, observed=version, expected=pkg.spec,
                       fix=install_hint(ctx, pkg))


@rule("package_conflicts")
def package_conflicts(ctx: RuleContext) -> Iterable[Finding]:
    installed = ctx.need("packages")
    wanted = [p for p in ctx.recipe.packages_for(ctx.os_name) if p.conflicts]
    if not wanted:
        yield ctx.skipped("no conflicting packages to look for on this OS")
        return
    for pkg in wanted:
        clashes = [c for c in pkg.conflicts if canonical_name(c) in installed]
        if clashes:
            names = ", ".join(clashes)
            yield ctx.failed(f"{names} is installed; on this OS {pkg.name} replaces it",
                             id=pkg.missing_id, subject=pkg.name, observed=clashes, expected=[],
                             fix=f"pip uninstall -y {' '.join(clashes)} && {install_hint(ctx, pkg)}")
        else:
            yield ctx.passed(f"no {', '.join(pkg.conflicts)} beside {pkg.name}", id=pkg.missing_id,
                             subject=pkg.name)
