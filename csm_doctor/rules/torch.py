"""torch against the hardware: build variant, driver CUDA, GPU architecture, the recipe's pin.

One verdict from several tables: the driver's minimum per CUDA release, the
architectures each torch build ships kernels for, and the recipe's pin. When
the pin itself cannot drive the GPU (torch 2.4.0 on an RTX 50xx), the finding
says so and names the recipe that can.
"""

from __future__ import annotations

from typing import Any, Iterable

from csm_doctor.findings import Finding
from csm_doctor.knowledge import (
    base_release,
    capability_arch,
    parse_version,
    pick_variant,
    variant_cuda,
)
from csm_doctor.rules.base import RuleContext, rule
from csm_doctor.rules.nvidia import gpu_capability, visible_gpus


def _driver_os(ctx: RuleContext) -> str:
    return "windows" if ctx.os_name == "windows" else "linux"


def proposed_variant(ctx: RuleContext) -> str | None:
    """The recipe's first CUDA variant that this driver runs natively and that covers the GPU.

    Falls back to minor-version compatibility, then to the plain CUDA-number
    comparison when the tables do not know the driver.
    """
    from csm_doctor.knowledge.tables import torch_runs_on_gpu

    variants = ctx.recipe.torch_variants
    driver = ctx.fact("nvidia.driver_version")
    gpus = ctx.fact("nvidia.gpus", [])
    capability = gpu_capability(gpus[0]) if gpus else None
    torch_version = ctx.recipe.torch_version

    def fits(variant: str, accept: tuple[str, ...]) -> bool:
        verdict = torch_runs_on_gpu(torch_version, variant, capability, driver=driver,
                                    os_name=_driver_os(ctx))
        drives = driver is None or variant_cuda(variant) is None or verdict.driver in accept
        covers = capability is None or torch_version is None or verdict.runs is not False
        return drives and covers

    for accept in (("yes",), ("yes", "minor-compat")):
        for variant in variants:
            if fits(variant, accept):
                return variant
    return pick_variant(variants, ctx.fact("nvidia.cuda_version")) if driver is None else None


@rule("torch_gpu_build")
def torch_gpu_build(ctx: RuleContext) -> Iterable[Finding]:
    version = ctx.fact("torch.version")
    gpus = ctx.fact("nvidia.gpus", [])
    if version is None:
        yield ctx.skipped("torch is not installed")
        return
    variant = ctx.fact("torch.variant") or "unknown"
    if not gpus:
        yield ctx.skipped(f"torch {version}: no NVIDIA GPU to build for")
    elif ctx.fact("torch.cuda") is None or variant == "cpu":
        best = proposed_variant(ctx)
        yield ctx.failed(f"torch {version} is a CPU-only build on a machine with "
                         f"{gpus[0].get('name') or 'an NVIDIA GPU'}", observed=variant,
                         expected=best or "a CUDA build")
    elif ctx.fact("torch.imported") and ctx.fact("torch.cuda_available") is False and \
            not visible_gpus(ctx.facts):
        yield ctx.skipped(f"torch {version} is a CUDA build; CUDA_VISIBLE_DEVICES hides every GPU "
                          "from it (see the CUDA_VISIBLE_DEVICES check)", observed=variant)
    elif ctx.fact("torch.imported") and ctx.fact("torch.cuda_available") is False:
        yield ctx.warned(f"torch {version} is a CUDA build but torch.cuda.is_available() is False",
                         observed=variant, fix="check the driver findings above; reboot after a "
                                               "driver install")
    else:
        yield ctx.passed(f"torch {version} (CUDA {ctx.fact('torch.cuda')})", observed=variant)


def _driver_verdict(ctx: RuleContext, cuda: str) -> str | None:
    """'yes' | 'minor-compat' | 'no' from the driver table, else from the driver's max CUDA."""
    from csm_doctor.knowledge.tables import driver_supports_cuda

    driver = ctx.fact("nvidia.driver_version")
    verdict = driver_supports_cuda(driver, cuda, _driver_os(ctx)) if driver else None
    if verdict is not None:
        return verdict
    have, need = parse_version(ctx.fact("nvidia.cuda_version")), parse_version(cuda)
    if have is None or need is None:
        return None
    if have >= need:
        return "yes"
    return "minor-compat" if have.release[0] == need.release[0] >= 12 else "no"


@rule("torch_driver")
def torch_driver(ctx: RuleContext) -> Iterable[Finding]:
    driver = ctx.fact("nvidia.driver_version")
    driver_cuda = ctx.fact("nvidia.cuda_version")
    torch_cuda = ctx.fact("torch.cuda")
    if driver is None and driver_cuda is None:
        yield ctx.skipped("no NVIDIA driver to compare with")
        return
    shown = f"driver {driver or '?'}" + (f" (CUDA ≤ {driver_cuda})" if driver_cuda else "")
    if torch_cuda is None:
        if ctx.recipe.torch_variants and uses_cuda(ctx) and proposed_variant(ctx) is None \
                and not _any_variant_driven(ctx):
            oldest = ctx.recipe.torch_variants[-1]
            yield ctx.failed(f"{shown} is too old for every CUDA build the recipe allows "
                             f"(oldest: {oldest}, CUDA {variant_cuda(oldest)})",
                             observed=driver, expected=variant_cuda(oldest))
        else:
            yield ctx.skipped("no CUDA build of torch installed to compare with")
        return
    verdict = _driver_verdict(ctx, torch_cuda)
    if verdict in (None, "yes"):
        yield ctx.passed(f"{shown} runs torch's CUDA {torch_cuda}", observed=driver,
                         expected=f"CUDA {torch_cuda}")
    elif verdict == "minor-compat":
        yield ctx.warned(f"{shown} is older than CUDA {torch_cuda}'s minimum: works only through "
                         "CUDA minor-version compatibility (PTX JIT and new features may fail)",
                         observed=driver, expected=f"CUDA {torch_cuda}",
                         fix=_older_build_fix(ctx, torch_cuda))
    else:
        yield ctx.failed(f"{shown} cannot run torch built for CUDA {torch_cuda}",
                         observed=driver, expected=f"CUDA {torch_cuda}",
                         fix=_older_build_fix(ctx, torch_cuda))


def uses_cuda(ctx: RuleContext) -> bool:
    return "cuda" in ctx.accelerators


def _any_variant_driven(ctx: RuleContext) -> bool:
    return any(_driver_verdict(ctx, variant_cuda(v) or "") in ("yes", "minor-compat")
               for v in ctx.recipe.torch_variants if variant_cuda(v))


def _older_build_fix(ctx: RuleContext, torch_cuda: str) -> str:
    best = proposed_variant(ctx)
    if best and variant_cuda(best) != torch_cuda:
        return f"upgrade the NVIDIA driver, or install the torch {best} build this driver runs"
    return "upgrade the NVIDIA driver (nvidia.com/drivers, or your distribution's driver package)"


@rule("torch_arch")
def torch_arch(ctx: RuleContext) -> Iterable[Finding]:
    gpus = ctx.fact("nvidia.gpus", []) or ctx.fact("torch.devices", [])
    if not gpus or not uses_cuda(ctx):
        yield ctx.skipped("no NVIDIA GPU" if uses_cuda(ctx) else f"{ctx.recipe.id} does not use CUDA here")
        return
    installed = ctx.fact("torch.version")
    for gpu in gpus:
        capability = gpu_capability(gpu)
        if capability is None:
            yield ctx.skipped(f"{gpu.get('name')}: compute capability unknown", subject=gpu.get("name"))
            continue
        if installed and ctx.fact("torch.cuda"):
            yield _installed_build_covers(ctx, gpu, capability)
        else:
            yield _recipe_pin_covers(ctx, gpu, capability)


def _installed_build_covers(ctx: RuleContext, gpu: dict[str, Any], capability: str) -> Finding:
    from csm_doctor.knowledge.tables import torch_runs_on_gpu

    version, variant = ctx.fact("torch.version"), ctx.fact("torch.variant") or ""
    verdict = torch_runs_on_gpu(version, variant, capability, arch_list=ctx.fact("torch.arch_list"))
    arch = verdict.arch or capability_arch(capability) or capability
    arch_list, source, supported = list(verdict.kernels), verdict.source, verdict.runs
    name = gpu.get("name")
    if supported is None:
        return ctx.skipped(f"{name} ({arch}): torch {version}'s architectures are unknown",
                           subject=name)
    if supported:
        return ctx.passed(f"{name} ({arch}) is covered by torch {version} ({source})",
                          subject=name, observed=arch, expected=arch_list)
    pin_can = _pin_supports(ctx, capability)
    fix = None if pin_can else _cannot_run_fix(ctx, capability)
    return ctx.failed(f"{name} is {arch}; torch {version} has no kernels for it "
                      f"(it has {', '.join(arch_list) if arch_list else 'none for it'})",
                      subject=name, observed=arch, expected=arch_list, fix=fix,
                      details=() if pin_can else (_gpu_needs(capability),))


def _recipe_pin_covers(ctx: RuleContext, gpu: dict[str, Any], capability: str) -> Finding:
    arch = capability_arch(capability) or capability
    name, pin = gpu.get("name"), ctx.recipe.torch_version
    if not pin or not ctx.recipe.torch_variants:
        return ctx.skipped(f"{name}: torch is not installed and the recipe pins no CUDA build",
                           subject=name)
    verdict = _pin_supports(ctx, capability)
    if verdict is None:
        return ctx.skipped(f"{name} ({arch}): torch {pin}'s architectures are unknown", subject=name)
    if verdict:
        return ctx.passed(f"{name} ({arch}) is covered by the recipe's torch {pin}",
                          subject=name, observed=arch)
    return ctx.failed(f"{ctx.recipe.id} pins torch {pin}: none of its builds "
                      f"({', '.join(ctx.recipe.torch_variants)}) has kernels for {name} ({arch})",
                      subject=name, observed=arch, fix=_cannot_run_fix(ctx, capability),
                      details=(_gpu_needs(capability),))


def _pin_supports(ctx: RuleContext, capability: str) -> bool | None:
    from csm_doctor.knowledge.tables import torch_runs_on_gpu

    pin = ctx.recipe.torch_version
    if not pin:
        return None
    return torch_runs_on_gpu(pin, ctx.recipe.torch_variants, capability).runs


def _gpu_needs(capability: str) -> str:
    """What torch the GPU needs (kept as a detail: the remedy is the plan's recipe switch)."""
    from csm_doctor.knowledge.tables import minimum_torch_for_gpu

    needed = minimum_torch_for_gpu(capability)
    return f"this GPU needs torch ≥ {needed[0]} with {needed[1]}" if needed else \
        "this GPU needs a newer torch build"


def _cannot_run_fix(ctx: RuleContext, capability: str) -> str:
    need = _gpu_needs(capability)
    hint = ctx.alternatives_hint()
    return f"{need}; {hint}" if hint else f"{need}, which the recipe's pin does not allow"


@rule("torchaudio_matches_torch")
def torchaudio_matches_torch(ctx: RuleContext) -> Iterable[Finding]:
    packages = ctx.need("packages")
    torch, audio = packages.get("torch"), packages.get("torchaudio")
    if not torch or not audio:
        yield ctx.skipped("torch or torchaudio is not installed")
        return
    same_release = base_release(torch) == base_release(audio)
    torch_local = torch.split("+", 1)[1] if "+" in torch else None
    audio_local = audio.split("+", 1)[1] if "+" in audio else None
    same_build = torch_local is None or audio_local is None or torch_local == audio_local
    if same_release and same_build:
        yield ctx.passed(f"torchaudio {audio} matches torch {torch}", observed=audio)
    else:
        yield ctx.failed(f"torchaudio {audio} was built for another torch than {torch}",
                         observed=audio, expected=torch,
                         fix=f"install torchaudio=={base_release(torch)} from the same index as torch")


@rule("torch_platform_wheels")
def torch_platform_wheels(ctx: RuleContext) -> Iterable[Finding]:
    """The recipe's torch against the platforms PyTorch still builds for (Intel Macs: ≤ 2.2.x).

    Without this, an Intel Mac was told `pip install 'torch>=2.7.0'`, which cannot install.
    """
    from csm_doctor.knowledge.tables import platform_key, platform_last_torch, torch_spec_installable

    os_name, arch = ctx.need("os.name"), ctx.fact("os.arch")
    specs = [p.spec or "" for p in ctx.recipe.packages_for(os_name) if p.key == "torch"]
    if ctx.recipe.torch_version and not specs:
        specs = [f"=={ctx.recipe.torch_version}"]
    if not specs:
        yield ctx.skipped(f"{ctx.recipe.id} installs no torch on {os_name}")
        return
    where = platform_key(os_name, arch) or os_name
    verdicts = [torch_spec_installable(spec, os_name, arch) for spec in specs]
    wanted = " ".join(f"torch{s}" for s in specs)
    if any(v is False for v in verdicts):
        last = platform_last_torch(os_name, arch)
        yield ctx.failed(f"{ctx.recipe.id} cannot run on this machine: it needs {wanted}, and "
                         f"PyTorch's last wheels for {where} are torch {last}.x", subject="torch",
                         observed=where, expected=wanted)
    else:
        yield ctx.passed(f"PyTorch publishes {wanted} for {where}", subject="torch", observed=where)
