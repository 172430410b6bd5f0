"""The human view, in the style users know from `flutter doctor`.

One line per check group with [✓]/[!]/[✗], the problems under it with their
fix, everything (passes, skips, timings) under -v. Colour only on a terminal;
NO_COLOR honoured (rich does both); ASCII symbols where the console cannot
print the Unicode ones (legacy Windows code pages).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from csm_doctor.catalogue import Catalogue
from csm_doctor.evaluate import PROBE_GROUP
from csm_doctor.findings import Finding, Status, worst_status
from csm_doctor.recipe import Recipe

UNICODE = {"pass": "✓", "warn": "!", "fail": "✗", "error": "☠", "skip": "-", "arrow": "→"}
ASCII = {"pass": "+", "warn": "!", "fail": "x", "error": "X", "skip": "-", "arrow": "->"}
EXTRA_GROUPS = {"smoke": "Smoke test (speech generated end to end)", "checkpoints": "Checkpoints",
                "cluster": "Cluster (nodes, ranks and the collective test)"}
STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta", "skip": "dim"}


def symbols_for(stream: TextIO) -> dict[str, str]:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "".join(UNICODE.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE


def writable(stream: TextIO) -> TextIO:
    """A stream that cannot crash on text its encoding lacks ('≥', '·' on cp1252/ascii)."""
    buffer = getattr(stream, "buffer", None)
    if symbols_for(stream) is UNICODE or buffer is None:
        return stream
    import io

    stream.flush()
    return io.TextIOWrapper(buffer, encoding=stream.encoding or "ascii", errors="replace",
                            line_buffering=True, write_through=True)


def make_console(stream: TextIO) -> Any:
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True)


def render_check(findings: list[Finding], facts: dict[str, Any], recipe: Recipe,
                 catalogue: Catalogue, verbose: bool = False, stream: TextIO | None = None,
                 recipe_reason: str | None = None) -> None:
    from rich.text import Text

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    stream = writable(stream)
    console = make_console(stream)
    python = facts.get("python") or {}
    from csm_doctor.render import wrap

    width = wrap.terminal_width(stream)
    for part in wrap.prose(f"csm-doctor · recipe {recipe.id}: {recipe.title}", 2, width, first=0):
        console.print(Text(part, style="bold"))
    if recipe_reason:
        for part in wrap.prose(f"  {recipe_reason}", 4, width, first=0):
            console.print(Text(part, style="dim"))
    target = python.get("executable") or "unknown interpreter"
    chosen = ((facts.get("doctor") or {}).get("target") or {})
    note = chosen.get("note")
    for part in wrap.prose(f"  environment under test: {target}" + (f" ({note})" if note else ""),
                           4, width, first=0):
        console.print(Text(part, style="yellow" if chosen.get("own_tool") and
                           chosen.get("source") != "--python" else "dim"))
    console.print()

    groups = [(PROBE_GROUP, "csm-doctor probes")] + catalogue.groups
    known = {g for g, _ in groups}
    groups += [(g, EXTRA_GROUPS.get(g, g)) for g in dict.fromkeys(f.group for f in findings)
               if g not in known]  # findings from beyond the catalogue (smoke, checkpoints)
    problem_groups = 0
    consequences = _consequences(findings)
    for group_id, title in groups:
        members = [f for f in findings if f.group == group_id and not f.explained_by]
        if not members:
            continue
        shown = worst = worst_status(members) or Status.SKIP
        if worst is Status.SKIP and not verbose:
            continue  # nothing here applies to this machine and recipe
        if worst in (Status.FAIL, Status.ERROR, Status.WARN):
            problem_groups += 1
        _render_group_line(console, f"[{sym[shown.value]}] ", STYLE[shown.value], title,
                           _headline(members))
        for finding in members:
            if finding.status in (Status.PASS, Status.SKIP) and not verbose:
                continue
            render_finding(console, finding, sym, verbose)
            for consequence in consequences.pop(finding.id, []):
                render_finding(console, consequence, sym, verbose, indent="      ")
    if verbose:
        _render_timings(console, facts)
    console.print()
    _render_summary(console, findings, problem_groups, sym)


def _render_group_line(console: Any, mark: str, style: str, title: str, headline: str) -> None:
    """`[✓] Group title (headline)`, wrapped between words under its indent on a terminal."""
    from rich.text import Text

    from csm_doctor.render import wrap

    width = wrap.terminal_width(console.file) if console.is_terminal else None
    text = title + (f" ({headline})" if headline else "")
    parts = wrap.prose(text, 4, width, first=len(mark))
    line = Text()
    line.append(mark, style=style)
    first = parts[0] if parts else ""
    if headline and first.endswith(f" ({headline})"):
        line.append(first[:-len(headline) - 3])
        line.append(f" ({headline})", style="dim")
    else:
        line.append(first)
    console.print(line)
    for part in parts[1:]:
        console.print(Text(part, style="dim"))


def _headline(members: list[Finding]) -> str:
    """A short status line for the group, like flutter's statusInfo."""
    fails = sum(1 for f in members if f.status is Status.FAIL)
    warns = sum(1 for f in members if f.status is Status.WARN)
    if fails or warns:
        parts = [f"{fails} failed" if fails else "", f"{warns} warning{'s' * (warns != 1)}"
                 if warns else ""]
        return ", ".join(p for p in parts if p)
    passes = [f.title for f in members if f.status is Status.PASS]
    if not passes:  # everything skipped: say why rather than implying "fine"
        return f"not checked: {members[0].title}"
    return passes[0] if len(passes) == 1 else f"{len(passes)} checks passed"


def _consequences(findings: list[Finding]) -> dict[str, list[Finding]]:
    """Findings a present root cause explains, by the root's id: shown under the root."""
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.explained_by:
            out.setdefault(finding.explained_by, []).append(finding)
    return out


def render_finding(console: Any, finding: Finding, sym: dict[str, str], verbose: bool,
                   indent: str = "") -> None:
    from rich.text import Text

    from csm_doctor.render import wrap

    width = wrap.terminal_width(console.file) if console.is_terminal else None
    status = finding.status.value
    line = Text("    " + indent)
    line.append(f"{sym[status]} ", style=STYLE[status])
    title = finding.title + (f"  [{finding.id}]" if verbose else "")
    parts = wrap.prose(title, 6 + len(indent), width, first=4 + len(indent) + len(sym[status]) + 1)
    line.append(parts[0])
    console.print(line)
    for rest in parts[1:]:
        console.print(Text(rest))
    for detail in finding.details:
        for part in wrap.prose(f"        {indent}{detail}", 8 + len(indent), width, first=0):
            console.print(Text(part, style="dim"))
    if verbose and finding.status in (Status.FAIL, Status.WARN) and finding.expected is not None:
        console.print(Text(f"        observed: {finding.observed!s}   expected: {finding.expected!s}",
                           style="dim"))
    if finding.status in (Status.FAIL, Status.WARN, Status.ERROR):
        remedy = finding.remedy
        lead = f"      {sym['arrow']} "
        text = str(remedy.text if remedy is not None else (finding.fix or ""))
        if text:
            parts = wrap.command(text, 6, width, first=len(lead)) if wrap.looks_like_command(text) \
                else wrap.prose(text, 8, width, first=len(lead))
            for j, part in enumerate(parts):
                console.print(Text((lead if j == 0 else "") + part, style="cyan"))
        for command in remedy.commands if remedy is not None else ():
            # ` \` continuations are POSIX: a cmd/PowerShell command stays on one line
            parts = wrap.command(command, 8, width, first=10) if remedy.shell == "posix" else [command]
            for j, part in enumerate(parts):
                console.print(Text(("        $ " if j == 0 else "") + part, style="cyan",
                                   no_wrap=True, overflow="ignore"))


def _render_timings(console: Any, facts: dict[str, Any]) -> None:
    from rich.text import Text

    probes = facts.get("probes") or {}
    if not probes:
        return
    console.print()
    console.print(Text("probe timings:", style="dim"))
    for name, record in probes.items():
        seconds = record.get("seconds")
        took = f"{seconds:.2f} s" if isinstance(seconds, (int, float)) else "?"
        console.print(Text(f"  {name:<8} {record.get('status'):<8} {took}", style="dim"))


def _render_summary(console: Any, findings: list[Finding], problem_groups: int,
                    sym: dict[str, str]) -> None:
    from rich.text import Text

    from csm_doctor.render import wrap

    fails = sum(1 for f in findings if f.status is Status.FAIL)
    warns = sum(1 for f in findings if f.status is Status.WARN)
    errors = sum(1 for f in findings if f.status is Status.ERROR)
    if not (fails or warns or errors):
        console.print(Text(f"{sym['pass']} No issues found: this machine fits the recipe.",
                           style="green"))
        return
    counts = ", ".join(x for x in (f"{fails} failed" if fails else "",
                                   f"{warns} warning{'s' * (warns != 1)}" if warns else "",
                                   f"{errors} could not be checked" if errors else "") if x)
    style = "red" if fails else "yellow"
    width = wrap.terminal_width(console.file) if console.is_terminal else None
    line = (f"{sym['warn']} csm-doctor found issues in {problem_groups} "
            f"group{'s' * (problem_groups != 1)}: {counts}.")
    for part in wrap.prose(line, 2, width, first=0):
        console.print(Text(part, style=style))
    console.print(Text("  Run with -v for every check, or --json for scripts.", style="dim"))
