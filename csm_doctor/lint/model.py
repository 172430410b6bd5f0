"""What a lint produces: contract findings that also say where, in the user's file, they are.

A training run that starts and learns nothing is only debuggable if the finding points at
the line that caused it (`train.yaml:13: key 'token_max_length'`), so every lint finding
carries a file, a line and a key beside the contract fields (id, status, title, fix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from csm_doctor.findings import SEVERITY, Finding, Status, make_finding

GROUP = "lint"
# Beyond this many findings of one check and status, the rest become one "N more" line:
# a 20,000-file dataset must not print 20,000 lines.
PER_CHECK_CAP = 20


@dataclass(frozen=True)
class Where:
    """A place in the user's input: file, line (1-based) and key path, any of them unknown."""

    file: str | None = None
    line: int | None = None
    key: str | None = None

    def render(self) -> str:
        out = self.file or ""
        if self.line is not None:
            out += f":{self.line}"
        if self.key:
            out += f": key '{self.key}'" if out else f"key '{self.key}'"
        return out


@dataclass
class LintFinding:
    """A contract `Finding` plus where it is."""

    finding: Finding
    where: Where = field(default_factory=Where)

    @property
    def status(self) -> Status:
        return self.finding.status

    def to_json(self) -> dict[str, Any]:
        out = self.finding.to_json()
        out.update(file=self.where.file, line=self.where.line, key=self.where.key)
        return out


@dataclass(frozen=True)
class CheckInfo:
    """One lint check as the catalogue (a diagnosis entry in diagnoses/*.yaml) describes it."""

    name: str
    id: str
    title: str
    fix: str | None


class Sink:
    """Collects the findings of one check, capped per status so huge datasets stay readable."""

    def __init__(self, check: CheckInfo, out: list[LintFinding]) -> None:
        self.check = check
        self._out = out
        self._counts: dict[Status, int] = {}
        self._overflow: dict[Status, list[LintFinding]] = {}
        self.problems = 0

    def emit(self, status: Status, title: str, where: Where = Where(), *, id: str | None = None,
             fix: Any = ..., observed: Any = None, expected: Any = None,
             details: Iterable[str] = (), subject: str | None = None) -> None:
        if fix is ...:
            fix = self.check.fix if status in (Status.FAIL, Status.WARN) else None
        finding = make_finding(id or self.check.id, status, title, group=GROUP, fix=fix,
                               check=self.check.name, subject=subject or where.file,
                               observed=observed, expected=expected, details=details)
        item = LintFinding(finding, where)
        if status in (Status.FAIL, Status.WARN):
            self.problems += 1
        count = self._counts.get(status, 0) + 1
        self._counts[status] = count
        if count > PER_CHECK_CAP:
            self._overflow.setdefault(status, []).append(item)
        else:
            self._out.append(item)

    def fail(self, title: str, where: Where = Where(), **kw: Any) -> None:
        self.emit(Status.FAIL, title, where, **kw)

    def warn(self, title: str, where: Where = Where(), **kw: Any) -> None:
        self.emit(Status.WARN, title, where, **kw)

    def ok(self, title: str, where: Where = Where(), **kw: Any) -> None:
        self.emit(Status.PASS, title, where, **kw)

    def skip(self, title: str, where: Where = Where(), **kw: Any) -> None:
        self.emit(Status.SKIP, title, where, **kw)

    def close(self) -> None:
        """Fold the findings past the cap into one per status, naming a few of their files."""
        for status, rest in self._overflow.items():
            first = rest[0]
            sample = [x.where.render() for x in rest[:5]]
            self._out.append(LintFinding(make_finding(
                first.finding.id, status, f"{len(rest)} more like this ({self.check.title})",
                group=GROUP, check=self.check.name, fix=first.finding.fix,
                details=sample + (["…"] if len(rest) > 5 else [])), first.where))
        self._overflow.clear()


@dataclass
class LintReport:
    """The result of linting one PATH: what it is, which recipe judged it, and the findings."""

    target: str
    kind: str
    kind_title: str
    recipe_id: str
    recipe_title: str
    detected: str
    recipe_selected: str = "auto"
    findings: list[LintFinding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    def sorted_findings(self) -> list[LintFinding]:
        return sorted(self.findings, key=lambda f: SEVERITY[f.status])

    def exit_code(self) -> int:
        return 1 if any(f.status is Status.FAIL for f in self.findings) else 0
