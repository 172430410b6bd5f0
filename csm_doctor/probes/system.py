"""OS, architecture, RAM and free disk: the facts every recipe's minimums read."""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.probes.command import find_executable

# System tools recipes may need besides ffmpeg (which has a probe of its own).
# sox and git are judged; the package managers are where fix (and check's remedies) install
# ffmpeg/sox from, by absolute path, so a replayed document prints what that machine would run.
OTHER_TOOLS = ("sox", "git", "apt-get", "dnf", "brew", "winget")

SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)

# Only non-secret variables that change how CSM and its stack behave are recorded.
RELEVANT_ENV = (
    "NO_TORCH_COMPILE", "NO_CUDA_GRAPH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "CUDA_PATH",
    "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_ENDPOINT", "TRANSFORMERS_OFFLINE",
    "PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_NPU_ALLOC_CONF", "PYTORCH_ENABLE_MPS_FALLBACK",
    "ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "ASCEND_RT_VISIBLE_DEVICES", "VIRTUAL_ENV",
    "CONDA_PREFIX",
    # Several GPUs and nodes (csm-doctor cluster): what torch.distributed and NCCL read.
    "CUDA_DEVICE_ORDER", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK",
    "LOCAL_WORLD_SIZE", "NODE_RANK", "NCCL_P2P_DISABLE", "NCCL_IB_DISABLE", "NCCL_SHM_DISABLE",
    "NCCL_NET", "NCCL_NVLS_ENABLE", "NCCL_SOCKET_IFNAME", "NCCL_DEBUG", "NCCL_IB_HCA",
    "GLOO_SOCKET_IFNAME", "TORCH_NCCL_ASYNC_ERROR_HANDLING", "TORCH_NCCL_BLOCKING_WAIT",
)


def os_name() -> str:
    return {"linux": "linux", "win32": "windows", "darwin": "darwin"}.get(
        "linux" if sys.platform.startswith("linux") else sys.platform, "other")


def hf_cache_dir() -> Path:
    """Where checkpoints will be written: HF_HUB_CACHE, HF_HOME/hub, or the default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "huggingface")
    return Path(home) / "hub"


def _existing_parent(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def _distro() -> dict[str, Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    import distro

    return {"id": distro.id() or None, "name": distro.name() or None,
            "version": distro.version() or None}


def _os_version() -> str | None:
    if sys.platform == "darwin":
        return platform.mac_ver()[0] or None
    if sys.platform == "win32":
        return platform.version() or None
    return platform.version() or None


def _is_wsl() -> bool:
    try:
        return "microsoft" in Path("/proc/version").read_text(errors="replace").lower()
    except OSError:
        return False


def probe_system(ctx: ProbeContext) -> dict[str, Any]:
    import psutil

    mem = psutil.virtual_memory()
    disk_path = _existing_parent(hf_cache_dir())
    usage = psutil.disk_usage(str(disk_path))
    mib = 1024 * 1024
    return {
        "os": {
            "name": os_name(),
            "release": platform.release() or None,
            "version": _os_version(),
            "arch": platform.machine().lower() or None,
            "distro": _distro(),
            "wsl": _is_wsl() if sys.platform.startswith("linux") else False,
            "is_root": os.geteuid() == 0 if hasattr(os, "geteuid") else None,
        },
        "memory": {"total_mib": int(mem.total // mib), "available_mib": int(mem.available // mib)},
        "disk": {"path": str(disk_path), "total_mib": int(usage.total // mib),
                 "free_mib": int(usage.free // mib)},
        "env": {k: os.environ[k] for k in _env_names(ctx) if k in os.environ},
        "tools": {name: find_executable(name) for name in OTHER_TOOLS},
        "shm": _shm(),
    }


def _shm() -> dict[str, Any] | None:
    """/dev/shm's size: a container's 64 MB default breaks DataLoader workers and NCCL."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"):
        return None
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    mib = 1024 * 1024
    return {"path": "/dev/shm", "total_mib": int(stat.f_blocks * stat.f_frsize // mib),
            "free_mib": int(stat.f_bavail * stat.f_frsize // mib)}


def _env_names(ctx: ProbeContext) -> list[str]:
    """The allow-list plus the recipe's own variables, never anything secret-looking."""
    names = list(RELEVANT_ENV) + list(ctx.env_names)
    return [n for n in dict.fromkeys(names) if not SECRET_NAME.search(n)]
