"""Ascend NPUs: `npu-smi info`, the CANN toolkit and whether its environment is sourced.

torch_npu needs both the driver's `libascend_hal.so` and the CANN environment
(`source …/ascend-toolkit/set_env.sh` exports ASCEND_HOME_PATH/ASCEND_TOOLKIT_HOME
and the library paths); a shell that never sourced it is the commonest trap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.errors import InputError
from csm_doctor.probes.command import find_executable
from csm_doctor.process import run_command
from csm_doctor.safeio import read_input
from csm_doctor.settings import ascend_root

# Overridable for tests and for installs under $HOME (non-root CANN installs).
ASCEND_ROOT = ascend_root()
HAL = "libascend_hal.so"


def install_dirs(root: Path | None = None) -> list[Path]:
    """CANN install roots, newest layout first: cann/ and cann-X.Y.Z/ (8.5+), ascend-toolkit/."""
    root = root or ASCEND_ROOT
    if not root.is_dir():
        return []
    versioned = sorted(root.glob("cann-*"), reverse=True)
    return [d for d in [root / "cann", *versioned, root / "ascend-toolkit" / "latest"] if d.is_dir()]


def toolkit_home(root: Path | None = None) -> Path | None:
    """The CANN toolkit: from the sourced environment, else the default install paths."""
    for var in ("ASCEND_TOOLKIT_HOME", "ASCEND_HOME_PATH"):
        if os.environ.get(var):
            return Path(os.environ[var])
    dirs = install_dirs(root)
    return dirs[0] if dirs else None


def cann_version(home: Path | None) -> str | None:
    """`version=8.0.RC3` lines in the toolkit's version.cfg or *install.info files."""
    if home is None:
        return None
    candidates = [home / "version.cfg", *sorted(home.glob("*install.info")),
                  *sorted(home.glob("*/ascend_toolkit_install.info"))]
    for path in candidates:
        try:  # a FIFO or a huge file under a user-set root is skipped, never waited on
            text = read_input(path, 64 * 1024).decode("utf-8", errors="replace")
        except InputError:
            continue
        match = re.search(r"^(?:Version|version)\s*=\s*([\w.\-]+)", text, re.M) or \
            re.search(r"toolkit_installed_version=\[[^:\]]*:?([\w.\-]+)\]", text)
        if match:
            return match.group(1)
    return None


def hal_library(root: Path | None = None) -> str | None:
    """Where the driver's libascend_hal.so is, searching LD_LIBRARY_PATH then the driver dirs."""
    root = root or ASCEND_ROOT
    dirs = [Path(d) for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    dirs += [root / "driver" / "lib64" / sub for sub in ("driver", "common", "")]
    for directory in dirs:
        if (directory / HAL).exists():
            return str(directory / HAL)
    return None


def probe_ascend(ctx: ProbeContext) -> dict[str, Any]:
    from csm_doctor.parsers.npu_smi import parse_npu_smi_info

    home = toolkit_home()
    facts: dict[str, Any] = {
        "npu_smi_version": None, "npus": [], "error": None,
        "cann_version": cann_version(home),
        "toolkit_home": str(home) if home else None,
        "env_sourced": bool(os.environ.get("ASCEND_HOME_PATH") or
                            os.environ.get("ASCEND_TOOLKIT_HOME")),
        "set_env_script": _first_existing([d / "set_env.sh" for d in install_dirs()] +
                                          [ASCEND_ROOT / "ascend-toolkit" / "set_env.sh"]),
        "hal_library": hal_library(),
    }
    smi = find_executable("npu-smi")
    if smi is None:
        return {"ascend": facts}
    result = run_command([smi, "info"], timeout=ctx.timeout(10))
    if result.timed_out:
        raise TimeoutError(f"{smi} info did not answer within {ctx.timeout(10):g} s")
    parsed = parse_npu_smi_info(result.stdout)
    facts.update(npu_smi_version=parsed.get("npu_smi_version"), npus=parsed.get("npus", []))
    if result.returncode != 0 or not facts["npus"]:
        facts["error"] = (result.output.strip().splitlines() or [f"exit {result.returncode}"])[-1][:200]
    return {"ascend": facts}


def _first_existing(paths: list[Path]) -> str | None:
    return next((str(p) for p in paths if p.exists()), None)
