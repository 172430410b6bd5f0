#!/usr/bin/env python3
"""Time `csm-doctor smoke --tiny` against a bare script doing the same generation; on a GPU,
measure what `--random-weights` (CSM-1B's full size) reaches.

Part 1, overhead (any machine): the whole `csm-doctor smoke --tiny --json`
process against a bare Python script, run in the same target interpreter,
that builds the same tiny CSM, generates the same 25 frames and writes a WAV:
what a user would write by hand. Commands are interleaved round-robin with
the starting one rotating, the first repetition discarded, so machine noise
weighs on both alike. Goal: the median over rounds of smoke / bare <= 1.2.

Part 2, `--random-weights` (a lent GPU machine): one `smoke --random-weights
--json` run; its RTF (generate seconds per second of audio) and peak device
memory against the goals RTF <= 0.5 and peak <= 5 GiB on an H100. On a CPU
the figures are printed without a verdict.

Usage::

    python benchmarks/bench_smoke.py --python TARGET_PY [--repeat N] [--random-weights] [--json]

The interpreter running this script must have csm-doctor installed; TARGET_PY
needs torch and transformers (>= 4.52.1). Exit codes: 0 every goal met, 1 a
goal missed, 2 the environment cannot be measured, 3 a command failed.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = "csm-doctor/bench-smoke/1"
REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_SMOKE = REPO_ROOT / "csm_doctor" / "smoke" / "target_smoke.py"
EXIT_OK, EXIT_MISSED, EXIT_ENV, EXIT_FAILED = 0, 1, 2, 3
RATIO_GOAL = 1.2
RTF_GOAL, PEAK_GOAL_MIB = 0.5, 5 * 1024
TIMEOUT_S = 600.0

# The baseline: the same tiny CSM (the numbers are read from csm-doctor's target
# script, so both sides build the same model), the same sampling, 25 frames, a WAV.
BARE_SCRIPT = r"""
import importlib.util, sys, wave
spec = importlib.util.spec_from_file_location("numbers", sys.argv[1])
numbers = importlib.util.module_from_spec(spec); spec.loader.exec_module(numbers)
import torch
from transformers import CsmConfig, CsmForConditionalGeneration
frames = 25
torch.manual_seed(0)
backbone = dict(numbers.TINY_BACKBONE, max_position_embeddings=64)
config = CsmConfig(depth_decoder_config=numbers.TINY_DEPTH_DECODER,
                   codec_config=numbers.TINY_CODEC, **backbone)
model = CsmForConditionalGeneration(config).eval()
for module in model.codec_model.modules():
    if type(module).__name__ == "MimiEuclideanCodebook":
        module.embed_sum.copy_(torch.randn(module.embed_sum.shape))
        module._embed = None
ids = torch.tensor([[1] + [4 + b % 91 for b in b"[0]Hello from csm-doctor."] + [3]])
with torch.inference_mode():
    audio = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), output_audio=True,
                           max_new_tokens=frames, min_new_tokens=frames, do_sample=True, top_k=50,
                           temperature=0.9, depth_decoder_do_sample=True)[0]
pcm = (audio / max(1.0, float(audio.abs().max())) * 32767).round().to(torch.int16)
with wave.open(sys.argv[2], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(24000)
    out.writeframes(pcm.numpy().tobytes())
"""

PROBE = ("import json, sys, torch, transformers; print(json.dumps({'python': sys.version.split()[0], "
         "'torch': torch.__version__, 'transformers': transformers.__version__, "
         "'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))")


def smoke_command() -> list[str]:
    """`csm-doctor smoke` as a user runs it; empty when csm-doctor is not importable here."""
    try:
        import csm_doctor  # noqa: F401
    except ImportError:
        return []
    return [sys.executable, "-m", "csm_doctor", "smoke"]


def timed(argv: list[str], cwd: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd)
    return time.perf_counter() - started, proc


def measure_overhead(python: str, repeat: int, warmup: int, work: str) -> dict[str, Any]:
    commands = {
        "smoke --tiny": smoke_command() + ["--tiny", "--json", "--python", python, "-o", work],
        "bare script": [python, "-c", BARE_SCRIPT, str(TARGET_SMOKE), str(Path(work) / "bare.wav")],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for rep in range(warmup + repeat):
        order = names[rep % 2:] + names[:rep % 2]
        for name in order:
            seconds, proc = timed(commands[name], work)
            if proc.returncode != 0:
                raise RuntimeError(f"{name} exited {proc.returncode}: {proc.stderr[-800:]}")
            if rep >= warmup:
                samples[name].append(seconds)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    # Each round's two runs are back to back, so their ratio cancels most of a shared
    # machine's drifting load; the verdict is the median of these paired ratios.
    paired = statistics.median(a / b for a, b in zip(samples["smoke --tiny"], samples["bare script"],
                                                      strict=True))
    return {"samples": samples, "medians": medians,
            "ratio_of_medians": medians["smoke --tiny"] / medians["bare script"],
            "ratio": paired, "goal": RATIO_GOAL, "met": paired <= RATIO_GOAL}


def measure_random_weights(python: str, work: str) -> dict[str, Any]:
    seconds, proc = timed(smoke_command() + ["--random-weights", "--json", "--python", python,
                                             "-o", work], work)
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    if doc.get("status") != "pass":
        raise RuntimeError(f"smoke --random-weights: {doc.get('findings') or proc.stderr[-800:]}")
    on_gpu = doc.get("device") == "cuda"
    met = None if not on_gpu else (doc["rtf"] <= RTF_GOAL and doc["peak_memory_mib"] <= PEAK_GOAL_MIB)
    keys = ("device", "device_name", "dtype", "load_seconds", "time_to_first_audio_seconds",
            "generate_seconds", "audio_seconds", "rtf", "peak_memory_mib", "peak_memory_kind")
    return {"wall_seconds": seconds, **{k: doc.get(k) for k in keys},
            "goal": {"rtf": RTF_GOAL, "peak_memory_mib": PEAK_GOAL_MIB, "device": "cuda (H100)"},
            "met": met}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="target interpreter (torch + transformers)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--random-weights", action="store_true",
                        help="also run the full-size random-weights smoke (minutes on a CPU)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    if not smoke_command():
        print("bench_smoke: csm-doctor is not importable by this interpreter "
              "(pip install -e . first)", file=sys.stderr)
        return EXIT_ENV
    probe = subprocess.run([args.python, "-c", PROBE], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        print(f"bench_smoke: {args.python} cannot import torch and transformers:\n"
              f"{probe.stderr[-500:]}\n  python3 -m venv /tmp/smoke-venv && "
              "/tmp/smoke-venv/bin/pip install torch==2.13.0 transformers", file=sys.stderr)
        return EXIT_ENV
    machine = {**json.loads(probe.stdout.strip().splitlines()[-1]),
               "platform": platform.platform(), "cpus": _cpus()}
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as work:
        try:
            report = {"schema": SCHEMA, "machine": machine,
                      "overhead": measure_overhead(args.python, args.repeat, args.warmup, work)}
            if args.random_weights:
                report["random_weights"] = measure_random_weights(args.python, work)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            print(f"bench_smoke: {exc}", file=sys.stderr)
            return EXIT_FAILED
    missed = report["overhead"]["met"] is False or \
        (report.get("random_weights") or {}).get("met") is False
    print(json.dumps(report, indent=2) if args.json else render(report))
    return EXIT_MISSED if missed else EXIT_OK


def render(report: dict[str, Any]) -> str:
    over = report["overhead"]
    lines = [f"{'command':<14} {'median s':>9} {'min s':>7} {'max s':>7}"]
    for name, values in over["samples"].items():
        lines.append(f"{name:<14} {statistics.median(values):>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
    lines.append(f"ratio smoke/bare, median of paired rounds: {over['ratio']:.2f} (goal <= {over['goal']}): "
                 f"{'pass' if over['met'] else 'MISSED'}; ratio of medians {over['ratio_of_medians']:.2f}")
    rw = report.get("random_weights")
    if rw:
        verdict = {True: "pass", False: "MISSED", None: "no verdict (goals are for an H100)"}[rw["met"]]
        lines.append(f"random weights on {rw['device']} ({rw['device_name']}, {rw['dtype']}): "
                     f"load {rw['load_seconds']:.1f} s, first audio {rw['time_to_first_audio_seconds']:.2f} s, "
                     f"generate {rw['generate_seconds']:.1f} s for {rw['audio_seconds']:.1f} s, "
                     f"RTF {rw['rtf']:.2f}, peak {rw['peak_memory_mib']:.0f} MiB "
                     f"({rw['peak_memory_kind']}): {verdict}")
    m = report["machine"]
    lines.append(f"\nmachine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, torch {m['torch']}, "
                 f"transformers {m['transformers']}, GPU {m['cuda'] or 'none'}")
    return "\n".join(lines)


def _cpus() -> int | None:
    import os

    return os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
