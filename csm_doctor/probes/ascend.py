"""Ascend NPUs through `npu-smi info` (absolute path, timeout)."""

from __future__ import annotations

from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.probes.command import find_executable, run_command


def probe_ascend(ctx: ProbeContext) -> dict[str, Any]:
    from csm_doctor.parsers.npu_smi import parse_npu_smi_info

    smi = find_executable("npu-smi")
    if smi is None:
        return {"ascend": {"npu_smi_version": None, "npus": [], "error": None}}
    result = run_command([smi, "info"], timeout=ctx.timeout(10))
    if result.timed_out:
        raise TimeoutError(f"{smi} info did not answer within {ctx.timeout(10):g} s")
    parsed = parse_npu_smi_info(result.stdout)
    error = None
    if result.returncode != 0 or not parsed.get("npus"):
        error = (result.output.strip().splitlines() or [f"exit {result.returncode}"])[-1][:200]
    return {"ascend": {"npu_smi_version": parsed.get("npu_smi_version"),
                       "npus": parsed.get("npus", []), "error": error}}
