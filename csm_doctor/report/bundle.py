"""Write a support bundle: a folder, or a .zip holding one, with a SHA-256 manifest.

The manifest (`SHA256SUMS`, the format `sha256sum -c` reads) lists every
other file, so an edit after the fact shows; summary.md quotes the data
files' checksums too, so the Markdown pasted into the issue vouches for the
attachment. Nothing is written until every file's content is final, and a
folder that already holds files is never written into.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError

MANIFEST = "SHA256SUMS"
SUMMARY = "summary.md"


def default_target(now: datetime.datetime | None = None) -> Path:
    """./csm-doctor-report-<UTC timestamp>/."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return Path(f"csm-doctor-report-{now.strftime('%Y%m%dT%H%M%SZ')}")


def resolve_target(output: str | None, shown: str | None = None) -> Path:
    """The folder or .zip to write; exit 2 when it would overwrite something."""
    target = Path(output) if output else default_target()
    name = shown or str(target)
    if target.suffix.lower() == ".zip":
        if target.exists():
            raise InputError.single(name, "already exists; choose another name", key="--output")
        if not target.parent.is_dir():
            raise InputError.single(name, "its folder does not exist", key="--output")
    elif target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError.single(name, "already exists and is not an empty folder", key="--output")
    return target


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_bundle(files: dict[str, str], target: Path) -> list[dict[str, Any]]:
    """Write `files` (name → text) and the manifest; return [{"name", "bytes", "sha256"}]."""
    files = dict(files)
    files[MANIFEST] = "".join(f"{sha256(text)}  {name}\n" for name, text in sorted(files.items()))
    try:
        if target.suffix.lower() == ".zip":
            with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, text in files.items():
                    archive.writestr(f"{target.stem}/{name}", text)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (target / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError.single(str(target), f"cannot write: {exc.strerror or exc}",
                                key="--output") from None
    return [{"name": name, "bytes": len(text.encode("utf-8")), "sha256": sha256(text)}
            for name, text in sorted(files.items())]


def bundle_files(report: dict[str, Any], redactor: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The bundle's files from the (already redacted) report document, and what was redacted.

    Every file passes the redactor once more as a safety net, so a field added
    to the document later cannot carry a secret out unnoticed.
    """
    from csm_doctor.report.summary import markdown_summary

    data = {
        "report.json": report,
        "facts.json": report["facts"],
        "findings.json": {"recipe": report["recipe"], "summary": report["summary"],
                          "findings": report["findings"]},
    }
    smoke = report.get("smoke") or {}
    if smoke.get("result") is not None:
        data["smoke-result.json"] = smoke["result"]
    files = {name: redactor.text(as_json(value)) for name, value in data.items()}
    redactions = redactor.summary()
    files["redactions.json"] = as_json({"note": "kinds and counts of what was removed; the values "
                                                "are never kept", "redactions": redactions})
    checksums = {name: sha256(text) for name, text in files.items()}
    files[SUMMARY] = redactor.text(markdown_summary(report, redactions, checksums))
    from csm_doctor.report.html import report_page  # the page a person opens (report/html.py)

    files["report.html"] = report_page(report, redactions, redactor)
    return files, redactions
