"""The lint checks' ids, titles and fixes, read from the catalogue (checks/90-lint.yaml).

The catalogue is the one place a check's diagnosis id and remedy are written; the lint
code names a check and gets them from there, as `check`'s rules do.
"""

from __future__ import annotations

import functools

from csm_doctor.lint.model import GROUP, CheckInfo, LintFinding, Sink


@functools.lru_cache(maxsize=1)
def lint_checks() -> dict[str, CheckInfo]:
    import csm_doctor.rules.lint  # noqa: F401 - registers the catalogue-facing rules
    from csm_doctor.catalogue import shipped_catalogue

    catalogue = shipped_catalogue()
    return {c.name: CheckInfo(c.name, c.id, c.title, catalogue.fix_for(c))
            for c in catalogue.checks if c.group == GROUP}


def sink(name: str, out: list[LintFinding]) -> Sink:
    """A Sink for the catalogue check `name` (a KeyError here is a bug: the tests load them all)."""
    return Sink(lint_checks()[name], out)
