"""Render docs/diagnoses.md from the diagnosis entries (diagnoses/*.yaml, the single source).

    python tools/render_diagnoses.py > docs/diagnoses.md

tests/test_docs.py fails when the page and the data disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from csm_doctor.catalogue import Catalogue, RemedyStep, load_catalogue  # noqa: E402


def _step(step: RemedyStep) -> str:
    return f"`{step.kind}`" + (f" ({step.argument})" if step.argument else "")


def render(catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue or load_catalogue(ROOT / "diagnoses")
    checks: dict[str, list[str]] = {}
    for check in catalogue.checks:
        checks.setdefault(check.id, []).append(f"`{check.name}`")
    lines = ["# Diagnosis ids", "",
             "Every problem csm-doctor can name has one stable id. A check's finding carries",
             "the id of the problem it rules out; ids are never renamed once shipped.",
             "This page is generated from the diagnosis entries in `diagnoses/*.yaml` (one entry",
             "per problem: cause, fix, checks, log signatures, what it explains, its remedy) by",
             "`tools/render_diagnoses.py`. Ids marked † were added by csm-doctor to the project's",
             "starting list. *remedy* lists the typed steps `csm-doctor fix` plans (the first that",
             "applies on the machine wins; see docs/architecture.md); none means the fix is advice.",
             "*seen by* says how the problem is found: by `check`'s checks (named), in a pasted",
             "log (`triage`), or in a user's training files (`lint`)."]
    titles = dict(catalogue.groups)
    area = None
    for diagnosis in catalogue.diagnoses.values():
        if diagnosis.area != area:
            area = diagnosis.area
            lines += ["", f"## {titles[area]}", "",
                      "| id | root cause | fix | remedy | seen by | explains |",
                      "| --- | --- | --- | --- | --- | --- |"]
        mark = " †" if diagnosis.added else ""
        seen = list(checks.get(diagnosis.id, []))
        if diagnosis.signatures:
            seen.append("triage")
        if diagnosis.lint:
            seen.append("lint")
        remedy = ", ".join(_step(s) for s in diagnosis.remedy)
        explains = ", ".join(f"`{i}`" for i in diagnosis.explains)
        lines.append(f"| `{diagnosis.id}`{mark} | {diagnosis.cause} | {diagnosis.fix} | {remedy} | "
                     f"{', '.join(seen) or 'smoke, cluster or the probes'} | {explains} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
