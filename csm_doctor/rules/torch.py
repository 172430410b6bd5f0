"""torch against the hardware: build variant, driver CUDA, GPU architecture."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.knowledge import (
    base_release, capability_arch, parse_version, pick_variant, variant_cuda,
)
from csm_doctor.rules import RuleContext, rule


def install_command(ctx: RuleContext, variant: str | None) -> str:
    """The pinned torch install the recipe wants, from the index that fits the driver."""
    pins = [p for p in ctx.recipe.packages_for(ctx.os_name) if p.index == "pytorch"]
    specs = " ".join(f"{p.name}{p.spec}" for p in pins) or "torch"
    if variant is None:
        return f"pip install {specs}"
    url = ctx.recipe.torch_index_url.format(variant=variant)
    return f"pip install --force-reinstall {specs} --index-url {url}"


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
        best = pick_variant(ctx.recipe.torch_variants, ctx.fact("nvidia.cuda_version"))
        yield ctx.failed(f"torch {version} is a CPU-only build on a machine with "
                         f"{gpus[0].get('name') or 'an NVIDIA GPU'}", observed=variant,
                         expected=best or "a CUDA build", fix=install_command(ctx, best))
    elif ctx.fact("torch.imported") and ctx.fact("torch.cuda_available") is False:
        yield ctx.warned(f"torch {version} is a CUDA build but torch.cuda.is_available() is False",
                         observed=variant, fix="check the driver findings above; reboot after a "
                                               "driver install")
    else:
        yield ctx.passed(f"torch {version} (CUDA {ctx.fact('torch.cuda')})", observed=variant)


@rule("torch_driver")
def torch_driver(ctx: RuleContext) -> Iterable[Finding]:
    driver_cuda = ctx.fact("nvidia.cuda_version")
    torch_cuda = ctx.fact("torch.cuda")
    if driver_cuda is None:
        yield ctx.skipped("no NVIDIA driver to compare with")
        return
    if torch_cuda is None:
        best = pick_variant(ctx.recipe.torch_variants, driver_cuda)
        if ctx.recipe.torch_variants and best is None:
            oldest = ctx.recipe.torch_variants[-1]
            yield ctx.failed(f"driver supports CUDA ≤ {driver_cuda}; every torch build the recipe "
                             f"allows needs CUDA {variant_cuda(oldest)} or newer",
                             observed=driver_cuda, expected=variant_cuda(oldest))
        else:
            yield ctx.skipped("no CUDA build of torch installed to compare with")
        return
    have, need = parse_version(driver_cuda), parse_version(torch_cuda)
    if have is None or need is None or have >= need:
        yield ctx.passed(f"driver CUDA {driver_cuda} ≥ torch's CUDA {torch_cuda}",
                         observed=driver_cuda, expected=f">={torch_cuda}")
    elif have.release[0] == need.release[0] and have.release[0] >= 12:
        yield ctx.warned(f"driver CUDA {driver_cuda} < torch's CUDA {torch_cuda}: works only "
                         "through CUDA minor-version compatibility (PTX JIT may fail)",
                         observed=driver_cuda, expected=f">={torch_cuda}")
    else:
        best = pick_variant(ctx.recipe.torch_variants, driver_cuda)
        yield ctx.failed(f"driver supports CUDA ≤ {driver_cuda}; torch was built for "
                         f"CUDA {torch_cuda}", observed=driver_cuda, expected=f">={torch_cuda}",
                         fix=f"upgrade the NVIDIA driver, or: {install_command(ctx, best)}"
                         if best else "upgrade the NVIDIA driver")


@rule("torch_arch")
def torch_arch(ctx: RuleContext) -> Iterable[Finding]:
    gpus = ctx.fact("nvidia.gpus", []) or ctx.fact("torch.devices", [])
    arch_list = ctx.fact("torch.arch_list")
    if not gpus:
        yield ctx.skipped("no GPU")
        return
    if not arch_list:
        yield ctx.skipped("torch's architecture list is unknown (torch not imported)")
        return
    for gpu in gpus:
        arch = capability_arch(gpu.get("compute_capability"))
        if arch is None:
            continue
        if arch in arch_list or _ptx_covers(arch, arch_list):
            yield ctx.passed(f"{gpu.get('name')} ({arch}) is in torch's arch list",
                             subject=gpu.get("name"), observed=arch, expected=arch_list)
        else:
            yield ctx.failed(f"{gpu.get('name')} is {arch}; torch {ctx.fact('torch.version')} has "
                             f"kernels for {', '.join(arch_list)}", subject=gpu.get("name"),
                             observed=arch, expected=arch_list)


def _ptx_covers(arch: str, arch_list: list[str]) -> bool:
    """compute_XY PTX in the list JIT-compiles for newer GPUs of the same major."""
    number = int(arch[3:])
    return any(a.startswith("compute_") and a[8:].isdigit() and int(a[8:]) <= number
               and int(a[8:]) // 10 == number // 10 for a in arch_list)


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
