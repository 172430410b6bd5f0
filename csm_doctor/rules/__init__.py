"""Rules: the code behind the catalogue's checks, registered by name.

The registry and `RuleContext` live in `rules/base.py`; rule modules import that, never this
package, so importing the package (which registers every rule) has no import cycle.
"""

from __future__ import annotations

from csm_doctor.rules.base import RULES, RuleContext, Unknown, rule  # noqa: F401

# Importing the modules registers their rules.
from csm_doctor.rules import (  # noqa: E402,F401
    ascend,
    distributed,
    environment,
    huggingface,
    lint,
    media,
    nvidia,
    packages,
    python,
    system,
    torch,
)
