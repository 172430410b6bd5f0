#!/usr/bin/env python3
"""Time `csm-doctor lint` on Unsloth-CSM-shaped datasets (seed 002's layout) of growing size.

The baseline, measured in the same run, is linting a one-file CosyVoice config
with `--vram-gb` (no machine probing, no audio): what every lint pays for
start-up. Dataset figures are reported as ratios to it and as microseconds per
WAV above it, next to the floor a bare stdlib `wave` header loop sets.

    python benchmarks/bench_lint.py [--python PATH] [--repeat N] [--sizes 2000,20000]

Standard library only. Figures are in docs/lint.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

CONFIG = ("train_data_pipeline:\n  - processor: filter\n    conf: {token_max_length: 400, "
          "token_min_length: 1}\n  - processor: dynamic_batch\n    conf: {max_frames_in_batch: 400}\n")
LINES_PER_CONVERSATION = 10
ONE_SECOND_SILENCE = b"\0\0" * 24000  # mono PCM16 at 24 kHz, as the trainer wants


def make_dataset(root: Path, clips: int) -> None:
    """<lang>/<conversation>/segments/ with a script line and a 1 s mono 24 kHz WAV per line."""
    for conversation in range(max(1, clips // LINES_PER_CONVERSATION)):
        segments = root / ("de" if conversation % 2 else "en") / f"Conv_{conversation:05d}" / "segments"
        segments.mkdir(parents=True)
        script = "".join(f"[{1 + i % 2}]: line {i}\n" for i in range(LINES_PER_CONVERSATION))
        (segments / "vibevoice-podcast-script.txt").write_text(script)
        for i in range(LINES_PER_CONVERSATION):
            with wave.open(str(segments / f"{i + 1:03d}_speaker{1 + i % 2}.wav"), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(24000)
                out.writeframes(ONE_SECOND_SILENCE)


def lint_seconds(python: str, args: list[str], repeat: int) -> float:
    """Median wall time of the whole `csm-doctor lint` process (exit 0 or 1 are both verdicts)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run([python, "-m", "csm_doctor", "lint", *args], capture_output=True,
                              text=True, timeout=600)
        samples.append(time.perf_counter() - started)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"lint failed ({proc.returncode}): {proc.stderr[-500:]}")
    return statistics.median(samples)


def header_floor(root: Path, repeat: int) -> float:
    """What reading every WAV header with the stdlib costs, in this process."""
    wavs = sorted(root.rglob("*.wav"))
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for path in wavs:
            with wave.open(str(path)) as clip:
                clip.getnframes()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with csm-doctor")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="2000,20000", help="dataset sizes in WAV files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = folder / "train.yaml"
        config.write_text(CONFIG)
        base = lint_seconds(args.python, [str(config), "--vram-gb", "15"], args.repeat)
        probed = lint_seconds(args.python, [str(config)], args.repeat)
        print(f"baseline  one-file config, --vram-gb        {base:7.3f} s   1.00x")
        print(f"          same config, probing this machine {probed:7.3f} s   {probed / base:.2f}x")
        for clips in (int(s) for s in args.sizes.split(",")):
            root = folder / f"dataset-{clips}"
            make_dataset(root, clips)
            took = lint_seconds(args.python, [str(root)], args.repeat)
            floor = header_floor(root, args.repeat)
            per_clip = (took - base) / clips * 1e6
            print(f"dataset   {clips:6d} WAVs                      {took:7.3f} s   {took / base:.2f}x"
                  f"   ({per_clip:.0f} µs per WAV above the baseline; stdlib header loop "
                  f"{floor:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
