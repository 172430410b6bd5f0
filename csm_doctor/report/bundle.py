"""Write a support bundle: a folder, or a .zip holding one, with a SHA-256 manifest.

The manifest (`SHA256SUMS`, the format `sha256sum -c` reads) lists every
other file, so an edit after the fact shows; summary.md quotes the data
files' checksums too, so the Markdown pasted into the issue vouches for the
attachment. Nothing is written until every file's content is final; the folder
is made fresh (an existing one is used only if empty and not a link), every
file is created with O_EXCL | O_NOFOLLOW, and default names never collide.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError

MANIFEST = "SHA256SUMS"
SUMMARY = "summary.md"


def default_target(now: datetime.datetime | None = None) -> Path:
    """./csm-doctor-report-<UTC timestamp>/ (a taken name gets -2, -3, ... when written)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return Path(f"csm-doctor-report-{now.strftime('%Y%m%dT%H%M%SZ')}")


def resolve_target(output: str | None, shown: str | None = None) -> Path:
    """The folder or .zip to write; exit 2 when it would overwrite something or follow a link.

    Checked before probing so a bad -o fails fast; `write_bundle` checks again, atomically,
    because the folder can change while the machine is probed.
    """
    from csm_doctor.safeio import refuse_existing_output

    target = Path(output) if output else default_target()
    name = shown or str(target)
    if target.suffix.lower() == ".zip":
        if os.path.lexists(target):
            raise InputError.single(name, "already exists; choose another name", key="--output")
        if not target.parent.is_dir():
            raise InputError.single(name, "its folder does not exist", key="--output")
    elif output:
        refuse_existing_output(target, name)
    return target


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_bundle(files: dict[str, str], target: Path, *, unique: bool = False
                 ) -> tuple[Path, list[dict[str, Any]]]:
    """Write `files` (name → text) and the manifest; return where, and [{"name", "bytes", "sha256"}].

    A folder is made fresh (or an empty one used) and each file created with O_EXCL |
    O_NOFOLLOW relative to it, so a link planted in the meantime is refused, never written
    through; `unique` (the default name) takes the next free name instead of failing. On
    any failure what this run wrote is removed and the error is exit 2.
    """
    files = dict(files)
    files[MANIFEST] = "".join(f"{sha256(text)}  {name}\n" for name, text in sorted(files.items()))
    try:
        if target.suffix.lower() == ".zip":
            _write_zip(files, target)
        else:
            target = _write_folder(files, target, unique)
    except OSError as exc:
        raise InputError.single(str(exc.filename or target), f"cannot write: {exc.strerror or exc}",
                                key="--output") from None
    return target, [{"name": name, "bytes": len(text.encode("utf-8")), "sha256": sha256(text)}
                    for name, text in sorted(files.items())]


def _write_zip(files: dict[str, str], target: Path) -> None:
    from csm_doctor.safeio import open_new

    with open_new(target) as handle:  # O_EXCL | O_NOFOLLOW: claims the name, or fails
        try:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, text in files.items():
                    archive.writestr(f"{target.stem}/{name}", text)
        except BaseException:
            os.unlink(target)
            raise


def _write_folder(files: dict[str, str], target: Path, unique: bool) -> Path:
    from csm_doctor.safeio import fresh_dir

    folder = fresh_dir(target, unique=unique)
    name = ""
    try:
        for name, text in files.items():
            folder.add(name, text)
    except OSError as exc:  # EEXIST / ELOOP: something was planted at that name meanwhile
        folder.discard()
        raise OSError(exc.errno, f"{exc.strerror} (something appeared at that name while "
                                 "csm-doctor worked; nothing was written through it)",
                      str(folder.path / name)) from None
    except BaseException:
        folder.discard()
        raise
    folder.close()
    return folder.path


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
    if (report.get("cluster") or {}).get("result") is not None:
        data["cluster-result.json"] = report["cluster"]["result"]
    files = {name: redactor.text(as_json(value)) for name, value in data.items()}
    redactions = redactor.summary()
    files["redactions.json"] = as_json({"note": "kinds and counts of what was removed; the values "
                                                "are never kept", "redactions": redactions})
    checksums = {name: sha256(text) for name, text in files.items()}
    files[SUMMARY] = redactor.text(markdown_summary(report, redactions, checksums))
    from csm_doctor.report.html import report_page  # the page a person opens (report/html.py)

    files["report.html"] = report_page(report, redactions, redactor)
    return files, redactions
