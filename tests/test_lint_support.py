"""Builders shared by the lint tests: real WAV files, facts documents, seed-shaped trees.

WAVs are written with the stdlib `wave` module (or byte by byte for the float and
WAVE_FORMAT_EXTENSIBLE headers `wave` cannot write), a few milliseconds of silence each,
so a whole dataset costs kilobytes. The folder layouts follow seed 002's trees
(tests/fixtures/lint/unsloth/seed002-*-tree.txt).
"""

from __future__ import annotations

import json
import re
import struct
import wave
from pathlib import Path

from conftest import FIXTURES

LINT_FIXTURES = FIXTURES / "lint"
SEED_SCRIPT = (LINT_FIXTURES / "unsloth" / "seed002-vibevoice-podcast-script.txt").read_text(
    encoding="utf-8")
SEED_SPEAKERS = [1, 2, 1]  # the speakers of SEED_SCRIPT's three lines


def write_wav(path: Path, *, rate: int = 24000, channels: int = 1, seconds: float = 1.0) -> Path:
    """A real 16-bit PCM WAV of silence (header + zero frames)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * channels * int(rate * seconds))
    return path


def riff_wav(path: Path, *, tag: int, rate: int = 24000, channels: int = 1, bits: int = 32,
             seconds: float = 0.5, subformat: int | None = None, rf64: bool = False,
             data_size: int | None = None) -> Path:
    """A WAV written byte by byte: float (tag 3), WAVE_FORMAT_EXTENSIBLE (0xFFFE), RF64."""
    block = channels * bits // 8
    frames = int(rate * seconds)
    data = b"\0" * (frames * block)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    if tag == 0xFFFE:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", subformat or 1) + guid_tail
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    size = len(data) if data_size is None else data_size
    if rf64:
        ds64 = struct.pack("<QQQI", 0, len(data), frames, 0)
        chunks = b"ds64" + struct.pack("<I", len(ds64)) + ds64 + chunks
        size = 0xFFFFFFFF
    body = b"WAVE" + chunks + b"data" + struct.pack("<I", size) + data
    head = (b"RF64" if rf64 else b"RIFF") + struct.pack("<I", 0xFFFFFFFF if rf64 else len(body))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + body)
    return path


def conversation(segments: Path, script: str = SEED_SCRIPT, speakers: list[int] | None = None,
                 script_name: str = "vibevoice-podcast-script.txt", seconds: float = 1.0,
                 name: str = "{i:03d}_speaker{s}.wav") -> Path:
    """One conversation's segments/: the script and a 24 kHz mono WAV per line, in order."""
    segments.mkdir(parents=True, exist_ok=True)
    (segments / script_name).write_text(script, encoding="utf-8")
    for i, speaker in enumerate(speakers or SEED_SPEAKERS, 1):
        write_wav(segments / name.format(i=i, s=speaker), seconds=seconds)
    return segments


SEED_TREE = (LINT_FIXTURES / "unsloth" / "seed002-dataset-tree.txt").read_text(encoding="utf-8")


def seed_tree() -> dict:
    """What seed 002's tree drawing shows: languages, conversation, script and WAV names."""
    return {"langs": re.findall(r"^[├└]── ([\w.-]+)/", SEED_TREE, re.M),
            "conversation": re.findall(r"^│   └── ([\w.-]+)/", SEED_TREE, re.M)[0],
            "script": re.findall(r"── ([\w.-]+script\.txt)", SEED_TREE)[0],
            "wavs": re.findall(r"── (\d+_speaker\d+\.wav)", SEED_TREE)}


def seed_dataset(root: Path) -> Path:
    """seed 002's synthetic-dataset/ as its tree draws it: de/ and en/ conversations with the
    seed's script and a WAV per line named like its 001_speaker1.wav, and an ignored _meta/."""
    tree = seed_tree()
    for lang in tree["langs"]:
        if lang.startswith("_"):
            (root / lang).mkdir(parents=True)
            (root / lang / "stats.json").write_text("{}", encoding="utf-8")
            continue
        conversation(root / lang / tree["conversation"] / "segments", script_name=tree["script"])
    return root


def facts_file(path: Path, *, os_name: str = "linux", arch: str = "x86_64",
               python: str = "3.10.12", torch: str | None = "2.6.0+cu124",
               gpu: tuple[str, int] | None = ("Tesla T4", 15360), env: dict | None = None,
               packages: dict | None = None, unified_mib: int | None = None,
               gpu_count: int = 1) -> str:
    """A facts document (csm-doctor/facts/1) for the training machine, as `facts -o` saves."""
    doc: dict = {"schema": "csm-doctor/facts/1", "os": {"name": os_name, "arch": arch},
                 "python": {"version": python}, "env": env or {}}
    if torch:
        doc["torch"] = {"version": torch, "cuda": None}
    if packages is not None:
        doc["packages"] = packages
    if gpu:
        doc["nvidia"] = {"driver_version": "550.54.15", "cuda_version": "12.4",
                         "gpus": [{"index": n, "name": gpu[0], "memory_total_mib": gpu[1],
                                   "compute_capability": "7.5"} for n in range(gpu_count)]}
    if unified_mib:
        doc["apple"] = {"chip": "Apple M4 Max", "apple_silicon": True,
                        "unified_memory_mib": unified_mib}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def statuses(doc: dict, check: str) -> list[str]:
    """The statuses a lint --json document gives one check."""
    return [f["status"] for f in doc["findings"] if f["check"] == check]


def problems(doc: dict) -> list[tuple[str, str]]:
    """(check, status) of every failed or warned finding."""
    return [(f["check"], f["status"]) for f in doc["findings"] if f["status"] in ("fail", "warn")]


def run_lint(target: Path | str, recipe: str | None = None, **options) -> dict:
    """Lint in-process; the findings as `--json` gives them (exit code included)."""
    from csm_doctor.lint import LintOptions, lint_path

    report = lint_path(str(target), recipe, LintOptions(**options))
    return {"kind": report.kind, "recipe": report.recipe_id, "exit_code": report.exit_code(),
            "findings": [f.to_json() for f in report.sorted_findings()], "files": report.files,
            "detected": report.detected}
