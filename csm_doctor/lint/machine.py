"""What the lint rules may ask about the machine that will train: OS, GPU memory, torch, Python.

A config is only wrong relative to a machine (400 frames per batch is right for a T4 and
wasteful on an H100), so the rules ask here. Answers come from, first to last: the
command line (`--vram-gb`), a saved facts document (`--facts`, e.g. from the training box),
or a cheap probe of this machine, run once and only when a rule asks: the system, NVIDIA,
Apple and target-interpreter probes, never importing torch and never touching the network.
"""

from __future__ import annotations

from typing import Any

from csm_doctor.facts import get_path

LINT_PROBES = ("system", "nvidia", "apple", "target")


class Machine:
    """Lazily gathered facts about the training machine, and where each answer came from."""

    def __init__(self, *, python: str | None = None, facts_file: str | None = None,
                 vram_gb: float | None = None, recipe: Any = None,
                 facts: dict[str, Any] | None = None) -> None:
        self._python = python
        self._facts_file = facts_file
        self._vram_gb = vram_gb
        self._recipe = recipe
        self._facts = facts
        self._given = facts is not None
        self.used: dict[str, Any] = {}

    @property
    def source(self) -> str:
        if self._facts_file:
            return f"facts file {self._facts_file}"
        if self._given:
            return "given facts"
        return "this machine (probed)"

    def facts(self) -> dict[str, Any]:
        if self._facts is None:
            if self._facts_file:
                from csm_doctor.facts import load_facts

                self._facts = load_facts(self._facts_file)
            else:
                self._facts = self._probe()
        return self._facts

    def _probe(self) -> dict[str, Any]:
        import os

        from csm_doctor.probes import PROBES, ProbeContext, collect_facts
        from csm_doctor.probes.target import default_python

        from csm_doctor.settings import timeout_scale

        scale = timeout_scale()
        ctx = ProbeContext(python=os.path.abspath(self._python) if self._python
                           else default_python(), offline=True, level=1, recipe=self._recipe,
                           timeout_scale=scale)
        return collect_facts(ctx, tuple(p for p in PROBES if p.name in LINT_PROBES))

    def fact(self, path: str) -> Any:
        value = get_path(self.facts(), path)
        if value is not None:
            self.used[path] = value
        return value

    @property
    def os_name(self) -> str | None:
        return self.fact("os.name")

    @property
    def python_version(self) -> str | None:
        return self.fact("python.version")

    @property
    def torch_version(self) -> str | None:
        return self.fact("torch.version")

    def packages(self) -> dict[str, str] | None:
        return self.fact("packages")

    def env(self, name: str) -> str | None:
        return (self.fact("env") or {}).get(name)

    def accelerator_memory(self) -> tuple[float | None, str]:
        """(GiB, what it is) of the smallest training device: a T4 is 15 GiB, as nvidia-smi says."""
        if self._vram_gb is not None:
            self.used["vram_gib"] = self._vram_gb
            return self._vram_gb, f"{self._vram_gb:g} GiB GPU (--vram-gb)"
        gpus = [g for g in (self.fact("nvidia.gpus") or []) if g.get("memory_total_mib")]
        if gpus:
            smallest = min(gpus, key=lambda g: g["memory_total_mib"])
            gib = smallest["memory_total_mib"] / 1024
            self.used["vram_gib"] = round(gib, 2)
            return gib, f"{smallest.get('name') or 'GPU'} with {gib:.1f} GiB ({self.source})"
        unified = self.fact("apple.unified_memory_mib")
        if unified:
            gib = unified / 1024
            self.used["vram_gib"] = round(gib, 2)
            return gib, f"{gib:.0f} GiB of unified memory (Apple MPS, {self.source})"
        return None, f"no GPU memory known from {self.source}"

    def summary(self) -> dict[str, Any]:
        """What the rules actually used, for --json: so a reader can tell what was judged."""
        if self._facts is not None:
            source = self.source
        else:
            source = "--vram-gb" if "vram_gib" in self.used else None
        failed = {name: record.get("error") for name, record in
                  ((self._facts or {}).get("probes") or {}).items()
                  if record.get("status") in ("error", "timeout")}
        return {"source": source, "facts_used": dict(self.used), "probe_errors": failed}
