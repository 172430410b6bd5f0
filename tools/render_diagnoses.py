"""Render docs/diagnoses.md from checks/diagnoses.yaml (the single source of the ids).

    python tools/render_diagnoses.py > docs/diagnoses.md

tests/test_docs.py fails when the page and the data disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def render() -> str:
    data = yaml.safe_load((ROOT / "checks" / "diagnoses.yaml").read_text(encoding="utf-8"))
    checks = {}
    for path in sorted((ROOT / "checks").glob("[0-9]*.yaml")):
        for check in yaml.safe_load(path.read_text(encoding="utf-8"))["checks"]:
            checks.setdefault(check["id"], []).append(check["name"])
    lines = ["# Diagnosis ids", "",
             "Every problem csm-doctor can name has one stable id. A check's finding carries",
             "the id of the problem it rules out; ids are never renamed once shipped.",
             "This page is generated from `checks/diagnoses.yaml` by `tools/render_diagnoses.py`.",
             "Ids marked † were added by csm-doctor to the project's starting list.", ""]
    area = None
    for did, entry in data["diagnoses"].items():
        if entry["area"] != area:
            area = entry["area"]
            lines += ["", f"## {area}", "", "| id | root cause | fix | checked by |",
                      "| --- | --- | --- | --- |"]
        mark = " †" if entry.get("added") else ""
        by = ", ".join(f"`{n}`" for n in checks.get(did, [])) or "(triage and later checks)"
        lines.append(f"| `{did}`{mark} | {entry['cause']} | {entry['fix']} | {by} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
