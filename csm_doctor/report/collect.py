"""What a support bundle holds: facts, findings, the last smoke result, versions.

The smoke result is the object `csm-doctor smoke --json` prints; smoke also
writes it to `<output dir>/result.json` (default `./csm-doctor-smoke/`), so
`report` finds the last run there, or takes `--smoke-result FILE`.
"""

from __future__ import annotations

import datetime
import json
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
    path = Path(explicit) if explicit else (cwd or Path.cwd()) / SMOKE_RESULT
    if not explicit and not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SMOKE_BYTES + 1)
        if len(data) > MAX_SMOKE_BYTES:
            raise ValueError(f"larger than {MAX_SMOKE_BYTES // 2**20} MiB")
        result = json.loads(data.decode("utf-8"))
        if not isinstance(result, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if explicit:
            raise InputError.single(explicit, f"cannot read the smoke result: {reason}",
                                    key="--smoke-result") from None
        return {"path": str(path), "found_by": "convention", "error": f"unreadable: {reason}"}
    return {"path": str(path), "found_by": "option" if explicit else "convention", "result": result}


def load_cluster_result(path: str | None) -> dict[str, Any] | None:
    """`--cluster-result FILE`: a `csm-doctor cluster --json` object (`cluster -o FILE`)."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SMOKE_BYTES + 1)
        if len(data) > MAX_SMOKE_BYTES:
            raise ValueError(f"larger than {MAX_SMOKE_BYTES // 2**20} MiB")
        result = json.loads(data.decode("utf-8"))
        if not isinstance(result, dict) or result.get("schema") != "csm-doctor/cluster/1":
            raise ValueError("not a csm-doctor/cluster/1 object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
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
