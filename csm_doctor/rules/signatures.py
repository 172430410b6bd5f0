"""Checks that exist for `triage` only: a problem recognisable in a pasted log, not in facts.

Their catalogue entries carry `signatures` (the regexes `csm-doctor triage`
matches) and this rule, so `check` lists them without pretending to judge
them: a crash message cannot be probed on a machine that is not crashing.
"""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule


@rule("signature_only")
def signature_only(ctx: RuleContext) -> Iterable[Finding]:
    yield ctx.skipped(f"{ctx.check.title}: recognised in logs only (csm-doctor triage)")
