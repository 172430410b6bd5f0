"""The rule registry and RuleContext: what every rule module imports (never the package itself).

Rules: the code behind the catalogue's checks, registered by name.

A rule is a pure function of a `RuleContext` (facts + recipe + its check)
returning findings; it never probes. `Unknown` means "the facts do not say",
which the evaluator reports as a skip rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from csm_doctor.facts import get_path
from csm_doctor.findings import Finding, Status, make_finding
from csm_doctor.recipe import Recipe

RULES: dict[str, Callable[["RuleContext"], Iterable[Finding]]] = {}

_DEFAULT = object()


class Unknown(Exception):
    """A fact the rule needs is missing (probe failed, or a replayed document lacks it)."""


def rule(name: str) -> Callable:
    def register(func: Callable[["RuleContext"], Iterable[Finding]]) -> Callable:
        RULES[name] = func
        return func
    return register


@dataclass
class RuleContext:
    facts: dict[str, Any]
    recipe: Recipe
    check: Any  # catalogue.Check
    default_fix: str | None

    def fact(self, path: str, default: Any = None) -> Any:
        value = get_path(self.facts, path)
        return default if value is None else value

    def need(self, path: str) -> Any:
        value = get_path(self.facts, path)
        if value is None:
            raise Unknown(f"the facts do not say {path}")
        return value

    @property
    def os_name(self) -> str | None:
        return get_path(self.facts, "os.name")

    @property
    def accelerators(self) -> tuple[str, ...]:
        """The recipe's accelerators that can exist on this OS (no mps on Linux, ...)."""
        return self.recipe.accelerators_for(self.os_name)

    def alternatives_hint(self) -> str:
        """Where to go when this recipe cannot run here: the recipe's own `alternatives`."""
        alts = self.recipe.alternatives
        if not alts:
            return ""
        first = alts[0]
        return (f"this recipe cannot run here; use the {first.recipe} recipe instead "
                f"(csm-doctor check --recipe {first.recipe}): {first.when}")

    def finding(self, status: Status, title: str, *, id: str | None = None,
                subject: str | None = None, observed: Any = None, expected: Any = None,
                fix: Any = _DEFAULT, details: Iterable[str] = ()) -> Finding:
        return make_finding(id or self.check.id, status, title, group=self.check.group,
                            fix=self.default_fix if fix is _DEFAULT else fix,  # check's, else entry's
                            check=self.check.name, subject=subject, observed=observed,
                            expected=expected, details=details)

    def passed(self, title: str, **kw: Any) -> Finding:
        return self.finding(Status.PASS, title, **kw)

    def failed(self, title: str, **kw: Any) -> Finding:
        return self.finding(Status.FAIL, title, **kw)

    def warned(self, title: str, **kw: Any) -> Finding:
        return self.finding(Status.WARN, title, **kw)

    def skipped(self, title: str, **kw: Any) -> Finding:
        return self.finding(Status.SKIP, title, **kw)
