"""Running external tools safely: absolute paths only, always a timeout.

`nvidia-smi` can hang on a wedged driver and Windows runs a binary planted in
the current directory before PATH, so tools are resolved to absolute paths
from absolute PATH entries (plus known install locations) and never waited on
forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Where the NVIDIA and Ascend tools live when PATH does not say (WSL, Windows).
KNOWN_LOCATIONS: dict[str, tuple[str, ...]] = {
    "nvidia-smi": (
        "/usr/bin/nvidia-smi",
        "/usr/lib/wsl/lib/nvidia-smi",
        r"C:\Windows\System32\nvidia-smi.exe",
        r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
    ),
    "npu-smi": ("/usr/local/sbin/npu-smi", "/usr/local/bin/npu-smi"),
}


@dataclass
class CommandResult:
    """What a finished (or timed-out) command left behind."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + ("\n" + self.stderr if self.stderr else "")


def find_executable(name: str, path_env: str | None = None) -> str | None:
    """Absolute path of `name`, searching only absolute PATH entries, then known spots."""
    exts = [""]
    if sys.platform == "win32":
        exts = [""] + os.environ.get("PATHEXT", ".EXE;.BAT;.CMD").lower().split(";")
    entries = (path_env if path_env is not None else os.environ.get("PATH", "")).split(os.pathsep)
    for entry in entries:
        if not entry or not os.path.isabs(entry):
            continue  # '' and '.' would let the current directory shadow real tools
        for ext in exts:
            candidate = Path(entry) / (name + ext)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for known in KNOWN_LOCATIONS.get(name, ()):
        if os.path.isfile(known) and os.access(known, os.X_OK):
            return known
    return None


def run_command(argv: list[str], timeout: float, env: dict[str, str] | None = None,
                input_text: str | None = None) -> CommandResult:
    """Run `argv` (argv[0] absolute) with a hard timeout; the process is killed on expiry."""
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            **new_session_kwargs(),
        )
    except OSError as exc:
        return CommandResult(argv, None, "", f"cannot start {argv[0]}: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(input=_encode(input_text), timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process_tree(proc)
        out, err = _drain(proc)
        return CommandResult(argv, None, _decode(out), _decode(err), timed_out=True)
    return CommandResult(argv, proc.returncode, _decode(out), _decode(err))


def new_session_kwargs() -> dict[str, object]:
    # A process group of its own lets a timeout kill children too (a shell script's sleep).
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_process_tree(proc: subprocess.Popen) -> None:
    try:
        if sys.platform == "win32":
            proc.kill()
        else:
            import signal

            os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


def _drain(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    try:
        return proc.communicate(timeout=2)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        return b"", b""


def _encode(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
