"""Every child process csm-doctor starts, and how all of them are stopped.

One runner for probes, fix steps and the smoke test, because the same four
promises hold for each of them:

- **No code from writable folders.** A child never starts in the user's
  current folder or the shared temp folder: its working directory is a
  private 0700 folder under csm-doctor's state directory (whose parents are
  the user's own), so neither `python -m pip` nor uv's upward search for
  `uv.toml` can pick up something planted there. Interpreters are started
  with `-I` by the callers (python_argv).
- **Bounded.** Every call has a timeout; captured output is capped
  (MAX_OUTPUT_BYTES): a tool that prints forever is stopped, not buffered.
- **One tree, one kill.** Each child leads a process group (a new session on
  POSIX, a new process group on Windows), so a timeout kills what it started
  too (a shell script's sleep, pip's build backends); on Windows the tree is
  walked with psutil.
- **Interrupts stop everything.** Every live child is registered; Ctrl-C or
  SIGTERM in the main thread reaches `stop_all()` (via the CLI's guard), and
  after `shutdown()` no new child can start, so a probe thread cannot leave an
  orphan behind while the process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

MAX_OUTPUT_BYTES = 16 * 1024 * 1024   # a tool's captured output; past it the tool is stopped
MAX_LINE_BYTES = 64 * 1024            # one streamed line (a progress bar without newlines)
KEEP_LINES = 4000                     # streamed output kept for the failure summary
_CHUNK = 64 * 1024

Echo = Callable[[str], None]


@dataclass
class CommandResult:
    """What a finished, stopped or timed-out command left behind."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False  # the output passed the cap and the command was stopped

    @property
    def output(self) -> str:
        return self.stdout + ("\n" + self.stderr if self.stderr else "")


class Interrupted(BaseException):
    """SIGTERM (or SIGHUP) in the main thread; KeyboardInterrupt is SIGINT's twin."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class ShuttingDown(RuntimeError):
    """A child was asked for after the process began to exit."""


_live: set[subprocess.Popen] = set()
_lock = threading.Lock()
_closing = False
_cwd: str | None = None


# ------------------------------------------------------------------ where children run

def private_cwd() -> str:
    """A private, empty 0700 folder for children to run in (made once, removed at exit).

    Under csm-doctor's state directory, so every parent folder is the user's
    or root's: a `uv.toml` or `pip/` planted in /tmp is never on the way.
    """
    global _cwd
    with _lock:
        if _cwd is not None and os.path.isdir(_cwd):
            return _cwd
        _cwd = _make_private_dir()
        atexit.register(shutil.rmtree, _cwd, True)
        return _cwd


def _make_private_dir() -> str:
    for base in (_state_base(), None):
        try:
            if base is not None:
                os.makedirs(base, mode=0o700, exist_ok=True)
            path = tempfile.mkdtemp(prefix="run-" if base else "csm-doctor-run-", dir=base)
        except OSError:
            continue
        info = os.lstat(path)
        if os.path.isdir(path) and not os.path.islink(path) and \
                (not hasattr(os, "getuid") or info.st_uid == os.getuid()):
            return path
    raise OSError("cannot create a private working folder for child processes")


def _state_base() -> str | None:
    try:
        from csm_doctor.fix.state import state_dir

        return str(state_dir() / "tmp")
    except (OSError, RuntimeError):
        return None


def python_argv(python: str, *args: str) -> list[str]:
    """`python -I ...`: no current folder, no user site, no PYTHON* variables on sys.path."""
    return [python, "-I", *args]


def isolated_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child Python, with the output settings we rely on."""
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1",
            **(extra or {})}


# ------------------------------------------------------------------ starting and stopping

def spawn(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
          stdin: int | None = None, merge_stderr: bool = False) -> subprocess.Popen:
    """Start argv as the leader of its own process group, registered for stop_all()."""
    cwd = cwd or private_cwd()
    # Started and registered under the lock: shutdown() waits for a start in flight, so a
    # child that a probe thread was starting when Ctrl-C came is in _live when stop_all()
    # looks (the daemon thread itself dies with the process and could not kill it later).
    with _lock:
        if _closing:
            raise ShuttingDown(f"not starting {argv[0]}: csm-doctor is stopping")
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL if stdin is None else stdin, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, env=env,
            cwd=cwd, **new_session_kwargs())
        _live.add(proc)
    return proc


def new_session_kwargs() -> dict[str, object]:
    """A process group of its own, so one kill reaches everything the child started."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_process_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the child, its process group and every descendant psutil sees; never raises.

    The group covers what the child started in it (a shell's sleep); the
    descendants cover what left it (torchrun's workers start sessions of their
    own; Windows has no groups to kill).
    """
    descendants = _descendants(proc.pid)
    try:
        if sys.platform != "win32":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (OSError, ProcessLookupError):
        pass
    for child in descendants:
        try:
            child.kill()
        except Exception:  # noqa: BLE001 - it ended meanwhile
            pass


def stop_process_tree(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM first (a launcher such as torchrun stops its workers on it), then the kill."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.CTRL_BREAK_EVENT)
        except (OSError, ValueError):
            pass
        wait(proc, grace)
    kill_process_tree(proc)


def _descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - psutil missing or the process already gone
        return []


def finish(proc: subprocess.Popen) -> None:
    with _lock:
        _live.discard(proc)


def stop_all(grace: float = 5.0) -> int:
    """Kill every live child's tree and reap it; the number that were still running."""
    with _lock:
        procs = list(_live)
    stopped = 0
    for proc in procs:
        if proc.poll() is None:
            stopped += 1
        kill_process_tree(proc)
    for proc in procs:
        try:
            proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, OSError):
            pass
        finish(proc)
    return stopped


def shutdown() -> int:
    """The process is exiting: refuse new children, stop the ones that run, tidy up."""
    global _closing
    with _lock:
        _closing = True
    stopped = stop_all()
    if _cwd is not None:
        shutil.rmtree(_cwd, ignore_errors=True)
    return stopped


def live_count() -> int:
    with _lock:
        return sum(1 for proc in _live if proc.poll() is None)


# ------------------------------------------------------------------ signals

def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP raise Interrupted in the main thread, as SIGINT raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError):
                pass


def interrupt_exit_code(exc: BaseException) -> int:
    """130 for SIGINT, 128 + the signal for the others (143 for SIGTERM)."""
    if isinstance(exc, Interrupted):
        return 128 + exc.signum
    return 130


# ------------------------------------------------------------------ running

def run_command(argv: list[str], timeout: float, env: dict[str, str] | None = None,
                input_text: str | None = None, cwd: str | None = None,
                max_bytes: int = MAX_OUTPUT_BYTES) -> CommandResult:
    """Run argv (argv[0] absolute) with a hard timeout and a cap on what it may print."""
    try:
        proc = spawn(argv, env=env, cwd=cwd,
                     stdin=subprocess.PIPE if input_text is not None else None)
    except (OSError, ShuttingDown) as exc:
        return CommandResult(list(argv), None, "", f"cannot start {argv[0]}: "
                             f"{getattr(exc, 'strerror', None) or exc}")
    capture = _Capture(proc, max_bytes)
    try:
        if input_text is not None:
            threading.Thread(target=_feed, args=(proc, input_text), daemon=True).start()
        timed_out = wait_or_kill(proc, timeout)
        capture.join()
    finally:
        if proc.poll() is None:  # an interrupt or a crash in this frame
            kill_process_tree(proc)
        finish(proc)
    return CommandResult(list(argv), None if timed_out else proc.returncode,
                         capture.text("stdout"), capture.text("stderr"), timed_out=timed_out,
                         truncated=capture.truncated)


def stream_command(argv: Iterable[str], timeout: float, env: dict[str, str] | None = None,
                   cwd: str | None = None, echo: Echo | None = None) -> CommandResult:
    """Run argv with stdout and stderr merged, handing each line to `echo` as it comes.

    Installs take minutes, so their output is streamed; the last KEEP_LINES
    lines are kept for the failure summary.
    """
    from collections import deque

    argv = list(argv)
    try:
        proc = spawn(argv, env=env, cwd=cwd, merge_stderr=True)
    except (OSError, ShuttingDown) as exc:
        return CommandResult(argv, None, "", f"cannot start {argv[0]}: "
                             f"{getattr(exc, 'strerror', None) or exc}")
    lines: deque[str] = deque(maxlen=KEEP_LINES)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(lambda: proc.stdout.readline(MAX_LINE_BYTES), b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            lines.append(line)
            if echo is not None:
                try:
                    echo(line)
                except Exception:  # noqa: BLE001 - a display problem must not stop the step
                    pass

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        timed_out = wait_or_kill(proc, timeout)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            kill_process_tree(proc)
            wait(proc, 5)
        finish(proc)
    return CommandResult(argv, None if timed_out else proc.returncode, "\n".join(lines), "",
                         timed_out=timed_out)


def wait_or_kill(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to `timeout`; past it kill the tree and reap it. True when it timed out."""
    if wait(proc, timeout):
        return False
    kill_process_tree(proc)
    wait(proc, 5)
    return True


def wait(proc: subprocess.Popen, timeout: float) -> bool:
    """True when the child ended within `timeout` (interruptible by signals in the main thread)."""
    try:
        proc.wait(timeout=max(0.0, timeout))
        return True
    except subprocess.TimeoutExpired:
        return False


def _feed(proc: subprocess.Popen, text: str) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(text.encode())
        proc.stdin.close()
    except (OSError, ValueError):
        pass


class _Capture:
    """Both pipes read in chunks by daemon threads, with one cap over the two."""

    def __init__(self, proc: subprocess.Popen, max_bytes: int) -> None:
        self.proc, self.max_bytes = proc, max_bytes
        self.parts: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        self.size = 0
        self.truncated = False
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
                        if stream is not None]
        for thread in self.threads:
            thread.start()

    def _read(self, name: str, stream: object) -> None:
        read = getattr(stream, "read1", None) or getattr(stream, "read")
        while True:
            try:
                chunk = read(_CHUNK)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            with self._lock:
                room = self.max_bytes - self.size
                if room <= 0:
                    continue  # keep draining so the child is not blocked while it is killed
                self.parts[name].append(chunk[:room])
                self.size += min(len(chunk), room)
                over = len(chunk) > room
            if over and not self.truncated:
                self.truncated = True
                kill_process_tree(self.proc)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)

    def text(self, name: str) -> str:
        with self._lock:
            data = b"".join(self.parts[name])
        text = data.decode("utf-8", errors="replace")
        if self.truncated and name == "stdout":
            text += f"\n[csm-doctor: output cut at {self.max_bytes} bytes; the command was stopped]"
        return text
