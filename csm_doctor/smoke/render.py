"""The human view of a smoke run: its progress while it runs, then one verdict with the figures.

Progress goes to stderr: a rich spinner on a terminal, plain throttled lines
otherwise (CI logs). The verdict goes to stdout in the style of `check`.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from csm_doctor.findings import Status
from csm_doctor.smoke.runner import SmokeOptions, SmokeResult

PLAIN_FRAME_EVERY_S = 10.0
TITLES = {"tiny": "tiny CSM (random weights, built offline)",
          "random-weights": "CSM-1B sizes with random weights (no download)",
          "official": "CSM-1B through the official SesameAILabs/csm generator"}


class ProgressView:
    """Relays the target's progress records; use as a context manager around run_smoke."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._status: Any = None
        self._last_frame_line = 0.0

    def __enter__(self) -> "ProgressView":
        if self.tty and not self.quiet:
            from csm_doctor.render.human import make_console, writable

            self._status = make_console(writable(self.stream)).status("csm-doctor smoke: starting")
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)

    def __call__(self, record: dict[str, Any]) -> None:
        if self.quiet:
            return
        text = describe(record)
        if self._status is not None:
            self._status.update(f"csm-doctor smoke: {text}")
            return
        if "frame" in record and record.get("frame"):
            now = time.monotonic()
            if now - self._last_frame_line < PLAIN_FRAME_EVERY_S and \
                    record.get("frame") != record.get("frames"):
                return
            self._last_frame_line = now
        self.stream.write(f"csm-doctor smoke: {text}\n")
        self.stream.flush()


def describe(record: dict[str, Any]) -> str:
    message = record.get("message") or record.get("stage") or ""
    if record.get("frames") and record.get("frame") is not None:
        return f"{message}: frame {record['frame']}/{record['frames']}"
    return message


def render_smoke(result: SmokeResult, options: SmokeOptions, verbose: bool = False,
                 stream: TextIO | None = None) -> None:
    from rich.text import Text

    from csm_doctor.render.human import (
        STYLE,
        make_console,
        render_finding,
        symbols_for,
        writable,
    )

    stream = stream or sys.stdout
    sym = symbols_for(stream)
    console = make_console(writable(stream))
    title = TITLES.get(options.kind, f"{options.model_id} through transformers")
    console.print(Text(f"csm-doctor smoke · {title}", style="bold"))
    console.print(Text(f"  environment under test: {options.python}", style="dim"))
    if result.device_reason:
        console.print(Text(f"  {result.device_reason}", style="dim"))
    for note in result.details.get("notes") or []:
        console.print(Text(f"  {note}", style="dim"))
    console.print()

    status = {"pass": Status.PASS, "fail": Status.FAIL}.get(result.status, Status.ERROR)
    line = Text()
    line.append(f"[{sym[status.value]}] ", style=STYLE[status.value])
    if status is Status.PASS:
        line.append("CSM speaks")
        audio = next((f for f in result.findings if f.id == "audio-silent-or-invalid"), None)
        if audio:
            line.append(f" ({audio.title})", style="dim")
    else:
        line.append("CSM did not speak" if status is Status.FAIL else
                    "csm-doctor could not tell whether CSM speaks")
    console.print(line)
    for finding in result.findings:
        if finding.status in (Status.PASS, Status.SKIP) and not verbose:
            continue
        render_finding(console, finding, sym, verbose)
    figures = figure_line(result)
    if figures:
        console.print(Text(f"    {figures}", style="dim"))
    for label, path in (("audio", result.audio_path), ("plot ", result.png_path)):
        if path:
            console.print(Text(f"    {label}  {path}"))
    if verbose:
        for line_text in result.details.get("stderr_tail") or []:
            console.print(Text(f"      | {line_text}", style="dim"))


def figure_line(result: SmokeResult) -> str:
    parts = []
    for label, value, unit in (("load", result.load_seconds, " s"),
                               ("first audio", result.time_to_first_audio_seconds, " s"),
                               ("generate", result.generate_seconds, " s"), ("RTF", result.rtf, "")):
        if value is not None:
            parts.append(f"{label} {value:.2f}{unit}")
    if result.peak_memory_mib is not None:
        kind = "RSS" if result.peak_memory_kind == "rss" else "allocated"
        parts.append(f"peak {result.peak_memory_mib:.0f} MiB ({kind})")
    return " · ".join(parts)
