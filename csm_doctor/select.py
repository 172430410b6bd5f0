"""Recipe auto-selection: with no --recipe, the recipe that fits this machine, and why.

The order is a support engineer's: an Ascend host gets the NPU port; macOS
gets the transformers path (MPS/CPU; the official repo needs CUDA); an NVIDIA
GPU that the official pins cannot drive (torch 2.4.0 has no Blackwell kernels)
gets the transformers path with a newer torch; otherwise the official recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csm_doctor.facts import get_path

OFFICIAL = "csm-1b"
TRANSFORMERS = "csm-1b-transformers"
ASCEND = "csm-1b-ascend"


@dataclass(frozen=True)
class Selection:
    recipe_id: str
    reason: str


def _unsupported_gpus(facts: dict[str, Any], official: Any) -> list[tuple[str, str]]:
    """GPUs (name, capability) that no CUDA build of the official torch pin covers."""
    from csm_doctor.knowledge.tables import compute_capability_for_name, torch_runs_on_gpu

    out = []
    for gpu in get_path(facts, "nvidia.gpus") or []:
        name = gpu.get("name") or "NVIDIA GPU"
        capability = gpu.get("compute_capability") or compute_capability_for_name(name)
        if not capability or not official.torch_version or not official.torch_variants:
            continue
        verdict = torch_runs_on_gpu(official.torch_version, official.torch_variants, capability)
        if verdict.runs is False:
            out.append((name, verdict.arch or capability))
    return out


def select_recipe(facts: dict[str, Any], available: set[str]) -> Selection:
    """Pick a built-in recipe id for these facts; falls back to the official one."""
    from csm_doctor.recipe import load_recipe

    packages = get_path(facts, "packages") or {}
    npus = get_path(facts, "ascend.npus") or []
    if ASCEND in available and (npus or "torch-npu" in packages):
        found = f"{len(npus)} Ascend NPU chip(s)" if npus else "torch_npu installed"
        return Selection(ASCEND, f"{found}: the Ascend port of CSM-1B")
    if TRANSFORMERS in available and get_path(facts, "os.name") == "darwin":
        return Selection(TRANSFORMERS, "macOS: the official repository needs CUDA; transformers' "
                                       "CSM runs on Apple MPS or the CPU")
    gpus = get_path(facts, "nvidia.gpus") or []
    if OFFICIAL in available and gpus:
        official = load_recipe(OFFICIAL)
        blocked = _unsupported_gpus(facts, official)
        if blocked and TRANSFORMERS in available:
            name, arch = blocked[0]
            return Selection(TRANSFORMERS, f"{name} ({arch}) has no kernels in csm-1b's pinned "
                                           f"torch {official.torch_version}: transformers' CSM "
                                           "with a newer torch can drive it")
        return Selection(OFFICIAL, f"NVIDIA GPU ({gpus[0].get('name')}): the official "
                                   "SesameAILabs/csm setup")
    if not gpus and TRANSFORMERS in available and not get_path(facts, "nvidia.pci_devices") \
            and not get_path(facts, "nvidia.error_id"):
        return Selection(TRANSFORMERS, "no GPU found: transformers' CSM also runs on the CPU "
                                       "(slowly); the official repository needs CUDA")
    return Selection(OFFICIAL, "the official SesameAILabs/csm setup (default)")
