"""Which problem causes which (each diagnosis entry's `explains`), for `triage` and `check` alike.

`triage` lists a root cause first and what it explains after it; `check` shows the findings a
present root cause explains as its consequences (`explained_by`), not as failures with their
own fix: an Ascend host whose CANN environment is not sourced gets npu-driver-missing, and
torch_npu's `libhccl.so` import error is shown under it instead of advising to reinstall a
torch_npu that already matches.
"""

from __future__ import annotations

import functools
from csm_doctor.findings import Finding, Status

@functools.lru_cache(maxsize=1)
def shipped_causes() -> dict[str, frozenset[str]]:
    """The shipped relation (each entry's `explains`, closed over), read once per process."""
    from csm_doctor.catalogue import shipped_catalogue

    return shipped_catalogue().causes


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
