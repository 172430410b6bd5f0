"""NVIDIA driver and GPUs, in layers: NVML first, then nvidia-smi by absolute path.

NVML (nvidia-ml-py) answers without spawning anything and gives the driver's
maximum CUDA directly. Where it is missing (no libnvidia-ml, a container
without it) `nvidia-smi` is read instead, with a timeout, because it can hang
on a wedged driver. On Linux the PCI bus tells whether NVIDIA hardware exists
at all, which separates "no driver" from "no GPU".
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from csm_doctor.gpu import facts_gpu
from csm_doctor.probes.base import ProbeContext
from csm_doctor.probes.command import find_executable
from csm_doctor.process import run_command
from csm_doctor.settings import nvml_enabled

NVIDIA_PCI_VENDOR = "0x10de"
QUERY_FIELDS = ["index", "name", "memory.total", "memory.used", "memory.free", "compute_cap",
                "pci.bus_id", "driver_version"]


def nvidia_pci_devices(sysfs: Path = Path("/sys/bus/pci/devices")) -> int | None:
    """Count NVIDIA display/3D controllers on the PCI bus (Linux only)."""
    if not sys.platform.startswith("linux") or not sysfs.is_dir():
        return None
    count = 0
    for device in sysfs.iterdir():
        try:
            vendor = (device / "vendor").read_text().strip()
            klass = (device / "class").read_text().strip()
        except OSError:
            continue
        if vendor == NVIDIA_PCI_VENDOR and klass.startswith("0x03"):
            count += 1
    return count


def nvidia_possible(pci: int | None) -> bool:
    """False only when Linux can prove there is no NVIDIA driver or device to ask.

    uv's layered detection: the PCI bus, the driver's /proc and /sys entries and
    WSL's driver folder are free to read, NVML costs a library load.
    """
    if not sys.platform.startswith("linux") or pci:
        return True
    markers = ("/proc/driver/nvidia/version", "/sys/module/nvidia/version", "/dev/nvidiactl",
               "/usr/lib/wsl/lib/libnvidia-ml.so.1")
    return pci is None or any(os.path.exists(m) for m in markers)


def cuda_from_int(value: int) -> str:
    """NVML and the driver API encode CUDA 12.4 as 12040."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_nvml() -> dict[str, Any]:
    """All NVIDIA facts from NVML; raises on any NVML failure (the caller falls back)."""
    import pynvml

    pynvml.nvmlInit()
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        try:
            cuda = cuda_from_int(pynvml.nvmlSystemGetCudaDriverVersion_v2())
        except (pynvml.NVMLError, AttributeError):
            cuda = cuda_from_int(pynvml.nvmlSystemGetCudaDriverVersion())
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                capability: str | None = f"{major}.{minor}"
            except pynvml.NVMLError:
                capability = None
            try:
                bus_id: str | None = _text(pynvml.nvmlDeviceGetPciInfo(handle).busId)
            except pynvml.NVMLError:
                bus_id = None
            gpus.append({
                "processes": _nvml_processes(pynvml, handle),
                "index": index, "name": _text(pynvml.nvmlDeviceGetName(handle)),
                "memory_total_mib": int(mem.total // 2**20), "memory_used_mib": int(mem.used // 2**20),
                "memory_free_mib": int(mem.free // 2**20), "compute_capability": capability,
                "bus_id": bus_id,
            })
        return {"source": "nvml", "driver_version": driver, "cuda_version": cuda, "gpus": gpus}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _nvml_processes(pynvml: Any, handle: Any) -> list[dict[str, Any]]:
    """Processes holding this GPU's memory: what `cuda-oom` advice names."""
    found: dict[int, dict[str, Any]] = {}
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            for proc in getattr(pynvml, getter)(handle):
                used = getattr(proc, "usedGpuMemory", None)
                found.setdefault(proc.pid, {"pid": proc.pid, "memory_mib":
                                            int(used // 2**20) if isinstance(used, int) else None})
        except Exception:  # noqa: BLE001 - not supported on every GPU/driver
            continue
    return list(found.values())


def _nvml_error_id(exc: BaseException) -> str | None:
    """Map NVML errors that name a root cause; others just mean "try nvidia-smi"."""
    text = str(exc).lower()
    if "version mismatch" in text:
        return "nvidia-driver-library-mismatch"
    if "driver not loaded" in text:
        return "nvidia-driver-missing"
    return None


def _nvml_with_deadline(seconds: float) -> tuple[dict[str, Any] | None, BaseException | None]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["facts"] = read_nvml()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="nvml")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return None, TimeoutError(f"NVML did not answer within {seconds:g} s")
    return box.get("facts"), box.get("error")


def read_nvidia_smi(ctx: ProbeContext, smi: str) -> dict[str, Any]:
    """Facts from nvidia-smi: the CSV query for GPUs, the table header for CUDA."""
    from csm_doctor.parsers import nvidia_smi as parse

    facts: dict[str, Any] = {"source": "nvidia-smi", "driver_version": None, "cuda_version": None,
                             "gpus": []}
    query = run_command([smi, f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv"],
                        timeout=ctx.timeout(10))
    if query.timed_out:
        raise TimeoutError(f"{smi} did not answer within {ctx.timeout(10):g} s (a hung driver?)")
    error_id = parse.detect_error(query.output)
    if error_id:
        facts.update(error_id=error_id, error=_first_line(query.output))
        return facts
    if query.returncode == 0:
        rows = parse.parse_query_gpu_csv(query.stdout)
        facts["gpus"] = [facts_gpu(row) for row in rows]
        facts["driver_version"] = next((r.get("driver_version") for r in rows
                                        if r.get("driver_version")), None)
    table = run_command([smi], timeout=ctx.timeout(10))
    answered = query.returncode == 0 or (not table.timed_out and table.returncode == 0)
    if not table.timed_out:
        error_id = parse.detect_error(table.output)
        if error_id:
            facts.update(error_id=error_id, error=_first_line(table.output))
            return facts
        header = parse.parse_table(table.stdout)
        facts["cuda_version"] = header.get("cuda_version")
        facts["driver_version"] = facts["driver_version"] or header.get("driver_version")
        if not facts["gpus"]:  # drivers too old for compute_cap in --query-gpu
            facts["gpus"] = [facts_gpu(g) for g in header.get("gpus", [])]
        _attach_processes(facts["gpus"], header.get("processes", []))
    if answered and not (facts["gpus"] or facts["driver_version"] or facts["cuda_version"]):
        # Exit 0 yet nothing readable: a broken install or a wrapper, not "no GPU".
        raise UnreadableOutput(f"{smi} exited 0 but printed nothing csm-doctor can read "
                               f"(first line: {_shown_line(query.output or table.output)})")
    if query.returncode not in (0, None) and not facts["gpus"]:
        facts["error"] = _first_line(query.output) or f"nvidia-smi exited {query.returncode}"
    return facts


class UnreadableOutput(RuntimeError):
    """A tool that says it succeeded but whose output parses as nothing: a probe error."""


def _shown_line(text: str) -> str:
    line = _first_line(text)
    return "empty" if line is None else repr(line[:80])


def _attach_processes(gpus: list[dict[str, Any]], processes: list[dict[str, Any]]) -> None:
    """The table's process rows, under their GPU, in NVML's shape (pid, memory_mib)."""
    for gpu in gpus:
        gpu["processes"] = [{"pid": p.get("pid"), "memory_mib": p.get("memory_mib")}
                            for p in processes if p.get("gpu_index") == gpu.get("index")]


def _first_line(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def probe_nvidia(ctx: ProbeContext) -> dict[str, Any]:
    pci = nvidia_pci_devices()
    nvml_error: BaseException | None = None
    if nvml_enabled() and nvidia_possible(pci):
        facts, nvml_error = _nvml_with_deadline(ctx.timeout(5))
        if facts is not None:
            return {"nvidia": {**facts, "pci_devices": pci, "error_id": None, "error": None}}
    smi = find_executable("nvidia-smi")
    if smi is not None:
        facts = read_nvidia_smi(ctx, smi)
        return {"nvidia": {**facts, "pci_devices": pci, "error_id": facts.get("error_id"),
                           "error": facts.get("error")}}
    error_id = _nvml_error_id(nvml_error) if nvml_error else None
    if error_id is None and pci:
        error_id = "nvidia-driver-missing"  # hardware on the bus, no driver to talk to it
    return {"nvidia": {"source": None, "driver_version": None, "cuda_version": None, "gpus": [],
                       "pci_devices": pci, "error_id": error_id,
                       "error": str(nvml_error) if error_id and nvml_error else None}}
