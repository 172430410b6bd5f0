"""The lint checks' ids, titles and fixes, read from the catalogue (diagnoses/*.yaml).

A diagnosis entry is the one place a lint check's id, title and fix are written (its
`lint:` items, and the lint area's checks); the lint code names a check and gets them
from there, as `check`'s rules do.
"""

from __future__ import annotations

import functools

from csm_doctor.lint.model import CheckInfo, LintFinding, Sink


@functools.lru_cache(maxsize=1)
def lint_checks() -> dict[str, CheckInfo]:
    import csm_doctor.rules.lint  # noqa: F401 - registers the catalogue-facing rules
    from csm_doctor.catalogue import shipped_catalogue

    return {e.name: CheckInfo(e.name, e.id, e.title, e.fix)
            for e in shipped_catalogue().lint_entries()}


def sink(name: str, out: list[LintFinding]) -> Sink:
    """A Sink for the catalogue check `name` (a KeyError here is a bug: the tests load them all)."""
    return Sink(lint_checks()[name], out)
