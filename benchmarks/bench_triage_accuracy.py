#!/usr/bin/env python3
"""How often `csm-doctor triage` names the right cause on logs it was not built from.

The corpus (tests/fixtures/logs/) was split once, by issue thread, into a
development set and a held-out set (tests/fixtures/triage-corpus/{dev,heldout}.txt,
written by tools/split_triage_corpus.py before any tuning). Signatures are
tuned on the development set only; the held-out figures say how triage does
on the next user's paste. For each set:

- top-1: the first finding is the thread's root cause;
- top-3: the root cause is among the first three findings;
- false fail: a healthy output (successful run, nvidia-smi, collect_env,
  pip list, env reports) that gets any `fail` finding.

Speed: the whole triage (extract_facts + match_text) on the held-out cases
repeated to 1 MB (a log repeats lines), and with every line made distinct
(the worst case: nothing is searched once for many copies), timed in a fresh
interpreter for the current tree and, in the same run, for a baseline
revision of the code (git archive of --baseline, default the commit before
this work), interleaved; the figure is the ratio of the two. Linear: 4 MB of
distinct lines takes about 4 times as long as 1 MB.

Usage::

    python benchmarks/bench_triage_accuracy.py [--repeat N] [--baseline REV] [--json]
    python benchmarks/bench_triage_accuracy.py --show-misses   # development-set misses only

Exit codes: 0 the held-out goals are met (top-3 >= 90%, top-1 >= 75%, no
false fail), 1 a goal is missed, 2 csm-doctor or the corpus cannot be read.
Standard library plus csm-doctor itself (run it with the project's interpreter).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = "csm-doctor/bench-triage-accuracy/1"
REPO_ROOT = Path(__file__).resolve().parent.parent
LOGS = REPO_ROOT / "tests" / "fixtures" / "logs"
SPLIT = REPO_ROOT / "tests" / "fixtures" / "triage-corpus"
MEGABYTE = 1_000_000
GOALS = {"top3": 0.90, "top1": 0.75, "false_fail": 0}
DEFAULT_BASELINE = "9d66b73"  # main when issue 12 started: the ~11 MB/s triage
# One timing per line: seconds for extract_facts + match_text on the paste in argv[1].
TIMER = """
import statistics, sys, time
from csm_doctor.triage.extract import extract_facts
from csm_doctor.triage.match import match_text, shipped_matcher
shipped_matcher()
text = open(sys.argv[1], encoding="utf-8").read()
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    facts, sources = extract_facts(text)
    match_text(text, facts, sources)
    print(time.perf_counter() - start, flush=True)
"""


def read_split(name: str) -> list[tuple[Path, str]]:
    """(case path, expected id or "healthy") for every line of dev.txt / heldout.txt."""
    rows = []
    for line in (SPLIT / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            path, expected, _url = line.split("\t")
            rows.append((LOGS / path, expected))
    return rows


def first_expected(case: Path, folder: str) -> str:
    """The EXPECTED `first:` of the case's source note (the folder name when absent)."""
    note = (case.parent / (case.name + ".source.txt")).read_text(encoding="utf-8")
    block = note.split("EXPECTED\n", 1)[-1]
    for line in block.splitlines():
        if line.startswith("first: "):
            return line.split(": ", 1)[1].strip()
    return folder


def evaluate(rows: list[tuple[Path, str]]) -> dict[str, Any]:
    from csm_doctor.triage.extract import extract_facts
    from csm_doctor.triage.match import match_text

    failures = healthy = top1 = top3 = false_fail = 0
    misses = []
    for case, folder in rows:
        text = case.read_text(encoding="utf-8")
        facts, sources = extract_facts(text)
        findings = match_text(text, facts, sources)
        if folder == "healthy":
            healthy += 1
            fails = [f["id"] for f in findings if f["status"] == "fail"]
            if fails:
                false_fail += 1
                misses.append({"case": str(case.relative_to(LOGS)), "expected": "no fail",
                               "got": fails})
            continue
        failures += 1
        want = first_expected(case, folder)
        ids = [f["id"] for f in findings]
        top1 += bool(ids) and ids[0] == want
        top3 += want in ids[:3]
        if not ids or ids[0] != want:
            misses.append({"case": str(case.relative_to(LOGS)), "expected": want,
                           "got": [(f["id"], f["confidence"]) for f in findings[:3]]})
    return {"failures": failures, "healthy": healthy,
            "top1": top1 / failures if failures else 0.0, "top3": top3 / failures if failures else 0.0,
            "top1_n": top1, "top3_n": top3, "false_fail": false_fail, "misses": misses}


def _baseline_tree(revision: str, into: Path) -> Path | None:
    """The baseline's code and data, from `git archive`; None without git or the revision."""
    try:
        archive = subprocess.run(["git", "archive", revision, "csm_doctor", "checks", "recipes",
                                  "knowledge"], cwd=REPO_ROOT, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if archive.returncode:
        archive = subprocess.run(["git", "archive", revision, "csm_doctor", "checks", "recipes"],
                                 cwd=REPO_ROOT, capture_output=True, timeout=120)
        if archive.returncode:
            return None
    tar_path = into / "baseline.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def _time(tree: Path, paste: Path, runs: int) -> list[float]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", TIMER, str(paste), str(runs)], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return [float(x) for x in done.stdout.split()]


def _distinct(corpus: str, size: int) -> str:
    """The corpus repeated to `size`, every line made unique by a trailing counter (no line repeats,
    so nothing is saved by searching a repeated line once: the worst case for the scan)."""
    out, total, copy = [], 0, 0
    while total < size:
        for line in corpus.split("\n"):
            piece = f"{line} \u00b7{copy}\n"
            out.append(piece)
            total += len(piece)
        copy += 1
    return "".join(out)[:size]


def speed(rows: list[tuple[Path, str]], repeat: int, baseline: str) -> dict[str, Any]:
    corpus = "\n".join(case.read_text(encoding="utf-8") for case, _ in rows) + "\n"
    pastes = {"repeated": (corpus * (MEGABYTE // len(corpus) + 1))[:MEGABYTE],
              "distinct": _distinct(corpus, MEGABYTE)}
    result: dict[str, Any] = {"baseline": None}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for name, text in pastes.items():
            (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
        (tmp_path / "distinct4.txt").write_text(_distinct(corpus, 4 * MEGABYTE), encoding="utf-8")
        base_tree = _baseline_tree(baseline, tmp_path)
        for name in pastes:
            new, old = [], []
            for _ in range(repeat):  # interleaved: new, baseline, new, baseline ...
                new += _time(REPO_ROOT, tmp_path / f"{name}.txt", 1)
                if base_tree:
                    old += _time(base_tree, tmp_path / f"{name}.txt", 1)
            row = {"seconds_per_mb": statistics.median(new), "mb_per_s": 1 / statistics.median(new)}
            if old:
                row.update({"baseline_mb_per_s": 1 / statistics.median(old),
                            "throughput_ratio": statistics.median(old) / statistics.median(new)})
                result["baseline"] = baseline
            result[name] = row
        four = statistics.median(_time(REPO_ROOT, tmp_path / "distinct4.txt", max(1, repeat // 2)))
    result["linearity_4mb_over_1mb"] = four / result["distinct"]["seconds_per_mb"]
    return result


def baseline_accuracy(revision: str) -> dict[str, Any] | None:
    """The same figures for the code of `revision` (git archive), run in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = _baseline_tree(revision, Path(tmp))
        if tree is None:
            return None
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--no-speed", "--json",
                               "--code-tree", str(tree)], capture_output=True, text=True, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        return None
    return {"heldout": doc["heldout"], "dev": doc["dev"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help="git revision whose triage is timed in the same run (default %(default)s)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--show-misses", action="store_true",
                        help="list the development set's misses (never the held-out set's)")
    parser.add_argument("--baseline-accuracy", action="store_true",
                        help="also measure the --baseline revision's accuracy on the same sets")
    parser.add_argument("--code-tree", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code_tree))
    try:
        dev_rows, held_rows = read_split("dev.txt"), read_split("heldout.txt")
        dev, held = evaluate(dev_rows), evaluate(held_rows)
    except (ImportError, OSError, ValueError) as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    timing = None if args.no_speed else speed(held_rows, args.repeat, args.baseline)
    base_accuracy = baseline_accuracy(args.baseline) if args.baseline_accuracy else None
    ok = held["top3"] >= GOALS["top3"] and held["top1"] >= GOALS["top1"] and held["false_fail"] == 0
    machine = {"platform": platform.platform(), "python": platform.python_version(),
               "date": time.strftime("%Y-%m-%d")}
    if args.json:
        held_out = {k: v for k, v in held.items() if k != "misses"}
        print(json.dumps({"schema": SCHEMA, "machine": machine, "goals": GOALS, "heldout": held_out,
                          "dev": {k: v for k, v in dev.items() if k != "misses"}, "speed": timing,
                          "pass": ok}, indent=2))
    else:
        print(f"{'set':<9} {'failure logs':>12} {'top-1':>14} {'top-3':>14} {'healthy':>8} {'false fail':>10}")
        for name, row in (("held-out", held), ("dev", dev)):
            print(f"{name:<9} {row['failures']:>12} {row['top1']:>7.1%} ({row['top1_n']:>3}) "
                  f"{row['top3']:>7.1%} ({row['top3_n']:>3}) {row['healthy']:>8} {row['false_fail']:>10}")
        if base_accuracy:
            for name in ("heldout", "dev"):
                row = base_accuracy[name]
                print(f"{name + ' @' + args.baseline:<9} {row['failures']:>12} {row['top1']:>7.1%} "
                      f"({row['top1_n']:>3}) {row['top3']:>7.1%} ({row['top3_n']:>3}) {row['healthy']:>8} "
                      f"{row['false_fail']:>10}")
        if timing:
            print()
            for name in ("repeated", "distinct"):
                row = timing[name]
                line = (f"speed, held-out cases {name} to 1 MB: {row['seconds_per_mb']:.3f} s per MB "
                        f"({row['mb_per_s']:.2f} MB/s)")
                if timing.get("baseline"):
                    line += (f"; baseline {timing['baseline']}: {row['baseline_mb_per_s']:.2f} MB/s, "
                             f"ratio now/baseline {row['throughput_ratio']:.2f}")
                print(line)
            print(f"linear: 4 MB of distinct lines takes {timing['linearity_4mb_over_1mb']:.2f} x the 1 MB time")
        print(f"goals on held-out: top-3 >= {GOALS['top3']:.0%}, top-1 >= {GOALS['top1']:.0%}, "
              f"no false fail: {'met' if ok else 'MISSED'}  ({machine['platform']}, Python "
              f"{machine['python']}, {machine['date']})")
        if args.show_misses:
            print("\ndevelopment-set misses:")
            for miss in dev["misses"]:
                print(f"  {miss['case']}: want {miss['expected']}, got {miss['got']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
