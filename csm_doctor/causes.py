"""Which problem causes which (checks/causes.yaml), for `triage` and `check` alike.

`triage` lists a root cause first and what it explains after it; `check` shows the findings a
present root cause explains as its consequences (`explained_by`), not as failures with their
own fix: an Ascend host whose CANN environment is not sourced gets npu-driver-missing, and
torch_npu's `libhccl.so` import error is shown under it instead of advising to reinstall a
torch_npu that already matches.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable

from csm_doctor.errors import InputError, Problem
from csm_doctor.findings import Finding, Status

CAUSES_FILE = "causes.yaml"


def load_causes(directory: Path | None = None, known_ids: Iterable[str] | None = None
                ) -> dict[str, frozenset[str]]:
    """checks/causes.yaml as {root: every id it explains, directly or through others}.

    Unknown ids and loops are bad data: exit 2 with file, line and key.
    """
    from csm_doctor.catalogue import load_data_file
    from csm_doctor.resources import data_dir
    from csm_doctor.shapes import Key, ListOf, MapOf, Record, Str
    from csm_doctor.yamlpos import line_for

    kebab = Str(r"[a-z0-9]+(-[a-z0-9]+)*", hint="a diagnosis id")
    path = (directory or data_dir("checks")) / CAUSES_FILE
    doc = load_data_file(path, Record({"explains": Key(MapOf(ListOf(kebab), key=kebab), required=True)}))
    direct = {root: tuple(ids) for root, ids in doc["explains"].items()}
    problems = []
    if known_ids is not None:
        known = set(known_ids)
        for root, ids in direct.items():
            for name in (root, *ids):
                if name not in known:
                    problems.append(Problem(f"'{name}' is not in checks/diagnoses.yaml",
                                            f"explains.{root}",
                                            line_for(doc["__lines__"], ("explains", root))))
    closure = {root: _reachable(root, direct) for root in direct}
    for root, reached in closure.items():
        if root in reached:
            problems.append(Problem("the relation loops back to this id", f"explains.{root}",
                                    line_for(doc["__lines__"], ("explains", root))))
    if problems:
        raise InputError(str(path), problems)
    return {root: frozenset(reached) for root, reached in closure.items()}


def _reachable(root: str, direct: dict[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(direct.get(root, ()))
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(direct.get(name, ()))
    return seen


@functools.lru_cache(maxsize=1)
def shipped_causes() -> dict[str, frozenset[str]]:
    """The shipped relation, checked against the shipped diagnosis ids, read once per process."""
    from csm_doctor.catalogue import shipped_catalogue

    return load_causes(known_ids=shipped_catalogue().diagnoses)


def explain(findings: list[Finding], causes: dict[str, frozenset[str]]) -> list[Finding]:
    """Mark every failing or warning finding that a failing root cause explains.

    The consequence keeps its status (a failing check still fails: the exit code is the same)
    but gets `explained_by` (the root's id), no fix of its own, and a line saying fixing the
    root fixes it. A finding is never its own cause; the first root in order wins. A root about
    one subject (numpy) explains findings about that subject or none, not every package-missing.
    """
    roots = [f for f in findings if f.status is Status.FAIL]
    for finding in findings:
        if finding.status not in (Status.FAIL, Status.WARN) or finding.explained_by:
            continue
        root = next((r for r in roots if r.id != finding.id and r is not finding
                     and finding.id in causes.get(r.id, ()) and _same_subject(r, finding)), None)
        if root is None:
            continue
        finding.explained_by = root.id
        finding.fix = None
        finding.details.insert(0, f"a consequence of {root.id} (above): fixing that fixes this")
    return findings


def _same_subject(root: Finding, finding: Finding) -> bool:
    from csm_doctor.recipe import canonical_name

    if not root.subject or not finding.subject:
        return True
    return canonical_name(root.subject) == canonical_name(finding.subject)
