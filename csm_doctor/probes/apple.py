"""Apple silicon: the chip and its unified memory, which is MPS's "VRAM".

`sysctl -n machdep.cpu.brand_string` prints the chip ("Apple M4 Max") and
`sysctl -n hw.memsize` the memory in bytes; MPS availability itself comes from
the target's torch (`torch.backends.mps`).
"""

from __future__ import annotations

import sys
from typing import Any

from csm_doctor.probes.base import ProbeContext, ProbeSkipped
from csm_doctor.probes.command import find_executable
from csm_doctor.process import run_command


def read_sysctl(sysctl: str, key: str, timeout: float) -> str | None:
    result = run_command([sysctl, "-n", key], timeout=timeout)
    if result.timed_out or result.returncode != 0:
        return None
    value = result.stdout.strip()
    return value or None


def probe_apple(ctx: ProbeContext, platform: str = sys.platform) -> dict[str, Any]:
    if platform != "darwin":
        raise ProbeSkipped("not macOS")
    sysctl = find_executable("sysctl") or "/usr/sbin/sysctl"
    chip = read_sysctl(sysctl, "machdep.cpu.brand_string", ctx.timeout(5))
    memsize = read_sysctl(sysctl, "hw.memsize", ctx.timeout(5))
    memory = int(memsize) // 2**20 if memsize and memsize.isdigit() else None
    return {"apple": {"chip": chip, "apple_silicon": bool(chip and chip.startswith("Apple")),
                      "unified_memory_mib": memory}}
