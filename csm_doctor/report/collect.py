"""What a support bundle holds: facts, findings, the last smoke result, versions.

The smoke result is the object `csm-doctor smoke --json` prints; smoke also
writes it to `<output dir>/result.json` (default `./csm-doctor-smoke/`), so
`report` finds the last run there, or takes `--smoke-result FILE`.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from typing import Any

from csm_doctor import __version__
from csm_doctor.errors import InputError
from csm_doctor.findings import Finding

BUNDLE_SCHEMA = "csm-doctor/report-bundle/1"
SMOKE_RESULT = Path("csm-doctor-smoke") / "result.json"
MAX_SMOKE_BYTES = 4 * 1024 * 1024
# The packages a CSM support engineer asks about first, in the order they ask.
KEY_PACKAGES = ("torch", "torchaudio", "transformers", "tokenizers", "huggingface-hub", "moshi",
                "torchtune", "torchao", "silentcipher", "triton", "triton-windows", "torch-npu",
                "accelerate", "peft", "trl", "unsloth", "soundfile", "numpy")


def load_smoke_result(explicit: str | None, cwd: Path | None = None) -> dict[str, Any] | None:
    """The last smoke result: `--smoke-result FILE`, else ./csm-doctor-smoke/result.json.

    A bad explicit file is bad input (exit 2); a bad file found by convention is
    reported in the bundle instead, since the user did not ask for it.
    """
    from csm_doctor.jsonload import parse_json
    from csm_doctor.safeio import read_input_text

    path = Path(explicit) if explicit else (cwd or Path.cwd()) / SMOKE_RESULT
    if not explicit and not path.exists():
        return None
    try:  # a regular file under a cap, sane JSON: a FIFO or a JSON bomb is exit 2, not a hang
        result = parse_json(read_input_text(path, MAX_SMOKE_BYTES, shown=str(path)), str(path))
        if not isinstance(result, dict):
            raise InputError.single(str(path), "not a JSON object", line=1)
    except InputError as exc:
        reason = "; ".join(f"line {p.line}: {p.message}" if p.line else p.message
                           for p in exc.problems)
        if explicit:
            raise InputError.single(explicit, f"cannot read the smoke result: {reason}",
                                    key="--smoke-result") from None
        return {"path": str(path), "found_by": "convention", "error": f"unreadable: {reason}"}
    return {"path": str(path), "found_by": "option" if explicit else "convention", "result": result}


def load_cluster_result(path: str | None) -> dict[str, Any] | None:
    """`--cluster-result FILE`: a `csm-doctor cluster --json` object (`cluster -o FILE`),
    read like the smoke result: a regular file under a cap, sane JSON."""
    from csm_doctor.jsonload import parse_json
    from csm_doctor.safeio import read_input_text

    if not path:
        return None
    try:
        result = parse_json(read_input_text(Path(path), MAX_SMOKE_BYTES, shown=path), path)
        if not isinstance(result, dict) or result.get("schema") != "csm-doctor/cluster/1":
            raise InputError.single(path, "not a csm-doctor/cluster/1 object", line=1)
    except InputError as exc:
        reason = "; ".join(f"line {p.line}: {p.message}" if p.line else p.message
                           for p in exc.problems)
        raise InputError.single(path, f"cannot read the cluster result: {reason}",
                                key="--cluster-result") from None
    return {"path": str(path), "found_by": "option", "result": result}


def versions(facts: dict[str, Any]) -> dict[str, Any]:
    """csm-doctor's own versions and the key packages of the environment under test."""
    packages = facts.get("packages") or {}
    return {
        "csm_doctor": __version__,
        "csm_doctor_python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "target_python": (facts.get("python") or {}).get("version"),
        "packages": {name: packages[name] for name in KEY_PACKAGES if name in packages},
    }


def build_report(facts: dict[str, Any], recipe: Any, reason: str | None, given: bool,
                 findings: list[Finding], smoke: dict[str, Any] | None) -> dict[str, Any]:
    """The bundle's document (report.json); every other file is a view of it."""
    from csm_doctor.render.json_out import summary

    return {
        "schema": BUNDLE_SCHEMA,
        "version": __version__,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recipe": {"id": recipe.id, "title": recipe.title, "path": recipe.path,
                   "selected": "given" if given else "auto", "reason": reason},
        "summary": summary(findings),
        "findings": [f.to_json() for f in findings],
        "facts": facts,
        "smoke": smoke,
        "versions": versions(facts),
    }
