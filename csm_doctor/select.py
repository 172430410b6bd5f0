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



@dataclass(frozen=True)
class Roles:
    """The built-in recipes selection chooses between, read from the recipes themselves.

    official: the one marked `default: true`; transformers: its first alternative, the path
    that runs where the official one cannot (Blackwell, macOS, CPU); ascend: the built-in
    recipe for Ascend NPUs (`accelerators: [npu]`). None where no built-in recipe fills a role.
    """

    official: str | None
    transformers: str | None
    ascend: str | None


def recipe_roles() -> Roles:
    from csm_doctor.recipe import builtin_recipe_ids, load_recipe

    defaults = builtin_recipe_ids(default=True)
    official = defaults[0] if defaults else None
    alternatives = load_recipe(official).alternatives if official else ()
    npu = [r for r in builtin_recipe_ids() if "npu" in load_recipe(r).accelerators]
    return Roles(official, alternatives[0].recipe if alternatives else None,
                 npu[0] if npu else None)


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

    roles = recipe_roles()
    packages = get_path(facts, "packages") or {}
    npus = get_path(facts, "ascend.npus") or []
    if roles.ascend in available and (npus or "torch-npu" in packages):
        found = f"{len(npus)} Ascend NPU chip(s)" if npus else "torch_npu installed"
        return Selection(roles.ascend, f"{found}: the Ascend port of CSM-1B")
    if roles.transformers in available and get_path(facts, "os.name") == "darwin":
        return Selection(roles.transformers, "macOS: the official repository needs CUDA; "
                                             "transformers' CSM runs on Apple MPS or the CPU")
    gpus = get_path(facts, "nvidia.gpus") or []
    if roles.official in available and gpus:
        official = load_recipe(roles.official)
        blocked = _unsupported_gpus(facts, official)
        if blocked and roles.transformers in available:
            name, arch = blocked[0]
            return Selection(roles.transformers,
                             f"{name} ({arch}) has no kernels in {roles.official}'s pinned torch "
                             f"{official.torch_version}: transformers' CSM with a newer torch "
                             "can drive it")
        return Selection(roles.official, f"NVIDIA GPU ({gpus[0].get('name')}): the official "
                                   "SesameAILabs/csm setup")
    if not gpus and roles.transformers in available and not get_path(facts, "nvidia.pci_devices") \
            and not get_path(facts, "nvidia.error_id"):
        return Selection(roles.transformers, "no GPU found: transformers' CSM also runs on the "
                                             "CPU (slowly); the official repository needs CUDA")
    return Selection(roles.official, "the official SesameAILabs/csm setup (default)")
