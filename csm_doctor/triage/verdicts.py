"""Verdicts: what a pasted log's facts say about a likely match (csm-doctor triage).

A diagnosis entry names one of these as its `verdict` (settle or refute a likely
signature match from the facts the paste shows: a GPU, a torch build, a driver)
or its `facts_alone` (raise the problem with no error text at all). Each is a
pure function of the extracted facts and the subjects the signatures captured,
answered with the knowledge tables, returning (confirmed / refuted / unknown, why).
"""

from __future__ import annotations

from typing import Any, Callable

from csm_doctor.facts import get_path

VerdictFn = Callable[[dict[str, Any], list[str]], "Verdict"]
VERDICTS: dict[str, VerdictFn] = {}


def verdict(name: str) -> Callable[[VerdictFn], VerdictFn]:
    """Register a verdict under the name diagnosis entries use."""
    def register(fn: VerdictFn) -> VerdictFn:
        VERDICTS[name] = fn
        return fn
    return register


Verdict = tuple[bool | None, str | None]  # (the id is confirmed / refuted / unknown, why)


def _torch_version(facts: dict[str, Any]) -> str | None:
    return get_path(facts, "torch.version") or (get_path(facts, "packages") or {}).get("torch")


def _gpus(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, compute capability) of every GPU whose capability is known or follows from its name."""
    from csm_doctor.knowledge.tables import compute_capability_for_name

    out = []
    for gpu in get_path(facts, "nvidia.gpus") or []:
        name = gpu.get("name") or "GPU"
        capability = gpu.get("compute_capability") or compute_capability_for_name(name)
        if capability:
            out.append((name, capability))
    return out


def _torch_runs_on(version: str, variant: str | None, capability: str) -> bool | None:
    """Whether this torch build has kernels for the GPU; every variant of the release if the
    build's variant is unknown (a plain "2.4.0" from pip freeze)."""
    from csm_doctor.knowledge.tables import torch_runs_on_gpu

    return torch_runs_on_gpu(version, variant or None, capability).runs


@verdict("arch")
def arch_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    from csm_doctor.knowledge.tables import minimum_torch_for_gpu
    from csm_doctor.triage.extract import torch_variant

    version, gpus = _torch_version(facts), _gpus(facts)
    if not version or not gpus:
        return None, None
    variant = get_path(facts, "torch.variant") or torch_variant(version)
    if variant and not variant.startswith("cu"):
        return None, None
    answers = [(name, cc, _torch_runs_on(version, variant, cc)) for name, cc in gpus]
    for name, capability, runs in answers:
        if runs is False:
            oldest = minimum_torch_for_gpu(capability)
            hint = f"; the oldest torch with its kernels is {oldest[0]} ({oldest[1]})" if oldest else ""
            return True, (f"{name} (compute capability {capability}) has no kernels in torch "
                          f"{version}{hint}")
    if answers and all(runs is True for _, _, runs in answers):
        return False, (f"torch {version} has kernels for {', '.join(sorted({n for n, _, _ in answers}))}; "
                       "the message more likely comes from a CUDA extension built without "
                       "this GPU's architecture")
    return None, None


@verdict("cpu_build")
def cpu_build_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    from csm_doctor.triage.extract import torch_variant

    version = _torch_version(facts)
    variant = get_path(facts, "torch.variant") or torch_variant(version)
    if not variant:
        return None, None
    if variant.startswith("cpu"):
        return True, f"torch {version} is a CPU-only build"
    return False, f"torch {version} is a {variant} build, not a CPU-only one"


@verdict("driver")
def driver_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    from csm_doctor.knowledge.tables import driver_minimum, driver_supports_cuda

    driver, cuda = get_path(facts, "nvidia.driver_version"), get_path(facts, "torch.cuda")
    os_name = get_path(facts, "os.name") or "linux"
    if not (driver and cuda):
        return None, None
    answer = driver_supports_cuda(driver, cuda, os_name)
    if answer == "no":
        minimum = driver_minimum(cuda, os_name)
        return True, (f"driver {driver} is older than CUDA {cuda} (torch's build) needs"
                      + (f" (≥ {minimum})" if minimum else ""))
    return (False, f"driver {driver} runs CUDA {cuda}") if answer == "yes" else (None, None)


@verdict("npu_host")
def npu_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    packages = get_path(facts, "packages") or {}
    if get_path(facts, "ascend.npus") or "torch-npu" in packages:
        return True, "the paste shows an Ascend host (npu-smi or torch_npu)"
    return None, None


@verdict("windows")
def windows_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    os_name = get_path(facts, "os.name")
    if os_name == "windows":
        return True, "the paste shows Windows"
    if os_name in ("linux", "darwin"):
        return False, f"the paste shows {os_name}, not Windows"
    return None, None


# The first torch release with wheels for each Python (PyPI release files), for
# releases older than the knowledge table: a pin below it cannot install there.
FIRST_TORCH_FOR_PYTHON = {"3.8": "1.4", "3.9": "1.7.1", "3.10": "1.11", "3.11": "1.13",
                          "3.12": "2.2", "3.13": "2.5", "3.14": "2.9"}


def _too_old_for(torch_version: str, python: str) -> bool:
    from packaging.version import InvalidVersion, Version

    first = FIRST_TORCH_FOR_PYTHON.get(".".join(python.split(".")[:2]))
    try:
        return bool(first) and Version(torch_version.split("+")[0]) < Version(first)
    except InvalidVersion:
        return False


@verdict("python_wheels")
def python_verdict(facts: dict[str, Any], subjects: list[str]) -> Verdict:
    from csm_doctor.knowledge.tables import python_supported

    python = (get_path(facts, "python.version") or "").split()
    for torch_version in subjects:
        if not python:
            break
        supported = python_supported(torch_version, python[0], get_path(facts, "os.name"))
        if supported is False or (supported is None and _too_old_for(torch_version, python[0])):
            return True, f"torch {torch_version} has no wheels for Python {python[0]}"
    return None, None


@verdict("gpu_missing")
def gpu_missing_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    """No NVIDIA GPU at all (a Mac) settles "Torch not compiled with CUDA" as a missing GPU."""
    if get_path(facts, "nvidia.gpus"):
        return False, "the paste shows an NVIDIA GPU"
    if get_path(facts, "os.name") == "darwin":
        return True, "the paste shows macOS, which has no CUDA GPU"
    # collect_env lists the GPUs nvidia-smi sees whatever torch's build; on Linux it finds
    # nvidia-smi where the driver puts it, so no GPU and no driver there means none is present
    if ("collect-env" in facts.get("_sources", ()) and get_path(facts, "os.name") == "linux"
            and not get_path(facts, "nvidia.driver_version")):
        return True, "collect_env shows no NVIDIA GPU and no NVIDIA driver"
    return None, None


@verdict("cpu_build_with_gpu")
def cpu_build_with_gpu_verdict(facts: dict[str, Any], subjects: list[str]) -> Verdict:
    """A CPU-only torch on a machine whose paste shows an NVIDIA GPU (for facts alone)."""
    confirmed, why = cpu_build_verdict(facts, subjects)
    if confirmed and get_path(facts, "nvidia.gpus"):
        return True, f"{why}, and the paste shows an NVIDIA GPU"
    return None, None


@verdict("numpy_abi")
def numpy_verdict(facts: dict[str, Any], _subjects: list[str]) -> Verdict:
    """torch built against NumPy 1.x (the torch table) beside NumPy 2 in the pasted packages."""
    from csm_doctor.knowledge import parse_version
    from csm_doctor.knowledge.tables import torch_needs_numpy1

    packages = get_path(facts, "packages") or {}
    torch, numpy = _torch_version(facts), packages.get("numpy")
    numpy_version = parse_version(numpy)
    if not torch or numpy_version is None:
        return None, None
    if numpy_version.release[0] < 2:
        return False, f"numpy {numpy} is 1.x"
    if torch_needs_numpy1(torch):
        return True, f"torch {torch} was built against NumPy 1.x and numpy {numpy} is installed"
    return None, None
