"""The human view of a fix: the plan, each step as it runs, and what the re-check says.

The plan and the outcome go to stdout; progress while steps run goes to stderr,
so `fix --yes > log.txt` keeps a readable record and a terminal still shows
what is happening. Same symbols and colour rules as `check` (render/human.py).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from csm_doctor.fix.actions import Action
from csm_doctor.render.human import STYLE, make_console, symbols_for, writable


def render_plan(plan: list[Action], header: list[str], stream: TextIO | None = None,
                note: str | None = None) -> None:
    from rich.text import Text

    from csm_doctor.render import wrap

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    width = wrap.terminal_width(stream)
    console = make_console(writable(stream))
    for i, line in enumerate(header):
        lead = len(line) - len(line.lstrip(" "))
        for part in wrap.prose(line, lead + 2, width, first=lead):
            console.print(Text(part, style="bold" if i == 0 else "dim"))
    console.print()
    if not plan:
        console.print(Text(f"{sym['pass']} Nothing to fix: no failing check has a step to take.",
                           style="green"))
        return
    runs = sum(1 for a in plan if a.runs)
    console.print(Text(f"Plan: {len(plan)} step{'s' * (len(plan) != 1)} "
                       f"({runs} to run, {len(plan) - runs} advice for you)", style="bold"))
    for i, action in enumerate(plan, 1):
        line = Text(f"  {i:>2}. ")
        line.append(f"{action.kind:<11}", style="cyan" if action.runs else "yellow")
        described = wrap.prose(action.description, 17, width, first=17)
        line.append(described[0])
        console.print(line)
        for rest in described[1:]:
            console.print(Text(rest))
        if action.command:
            prefix = "$" if action.runs else "you:"
            lead = f"        {prefix} "
            as_command = action.runs or wrap.looks_like_command(action.command)
            shown = wrap.command(action.command, 8, width, first=len(lead)) if as_command \
                else wrap.prose(action.command, len(lead), width)
            console.print(Text(lead + shown[0], style="dim"))
            for rest in shown[1:]:
                console.print(Text(rest, style="dim"))
        if action.addresses:
            labels = ", ".join(dict.fromkeys(ref.label() for ref in action.addresses))
            lead = f"        {'fixes' if action.runs else 'for'}: "
            for j, part in enumerate(wrap.prose(labels, len(lead), width, first=len(lead))):
                console.print(Text((lead if j == 0 else "") + part, style="dim"))
    if note:
        console.print()
        console.print(Text(note, style="yellow"))


def progress_start(action: Action, index: int, total: int, stream: TextIO | None = None) -> None:
    stream = writable(stream or sys.stderr)
    stream.write(f"[{index}/{total}] {action.description}\n")
    stream.flush()


def progress_done(action: Action, result: Any, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    sym = symbols_for(stream)
    mark = {"ok": sym["pass"], "failed": sym["fail"]}.get(result.status, sym["skip"])
    out = writable(stream)
    out.write(f"      {mark} {result.status} ({result.seconds:.1f} s)"
              + (f": {_message(result)}" if result.status != "ok" or action.kind == "download" else "")
              + "\n")
    out.flush()


class StepView:
    """fix's steps on stderr: the step line, a live status line while it runs, its result.

    On a terminal a step that runs past 2 s gets a spinner with its elapsed time and
    the last line pip/uv printed (or, for downloads, the bytes so far); with -v every
    output line is printed instead, so no status line is drawn over them.
    """

    def __init__(self, stream: TextIO | None = None, live: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.live = live
        self.ticker: Any = None

    def start(self, action: Action, index: int, total: int) -> None:
        from csm_doctor.render.progress import Ticker

        progress_start(action, index, total, self.stream)
        if self.live:
            self.ticker = Ticker(f"[{index}/{total}] {action.kind}", self.stream).start()

    def line(self, text: str) -> None:
        if self.ticker is not None:
            self.ticker.update(text)

    def bytes(self, done: int, total: int | None) -> None:
        from csm_doctor.render.progress import byte_progress

        if self.ticker is not None:
            self.ticker.update(byte_progress(done, total, self.ticker.elapsed()))

    def done(self, action: Action, result: Any) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        progress_done(action, result, self.stream)


def _message(result: Any) -> str:
    """A failed step's message, led by the diagnosis id that explains it (index-unreachable)."""
    finding = getattr(result, "finding_id", None)
    return f"{finding}: {result.message}" if finding and result.status == "failed" else result.message


def render_outcome(plan: list[Action], results: list[Any], outcome: Any, code: int,
                   rolled_back: bool | None, stream: TextIO | None = None) -> None:
    from rich.text import Text

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    console = make_console(writable(stream))
    by_id = {a.id: a for a in plan}
    console.print()
    console.print(Text("Results:", style="bold"))
    for result in results:
        action = by_id.get(result.id)
        if action is None or not action.runs:
            continue
        state = {"ok": "pass", "failed": "fail"}.get(result.status, "skip")
        line = Text("  ")
        line.append(f"{sym[state]} ", style=STYLE[state])
        line.append(f"{action.description} ({result.seconds:.1f} s)")
        console.print(line)
        if result.status != "ok" or action.kind == "download":
            console.print(Text(f"      {_message(result)}", style="dim" if result.status == "ok" else "red"))
    console.print()
    console.print(Text("Re-check:", style="bold"))
    for change in outcome.changes:
        fixed = change["after"] != "fail"
        state = "pass" if fixed else "fail"
        line = Text("  ")
        line.append(f"{sym[state]} ", style=STYLE[state])
        label = change["id"] + (f" ({change['subject']})" if change["subject"] else "")
        line.append(f"{'fixed' if fixed else ('new' if change['before'] != 'fail' else 'remains')}: {label}")
        if not fixed:
            line.append(f" · {change['title']}", style="dim")
        console.print(line)
    if not outcome.changes:
        console.print(Text("  nothing was failing", style="dim"))
    console.print()
    if code == 0:
        console.print(Text(f"{sym['pass']} Fixed: the re-check finds nothing failing.", style="green"))
    else:
        advice = sum(1 for a in plan if not a.runs)
        hint = f" {advice} step{'s' * (advice != 1)} above are yours to do." if advice else ""
        console.print(Text(f"{sym['warn']} {len(outcome.remaining)} failing check"
                           f"{'s' * (len(outcome.remaining) != 1)} remain.{hint}", style="red"))
    if rolled_back is False:
        console.print(Text("  The environment could not be put back exactly: "
                           "run `csm-doctor fix --undo`.", style="red"))
