"""Probe the environment under test: its Python, its packages, its torch.

Everything that needs the target's torch runs in a subprocess of the target
interpreter (`--python`), so a broken CUDA install cannot crash the doctor and
the doctor never imports torch itself. Torch's build is always read from its
metadata and `torch/version.py` (fast); importing it (seconds) happens at
level 2 only when there is an accelerator it could use, at level 3 always.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.process import isolated_env, python_argv, run_command

MARKER = "@@CSM_DOCTOR_JSON@@"
SCRIPT = (Path(__file__).with_name("target_script.py")).read_text(encoding="utf-8") \
    if Path(__file__).with_name("target_script.py").is_file() else ""


class TargetProbeError(RuntimeError):
    """The target interpreter could not be run or did not answer in JSON."""


def default_python() -> str:
    """The environment under test when --python is not given (probes/resolve.py says how)."""
    from csm_doctor.probes.resolve import resolve_target

    return resolve_target().python


def run_target_script(python: str, timeout: float, import_torch: bool) -> dict[str, Any]:
    argv = python_argv(python, "-c", SCRIPT) + (["import-torch"] if import_torch else [])
    result = run_command(argv, timeout=timeout, env=isolated_env())
    if result.timed_out:
        raise TargetProbeError(f"{python} did not answer within {timeout:g} s")
    if result.returncode is None:
        raise TargetProbeError(result.stderr.strip() or f"cannot run {python}")
    if MARKER not in result.stdout:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetProbeError(f"{python} exited {result.returncode}: {tail}")
    payload = result.stdout.rsplit(MARKER, 1)[1].strip()
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise TargetProbeError(f"unreadable answer from {python}: {exc.msg}") from None


def should_import_torch(ctx: ProbeContext) -> bool:
    """Importing torch costs seconds; only do it when it can tell us something."""
    if ctx.level >= 3:
        return True
    if ctx.level <= 1:
        return False
    earlier = ctx.earlier
    nvidia = earlier.get("nvidia") or {}
    ascend = earlier.get("ascend") or {}
    os_facts = earlier.get("os") or {}
    return bool(nvidia.get("gpus") or nvidia.get("pci_devices") or ascend.get("npus")
                or (os_facts.get("name") == "darwin" and os_facts.get("arch") == "arm64")
                or "torch-npu" in (earlier.get("packages") or {}))


def probe_target(ctx: ProbeContext) -> dict[str, Any]:
    """Phase 1: Python, packages and torch's build from metadata (no torch import)."""
    _check_interpreter(ctx.python)
    facts = run_target_script(ctx.python, ctx.timeout(20), import_torch=False)
    return {"python": facts.get("python"), "packages": facts.get("packages"),
            "torch": facts.get("torch"), "dependencies": facts.get("dependencies")}


def probe_torch_import(ctx: ProbeContext) -> dict[str, Any]:
    """Phase 2: import torch in the target when an accelerator makes it worth seconds."""
    from csm_doctor.probes.base import ProbeSkipped

    if not (ctx.earlier.get("packages") or {}).get("torch"):
        raise ProbeSkipped("torch is not installed in the target")
    if not should_import_torch(ctx):
        raise ProbeSkipped(f"level {ctx.level}: no accelerator, torch read from its metadata")
    _check_interpreter(ctx.python)
    facts = run_target_script(ctx.python, ctx.timeout(60), import_torch=True)
    return {"torch": facts.get("torch")}


def _check_interpreter(python: str) -> None:
    if not python or not os.path.isfile(python):
        raise TargetProbeError(f"--python {python}: no such interpreter")
