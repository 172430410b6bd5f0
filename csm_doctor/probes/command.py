"""Finding external tools safely: absolute paths only.

Windows runs a binary planted in the current directory before PATH, so tools
are resolved to absolute paths from absolute PATH entries (plus known install
locations). Running them is csm_doctor.process's job: a timeout, an output
cap, the whole process group killed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Where the NVIDIA and Ascend tools live when PATH does not say (WSL, Windows).
KNOWN_LOCATIONS: dict[str, tuple[str, ...]] = {
    "nvidia-smi": (
        "/usr/bin/nvidia-smi",
        "/usr/lib/wsl/lib/nvidia-smi",
        r"C:\Windows\System32\nvidia-smi.exe",
        r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
    ),
    "npu-smi": ("/usr/local/sbin/npu-smi", "/usr/local/bin/npu-smi"),
}


def find_executable(name: str, path_env: str | None = None) -> str | None:
    """Absolute path of `name`, searching only absolute PATH entries, then known spots."""
    exts = [""]
    if sys.platform == "win32":
        exts = [""] + os.environ.get("PATHEXT", ".EXE;.BAT;.CMD").lower().split(";")
    entries = (path_env if path_env is not None else os.environ.get("PATH", "")).split(os.pathsep)
    for entry in entries:
        if not entry or not os.path.isabs(entry):
            continue  # '' and '.' would let the current directory shadow real tools
        for ext in exts:
            candidate = Path(entry) / (name + ext)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for known in KNOWN_LOCATIONS.get(name, ()):
        if os.path.isfile(known) and os.access(known, os.X_OK):
            return known
    return None
