"""What a paste lacks when triage names nothing, and the one command that would show it.

"No known problem" alone leaves the support engineer where they started.
When nothing matches, triage says why it could not tell: the paste has no
error message, or its traceback was cut before the exception line, or it
shows nothing of the machine (OS, Python, torch build, GPU); and names the
command whose output would settle it.
"""

from __future__ import annotations

import re
from typing import Any

from csm_doctor.facts import get_path

_TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)|^-{20,}\n\w*(?:Error|Exception)\s+Traceback",
                           re.MULTILINE)
# An exception or error line: "ValueError: ...", "torch.OutOfMemoryError: ...", "ERROR: ...", "error: ..."
_ERROR_LINE_RE = re.compile(r"^[ \t>]{0,8}(?:[A-Za-z_][\w.]{0,100}(?:Error|Exception|Exit|Interrupt|Failure)\b"
                            r"|E[Rr][Rr][Oo][Rr]\b|error:|FAIL\b|Fatal|FATAL)", re.MULTILINE)
_ENVIRONMENT_PATHS = ("os.name", "python.version", "torch.version", "nvidia.driver_version")


def _error_after_last_traceback(text: str) -> bool:
    starts = [m.end() for m in _TRACEBACK_RE.finditer(text)]
    return bool(_ERROR_LINE_RE.search(text, starts[-1] if starts else 0))


def what_is_missing(text: str, facts: dict[str, Any], sources: list[dict[str, Any]],
                    findings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """{"lacks": [what the paste does not show], "command": the one to run}; None when triage
    named something (then the findings speak for themselves)."""
    if findings:
        return None
    lacks = []
    has_traceback = bool(_TRACEBACK_RE.search(text))
    if has_traceback and not _error_after_last_traceback(text):
        lacks.append("the traceback's last line: it is cut before the exception message")
    elif not _ERROR_LINE_RE.search(text):
        lacks.append("an error message or traceback")
    environment = bool(sources) or any(get_path(facts, path) for path in _ENVIRONMENT_PATHS) \
        or bool(get_path(facts, "nvidia.gpus"))
    if not environment:
        lacks.append("the machine: OS, Python, torch build, GPU and driver (no nvidia-smi, "
                     "collect_env or pip list in it)")
    if not environment:
        command = "csm-doctor report"
        why = "writes a redacted support bundle; paste its summary.md into the issue"
    else:
        command = "csm-doctor check"
        why = "checks this machine against the recipe and names what is wrong, with the fix"
    if not lacks:
        lacks.append("a message csm-doctor knows (docs/triage.md lists what is recognised)")
    return {"lacks": lacks, "command": command, "why": why}
