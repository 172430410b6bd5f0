"""Driver state, GPU presence and VRAM, for recipes that run on CUDA."""

from __future__ import annotations

from typing import Any, Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules import RuleContext, rule


def uses_cuda(ctx: RuleContext) -> bool:
    return "cuda" in ctx.accelerators


def gpu_capability(gpu: dict[str, Any]) -> str | None:
    """The GPU's compute capability, from the facts or, failing that, from its name."""
    from csm_doctor.knowledge.tables import compute_capability_for_name

    return gpu.get("compute_capability") or compute_capability_for_name(gpu.get("name") or "")


def gpu_label(gpu: dict[str, Any]) -> str:
    mem = gpu.get("memory_total_mib")
    cap = gpu.get("compute_capability")
    extra = ", ".join(x for x in (f"{mem} MiB" if mem else "", f"sm {cap}" if cap else "") if x)
    return f"{gpu.get('name') or 'unknown GPU'}" + (f" ({extra})" if extra else "")


@rule("nvidia_driver")
def nvidia_driver(ctx: RuleContext) -> Iterable[Finding]:
    if not uses_cuda(ctx):
        yield ctx.skipped(f"{ctx.recipe.id} does not use CUDA")
        return
    error_id = ctx.fact("nvidia.error_id")
    driver = ctx.fact("nvidia.driver_version")
    if error_id == ctx.check.id:
        yield ctx.failed(f"the NVIDIA driver is not loaded: {ctx.fact('nvidia.error') or ''}".strip(),
                         observed=ctx.fact("nvidia.error"),
                         details=[f"{ctx.fact('nvidia.pci_devices')} NVIDIA device(s) on the PCI bus"]
                         if ctx.fact("nvidia.pci_devices") else [])
    elif driver:
        cuda = ctx.fact("nvidia.cuda_version")
        yield ctx.passed(f"driver {driver}" + (f", supports CUDA ≤ {cuda}" if cuda else ""),
                         observed=driver)
    elif ctx.fact("nvidia.pci_devices"):
        yield ctx.failed("an NVIDIA GPU is on the PCI bus but no driver answers",
                         observed=f"{ctx.fact('nvidia.pci_devices')} PCI device(s)")
    else:
        yield ctx.skipped("no NVIDIA GPU on this machine")


@rule("nvidia_library_match")
def nvidia_library_match(ctx: RuleContext) -> Iterable[Finding]:
    if ctx.fact("nvidia.error_id") == ctx.check.id:
        yield ctx.failed("the driver's libraries were upgraded but the old kernel module is loaded",
                         observed=ctx.fact("nvidia.error"))
    elif ctx.fact("nvidia.driver_version"):
        yield ctx.passed("driver kernel module and libraries agree")
    else:
        yield ctx.skipped("no NVIDIA driver answered")


@rule("gpu_present")
def gpu_present(ctx: RuleContext) -> Iterable[Finding]:
    gpus = ctx.fact("nvidia.gpus", [])
    accelerators = ctx.accelerators
    if not uses_cuda(ctx):
        yield from _non_cuda_accelerator(ctx, accelerators)
    elif gpus:
        yield ctx.passed(", ".join(gpu_label(g) for g in gpus),
                         observed=[g.get("name") for g in gpus])
    elif ctx.fact("nvidia.error_id") or ctx.fact("nvidia.pci_devices"):
        yield ctx.skipped("an NVIDIA GPU may be present; the driver check says why it is not usable")
    elif "cpu" not in accelerators:
        hint = ctx.alternatives_hint()
        yield ctx.failed(f"no NVIDIA GPU found; {ctx.recipe.id} needs a CUDA GPU", observed=[],
                         expected="an NVIDIA GPU",
                         fix=f"{ctx.default_fix}; {hint}" if hint else ctx.default_fix)
    else:
        yield ctx.warned("no NVIDIA GPU found: the recipe will run on the CPU, slowly",
                         fix="fine for a smoke test; use an NVIDIA GPU or Apple silicon for speed")


def _non_cuda_accelerator(ctx: RuleContext, accelerators: tuple[str, ...]) -> Iterable[Finding]:
    """Recipes (or OSes) without CUDA: Apple silicon's MPS, the NPU group, or the CPU."""
    if "mps" in accelerators:
        if ctx.fact("apple.apple_silicon") or ctx.fact("torch.mps_available") or \
                (ctx.os_name == "darwin" and ctx.fact("os.arch") == "arm64"):
            yield ctx.passed(f"{ctx.fact('apple.chip') or 'Apple silicon'} (MPS)",
                             observed=ctx.fact("apple.chip"))
        elif "cpu" in accelerators:
            yield ctx.warned("no Apple silicon GPU (an Intel Mac): MPS is unavailable, the "
                             "recipe will run on the CPU, slowly", fix=None)
        else:
            yield ctx.failed(f"{ctx.recipe.id} needs Apple silicon (MPS) on macOS",
                             observed=ctx.fact("os.arch"), expected="arm64")
    elif "npu" in accelerators:
        yield ctx.skipped("an NPU recipe: see the Ascend group")
    elif "cpu" in accelerators:
        yield ctx.passed("the recipe runs on the CPU here")
    else:
        yield ctx.skipped(f"{ctx.recipe.id} does not use CUDA on this OS")


@rule("gpu_capability_min")
def gpu_capability_min(ctx: RuleContext) -> Iterable[Finding]:
    from csm_doctor.knowledge import parse_version
    from csm_doctor.knowledge.tables import architecture_name

    minimum = ctx.recipe.hardware.get("compute_capability_min")
    gpus = ctx.fact("nvidia.gpus", [])
    if minimum is None or not gpus or not uses_cuda(ctx):
        yield ctx.skipped("no GPU generation minimum to compare" if gpus else "no NVIDIA GPU")
        return
    for gpu in gpus:
        capability = gpu_capability(gpu)
        have = parse_version(capability)
        if have is None:
            yield ctx.skipped(f"{gpu.get('name')}: compute capability unknown", subject=gpu.get("name"))
        elif have >= parse_version(f"{minimum:g}"):
            yield ctx.passed(f"{gpu.get('name')} is compute capability {capability} "
                             f"(recipe needs ≥ {minimum:g})", subject=gpu.get("name"),
                             observed=capability, expected=f">={minimum:g}")
        else:
            arch = architecture_name(capability) or "an older generation"
            yield ctx.failed(f"{gpu.get('name')} is compute capability {capability} ({arch}); "
                             f"{ctx.recipe.id} needs ≥ {minimum:g}", subject=gpu.get("name"),
                             observed=capability, expected=f">={minimum:g}",
                             fix="use a newer GPU (Volta or later for most training stacks)")


@rule("vram_minimum")
def vram_minimum(ctx: RuleContext) -> Iterable[Finding]:
    gpus = [g for g in ctx.fact("nvidia.gpus", []) if g.get("memory_total_mib")]
    minimum = ctx.recipe.hardware.get("vram_min_gb")
    unified = ctx.fact("apple.unified_memory_mib")
    if not gpus and unified and "mps" in ctx.recipe.accelerators and minimum is not None:
        # On Apple silicon the GPU shares the machine's memory: that is the figure MPS gets.
        chip = ctx.fact("apple.chip") or "Apple silicon"
        make = ctx.passed if unified >= minimum * 1024 else ctx.failed
        yield make(f"{chip}: {unified} MiB unified memory (recipe needs {minimum:g} GB)",
                   observed=unified, expected=minimum * 1024)
        return
    if not gpus or minimum is None:
        yield ctx.skipped("no GPU memory figure to compare" if minimum else "no VRAM minimum")
        return
    best = max(gpus, key=lambda g: g["memory_total_mib"])
    need_mib = minimum * 1024
    if best["memory_total_mib"] >= need_mib:
        yield ctx.passed(f"{best['memory_total_mib']} MiB on {best.get('name')} "
                         f"(recipe needs {minimum:g} GB)", observed=best["memory_total_mib"],
                         expected=need_mib)
    else:
        yield ctx.failed(f"{best.get('name')} has {best['memory_total_mib']} MiB; "
                         f"{ctx.recipe.id} needs {minimum:g} GB", observed=best["memory_total_mib"],
                         expected=need_mib)
