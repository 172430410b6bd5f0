"""The human view of a lint: what PATH was taken for, then each problem at its file:line."""

from __future__ import annotations

import sys
from typing import TextIO

from csm_doctor.findings import Status
from csm_doctor.lint.model import LintReport
from csm_doctor.render.human import STYLE, make_console, symbols_for, writable


def render_lint(report: LintReport, verbose: bool = False, stream: TextIO | None = None) -> None:
    from rich.text import Text

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    console = make_console(writable(stream))
    console.print(Text(f"csm-doctor lint · {report.target}", style="bold"))
    how = "given with --recipe" if report.recipe_selected == "given" else "detected"
    console.print(Text(f"  {report.kind_title} ({how}: {report.detected})", style="dim"))
    console.print(Text(f"  judged against recipe {report.recipe_id}: {report.recipe_title}",
                       style="dim"))
    console.print()
    shown = 0
    for item in report.sorted_findings():
        finding = item.finding
        if finding.status in (Status.PASS, Status.SKIP) and not verbose:
            continue
        shown += 1
        status = finding.status.value
        line = Text("  ")
        line.append(f"{sym[status]} ", style=STYLE[status])
        where = item.where.render()
        if where:
            line.append(f"{where}: ", style="bold")
        line.append(finding.title)
        if verbose or status in ("fail", "warn"):
            line.append(f"  [{finding.id}]", style="dim")
        console.print(line)
        for detail in finding.details:
            console.print(Text(f"      {detail}", style="dim"))
        if finding.fix and finding.status in (Status.FAIL, Status.WARN, Status.ERROR):
            console.print(Text(f"    {sym['arrow']} {finding.fix}", style="cyan"))
    if shown:
        console.print()
    _summary(console, report, sym)


def _summary(console, report: LintReport, sym: dict[str, str]) -> None:
    from rich.text import Text

    fails = sum(1 for f in report.findings if f.status is Status.FAIL)
    warns = sum(1 for f in report.findings if f.status is Status.WARN)
    passes = sum(1 for f in report.findings if f.status is Status.PASS)
    read = f" ({len(report.files)} file{'s' * (len(report.files) != 1)} read)" if report.files else ""
    if not (fails or warns):
        said = (f"{passes} check{'s' * (passes != 1)} passed" if passes
                else "nothing in it for these checks to judge (-v says why)")
        console.print(Text(f"{sym['pass']} No problems found: {said}{read}.", style="green"))
        return
    counts = ", ".join(x for x in (f"{fails} failed" if fails else "",
                                   f"{warns} warning{'s' * (warns != 1)}" if warns else "") if x)
    console.print(Text(f"{sym['fail' if fails else 'warn']} {counts}{read}.",
                       style="red" if fails else "yellow"))
    console.print(Text("  Run with -v for the checks that passed, or --json for scripts.",
                       style="dim"))
