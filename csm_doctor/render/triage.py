"""The human view of `triage`: the known problems first, then the tool outputs found and their facts."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from csm_doctor.facts import get_path
from csm_doctor.render.human import STYLE, make_console, symbols_for, writable

LABELS = {
    "nvidia-smi-table": "nvidia-smi", "nvidia-smi-q": "nvidia-smi -q",
    "nvidia-smi-xml": "nvidia-smi -q -x", "nvidia-smi-csv": "nvidia-smi --query-gpu",
    "nvidia-smi-list": "nvidia-smi -L", "nvidia-smi-version": "nvidia-smi --version",
    "npu-smi": "npu-smi info", "ffmpeg": "ffmpeg -version", "collect-env": "torch collect_env",
    "pip-freeze": "pip freeze", "pip-list": "pip list",
    "nvidia-smi-error": "nvidia-smi error message",
    "transformers-env": "transformers env", "accelerate-env": "accelerate env",
    "hf-env": "hf env (huggingface-cli env)", "pip-check": "pip check", "conda-list": "conda list",
}


def _torch_build(facts: dict[str, Any]) -> str:
    """What the paste says of torch's build: CUDA x, CPU-only, or that it does not say."""
    cuda, variant = get_path(facts, "torch.cuda"), get_path(facts, "torch.variant") or ""
    if cuda:
        return f"built for CUDA {cuda}"
    if variant.startswith("cu"):
        return f"a CUDA build ({variant})"
    if variant.startswith(("cpu", "rocm", "xpu")):
        return "a CPU-only build" if variant.startswith("cpu") else f"a {variant} build"
    return "build not shown: a plain version from PyPI is a CUDA build on Linux, CPU-only elsewhere"


def fact_lines(facts: dict[str, Any]) -> list[str]:
    """One line per thing the paste told us, in the order a support engineer reads them."""
    lines = []
    gpus = get_path(facts, "nvidia.gpus") or []
    names = sorted({g.get("name") or "?" for g in gpus})
    for name in names:
        same = [g for g in gpus if (g.get("name") or "?") == name]
        extra = ", ".join(x for x in (
            f"{same[0]['memory_total_mib']} MiB" if same[0].get("memory_total_mib") else "",
            f"compute capability {same[0]['compute_capability']}"
            if same[0].get("compute_capability") else "") if x)
        lines.append(f"GPU: {len(same)} × {name}" + (f" ({extra})" if extra else ""))
    driver, cuda = get_path(facts, "nvidia.driver_version"), get_path(facts, "nvidia.cuda_version")
    if driver or cuda:
        lines.append(f"NVIDIA driver {driver or '?'}" + (f", supports CUDA ≤ {cuda}" if cuda else ""))
    npus = get_path(facts, "ascend.npus") or []
    if npus or get_path(facts, "ascend.npu_smi_version"):
        lines.append(f"Ascend: {len(npus)} NPU chip(s) {', '.join(sorted({n.get('name') or '?' for n in npus}))}, "
                     f"npu-smi {get_path(facts, 'ascend.npu_smi_version') or '?'}")
    torch = get_path(facts, "torch.version")
    if torch:
        lines.append(f"torch {torch} ({_torch_build(facts)})")
    for label, path in (("Python", "python.version"), ("OS", "os.name"), ("ffmpeg", "ffmpeg.version")):
        if get_path(facts, path):
            lines.append(f"{label} {get_path(facts, path)}")
    packages = get_path(facts, "packages") or {}
    if packages:
        lines.append(f"{len(packages)} Python packages listed")
    return lines


def render_triage(facts: dict[str, Any], sources: list[dict[str, Any]], origin: str,
                  stream: TextIO | None = None, findings: list[dict[str, Any]] | None = None,
                  redactions: list[dict[str, Any]] | None = None,
                  gaps: dict[str, Any] | None = None) -> None:
    from rich.text import Text

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    console = make_console(writable(stream))
    findings = findings or []
    if findings:
        render_findings(console, findings, origin, sym)
        console.print()
    if not sources:
        console.print(Text(f"No tool output recognised in {origin}.", style="yellow"))
        console.print(Text("  csm-doctor reads nvidia-smi (table, -q, -q -x, --query-gpu, -L), "
                           "npu-smi info, ffmpeg -version, torch collect_env, pip freeze/list/check, conda list "
                           "and the transformers / accelerate / hf env reports.",
                           style="dim"))
    else:
        console.print(Text(f"Found in {origin}:", style="bold"))
        for source in sources:
            label = LABELS.get(source.get("kind", ""), source.get("kind", "?"))
            console.print(Text(f"  {sym['pass']} {label}  (line {source.get('line')}, "
                               f"{source.get('lines')} lines)"))
        console.print()
        console.print(Text("What it shows:", style="bold"))
        for line in fact_lines(facts):
            console.print(Text(f"  {line}"))
    if not findings:
        from csm_doctor import docs_url

        console.print(Text(f"No known problem recognised ({docs_url('triage.md')} lists what is).",
                           style="dim"))
    if gaps:
        console.print(Text("It cannot tell because the paste lacks:", style="bold"))
        for lack in gaps["lacks"]:
            console.print(Text(f"  - {lack}"))
        console.print(Text(f"  {sym['arrow']} run `{gaps['command']}`: {gaps['why']}", style="cyan"))
    if redactions:
        removed = ", ".join(f"{r['count']} × {r['kind']}" for r in redactions)
        console.print(Text(f"Redacted from this output: {removed}.", style="dim"))


def render_findings(console: Any, findings: list[dict[str, Any]], origin: str,
                    sym: dict[str, str]) -> None:
    """Each named cause, best first: id and confidence, the evidence lines, the fix."""
    from rich.text import Text

    fails = sum(1 for f in findings if f["status"] == "fail")
    console.print(Text(f"Known problems in {origin} ({fails} failing, "
                       f"{len(findings) - fails} more), root cause first:", style="bold"))
    for finding in findings:
        status = finding["status"]
        head = Text("  ")
        head.append(f"{sym[status]} ", style=STYLE[status])
        head.append(finding["id"], style="bold")
        how = finding["confidence"]
        if finding.get("explained_by"):
            how += ", a consequence of " + ", ".join(finding["explained_by"])
        head.append(f"  ({how})", style="dim")
        console.print(head)
        console.print(Text(f"    {finding['title']}"))
        for evidence in finding.get("evidence") or []:
            console.print(Text(f"      line {evidence['line']}: {evidence['text']}", style="dim"))
        more = finding.get("occurrences", 0) - len(finding.get("evidence") or [])
        if more > 0:
            console.print(Text(f"      … and {more} more line{'s' * (more != 1)}", style="dim"))
        for detail in finding.get("details") or []:
            if not detail.startswith("a consequence of"):
                console.print(Text(f"    {detail}", style="dim"))
        remedy = finding.get("remedy") or {}
        text = remedy.get("text") or finding.get("fix")
        if text:
            console.print(Text(f"    {sym['arrow']} {text}", style="cyan"))
        for command in remedy.get("commands") or ():
            console.print(Text(f"      $ {command}", style="cyan"))
