"""Pure evaluation: (facts, recipe, catalogue) → findings. No I/O, no probing.

Because this is a pure function, a saved facts document from any machine
(Windows, macOS, Ascend, Blackwell) is judged on Linux exactly as it would
be on that machine.
"""

from __future__ import annotations

from typing import Any

from csm_doctor.catalogue import Catalogue, Check
from csm_doctor.findings import Finding, Status, make_finding, sort_findings
from csm_doctor.probes import owner_of
from csm_doctor.recipe import Recipe
from csm_doctor.rules import RULES, RuleContext, Unknown

PROBE_GROUP = "probes"


def evaluate(facts: dict[str, Any], recipe: Recipe, catalogue: Catalogue,
             causes: dict[str, frozenset[str]] | None = None) -> list[Finding]:
    """Every check of the catalogue against the facts; consequences of a present root cause
    (the entries' `explains`) carry `explained_by` instead of a fix of their own."""
    from csm_doctor.causes import explain, shipped_causes

    findings = probe_findings(facts, catalogue)
    broken = {f.subject for f in findings}
    for check in catalogue.checks:
        findings.extend(run_check(check, facts, recipe, catalogue, broken))
    return sort_findings(explain(findings, causes if causes is not None else shipped_causes()))


def probe_findings(facts: dict[str, Any], catalogue: Catalogue) -> list[Finding]:
    """A probe that crashed or timed out is an `error` finding of its own."""
    entry = catalogue.diagnoses.get("probe-failed")
    out = []
    for name, record in (facts.get("probes") or {}).items():
        if record.get("status") in ("error", "timeout"):
            out.append(make_finding(
                "probe-failed", Status.ERROR,
                f"the {name} probe {'timed out' if record['status'] == 'timeout' else 'failed'}"
                f": {record.get('error') or 'no detail'}",
                group=PROBE_GROUP, subject=name, check=f"probe-{name}", observed=record.get("error"),
                fix=entry.fix if entry else None,
            ))
    return out


def run_check(check: Check, facts: dict[str, Any], recipe: Recipe, catalogue: Catalogue,
              broken_probes: set[str | None]) -> list[Finding]:
    """One check, isolated: a missing fact is a skip, a crashing rule an error."""
    blocked = sorted({owner_of(path.split(".")[0]) for path in check.reads}
                     & broken_probes - {None})
    ctx = RuleContext(facts, recipe, check, catalogue.fix_for(check))
    if blocked:
        return [ctx.skipped(f"{check.title}: not checked, the {', '.join(blocked)} probe failed")]
    try:
        return list(RULES[check.rule](ctx))
    except Unknown as exc:
        return [ctx.skipped(f"{check.title}: not checked ({exc})")]
    except Exception as exc:  # noqa: BLE001 - a crashing rule must not stop the report
        return [ctx.finding(Status.ERROR, f"{check.title}: the check crashed "
                                          f"({type(exc).__name__}: {exc})", fix=None)]
