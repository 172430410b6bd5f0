#!/usr/bin/env python3
"""Time csm-doctor's start-up and its offline check against PyTorch's own environment report.

Absolute times say more about the machine than about csm-doctor, so every
figure that has a relative target is a ratio against a baseline measured in
the same run, in the same environment: ``python -m torch.utils.collect_env``,
the report a user would otherwise paste into a bug. The commands are
interleaved round-robin (one of each per repetition, the starting command
rotating) so that background load, CPU frequency and page-cache state weigh
on all of them alike instead of on whichever happened to run last.

Usage::

    python benchmarks/bench_check.py [--python PATH] [--repeat N] [--warmup K] [--json]

Exit codes follow csm-doctor's own contract: 0 every target met, 1 a target
missed, 2 the environment cannot be measured (bad --python, torch or
csm-doctor not importable there), 3 a measured command failed or timed out.

Standard library only, so the script runs from any interpreter, including one
that is not the environment it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

SCHEMA = "csm-doctor/bench-check/1"
CPU_SUFFIX = " [cpu]"  # samples key of a command's CPU seconds (user + system, from wait4)
TIMEOUT_S = 120.0
EXIT_OK, EXIT_MISSED, EXIT_ENV, EXIT_FAILED = 0, 1, 2, 3
REPO_ROOT = Path(__file__).resolve().parent.parent

# On the project's development machine `torch==2.13.0` resolves to a local CPU
# wheel; any other torch spec would make pip download gigabytes.
VENV_RECIPE = (f"python3 -m venv /tmp/bench-venv && "
               f"/tmp/bench-venv/bin/pip install -e {REPO_ROOT} torch==2.13.0")

# Runs inside the target interpreter: the versions for the report, and proof
# that both packages import there before any timing starts. The JSON goes on
# the last line because importing torch may print warnings.
PROBE_SCRIPT = """\
import json, sys
info = {"python": sys.version.split()[0], "prefix": sys.prefix}
for name in ("torch", "csm_doctor"):
    try:
        info[name] = __import__(name).__version__
    except Exception as exc:
        info[name + "_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(info))
"""


class BenchError(Exception):
    """A condition that ends the run; carries the exit code to end it with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    """A ceiling on the median: in seconds, or as a multiple of the baseline's median.

    Start-up (`--help`) is judged in absolute seconds because a person feels
    it directly; the check is judged relative to collect_env because both do
    comparable work whose cost scales with the machine.
    """

    limit: float
    relative: bool

    def describe(self, baseline: str) -> str:
        return f"<= {self.limit:g}x {baseline}" if self.relative else f"<= {self.limit:g} s"

    def met(self, median: float, baseline_median: float) -> bool:
        value = median / baseline_median if self.relative else median
        return value <= self.limit


@dataclass(frozen=True)
class Command:
    """One measured command: ``PY -m <module_args>``, the exit codes that count as a
    normal run, and its target (None marks the baseline)."""

    label: str
    module_args: tuple[str, ...]
    ok_codes: frozenset[int]
    target: Target | None

    def argv(self, python: str) -> list[str]:
        return [python, "-m", *self.module_args]


BASELINE = Command("collect_env", ("torch.utils.collect_env",), frozenset({0}), None)
COMMANDS: tuple[Command, ...] = (
    Command("csm-doctor --help", ("csm_doctor", "--help"), frozenset({0}),
            Target(0.15, relative=False)),
    # Exit 1 means "a required check failed", the normal verdict on a machine
    # without the recipe's GPU; only 2 (bad input) and 3 (crash) are failures.
    Command("csm-doctor check --offline", ("csm_doctor", "check", "--offline"),
            frozenset({0, 1}), Target(0.25, relative=True)),
    BASELINE,
)


def resolve_python(python: str) -> str:
    """An absolute path, because the commands run from a temporary directory where a
    relative one would not resolve; symlinks are kept, as a venv's python is one."""
    if os.sep in python or (os.altsep and os.altsep in python):
        return os.path.abspath(python)
    return shutil.which(python) or python


def child_env() -> dict[str, str]:
    """The user's environment unchanged but for NO_COLOR: the default behaviour is
    what is measured (NVML probing included), minus the cost of styling output
    that goes to /dev/null anyway."""
    return {**os.environ, "NO_COLOR": "1"}


def probe_target(python: str, env: dict[str, str], cwd: str) -> dict[str, Any]:
    """Check that the target can run every command before spending minutes timing it."""
    try:
        proc = subprocess.run([python, "-c", PROBE_SCRIPT], env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"cannot run --python {python}: {exc}", EXIT_ENV) from None
    lines = proc.stdout.strip().splitlines()
    try:
        info: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{python} did not answer the probe (exit {proc.returncode}): {tail}",
                         EXIT_ENV) from None
    missing = [f"  {name}: {info[name + '_error']}" for name in ("torch", "csm_doctor")
               if name + "_error" in info]
    if missing:
        raise BenchError(
            f"{python} cannot import what this benchmark needs:\n" + "\n".join(missing) +
            "\nThe baseline is torch's collect_env, so measure an environment that has both"
            f" csm-doctor and torch installed, e.g.:\n  {VENV_RECIPE}\n"
            "  python benchmarks/bench_check.py --python /tmp/bench-venv/bin/python\n"
            "(torch==2.13.0 is a local CPU wheel on the project's machines; elsewhere install"
            " the torch you deploy: see benchmarks/README.md)",
            EXIT_ENV)
    return info


def warn_if_other_env_active(python: str, target_prefix: str) -> None:
    """`csm-doctor check` examines the *active* environment (VIRTUAL_ENV, then
    CONDA_PREFIX) rather than the one it runs from; the environment is passed
    through unchanged, so say so when that would measure a different target."""
    active = os.environ.get("VIRTUAL_ENV") or os.environ.get("CONDA_PREFIX")
    if active and os.path.realpath(active) != os.path.realpath(target_prefix):
        print(f"bench_check: warning: {active} is the active environment, so "
              f"`csm-doctor check` examines it rather than {python}; deactivate it "
              "for a like-for-like measurement", file=sys.stderr)


def time_once(command: Command, python: str, env: dict[str, str], cwd: str) -> float:
    """Wall time of one run, process start-up included: that is what a user waits for."""
    return run_timed(command, python, env, cwd)[0]


def run_timed(command: Command, python: str, env: dict[str, str],
              cwd: str) -> tuple[float, float | None]:
    """(wall seconds, CPU seconds of the child or None) for one run.

    The wait must not poll: `subprocess.run(..., timeout=...)` without pipes waits
    in a loop of growing sleeps (up to 50 ms), so every figure snapped to the next
    ~50 ms step (`--help` read 0.064 s for a real 0.039 s). On POSIX the child is
    reaped with a blocking `os.wait4` (which also gives its CPU time) while a timer
    kills it on timeout; elsewhere `Popen.wait(timeout)` waits on the process
    handle, which does not poll either.
    """
    argv = command.argv(python)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu: float | None = None
    if hasattr(os, "wait4"):
        timer = threading.Timer(TIMEOUT_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: tell Popen
        cpu = usage.ru_utime + usage.ru_stime
        timed_out = elapsed >= TIMEOUT_S
    else:
        try:
            proc.wait(timeout=TIMEOUT_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        elapsed = time.perf_counter() - start
    if timed_out:
        raise BenchError(f"{' '.join(argv)} ran past {TIMEOUT_S:g} s", EXIT_FAILED)
    if proc.returncode not in command.ok_codes:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode} (expected "
                         f"{'/'.join(map(str, sorted(command.ok_codes)))}); run it by hand "
                         "to see why", EXIT_FAILED)
    return elapsed, cpu


def measure(python: str, repeat: int, warmup: int, env: dict[str, str],
            cwd: str) -> dict[str, list[float]]:
    """Run every command once per repetition, rotating which goes first; warm-up
    repetitions fill the page cache and bytecode caches and are discarded."""
    samples: dict[str, list[float]] = {c.label: [] for c in COMMANDS}
    samples.update({c.label + CPU_SUFFIX: [] for c in COMMANDS})
    total = warmup + repeat
    for rep in range(total):
        if sys.stderr.isatty():
            print(f"\rbench_check: repetition {rep + 1}/{total}"
                  f"{' (warm-up)' if rep < warmup else ''}   ", end="", file=sys.stderr)
        shift = rep % len(COMMANDS)
        for command in COMMANDS[shift:] + COMMANDS[:shift]:
            elapsed, cpu = run_timed(command, python, env, cwd)
            if rep >= warmup:
                samples[command.label].append(elapsed)
                if cpu is not None:
                    samples[command.label + CPU_SUFFIX].append(cpu)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return samples


def build_report(python: str, repeat: int, warmup: int, info: dict[str, Any],
                 samples: dict[str, list[float]]) -> dict[str, Any]:
    """The one source of truth for both outputs: the table is rendered from this."""
    baseline_median = statistics.median(samples[BASELINE.label])
    results = []
    for command in COMMANDS:
        runs = samples[command.label]
        median = statistics.median(runs)
        target = command.target
        results.append({
            "command": command.label,
            "argv": ["PY", "-m", *command.module_args],
            "median_s": round(median, 4),
            "min_s": round(min(runs), 4),
            "max_s": round(max(runs), 4),
            "samples_s": [round(s, 4) for s in runs],
            "cpu_median_s": round(statistics.median(cpus), 4) if (cpus := samples.get(
                command.label + CPU_SUFFIX)) else None,
            "ratio": round(median / baseline_median, 3),
            "target": None if target is None else {
                "limit": target.limit,
                "unit": f"x {BASELINE.label}" if target.relative else "s",
                "text": target.describe(BASELINE.label)},
            "verdict": "baseline" if target is None
                       else "pass" if target.met(median, baseline_median) else "miss",
        })
    return {
        "schema": SCHEMA,
        "python": python,
        "repeat": repeat,
        "warmup": warmup,
        "baseline": BASELINE.label,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": info["python"], "torch": info["torch"],
                    "csm_doctor": info["csm_doctor"]},
        "results": results,
        "all_targets_met": all(r["verdict"] != "miss" for r in results),
    }


def render_table(report: dict[str, Any]) -> str:
    """A plain-text table (ASCII only, so it pastes anywhere) and the machine line."""
    header = ("command", "median s", "min s", "max s", "cpu s", f"x {report['baseline']}",
              "target", "verdict")
    rows = [header] + [
        (r["command"], f"{r['median_s']:.3f}", f"{r['min_s']:.3f}", f"{r['max_s']:.3f}",
         f"{r['cpu_median_s']:.3f}" if r.get("cpu_median_s") is not None else "-",
         f"{r['ratio']:.2f}", r["target"]["text"] if r["target"] else "-", r["verdict"])
        for r in report["results"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    # The command column reads best left-aligned, the numbers right-aligned.
    aligns = ["<", ">", ">", ">", ">", ">", "<", "<"]
    lines = ["  ".join(f"{cell:{a}{w}}"
                       for cell, a, w in zip(row, aligns, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = report["machine"]
    lines.append("")
    lines.append(f"machine: {m['platform']}, {m['cpu_count']} CPUs, Python {m['python']}, "
                 f"torch {m['torch']}, csm-doctor {m['csm_doctor']}; "
                 f"{report['repeat']} measured runs of each command, "
                 f"{report['warmup']} warm-up discarded")
    return "\n".join(lines)


def count(minimum: int) -> Callable[[str], int]:
    """An argparse type for an integer of at least `minimum`."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value
    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, metavar="PATH",
                        help="interpreter of the environment to measure; it needs both "
                             "csm-doctor and torch (default: this interpreter)")
    parser.add_argument("--repeat", type=count(1), default=7, metavar="N",
                        help="measured runs of each command (default 7)")
    parser.add_argument("--warmup", type=count(0), default=1, metavar="K",
                        help="discarded runs of each command first (default 1)")
    parser.add_argument("--json", action="store_true",
                        help=f"print one JSON object (schema {SCHEMA}) instead of a table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.python = resolve_python(args.python)
    env = child_env()
    try:
        # An empty working directory: `-m` puts the cwd first on sys.path, and a
        # source checkout there would shadow the installation being measured.
        with tempfile.TemporaryDirectory(prefix="bench-check-") as cwd:
            info = probe_target(args.python, env, cwd)
            warn_if_other_env_active(args.python, info["prefix"])
            samples = measure(args.python, args.repeat, args.warmup, env, cwd)
    except BenchError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return exc.exit_code
    report = build_report(args.python, args.repeat, args.warmup, info, samples)
    print(json.dumps(report, indent=2) if args.json else render_table(report))
    return EXIT_OK if report["all_targets_met"] else EXIT_MISSED


if __name__ == "__main__":
    sys.exit(main())
