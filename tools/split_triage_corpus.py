#!/usr/bin/env python3
"""Split the triage corpus ONCE into a development and a held-out set, by issue thread.

Run once, before any signature tuning (issue 12); its output is committed
and never regenerated. Cases already in the corpus before the split (those
in the BASE revision, used to build the signatures) are all
development cases. The new ones are grouped by the issue thread in their
.source.txt (url:), so every excerpt of one thread lands on the same side;
within each diagnosis id (and the healthy outputs) the threads are ordered
by the SHA-256 of their URL and every third one is held out. Nothing about
a case's text decides its side.

Usage: python tools/split_triage_corpus.py   (writes tests/fixtures/triage-corpus/{dev,heldout}.txt)
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "fixtures" / "logs"
OUT = ROOT / "tests" / "fixtures" / "triage-corpus"
BASE = "9d66b73"  # main before issue 12: its corpus built the signatures, so it is all development


def url_of(case: Path) -> str:
    source = (case.parent / (case.name + ".source.txt")).read_text(encoding="utf-8")
    found = re.search(r"^url: (\S+)", source, re.MULTILINE)
    return found.group(1) if found else f"local:{case.relative_to(LOGS)}"


def main() -> None:
    tracked = set(subprocess.run(["git", "ls-tree", "-r", "--name-only", BASE, "--",
                                  str(LOGS.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                                 text=True, check=True, timeout=60).stdout.split())
    cases = sorted(p for p in LOGS.rglob("*.txt") if not p.name.endswith(".source.txt"))
    dev, heldout = [], []
    threads: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for case in cases:
        if str(case.relative_to(ROOT)) in tracked:
            dev.append(case)
        else:
            threads[case.parent.name][url_of(case)].append(case)
    side: dict[str, bool] = {}
    # A thread that already gave the pre-existing (development) corpus a case stays development.
    built_from = {url_of(case) for case in dev}
    for group in sorted(threads):
        urls = sorted(threads[group], key=lambda u: hashlib.sha256(u.encode()).hexdigest())
        for index, url in enumerate(urls):
            held = side.setdefault(url, index % 3 == 2 and url not in built_from)
            (heldout if held else dev).extend(threads[group][url])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, chosen in (("dev.txt", dev), ("heldout.txt", heldout)):
        lines = [f"{c.relative_to(LOGS)}\t{c.parent.name}\t{url_of(c)}" for c in sorted(chosen)]
        header = ("# triage corpus, " + name.split(".")[0] + " set: case path (under tests/fixtures/logs)"
                  ", expected id (folder), source thread. Written once by tools/split_triage_corpus.py.\n")
        (OUT / name).write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
        print(name, len(chosen))


if __name__ == "__main__":
    main()
