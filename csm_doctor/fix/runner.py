"""Running one fix command: a hard timeout, the output streamed or kept, unsafe commands refused.

Installs take minutes, so unlike probes (csm_doctor.probes.command) the output
can be streamed to the user as it comes; the same process-group handling
kills pip and everything it started when the timeout expires.
"""

from __future__ import annotations

import subprocess
import threading
from typing import Callable

from csm_doctor.fix.actions import redact, unsafe_reason
from csm_doctor.probes.command import (
    CommandResult,
    kill_process_tree,
    new_session_kwargs,
)

Echo = Callable[[str], None]


class UnsafeCommand(RuntimeError):
    """A command that csm-doctor never runs (sudo, GPU settings)."""


def run_step(argv: tuple[str, ...] | list[str], timeout: float, env: dict[str, str] | None = None,
             cwd: str | None = None, echo: Echo | None = None) -> CommandResult:
    """Run argv (argv[0] absolute) to completion or until `timeout`; stdout and stderr merged."""
    reason = unsafe_reason(argv)
    if reason:
        raise UnsafeCommand(f"refusing to run {argv[0]}: {reason}")
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                **new_session_kwargs())
    except OSError as exc:
        return CommandResult(list(argv), None, "", f"cannot start {argv[0]}: {exc.strerror or exc}")
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            lines.append(line)
            if echo is not None:
                echo(redact(line))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process_tree(proc)
        proc.wait(timeout=5)
        reader.join(timeout=2)
        return CommandResult(list(argv), None, "\n".join(lines), "", timed_out=True)
    reader.join(timeout=5)
    return CommandResult(list(argv), proc.returncode, "\n".join(lines), "")


# pip's ERROR lines; uv's "error:" with its "cause:"/"hint:" lines (older uv: × ╰─▶).
_REASON_PREFIXES = ("ERROR:", "error:", "cause:", "Caused by:", "hint:", "help:", "×", "╰─▶")


def failure_summary(output: str, limit: int = 6) -> str:
    """The lines that say why an install failed: pip's ERROR lines, uv's × / ╰─▶ report."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    marked = [line for line in lines if line.lstrip().startswith(_REASON_PREFIXES)
              or "No matching distribution" in line]
    chosen = marked[-limit:] if marked else lines[-limit:]
    return redact(" / ".join(line.strip() for line in chosen)) or "no output"
