"""The probe contract and the concurrent, time-bounded, crash-isolated runner.

Modelled on Flutter's doctor: probes run concurrently, each with its own
timeout; a probe that raises or overruns is recorded (status error/timeout)
and the run goes on, so one wedged driver never takes the report down.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from csm_doctor.recipe import Recipe


@dataclass
class ProbeContext:
    """What every probe may read: the target interpreter, options, the recipe."""

    python: str
    offline: bool = False
    level: int = 2
    recipe: Recipe | None = None
    timeout_scale: float = 1.0
    earlier: dict[str, Any] = field(default_factory=dict)  # facts from earlier phases
    # Called with (seconds so far, probes still running) past STILL_WORKING_S, every NOTE_EVERY_S.
    on_wait: Callable[[float, list[str]], None] | None = None

    @property
    def gated_repos(self) -> tuple[str, ...]:
        """Every gated repo a recipe here could need: facts then judge any recipe."""
        return tuple(dict.fromkeys(r for rec in self._recipes() for r in rec.gated_repos))

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e["name"] for rec in self._recipes() for e in rec.env))

    def _recipes(self) -> list[Recipe]:
        from csm_doctor.recipe import list_recipes

        extra = [self.recipe] if self.recipe is not None else []
        return extra + [r for r in list_recipes() if self.recipe is None or r.id != self.recipe.id]

    def timeout(self, seconds: float) -> float:
        return seconds * self.timeout_scale


@dataclass(frozen=True)
class Probe:
    """A named fact-gatherer; `sections` are the facts keys it owns."""

    name: str
    sections: tuple[str, ...]
    run: Callable[[ProbeContext], dict[str, Any]]
    timeout: float
    phase: int = 1  # phase 2 probes see phase 1 facts in ctx.earlier


@dataclass
class ProbeOutcome:
    name: str
    status: str  # ok | error | timeout | skipped
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {"status": self.status, "seconds": round(self.seconds, 3), "error": self.error}


class ProbeSkipped(Exception):
    """Raised by a probe that has nothing to do here (e.g. offline)."""


def run_probes(probes: list[Probe], ctx: ProbeContext) -> list[ProbeOutcome]:
    """Run probes concurrently in daemon threads; never wait past a probe's timeout.

    Daemon threads (not an executor) so an abandoned, hung probe cannot keep
    the process alive at exit.
    """
    slots: dict[str, ProbeOutcome] = {}
    threads: list[tuple[Probe, threading.Thread, float]] = []
    for probe in probes:
        thread = threading.Thread(target=_guarded, args=(probe, ctx, slots), daemon=True,
                                  name=f"probe-{probe.name}")
        thread.start()
        threads.append((probe, thread, time.monotonic()))
    outcomes = []
    waiting = _Waiting(ctx, threads)
    for probe, thread, started in threads:
        budget = ctx.timeout(probe.timeout)
        deadline = started + budget
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(min(0.5, max(0.0, deadline - time.monotonic())))
            waiting.tick()
        outcome = slots.get(probe.name)
        if outcome is None or thread.is_alive():
            outcome = ProbeOutcome(probe.name, "timeout", time.monotonic() - started,
                                   error=f"no answer within {budget:g} s")
        outcomes.append(outcome)
    return outcomes


STILL_WORKING_S = 10.0
NOTE_EVERY_S = 10.0


class _Waiting:
    """Says "still working" (through ctx.on_wait) when probing runs long, naming what it waits for."""

    def __init__(self, ctx: ProbeContext, threads: list[tuple[Probe, threading.Thread, float]]) -> None:
        self.ctx, self.threads = ctx, threads
        self.started = time.monotonic()
        self.next_note = self.started + STILL_WORKING_S

    def tick(self) -> None:
        now = time.monotonic()
        if self.ctx.on_wait is None or now < self.next_note:
            return
        self.next_note = now + NOTE_EVERY_S
        pending = [p.name for p, t, _ in self.threads if t.is_alive()]
        if pending:
            try:
                self.ctx.on_wait(now - self.started, pending)
            except Exception:  # noqa: BLE001 - a note must never stop probing
                pass


def _guarded(probe: Probe, ctx: ProbeContext, slots: dict[str, ProbeOutcome]) -> None:
    started = time.monotonic()
    try:
        facts = probe.run(ctx)
        slots[probe.name] = ProbeOutcome(probe.name, "ok", time.monotonic() - started, facts)
    except ProbeSkipped as exc:
        slots[probe.name] = ProbeOutcome(probe.name, "skipped", time.monotonic() - started,
                                         error=str(exc) or None)
    except BaseException as exc:  # noqa: BLE001 - a crashing probe must not stop the run
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        slots[probe.name] = ProbeOutcome(probe.name, "error", time.monotonic() - started,
                                         error=f"{type(exc).__name__}: {exc}{where}")
