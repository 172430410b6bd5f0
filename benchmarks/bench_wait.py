#!/usr/bin/env python3
"""Show the timing artefact bench_check.py used to have, next to the fixed wait, in one run.

`subprocess.run(argv, timeout=T)` with no pipes waits in a loop of growing
sleeps (CPython's Popen._wait: 0.5 ms doubling up to 50 ms), so the measured
time of a short command is rounded up to the sleep that happened to end after
it. A blocking `os.wait4` returns when the child exits. Both ways time the same
command, interleaved, in the same run; the report is their medians and ratio.

Usage::

    python benchmarks/bench_wait.py [--python PATH] [--repeat N]

POSIX only (os.wait4); standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def polled(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


def blocking(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, _ = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if not hasattr(os, "wait4"):
        print("bench_wait: needs os.wait4 (POSIX)", file=sys.stderr)
        return 2
    argv = [args.python, "-m", "csm_doctor", "--help"]
    samples: dict[str, list[float]] = {"subprocess.run(timeout=...)": [], "os.wait4": []}
    with tempfile.TemporaryDirectory() as cwd:
        blocking(argv, cwd)  # warm the page cache
        for rep in range(args.repeat):
            ways = [("subprocess.run(timeout=...)", polled), ("os.wait4", blocking)]
            for label, way in ways if rep % 2 == 0 else reversed(ways):
                samples[label].append(way(argv, cwd))
    base = statistics.median(samples["os.wait4"])
    report = {label: {"median_s": round(statistics.median(v), 4), "min_s": round(min(v), 4),
                      "x_wait4": round(statistics.median(v) / base, 2),
                      "samples_ms": [round(s * 1000, 1) for s in v]}
              for label, v in samples.items()}
    print(json.dumps({"command": "PY -m csm_doctor --help", "repeat": args.repeat,
                      "results": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
