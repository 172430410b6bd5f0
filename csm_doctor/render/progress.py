"""One live status line on a terminal: spinner, elapsed time, and what the work last said.

Long steps (a CUDA torch install takes minutes) must not look frozen. A
`Ticker` redraws one stderr line ten times a second once its work has run for
`delay` seconds: `⠹ [1/3] install torch… 47 s · Downloading torch (2.4 GiB)`.
Only on a terminal: piped or redirected output gets no carriage returns.
Byte counts for downloads are formatted by `byte_progress`.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"


class Ticker:
    """A status line redrawn by a daemon thread until `stop()`; a no-op off a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, delay: float = 2.0,
                 interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.delay, self.interval = delay, interval
        self.detail = ""
        self.started = time.monotonic()
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        encoding = (getattr(self.stream, "encoding", None) or "ascii").lower()
        self.frames = FRAMES if "utf" in encoding else ASCII_FRAMES

    def __enter__(self) -> "Ticker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "Ticker":
        self.started = time.monotonic()
        if self.active and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="csm-doctor-ticker")
            self._thread.start()
        return self

    def update(self, detail: str) -> None:
        """What the work said last (pip's last line, bytes downloaded); blank lines are ignored."""
        detail = " ".join((detail or "").split())
        if detail:
            self.detail = detail

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, frame: int = 0, width: int | None = None) -> str:
        """The text of the status line, cut to the terminal's width."""
        width = width or shutil.get_terminal_size((80, 24)).columns
        text = f"{self.frames[frame % len(self.frames)]} {self.label} {self.elapsed():.0f} s"
        if self.detail:
            text += f" · {self.detail}"
        return text if len(text) < width else text[:max(width - 2, 1)] + "…"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        if self._drawn:
            self._write("\r\x1b[2K")
            self._drawn = False

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        frame = 0
        while not self._stop.is_set():
            self._write("\r\x1b[2K" + self.line(frame))
            self._drawn = True
            frame += 1
            self._stop.wait(self.interval)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError, UnicodeEncodeError):
            self.active = False  # a closed or narrow-charset terminal: stop drawing, never crash


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def byte_progress(done: int, total: int | None, seconds: float) -> str:
    """"412.3 MB of 6.2 GB (7%), 35.1 MB/s" for a download's status line."""
    rate = f", {human_bytes(done / seconds)}/s" if seconds > 0.5 else ""
    if total:
        return f"{human_bytes(done)} of {human_bytes(total)} ({100 * done / total:.0f}%){rate}"
    return f"{human_bytes(done)}{rate}"
