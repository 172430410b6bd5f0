"""Findings: the verdicts a check reaches, as data with their remedy.

Modelled on Homebrew's `Finding` and Flutter's `ValidationResult`: every
finding carries a stable diagnosis id, a status, what was observed against what
was expected, and the fix, so humans, JSON consumers and `fix` read one thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable


class Status(str, Enum):
    """Contract statuses; the order of `SEVERITY` is "most important first"."""

    FAIL = "fail"
    ERROR = "error"
    WARN = "warn"
    PASS = "pass"
    SKIP = "skip"


SEVERITY = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.PASS: 3, Status.SKIP: 4}


@dataclass
class Finding:
    """One verdict about one subject (a package, a GPU, the driver...)."""

    id: str
    status: Status
    title: str
    group: str
    fix: str | None = None
    check: str | None = None
    subject: str | None = None
    observed: Any = None
    expected: Any = None
    details: list[str] = field(default_factory=list)
    remedy: Any = None  # remedy.Remedy, attached from the plan's steps (csm_doctor/remedy.py)
    explained_by: str | None = None  # the root cause (its entry's `explains`) present beside it

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "fix": self.fix,
            "group": self.group,
            "check": self.check,
            "subject": self.subject,
            "observed": self.observed,
            "expected": self.expected,
            "details": list(self.details),
            "remedy": self.remedy.to_json() if self.remedy is not None else
            {"commands": [], "text": self.fix or ""},
        }
        if self.explained_by:
            out["explained_by"] = self.explained_by
        return out


NEEDS_FIX = (Status.FAIL, Status.WARN, Status.ERROR)


def make_finding(id: str, status: Status, title: str, *, group: str, check: str | None = None,
                 fix: str | None = None, subject: str | None = None, observed: Any = None,
                 expected: Any = None, details: Iterable[str] = ()) -> Finding:
    """The one way a finding is made (rules, lint, smoke, cluster, checkpoints, probes, triage).

    A passing or skipped finding carries no fix; the others carry the words their caller
    gives, which is their diagnosis entry's (`catalogue.entry_fix`) unless the check says
    better. The remedy in commands is attached later, from the plan (remedy.attach).
    """
    return Finding(id=id, status=status, title=title, group=group,
                   fix=fix if status in NEEDS_FIX else None, check=check, subject=subject,
                   observed=observed, expected=expected, details=list(details))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most important first; stable within a status so groups keep catalogue order."""
    return sorted(findings, key=lambda f: SEVERITY[f.status])


def worst_status(findings: list[Finding]) -> Status | None:
    return min((f.status for f in findings), key=lambda s: SEVERITY[s], default=None)


def exit_code_for(findings: list[Finding]) -> int:
    """Contract: 1 when a required check failed, else 0 (warnings and errors allowed).

    An `error` means csm-doctor could not tell; it is shown loudly but does
    not fail CI on its own, as a timed-out probe says nothing about the machine.
    """
    return 1 if any(f.status is Status.FAIL for f in findings) else 0
