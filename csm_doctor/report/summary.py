"""The Markdown a user pastes into a GitHub issue: the key table first, the rest folded.

A support engineer reads the table (OS, Python, GPU/driver/CUDA, torch build,
recipe, failing ids) and usually knows what to ask next; everything else is in
collapsible <details> blocks so the issue stays readable. Built from the
redacted report document, so it cannot show anything the bundle does not.
"""

from __future__ import annotations

from typing import Any

from csm_doctor.facts import get_path

_MARK = {"fail": "✗", "error": "☠", "warn": "!", "pass": "✓", "skip": "-"}


def _cell(value: Any) -> str:
    """A table cell: pipes escaped, newlines folded, empty as an em dash."""
    text = " ".join(str(value).split()) if value not in (None, "", []) else "—"
    return text.replace("|", "\\|")


def _os(facts: dict[str, Any]) -> str:
    name = get_path(facts, "os.name")
    distro = get_path(facts, "os.distro") or {}
    parts = [name, " ".join(x for x in (distro.get("name"), distro.get("version")) if x),
             get_path(facts, "os.arch"), "WSL" if get_path(facts, "os.wsl") else None]
    return ", ".join(p for p in parts if p)


def _python(facts: dict[str, Any]) -> str:
    version = get_path(facts, "python.version")
    if not version:
        return ""
    kind = get_path(facts, "python.venv_kind") or ("venv" if get_path(facts, "python.in_venv") else
                                                   "no virtual environment")
    return f"{version} ({kind})"


def _accelerator(facts: dict[str, Any]) -> str:
    gpus = get_path(facts, "nvidia.gpus") or []
    if gpus:
        names: dict[str, list[dict]] = {}
        for gpu in gpus:
            names.setdefault(gpu.get("name") or "GPU", []).append(gpu)
        out = []
        for name, same in names.items():
            extra = [f"{same[0]['memory_total_mib']} MiB" if same[0].get("memory_total_mib") else "",
                     f"cc {same[0]['compute_capability']}" if same[0].get("compute_capability") else ""]
            extra_text = ", ".join(x for x in extra if x)
            out.append(f"{len(same)} × {name}" + (f" ({extra_text})" if extra_text else ""))
        return "; ".join(out)
    npus = get_path(facts, "ascend.npus") or []
    if npus:
        return f"{len(npus)} × Ascend {npus[0].get('name') or 'NPU'}"
    if get_path(facts, "apple.apple_silicon"):
        return f"{get_path(facts, 'apple.chip') or 'Apple silicon'} (MPS)"
    return "none found"


def _driver(facts: dict[str, Any]) -> str:
    driver, cuda = get_path(facts, "nvidia.driver_version"), get_path(facts, "nvidia.cuda_version")
    if get_path(facts, "nvidia.error"):
        return f"error: {get_path(facts, 'nvidia.error')}"
    if driver or cuda:
        return f"{driver or '?'} / CUDA ≤ {cuda or '?'}"
    cann = get_path(facts, "ascend.cann_version")
    return f"CANN {cann}" if cann else ""


def _torch(facts: dict[str, Any]) -> str:
    version = get_path(facts, "torch.version")
    if not version:
        return "not installed" if get_path(facts, "packages") is not None else ""
    build = get_path(facts, "torch.cuda")
    available = get_path(facts, "torch.cuda_available")
    text = f"{version} (" + (f"CUDA {build}" if build else "no CUDA") + ")"
    if available is not None:
        text += ", CUDA available" if available else ", CUDA not available"
    return text


def _smoke(smoke: dict[str, Any] | None) -> str:
    if not smoke:
        return "not run (no ./csm-doctor-smoke/result.json)"
    if smoke.get("error"):
        return f"unreadable result ({smoke['error']})"
    result = smoke.get("result") or {}
    parts = [result.get("status"), result.get("device"),
             f"RTF {result['rtf']}" if result.get("rtf") is not None else None]
    return ", ".join(str(p) for p in parts if p) or "result without a status"


def key_table(report: dict[str, Any]) -> list[str]:
    facts = report.get("facts") or {}
    failing = []
    for finding in report.get("findings") or []:
        if finding["status"] == "fail" and finding["id"] not in failing:
            failing.append(finding["id"])
    rows = [
        ("OS", _os(facts)), ("Python", _python(facts)), ("GPU", _accelerator(facts)),
        ("Driver / CUDA", _driver(facts)), ("torch", _torch(facts)),
        ("Recipe", f"`{report['recipe']['id']}` ({report['recipe']['selected']})"),
        ("Failing", ", ".join(f"`{i}`" for i in failing) or "none"),
        ("Smoke test", _smoke(report.get("smoke"))),
    ]
    return ["| | |", "| --- | --- |"] + [f"| {name} | {_cell(value)} |" for name, value in rows]


def _findings(report: dict[str, Any]) -> list[str]:
    shown = [f for f in report.get("findings") or [] if f["status"] in ("fail", "error", "warn")]
    counts = report.get("summary") or {}
    head = (f"Findings: {counts.get('fail', 0)} failed, {counts.get('warn', 0)} warning(s), "
            f"{counts.get('error', 0)} could not be checked")
    lines = ["<details><summary>" + head + "</summary>", ""]
    if not shown:
        lines.append("Nothing failed.")
    for finding in shown:
        lines.append(f"- {_MARK[finding['status']]} `{finding['id']}`: {finding['title']}")
        remedy = finding.get("remedy") or {}
        text = remedy.get("text") or finding.get("fix")
        if text:
            lines.append(f"  - fix: {text}")
        for command in remedy.get("commands") or ():
            lines.append(f"    `{command}`")
    return lines + ["", "</details>"]


def _block(summary: str, body: list[str]) -> list[str]:
    return ["<details><summary>" + summary + "</summary>", "", *body, "", "</details>"]


def markdown_summary(report: dict[str, Any], redactions: list[dict[str, Any]],
                     checksums: dict[str, str]) -> str:
    """summary.md: ready to paste into an issue (GitHub renders the table and the folds)."""
    versions = report.get("versions") or {}
    lines = [f"### csm-doctor report ({report.get('created_at')}, csm-doctor {report.get('version')})",
             "", *key_table(report), "", *_findings(report), ""]
    smoke = report.get("smoke")
    if smoke:
        result = smoke.get("result") or {}
        body = [f"- {key}: `{_cell(result.get(key))}`" for key in
                ("status", "device", "sample_rate", "audio_seconds", "load_seconds",
                 "generate_seconds", "rtf", "peak_memory_mib") if key in result]
        body = body or [f"- {_cell(smoke.get('error') or 'no figures')}"]
        lines += _block(f"Smoke test ({_cell(smoke.get('path'))})", body) + [""]
    version_rows = [f"- csm-doctor {versions.get('csm_doctor')} on Python "
                    f"{versions.get('csm_doctor_python')}, {versions.get('platform')}"]
    version_rows += [f"- {name} {value}" for name, value in (versions.get("packages") or {}).items()]
    lines += _block("Versions", version_rows) + [""]
    removed = [f"- {r['count']} × {r['kind']}" for r in redactions] or ["- nothing"]
    lines += _block("Redacted before writing (kinds and counts, never the values)", removed) + [""]
    sums = [f"    {digest}  {name}" for name, digest in sorted(checksums.items())]
    lines += _block("SHA-256 of the attached files (check with `sha256sum -c SHA256SUMS`)", sums)
    return "\n".join(lines) + "\n"
