"""Running one fix command: unsafe commands refused, the output streamed and redacted.

The running itself (a private working folder, the process group killed on a
timeout or an interrupt, bounded output) is csm_doctor.process's, shared with
the probes and the smoke test.
"""

from __future__ import annotations

from csm_doctor.fix.actions import redact, unsafe_reason
from csm_doctor.process import CommandResult, Echo, stream_command


class UnsafeCommand(RuntimeError):
    """A command that csm-doctor never runs (sudo, GPU settings)."""


def run_step(argv: tuple[str, ...] | list[str], timeout: float, env: dict[str, str] | None = None,
             cwd: str | None = None, echo: Echo | None = None) -> CommandResult:
    """Run argv (argv[0] absolute) to completion or until `timeout`; stdout and stderr merged."""
    reason = unsafe_reason(argv)
    if reason:
        raise UnsafeCommand(f"refusing to run {argv[0]}: {reason}")
    shown = (lambda line: echo(redact(line))) if echo is not None else None
    return stream_command(argv, timeout, env=env, cwd=cwd, echo=shown)


# pip's ERROR lines; uv's "error:" with its "cause:"/"hint:" lines (older uv: × ╰─▶).
_REASON_PREFIXES = ("ERROR:", "error:", "cause:", "Caused by:", "hint:", "help:", "×", "╰─▶")


def failure_summary(output: str, limit: int = 6) -> str:
    """The lines that say why an install failed: pip's ERROR lines, uv's × / ╰─▶ report."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    marked = [line for line in lines if line.lstrip().startswith(_REASON_PREFIXES)
              or "No matching distribution" in line]
    chosen = marked[-limit:] if marked else lines[-limit:]
    return redact(" / ".join(line.strip() for line in chosen)) or "no output"
