"""The `--json` envelope: exactly one object on stdout, with a schema string."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from csm_doctor import __version__
from csm_doctor.findings import Finding, Status


def summary(findings: list[Finding]) -> dict[str, int]:
    return {s.value: sum(1 for f in findings if f.status is s) for s in Status}


def envelope(kind: str, **fields: Any) -> dict[str, Any]:
    return {"schema": f"csm-doctor/{kind}/1", "version": __version__, **fields}


def emit(obj: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON document, with every string passed through the one redactor first."""
    from csm_doctor.report.redact import redact_secrets_in

    stream = stream or sys.stdout
    stream.write(json.dumps(redact_secrets_in(obj), indent=2, ensure_ascii=False, default=str) + "\n")
    stream.flush()
