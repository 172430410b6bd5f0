"""The recipe's packages: installed, on pin, and no conflicting twin.

What to install is not said here: the diagnosis entries' remedies (`install-pins`,
`replace-conflicts`) are planned by fix/plan.py, which check shows as the finding's remedy.
"""

from __future__ import annotations

from typing import Iterable

from packaging.specifiers import SpecifierSet

from csm_doctor.findings import Finding
from csm_doctor.recipe import canonical_name
from csm_doctor.rules.base import RuleContext, rule


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
                   observed=None, expected=pkg.spec or "any version")


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
                       subject=pkg.name, observed=version, expected=pkg.spec)


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
                             id=pkg.missing_id, subject=pkg.name, observed=clashes, expected=[])
        else:
            yield ctx.passed(f"no {', '.join(pkg.conflicts)} beside {pkg.name}", id=pkg.missing_id,
                             subject=pkg.name)


@rule("triton_windows_gpu")
def triton_windows_gpu(ctx: RuleContext) -> Iterable[Finding]:
    """The installed triton-windows against the GPU: Blackwell needs ≥ 3.3, Turing ≤ 3.2."""
    from csm_doctor.knowledge.tables import triton_windows_gpu_note, triton_windows_supports_gpu
    from csm_doctor.rules.nvidia import gpu_capability

    installed = ctx.need("packages")
    version = installed.get("triton-windows")
    if ctx.os_name != "windows" or not version:
        yield ctx.skipped("triton-windows is not installed" if ctx.os_name == "windows"
                          else "triton-windows is for Windows only")
        return
    gpus = ctx.fact("nvidia.gpus", [])
    if not gpus:
        yield ctx.skipped("no NVIDIA GPU to compile for")
        return
    for gpu in gpus:
        name, capability = gpu.get("name") or "NVIDIA GPU", gpu_capability(gpu)
        verdict = triton_windows_supports_gpu(version, capability) if capability else None
        note = triton_windows_gpu_note(capability) if capability else None
        if verdict is None:
            yield ctx.skipped(f"{name}: triton-windows' support for it is not known", subject=name)
        elif verdict:
            yield ctx.passed(f"triton-windows {version} supports {name} (compute capability "
                             f"{capability})", subject=name, observed=version)
        else:
            yield ctx.failed(f"triton-windows {version} cannot compile for {name} (compute "
                             f"capability {capability})" + (f": {note}" if note else ""),
                             subject=name, observed=version, expected=note)


@rule("numpy_abi")
def numpy_abi(ctx: RuleContext) -> Iterable[Finding]:
    """torch built against NumPy 1.x (< 2.3) beside NumPy 2: its NumPy parts fail to import."""
    from csm_doctor.knowledge import parse_version
    from csm_doctor.knowledge.tables import torch_needs_numpy1

    installed = ctx.need("packages")
    torch, numpy = installed.get("torch"), installed.get("numpy")
    numpy_major = (parse_version(numpy) or parse_version("0")).release[0] if numpy else None
    if not torch or not numpy or numpy_major is None:
        yield ctx.skipped("torch or numpy is not installed")
        return
    old_torch = torch_needs_numpy1(torch)
    if old_torch and numpy_major >= 2:
        yield ctx.failed(f"torch {torch} was built against NumPy 1.x and numpy {numpy} is "
                         "installed: \"A module that was compiled using NumPy 1.x cannot be run "
                         "in NumPy 2\"", subject="numpy", observed=numpy, expected="<2")
    elif old_torch is None:
        yield ctx.skipped(f"torch {torch}: its NumPy ABI is not known", subject="numpy")
    else:
        yield ctx.passed(f"numpy {numpy} suits torch {torch}", subject="numpy", observed=numpy)


@rule("dependencies_consistent")
def dependencies_consistent(ctx: RuleContext) -> Iterable[Finding]:
    """`pip check` without pip: every distribution's Requires-Dist against what is installed.

    The target script evaluated markers in the target; here each broken requirement
    becomes a finding. It fails when the recipe's packages are involved (either side of
    the pair) and warns otherwise: a broken requirement elsewhere may never be imported.
    """
    deps = ctx.need("dependencies")
    installed = ctx.need("packages")
    if not deps.get("checked"):
        yield ctx.skipped(f"requirements not read: {deps.get('reason') or 'unknown reason'}")
        return
    broken = [b for b in deps.get("broken") or [] if isinstance(b, dict) and b.get("package")]
    if not broken:
        yield ctx.passed(f"the requirements of all {len(installed)} installed distributions are met")
        return
    recipe = {p.key for p in ctx.recipe.packages_for(ctx.os_name)}
    for item in broken:
        package, version = str(item["package"]), item.get("version")
        needed, have = str(item.get("requires") or ""), item.get("installed")
        ours = canonical_name(package) in recipe or canonical_name(needed) in recipe
        what = f"{needed} {have} is installed" if have else f"{needed} is not installed"
        make = ctx.failed if ours else ctx.warned
        yield make(f"{package} {version} requires {item.get('requirement')}, but {what}",
                   subject=package, observed={"version": version, "requires": needed,
                                              "installed": have},
                   expected=item.get("requirement"), fix=pair_command(ctx, item))


def pair_requirements(ctx: RuleContext, item: dict) -> list[str]:
    """The pair to reinstall in one resolver run: the recipe's pins where it has them.

    The requiring package keeps its installed version unless the recipe pins it; the
    dependency gets the recipe's pin, else exactly the range the requirer asks for.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    pins = {p.key: p for p in ctx.recipe.packages_for(ctx.os_name)}
    package, needed = canonical_name(str(item["package"])), canonical_name(str(item.get("requires") or ""))
    first = pins.get(package)
    out = [f"{first.name}{first.spec}" if first and first.spec else
           f"{item['package']}=={item.get('version')}"]
    second = pins.get(needed)
    if second is not None and second.spec:
        out.append(f"{second.name}{second.spec}")
    else:
        try:
            req = Requirement(str(item.get("requirement")))
            out.append(f"{req.name}{req.specifier}")
        except InvalidRequirement:
            out.append(needed)
    return out


def pair_command(ctx: RuleContext, item: dict) -> str:
    import shlex

    return "pip install " + " ".join(shlex.quote(r) for r in pair_requirements(ctx, item))


@rule("indexes_reachable")
def indexes_reachable(ctx: RuleContext) -> Iterable[Finding]:
    """The indexes fix would install from answer; one finding per host that does not."""
    indexes = [i for i in ctx.need("indexes") if isinstance(i, dict)]
    down = [i for i in indexes if i.get("reachable") is False]
    if not down:
        hosts = ", ".join(dict.fromkeys(str(i.get("host")) for i in indexes)) or "none configured"
        yield ctx.passed(f"package indexes answer ({hosts})")
        return
    for item in down:
        role = "PyTorch's index (torch's builds)" if item.get("role") == "pytorch" else "a pip index"
        yield ctx.warned(f"cannot reach {item.get('host')}, {role}: {item.get('error')}",
                         subject=str(item.get("host")), observed=item.get("error"),
                         expected="an HTTP answer")


@rule("triton_matches_torch")
def triton_matches_torch(ctx: RuleContext) -> Iterable[Finding]:
    """On Linux the installed triton against the exact one torch's wheel requires (2.4.0: 3.0.0)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from csm_doctor.knowledge.tables import linux_triton_for_torch

    installed = ctx.need("packages")
    torch, triton = installed.get("torch"), installed.get("triton")
    if ctx.os_name != "linux" or not torch or not triton:
        yield ctx.skipped("triton beside torch is judged on Linux, with both installed")
        return
    line = linux_triton_for_torch(torch)
    try:
        wanted = Requirement(line) if line else None
    except InvalidRequirement:
        wanted = None
    if wanted is None:
        yield ctx.skipped(f"torch {torch}: the triton it requires is not known", subject="triton")
    elif wanted.specifier.contains(triton.split("+", 1)[0], prereleases=True):
        yield ctx.passed(f"triton {triton} is the one torch {torch} requires ({line})",
                         subject="triton", observed=triton, expected=line)
    else:
        yield ctx.failed(f"triton {triton} is not the one torch {torch} requires ({line}): "
                         "torch.compile and the inductor fail to import it",
                         subject="triton", observed=triton, expected=line)
