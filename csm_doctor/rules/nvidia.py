"""Driver state, GPU presence and VRAM, for recipes that run on CUDA."""

from __future__ import annotations

from typing import Any, Iterable

from csm_doctor.facts import get_path
from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule


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


def visible_gpus(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The GPUs a CUDA job here can see: nvidia.gpus as CUDA_VISIBLE_DEVICES filters them.

    CUDA reads the list up to its first entry that names no GPU; "" hides every
    GPU. Entries are indexes (nvidia-smi's order) or UUID prefixes ("GPU-8f...").
    """
    gpus = [g for g in (get_path(facts, "nvidia.gpus") or []) if isinstance(g, dict)]
    raw = (get_path(facts, "env") or {}).get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return gpus
    chosen: list[dict[str, Any]] = []
    for token in (t.strip() for t in raw.split(",")):
        match = None
        if token.isdigit():
            match = next((g for g in gpus if g.get("index") == int(token)), None)
        elif token.upper().startswith("GPU-"):
            match = next((g for g in gpus if str(g.get("uuid") or "").lower().startswith(token.lower())),
                         None)
        if match is None or match in chosen:
            break
        chosen.append(match)
    return chosen


def multi_gpu(ctx: RuleContext) -> bool:
    """A recipe whose job runs on every visible GPU (DDP training), not just the first."""
    return bool(ctx.recipe.hardware.get("multi_gpu"))


@rule("vram_minimum")
def vram_minimum(ctx: RuleContext) -> Iterable[Finding]:
    """The smallest GPU the job uses must hold the recipe's minimum, not the largest one here."""
    all_gpus = [g for g in ctx.fact("nvidia.gpus", []) if g.get("memory_total_mib")]
    gpus = [g for g in visible_gpus(ctx.facts) if g.get("memory_total_mib")]
    minimum = ctx.recipe.hardware.get("vram_min_gb")
    unified = ctx.fact("apple.unified_memory_mib")
    if not all_gpus and unified and "mps" in ctx.recipe.accelerators and minimum is not None:
        # On Apple silicon the GPU shares the machine's memory: that is the figure MPS gets.
        chip = ctx.fact("apple.chip") or "Apple silicon"
        make = ctx.passed if unified >= minimum * 1024 else ctx.failed
        yield make(f"{chip}: {unified} MiB unified memory (recipe needs {minimum:g} GB)",
                   observed=unified, expected=minimum * 1024)
        return
    if not gpus or minimum is None:
        yield ctx.skipped("no visible GPU memory figure to compare" if minimum else "no VRAM minimum")
        return
    need_mib = minimum * 1024
    used = gpus if multi_gpu(ctx) else gpus[:1]
    small = [g for g in used if g["memory_total_mib"] < need_mib]
    smallest = min(used, key=lambda g: g["memory_total_mib"])
    which = "smallest GPU the job uses" if len(used) > 1 else "the GPU the job uses (cuda:0)"
    if not small:
        yield ctx.passed(f"{smallest['memory_total_mib']} MiB on {smallest.get('name')}, the {which} "
                         f"(recipe needs {minimum:g} GB per GPU)",
                         observed=smallest["memory_total_mib"], expected=need_mib)
        return
    bigger = [g for g in gpus if g["memory_total_mib"] >= need_mib]
    fix = ctx.default_fix
    if bigger and not multi_gpu(ctx):
        fix = (f"CUDA_VISIBLE_DEVICES={bigger[0].get('index')} runs the job on "
               f"{bigger[0].get('name')} ({bigger[0]['memory_total_mib']} MiB)")
    elif bigger:
        fix = ("CUDA_VISIBLE_DEVICES=" + ",".join(str(g.get("index")) for g in bigger)
               + " keeps the job on the GPUs that are large enough (with that many ranks)")
    yield ctx.failed(f"{smallest.get('name')} (GPU {smallest.get('index')}) has "
                     f"{smallest['memory_total_mib']} MiB, the {which}; {ctx.recipe.id} needs "
                     f"{minimum:g} GB per GPU", subject=str(smallest.get("index")),
                     observed=smallest["memory_total_mib"], expected=need_mib, fix=fix)


@rule("gpu_free_memory")
def gpu_free_memory(ctx: RuleContext) -> Iterable[Finding]:
    """Memory other processes already hold on the GPUs the job uses."""
    minimum = ctx.recipe.hardware.get("vram_min_gb")
    gpus = [g for g in visible_gpus(ctx.facts) if g.get("memory_free_mib") is not None]
    if minimum is None or not gpus or not uses_cuda(ctx):
        yield ctx.skipped("no free-memory figure to compare" if minimum else "no VRAM minimum")
        return
    need_mib = minimum * 1024
    used = gpus if multi_gpu(ctx) else gpus[:1]
    for gpu in used:
        total, free = gpu.get("memory_total_mib"), gpu["memory_free_mib"]
        if total is not None and total < need_mib:
            continue  # too small whatever runs on it: the vram check says so
        holders = [p for p in gpu.get("processes") or [] if isinstance(p, dict)]
        details = [f"pid {p.get('pid')}" + (f" ({p.get('name') or p.get('process_name')})"
                                             if p.get("name") or p.get("process_name") else "")
                   + (f": {p.get('memory_mib')} MiB" if p.get("memory_mib") is not None else "")
                   for p in holders]
        label = f"{gpu.get('name')} (GPU {gpu.get('index')})"
        if free < need_mib:
            yield ctx.warned(f"{label} has {free} MiB free of {total} MiB; {ctx.recipe.id} needs "
                             f"{minimum:g} GB: {len(holders) or 'other'} process"
                             f"{'es' * (len(holders) != 1)} hold the rest",
                             subject=str(gpu.get("index")), observed=free, expected=need_mib,
                             details=details)
        else:
            yield ctx.passed(f"{label}: {free} MiB free", subject=str(gpu.get("index")),
                             observed=free, expected=need_mib)


@rule("cuda_visible_devices")
def cuda_visible_devices(ctx: RuleContext) -> Iterable[Finding]:
    """CUDA_VISIBLE_DEVICES hiding GPUs, or renumbering them so cuda:0 is not GPU 0."""
    raw = (ctx.fact("env") or {}).get("CUDA_VISIBLE_DEVICES")
    gpus = ctx.fact("nvidia.gpus", [])
    if raw is None:
        yield ctx.skipped("CUDA_VISIBLE_DEVICES is not set")
        return
    if not gpus or not uses_cuda(ctx):
        yield ctx.skipped(f"CUDA_VISIBLE_DEVICES={raw!r}, and no NVIDIA GPU to hide")
        return
    visible = visible_gpus(ctx.facts)
    shown = ", ".join(f"cuda:{n} = GPU {g.get('index')} ({g.get('name')})" for n, g in enumerate(visible))
    if not visible:
        yield ctx.failed(f"CUDA_VISIBLE_DEVICES={raw!r} hides all {len(gpus)} GPU"
                         f"{'s' * (len(gpus) != 1)}: torch sees none and runs on the CPU",
                         observed=raw, expected="unset, or the GPUs to use",
                         fix="unset CUDA_VISIBLE_DEVICES (or list the GPUs to use: "
                             "CUDA_VISIBLE_DEVICES=0)")
    elif len(visible) < len(gpus):
        yield ctx.warned(f"CUDA_VISIBLE_DEVICES={raw!r} shows {len(visible)} of {len(gpus)} GPUs: {shown}",
                         observed=raw, details=[f"hidden: GPU {g.get('index')} ({g.get('name')})"
                                                for g in gpus if g not in visible],
                         fix="fine if intended; unset it to use every GPU")
    elif [g.get("index") for g in visible] != sorted(g.get("index") for g in visible):
        yield ctx.warned(f"CUDA_VISIBLE_DEVICES={raw!r} renumbers the GPUs: {shown}",
                         observed=raw, fix="fine if intended; device numbers in logs and configs "
                                           "are the renumbered ones")
    else:
        yield ctx.passed(f"CUDA_VISIBLE_DEVICES={raw!r}: {shown}", observed=raw)
