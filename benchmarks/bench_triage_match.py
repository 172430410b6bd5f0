#!/usr/bin/env python3
"""Time triage's known-problem matching on 1 MB pastes against its fact extraction.

The figure that matters is a ratio measured in the same run on the same
text: `match_text` (every catalogue signature over the paste, facts judged,
causes ordered) against `extract_facts` (finding the tool outputs in the same
paste), the work `csm-doctor triage` already did before matching existed.
Pastes: the whole log corpus repeated to 1 MB (realistic, many hits), the
healthy captures repeated to 1 MB (no hits), and adversarial texts that would
make a badly written regex quadratic (one 1 MB line; a signature's opening
words repeated without their ending). Runs are interleaved round-robin.

Usage::

    python benchmarks/bench_triage_match.py [--repeat N] [--json]

Exit codes: 0 every target met, 1 a target missed, 2 csm-doctor cannot be
imported. Standard library plus csm-doctor itself (run it with the project's
interpreter, e.g. .venv/bin/python).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

SCHEMA = "csm-doctor/bench-triage-match/1"
REPO_ROOT = Path(__file__).resolve().parent.parent
MEGABYTE = 1_000_000
# match_text may cost at most this multiple of extract_facts on realistic pastes,
# and must stay under this many seconds on any 1 MB paste.
RATIO_TARGET = 1.5
ABSOLUTE_TARGET_S = 1.0


def _repeat_to(text: str, size: int) -> str:
    return (text * (size // max(len(text), 1) + 1))[:size]


def pastes() -> dict[str, str]:
    fixtures = REPO_ROOT / "tests" / "fixtures"
    corpus = "\n".join(p.read_text(encoding="utf-8") for p in sorted((fixtures / "logs").rglob("*.txt"))
                       if not p.name.endswith(".source.txt"))
    healthy = "\n".join(p.read_text(encoding="utf-8") for p in sorted((fixtures / "probes").rglob("*"))
                        if p.is_file() and not p.name.endswith(".source.txt"))
    return {
        "corpus x 1 MB": _repeat_to(corpus + "\n", MEGABYTE),
        "healthy captures x 1 MB": _repeat_to(healthy + "\n", MEGABYTE),
        "one 1 MB line": "x" * MEGABYTE,
        "signature openings, no endings": _repeat_to("401 Client Error: Unauthorized for url: "
                                                     "No such file or directory: 'C:\\\\Users ", MEGABYTE),
        "CRLF + colour codes": _repeat_to(("\x1b[31mRuntimeError: CUDA error: no kernel image is "
                                           "available for execution on the device\x1b[0m\r\n"), MEGABYTE),
    }


def measure(functions: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """Round-robin, the starting function rotating, one warm-up round discarded."""
    names = list(functions)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeat + 1):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            start = time.perf_counter()
            functions[name]()
            if round_index:
                samples[name].append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from csm_doctor.triage.extract import extract_facts
        from csm_doctor.triage.match import match_text, shipped_matcher
    except ImportError as exc:
        print(f"cannot import csm-doctor: {exc}", file=sys.stderr)
        return 2
    shipped_matcher()  # compile once, as a process does before its first paste
    rows, ok = [], True
    for name, text in pastes().items():
        facts, sources = extract_facts(text)
        samples = measure({"extract_facts": lambda t=text: extract_facts(t),
                           "match_text": lambda t=text, f=facts, s=sources: match_text(t, f, s)},
                          args.repeat)
        extract, match = (statistics.median(samples[k]) for k in ("extract_facts", "match_text"))
        ratio = match / extract if extract else float("inf")
        realistic = name.startswith(("corpus", "healthy"))
        verdict = match <= ABSOLUTE_TARGET_S and (not realistic or ratio <= RATIO_TARGET)
        ok &= verdict
        rows.append({"paste": name, "bytes": len(text.encode("utf-8")), "extract_s": extract,
                     "match_s": match, "ratio": ratio, "findings": len(match_text(text, facts, sources)),
                     "verdict": "pass" if verdict else "MISS",
                     "samples": samples})
    machine = {"platform": platform.platform(), "python": platform.python_version(),
               "repeat": args.repeat}
    if args.json:
        print(json.dumps({"schema": SCHEMA, "machine": machine, "targets": {
            "ratio": RATIO_TARGET, "absolute_s": ABSOLUTE_TARGET_S}, "rows": rows}, indent=2))
    else:
        print(f"{'paste':<32} {'MB':>5} {'extract s':>10} {'match s':>9} {'x extract':>10} "
              f"{'findings':>8}  verdict")
        for row in rows:
            print(f"{row['paste']:<32} {row['bytes'] / MEGABYTE:>5.2f} {row['extract_s']:>10.3f} "
                  f"{row['match_s']:>9.3f} {row['ratio']:>10.2f} {row['findings']:>8}  {row['verdict']}")
        print(f"\ntargets: match_text <= {ABSOLUTE_TARGET_S} s on every 1 MB paste, and <= "
              f"{RATIO_TARGET} x extract_facts on the realistic ones; {machine['platform']}, "
              f"Python {machine['python']}, median of {args.repeat} interleaved runs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
