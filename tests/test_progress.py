"""Visible progress: a live status line on a real terminal (a pty), download bars relayed from
a real tqdm in another process, and "still working" notes for slow probes.

Everything runs for real: the terminal is a pseudo-terminal the test reads, the slow
step is a real process printing lines, the bar is tqdm (huggingface_hub's) writing to a pipe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections import deque
from pathlib import Path

import pytest

from csm_doctor.render.progress import Ticker, byte_progress
from csm_doctor.render.wrap import _words
from csm_doctor.smoke.runner import _relay, download_line

pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX only")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_in_pty(code: str, timeout: float = 60, env: dict[str, str] | None = None,
               cwd: str | None = None) -> str:
    """Run `python -c code` with stdin/stdout/stderr on a new pseudo-terminal; all it drew."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_a_slow_install_step_shows_spinner_elapsed_time_and_its_last_line():
    """A step that prints for ~4 s: the terminal sees elapsed seconds and pip-like lines live."""
    code = textwrap.dedent("""
        import sys
        from csm_doctor.fix.actions import Action
        from csm_doctor.fix.render import StepView
        from csm_doctor.fix.runner import run_step
        view = StepView(sys.stderr)
        action = Action("torch", "install", "install torch==2.13.0+cpu", argv=("x",))
        view.start(action, 1, 1)
        script = "import time\\nfor i in range(1, 5):\\n    print(f'Downloading torch part {i}', flush=True)\\n    time.sleep(1)"
        result = run_step([sys.executable, "-c", script], timeout=30, echo=view.line)
        class R: status, seconds, message = "ok", 4.0, "done"
        view.done(action, R())
    """)
    shown = run_in_pty(code)
    frames = [ANSI.sub("", part) for part in shown.split("\r")]
    live = [f for f in frames if " s · Downloading torch part" in f]
    assert live, shown[-2000:]
    seconds = {int(m.group(1)) for f in live if (m := re.search(r"install (\d+) s", f))}
    assert max(seconds) >= 3 and len(seconds) >= 2  # the clock moves while the step runs
    assert any("part 3" in f or "part 4" in f for f in live)
    assert "[1/1] install torch==2.13.0+cpu" in shown and "ok (4.0 s)" in shown


def test_no_status_line_when_stderr_is_not_a_terminal(tmp_path: Path):
    log = tmp_path / "log"
    with log.open("w") as stream:
        ticker = Ticker("[1/1] install", stream, delay=0, interval=0.01).start()
        ticker.update("Collecting torch")
        time.sleep(0.1)
        ticker.stop()
    assert log.read_text() == ""


def test_status_line_fits_a_narrow_terminal():
    ticker = Ticker("[2/5] install", delay=0)
    ticker.update("Downloading https://download.pytorch.org/whl/cpu/torch-2.13.0%2Bcpu-cp311.whl (190 MB)")
    assert len(ticker.line(0, width=60)) < 60


def test_byte_progress_reads_like_a_download():
    assert byte_progress(412_300_000, 6_200_000_000, 10) == "412.3 MB of 6.2 GB (7%), 41.2 MB/s"
    assert byte_progress(1000, None, 0.1) == "1.0 KB"


def test_download_bars_from_a_real_tqdm_in_another_process_are_relayed_as_they_come():
    """huggingface_hub draws its bars with tqdm on the target's stderr (a pipe, \\r-separated)."""
    code = textwrap.dedent("""
        import sys, time
        from tqdm import tqdm
        with tqdm(total=6_000_000, unit="B", unit_scale=True, desc="model.safetensors",
                  file=sys.stderr, mininterval=0) as bar:
            for _ in range(6):
                time.sleep(0.4)
                bar.update(1_000_000)
        print("done", file=sys.stderr)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    seen: list[tuple[float, dict]] = []
    tail: deque[str] = deque(maxlen=50)
    _relay(proc.stderr, tail, [], lambda record: seen.append((time.monotonic(), record)))
    proc.wait(timeout=30)
    downloads = [(t, r) for t, r in seen if r.get("stage") == "download"]
    assert len(downloads) >= 3, seen
    assert downloads[-1][0] - downloads[0][0] > 1.0  # relayed while it ran, not all at the end
    assert downloads[-1][1]["message"].startswith("downloading model.safetensors: 6.00M of 6.00M (100%)")
    assert "done" in tail


def test_download_line_parses_huggingface_hub_bars():
    bar = "model.safetensors:  45%|####5     | 2.80G/6.22G [00:30<00:35, 97.3MB/s]"
    assert download_line(bar) == "model.safetensors: 2.80G of 6.22G (45%), 97.3MB/s"
    assert download_line("Loading checkpoint shards: 100%|##########| 2/2 [00:01<00:00]") is not None
    assert download_line("RuntimeError: CUDA error") is None


def test_slow_probes_say_they_are_still_working(monkeypatch):
    from csm_doctor.probes import base

    monkeypatch.setattr(base, "STILL_WORKING_S", 0.5)
    monkeypatch.setattr(base, "NOTE_EVERY_S", 0.5)
    notes: list[tuple[float, list[str]]] = []

    def slow(ctx):
        time.sleep(1.6)
        return {}

    probes = [base.Probe("slow-driver", (), slow, timeout=10),
              base.Probe("quick", (), lambda ctx: {}, timeout=10)]
    ctx = base.ProbeContext(python=sys.executable, on_wait=lambda s, p: notes.append((s, p)))
    base.run_probes(probes, ctx)
    assert notes and all(p == ["slow-driver"] for _, p in notes)
    assert notes[0][0] >= 0.5


# ------------------------------------------------------------------ narrow terminals

def test_check_and_fix_at_60_columns_wrap_between_words_and_keep_commands_pasteable(
        tmp_path: Path, cli_env: dict[str, str]):
    """On a real 60-column terminal: no line is wider, words and quoted arguments stay whole,
    continuation lines are indented, and a split command ends its lines with a backslash."""
    import fcntl
    import shlex
    import struct
    import termios
    import venv

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)

    def run(*args: str) -> str:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 60, 0, 0))
        env = {k: v for k, v in cli_env.items() if k != "COLUMNS"}
        proc = subprocess.Popen([sys.executable, "-m", "csm_doctor", *args], stdin=slave,
                                stdout=slave, stderr=slave, env={**env, "NO_COLOR": "1"},
                                cwd=str(tmp_path), close_fds=True)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        proc.wait(timeout=120)
        return ANSI.sub("", b"".join(chunks).decode("utf-8", errors="replace")).replace("\r", "")

    # csm-1b-transformers runs on any host (a GPU-less one too), so both plan pip installs
    for args in (("check", "--offline", "--recipe", "csm-1b-transformers", "--python",
                  str(target / "bin/python")),
                 ("fix", "--dry-run", "--offline", "--installer", "pip", "--recipe", "csm-1b-transformers",
                  "--python", str(target / "bin/python"))):
        text = run(*args)
        lines = [line for line in text.splitlines() if line.strip()]
        # Wider only where one word (a path, a quoted argument) is wider than the terminal.
        too_wide = [line for line in lines if len(line) > 60
                    and len(_words(re.sub(r"^(?:\$|→|you:)\s+", "", line.strip())
                                   .removesuffix(" \\").strip())) > 1]
        assert lines and not too_wide, too_wide
        assert "'transformers>=4.52.1'" in text  # a quoted argument is never split
        split = [i for i, line in enumerate(lines) if line.endswith(" \\")]
        assert split, "a long command was not split"
        for i in split:  # a continuation is indented, never at column 0
            assert lines[i + 1].startswith("  ") and lines[i + 1].strip()
        if args[0] == "fix":  # the split command still parses as one command
            start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("$ "))
            end = start
            while lines[end].endswith(" \\"):
                end += 1
            joined = " ".join(line.strip().rstrip("\\").strip() for line in lines[start:end + 1])
            words = shlex.split(joined[2:])
            assert words[1:5] == ["-I", "-m", "pip", "install"] and words[0].endswith("/bin/python")
