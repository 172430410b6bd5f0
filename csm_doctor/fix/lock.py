"""One fix per environment at a time.

Two `fix --yes` on the same target race pip against pip and rollback against
rollback, and can leave torch half-removed. The lock is an OS file lock
(flock / msvcrt) on a file in the state directory keyed by the target's
prefix, so it is released by the kernel when its holder dies, even on
SIGKILL; the file also says who holds it, for the refusal message.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from csm_doctor.fix.state import state_dir


class EnvironmentLocked(RuntimeError):
    """Another csm-doctor fix is changing this environment."""

    def __init__(self, prefix: str, holder: dict[str, Any]) -> None:
        self.prefix, self.holder = prefix, holder
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "host", "since", "command")
                        if holder.get(k)) or "another process"
        super().__init__(f"another csm-doctor fix is changing {prefix} ({who}); nothing was "
                         "changed: wait for it to finish, or stop it, then run this again")


def lock_path(prefix: str) -> Path:
    digest = hashlib.sha256(os.path.realpath(prefix).encode()).hexdigest()[:16]
    return state_dir() / "locks" / f"{digest}.lock"


class EnvironmentLock:
    """`with EnvironmentLock(prefix):` holds the environment, or raises EnvironmentLocked."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.path = lock_path(prefix)
        self._fd: int | None = None

    def __enter__(self) -> "EnvironmentLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise EnvironmentLocked(self.prefix, holder)
        self._fd = fd
        _write_holder(fd, {"pid": os.getpid(), "host": socket.gethostname(),
                           "since": _dt.datetime.now().isoformat(timespec="seconds"),
                           "command": " ".join(["csm-doctor", *sys.argv[1:]])[:200],
                           "prefix": self.prefix})
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        pass


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    # Windows locks byte 0; the holder is written after it so the locked range stays readable.
    data = b" " + json.dumps(holder).encode()
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
    except OSError:
        pass


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 1, os.SEEK_SET)
        doc = json.loads(os.read(fd, 4096).decode("utf-8", errors="replace") or "{}")
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}
