"""Probes gather facts; each owns some top-level sections of the facts document.

Phase 1 probes run concurrently; phase 2 probes see phase 1's facts (torch is
only imported in the target when an accelerator was found).
"""

from __future__ import annotations

import datetime as _dt
import platform
from typing import Any

from csm_doctor import __version__
from csm_doctor.facts import empty_facts, merge_facts
from csm_doctor.probes.apple import probe_apple
from csm_doctor.probes.ascend import probe_ascend
from csm_doctor.probes.base import Probe, ProbeContext, ProbeOutcome, run_probes
from csm_doctor.probes.ffmpeg import probe_ffmpeg
from csm_doctor.probes.hf import probe_hf
from csm_doctor.probes.indexes import probe_indexes
from csm_doctor.probes.nvidia import probe_nvidia
from csm_doctor.probes.system import probe_system
from csm_doctor.probes.target import probe_target, probe_torch_import

PROBES: tuple[Probe, ...] = (
    Probe("system", ("os", "memory", "disk", "env", "tools", "shm"), probe_system, timeout=10),
    Probe("nvidia", ("nvidia",), probe_nvidia, timeout=25),
    Probe("ascend", ("ascend",), probe_ascend, timeout=15),
    Probe("apple", ("apple",), probe_apple, timeout=15),
    Probe("ffmpeg", ("ffmpeg",), probe_ffmpeg, timeout=15),
    Probe("hf", ("hf",), probe_hf, timeout=30),
    Probe("indexes", ("indexes",), probe_indexes, timeout=25),
    Probe("target", ("python", "packages", "torch", "dependencies"), probe_target, timeout=30),
    # Owns no section: if importing torch fails, the metadata facts still stand.
    Probe("torch-import", (), probe_torch_import, timeout=90, phase=2),
)


def owner_of(section: str) -> str | None:
    """The probe that owns a facts section ("torch" → "target")."""
    return next((p.name for p in PROBES if section in p.sections), None)


def collect_facts(ctx: ProbeContext, probes: tuple[Probe, ...] = PROBES) -> dict[str, Any]:
    """Run every probe (two phases) and assemble the facts document."""
    facts = empty_facts()
    facts["collected_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    facts["doctor"] = {"version": __version__, "python": platform.python_version()}
    for phase in sorted({p.phase for p in probes}):
        batch = [p for p in probes if p.phase == phase]
        for outcome in run_probes(batch, ctx):
            _absorb(facts, outcome)
        ctx.earlier = facts
    return facts


def _absorb(facts: dict[str, Any], outcome: ProbeOutcome) -> None:
    merge_facts(facts, outcome.facts)
    facts["probes"][outcome.name] = outcome.record()


__all__ = ["PROBES", "Probe", "ProbeContext", "collect_facts", "owner_of"]
