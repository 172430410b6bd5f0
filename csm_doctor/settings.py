"""The CSM_DOCTOR_* environment variables: every one read, and checked, here.

A knob with a value csm-doctor cannot use is bad input like a bad flag: exit 2 naming
the variable, before anything runs. Before this, CSM_DOCTOR_TIMEOUT_SCALE=abc crashed
(exit 3) and 0, -1 or nan made every probe "time out" while check still exited 0.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from csm_doctor.errors import InputError, Problem

TIMEOUT_SCALE = "CSM_DOCTOR_TIMEOUT_SCALE"
NVML = "CSM_DOCTOR_NVML"
ASCEND_ROOT = "CSM_DOCTOR_ASCEND_ROOT"
STATE_DIR = "CSM_DOCTOR_STATE_DIR"
SMOKE_FAULT = "CSM_DOCTOR_SMOKE_FAULT"
CLUSTER_FAULT = "CSM_DOCTOR_CLUSTER_FAULT"
DEBUG = "CSM_DOCTOR_DEBUG"

SCALE_RANGE = (0.01, 1000.0)  # below 1/100 every probe times out; above, a hang waits hours
SMOKE_FAULTS = ("oom", "nan", "hang", "empty")  # smoke/target_smoke.py's test-only faults

# What each knob is for (docs/security.md lists them); a knob read anywhere must be here.
KNOBS: dict[str, str] = {
    TIMEOUT_SCALE: f"multiplies every timeout; a number from {SCALE_RANGE[0]:g} to "
                   f"{SCALE_RANGE[1]:g} (default 1)",
    NVML: "0 skips NVML and reads nvidia-smi instead; 0 or 1 (default 1)",
    ASCEND_ROOT: "where the Ascend CANN toolkit is installed (default /usr/local/Ascend)",
    STATE_DIR: "where fix keeps its snapshots and undo records; an absolute path",
    SMOKE_FAULT: "test-only fault injection for smoke: " + ", ".join(SMOKE_FAULTS),
    CLUSTER_FAULT: "test-only fault injection for a cluster rank (cluster/target_cluster.py); "
                   "read by the target, never by csm-doctor's own process",
    DEBUG: "any non-empty value: show the traceback of an internal error",
}


def _value(name: str) -> str | None:
    raw = os.environ.get(name)
    return raw if raw is not None and raw.strip() != "" else None


def _scale_problem(raw: str) -> str | None:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low, high = SCALE_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        return f"must be a number from {low:g} to {high:g} (it multiplies every timeout), " \
               f"got {raw[:40]!r}"
    return None


def problems() -> list[Problem]:
    """Every CSM_DOCTOR_* variable that is set to something unusable."""
    found: list[Problem] = []
    scale = _value(TIMEOUT_SCALE)
    if scale is not None and (why := _scale_problem(scale)):
        found.append(Problem(why, key=TIMEOUT_SCALE))
    nvml = _value(NVML)
    if nvml is not None and nvml.strip() not in ("0", "1"):
        found.append(Problem(f"must be 0 or 1, got {nvml[:40]!r}", key=NVML))
    state = _value(STATE_DIR)
    if state is not None and not os.path.isabs(os.path.expanduser(state)):
        found.append(Problem(f"must be an absolute path, got {state[:80]!r} (a relative one "
                             "would move with the current folder and lose undo)", key=STATE_DIR))
    fault = _value(SMOKE_FAULT)
    if fault is not None and fault.strip().lower() not in SMOKE_FAULTS:
        found.append(Problem(f"must be one of {', '.join(SMOKE_FAULTS)}, got {fault[:40]!r}",
                             key=SMOKE_FAULT))
    return found


def check_environment() -> None:
    """InputError (exit 2) naming each CSM_DOCTOR_* variable whose value is unusable."""
    found = problems()
    if found:
        raise InputError("environment", found)


def timeout_scale() -> float:
    """CSM_DOCTOR_TIMEOUT_SCALE as a number (1 when unset); InputError when unusable."""
    raw = _value(TIMEOUT_SCALE)
    if raw is None:
        return 1.0
    why = _scale_problem(raw)
    if why:
        raise InputError.single("environment", why, key=TIMEOUT_SCALE)
    return float(raw)


def nvml_enabled() -> bool:
    return (_value(NVML) or "1").strip() != "0"


def ascend_root() -> Path:
    return Path(_value(ASCEND_ROOT) or "/usr/local/Ascend")


def state_dir_override() -> Path | None:
    raw = _value(STATE_DIR)
    return Path(os.path.expanduser(raw)) if raw is not None else None


def debug() -> bool:
    return _value(DEBUG) is not None
