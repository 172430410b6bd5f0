"""Unsloth CSM fine-tuning (seed 002, "Sesame CSM Training"): its dataset, its train.py config.

preprocess_dataset.py pairs each `[N]: text` line of a conversation's
`vibevoice-podcast-script.txt` with the WAVs of its `segments/` folder, in order, maps
speaker `[1]` to CSM speaker "0" and `[2]` to "1", and keeps clips between
`--min_audio_seconds` (0.5) and `--max_audio_seconds` (10.0). A missing WAV shifts every
later pair, so the model learns text against the wrong voice; a stereo clip or one outside
the limits never reaches training. train.py loads `unsloth/csm-1b`, a transformers-format
checkpoint the original `csm.Model` cannot read, and needs an NVIDIA GPU (no macOS).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError
from csm_doctor.lint.audio import WavError, read_wav_info
from csm_doctor.lint.checks import sink
from csm_doctor.lint.files import (
    ConfigDoc,
    load_config,
    norm_key,
    plain_files,
    read_text,
    subdirs,
)
from csm_doctor.lint.model import LintFinding, Where

SCRIPT_NAME = "vibevoice-podcast-script.txt"
EXAMPLE_SCRIPT_NAME = "script.txt"  # example_gen/segments/script.txt (same format)
CSM_SAMPLE_RATE = 24_000
MIN_SECONDS, MAX_SECONDS = 0.5, 10.0  # preprocess_dataset.py's defaults (seed 002)
SCRIPT_LINE = re.compile(r"\[(\d+)\]:\s*(.*?)\s*")
WAV_NAME = re.compile(r"(\d+)_speaker(\d+)\.wav", re.IGNORECASE)

# VRAM estimate (docs/lint.md): peak ≈ weights + per-sample × batch, calibrated on Unsloth's
# notebook run on a T4: 6.719 GiB reserved at batch 2, 16-bit weights, LoRA r=32.
PARAMS = 1_646_616_385
WEIGHTS_16BIT_GIB = PARAMS * 2 / 2**30  # 3.07
WEIGHTS_4BIT_GIB = 1.2  # 4-bit backbone and decoder; Mimi and embeddings stay 16-bit (estimate)
PER_SAMPLE_GIB = (6.719 - WEIGHTS_16BIT_GIB) / 2  # 1.82
FULL_FINETUNE_EXTRA_GIB = 2 * WEIGHTS_16BIT_GIB  # 16-bit gradients + adamw_8bit states
USABLE_FRACTION = 14.741 / 15.0  # what torch could use of the T4's 15 GiB in that run
TRAIN_DEFAULTS = {"batch_size": 2, "load_in_4bit": False, "full_finetune": False}

TRANSFORMERS_REPOS = {"unsloth/csm-1b", "sesame/csm-1b"}
MODEL_KEYS = {"model_id", "model_name", "base_model", "model_name_or_path", "pretrained_model"}
ORIGINAL_LOADER_KEYS = {"ckpt_path", "csm_ckpt", "csm_checkpoint", "checkpoint_path",
                        "generator_ckpt"}


# ---------------------------------------------------------------------------- dataset

@dataclass
class Conversation:
    segments: Path
    script: Path | None
    expected_script: str
    problems: list[tuple[str, Path]] = field(default_factory=list)


@dataclass
class DatasetTotals:
    conversations: int = 0
    lines: int = 0
    wavs: int = 0
    speakers: set[int] = field(default_factory=set)
    mono: int = 0
    rate_ok: int = 0
    in_limits: int = 0
    read: int = 0


def lint_dataset(root: Path, display: str, out: list[LintFinding],
                 min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS) -> list[str]:
    """Lint a dataset (or one conversation's segments/); returns the files it read."""
    if min_seconds < 0 or max_seconds <= min_seconds:
        raise InputError.single(None, f"the audio limits {min_seconds:g}–{max_seconds:g} s are "
                                      "not a range", key="--min-audio-seconds/--max-audio-seconds")
    layout = sink("lint-unsloth-dataset-layout", out)
    channels = sink("lint-unsloth-audio-channels", out)
    rate = sink("lint-unsloth-audio-rate", out)
    length = sink("lint-unsloth-audio-length", out)
    single = root if root.is_file() else None  # one conversation's script file
    if single is not None:
        root, display = root.parent, os.path.dirname(display) or "."
    shown = _Display(root, display)
    totals = DatasetTotals()
    files: list[str] = []
    conversations = ([_conversation(root, example=single.name != SCRIPT_NAME)] if single
                     else _conversations(root, layout, shown))
    for conv in conversations:
        totals.conversations += 1
        lines = _script_lines(conv, layout, shown)
        if conv.script is not None:
            files.append(shown(conv.script))
        wavs = _wavs(conv.segments)
        totals.lines += len(lines)
        totals.wavs += len(wavs)
        totals.speakers.update(s for _, s, _ in lines)
        _pair(conv, lines, wavs, layout, shown)
        for wav in wavs:
            _audio(wav, shown, totals, channels, rate, length, min_seconds, max_seconds)
    if not conversations:
        layout.fail("no conversation found: expected <lang>/<conversation>/segments/ with "
                    f"{SCRIPT_NAME} and one WAV per line", Where(display))
    elif layout.problems == 0:
        mapping = ", ".join(f'[{s}] → "{s - 1}"' for s in sorted(totals.speakers)[:6])
        layout.ok(f"{totals.conversations} conversation(s), {totals.lines} script lines, each "
                  f"with its WAV in order", Where(display),
                  details=[f"CSM speaker ids: {mapping}"] if mapping else [])
    _close_audio(totals, channels, rate, length, display, min_seconds, max_seconds)
    for s in (layout, channels, rate, length):
        s.close()
    return files


class _Display:
    """Paths as the user typed the root, so findings point where they looked."""

    def __init__(self, root: Path, display: str) -> None:
        self.root, self.display = root, display

    def __call__(self, path: Path) -> str:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
        return self.display if rel == "." else os.path.join(self.display, rel)


def _conversations(root: Path, layout: Any, shown: _Display) -> list[Conversation]:
    """Every conversation's segments/ folder, and the layout problems met on the way."""
    if root.name == "segments" or any(p.name.endswith("script.txt") for p in plain_files(root)):
        return [_conversation(root, example=True)]
    if (root / "segments").is_dir():
        return [_conversation(root / "segments", example=True)]
    found = []
    for lang in subdirs(root):
        conversations = subdirs(lang)
        if not conversations:
            layout.warn(f"{lang.name}/ holds no conversation folder", Where(shown(lang)))
        for conv_dir in conversations:
            segments = conv_dir / "segments"
            if not segments.is_dir():
                layout.fail(f"{shown(conv_dir)} has no segments/ folder", Where(shown(conv_dir)),
                            fix=f"put the conversation's {SCRIPT_NAME} and WAVs in "
                                f"{shown(segments)}/")
                continue
            found.append(_conversation(segments, example=False))
    return found


def _conversation(segments: Path, example: bool) -> Conversation:
    names = (SCRIPT_NAME, EXAMPLE_SCRIPT_NAME) if example else (SCRIPT_NAME,)
    script = next((segments / n for n in names if (segments / n).is_file()), None)
    return Conversation(segments, script, SCRIPT_NAME)




def _script_lines(conv: Conversation, layout: Any, shown: _Display) -> list[tuple[int, int, str]]:
    """(file line, speaker, text) of every `[N]: text` line; problems become findings."""
    if conv.script is None:
        others = sorted(p.name for p in plain_files(conv.segments) if p.name.endswith("script.txt"))
        found = f" (found {', '.join(others)})" if others else ""
        layout.fail(f"{shown(conv.segments)} has no {conv.expected_script}{found}",
                    Where(shown(conv.segments)),
                    fix=f"write the conversation's lines to {shown(conv.segments / SCRIPT_NAME)}, "
                        "one `[speaker]: text` per WAV")
        return []
    where_file = shown(conv.script)
    try:
        text = read_text(conv.script, where_file)
    except InputError as exc:
        problem = exc.problems[0]
        layout.fail(f"{where_file}: {problem.message}", Where(where_file, problem.line))
        return []
    lines: list[tuple[int, int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        match = SCRIPT_LINE.fullmatch(raw.strip())
        if not match:
            layout.fail(f"line {number} is not `[N]: text`: {raw.strip()[:60]!r}",
                        Where(where_file, number),
                        fix="write every line as `[1]: what speaker 1 says` (speakers from 1)")
            continue
        speaker, said = int(match.group(1)), match.group(2)
        if speaker < 1:
            layout.fail(f"line {number}: speaker [{speaker}] would become CSM speaker "
                        f'"{speaker - 1}": speakers are numbered from [1]',
                        Where(where_file, number), fix="number speakers from [1] ([1] → \"0\")")
        if not said:
            layout.fail(f"line {number}: [{speaker}] has no text to train on",
                        Where(where_file, number), fix="write the words spoken in that WAV")
        lines.append((number, speaker, said))
    if not lines:
        layout.fail(f"{where_file} has no `[N]: text` lines", Where(where_file, 1))
    return lines


def _wavs(segments: Path) -> list[Path]:
    """The segments' WAVs in the order a plain sort gives (how scripts pair them with lines)."""
    return sorted((p for p in plain_files(segments) if p.suffix.lower() == ".wav"), key=lambda p: p.name)


def _pair(conv: Conversation, lines: list[tuple[int, int, str]], wavs: list[Path],
          layout: Any, shown: _Display) -> None:
    """One WAV per line, in order, of the same speaker."""
    if conv.script is None or not lines:
        return
    script = shown(conv.script)
    parsed = [WAV_NAME.search(w.name) for w in wavs]
    indices = [int(m.group(1)) for m in parsed if m] if all(parsed) else []
    if len(wavs) != len(lines):
        details = []
        first_unpaired = lines[min(len(wavs), len(lines) - 1)][0]
        if indices:
            have = set(indices)
            missing = [i for i in range(1, len(lines) + 1) if i not in have]
            extra = sorted(i for i in have if i > len(lines))
            if missing:
                details.append("no WAV numbered " + ", ".join(map(str, missing[:10])))
                first_unpaired = lines[missing[0] - 1][0]
            if extra:
                details.append("WAVs past the last line: " + ", ".join(map(str, extra[:10])))
        layout.fail(f"{len(lines)} script lines but {len(wavs)} WAVs in "
                    f"{shown(conv.segments)}: every line after the first gap pairs with the "
                    "wrong clip", Where(script, first_unpaired), observed=len(wavs),
                    expected=len(lines), details=details,
                    fix="add the missing WAVs or delete their lines, so line N pairs with the "
                        "N-th WAV")
        return
    if indices and indices != sorted(indices):
        layout.warn(f"WAV names are not zero-padded ({wavs[0].name}, …): sorted by name, "
                    "they do not follow the script's order", Where(shown(conv.segments)),
                    fix="zero-pad the numbers (001_speaker1.wav, 002_speaker2.wav, …)")
    for (number, speaker, _), wav, match in zip(lines, wavs, parsed, strict=True):
        if match and int(match.group(2)) != speaker:
            layout.fail(f"line {number} is speaker [{speaker}] but its WAV {wav.name} is "
                        f"speaker{match.group(2)}: text and voice are out of step",
                        Where(script, number), subject=shown(wav),
                        fix="find the missing or extra line/WAV before this one")


def _audio(wav: Path, shown: _Display, totals: DatasetTotals, channels: Any, rate: Any,
           length: Any, min_seconds: float, max_seconds: float) -> None:
    try:
        info = read_wav_info(wav)
    except WavError as exc:
        name = shown(wav)
        channels.fail(f"{wav.name}: cannot read its WAV header ({exc})", Where(name),
                      id="dataset-layout-invalid", fix="re-export it as a 24 kHz mono PCM WAV")
        return
    totals.read += 1
    if info.channels == 1 and info.sample_rate == CSM_SAMPLE_RATE and \
            min_seconds <= info.seconds <= max_seconds:
        totals.mono += 1
        totals.rate_ok += 1
        totals.in_limits += 1
        return  # the common case: nothing to say, no path to render
    name = shown(wav)
    if info.channels == 1:
        totals.mono += 1
    else:
        channels.fail(f"{wav.name} has {info.channels} channels: CSM's Mimi codec takes mono",
                      Where(name), observed=info.channels, expected=1,
                      fix=f"downmix to mono: ffmpeg -i {wav.name} -ac 1 -ar 24000 out.wav")
    if info.sample_rate == CSM_SAMPLE_RATE:
        totals.rate_ok += 1
    else:
        rate.warn(f"{wav.name} is {info.sample_rate} Hz: it is resampled to 24 kHz on every "
                  "preprocessing run" + (" and holds nothing above "
                                         f"{info.sample_rate // 2000} kHz"
                                         if info.sample_rate < CSM_SAMPLE_RATE else ""),
                  Where(name), observed=info.sample_rate, expected=CSM_SAMPLE_RATE)
    if min_seconds <= info.seconds <= max_seconds:
        totals.in_limits += 1
    else:
        side = "shorter" if info.seconds < min_seconds else "longer"
        length.warn(f"{wav.name} is {info.seconds:.2f} s, {side} than the preprocessing limit "
                    f"({min_seconds:g}–{max_seconds:g} s): it is not trained on as is",
                    Where(name), observed=round(info.seconds, 3),
                    expected=f"{min_seconds:g}–{max_seconds:g} s")


def _close_audio(totals: DatasetTotals, channels: Any, rate: Any, length: Any, display: str,
                 min_seconds: float, max_seconds: float) -> None:
    where = Where(display)
    if totals.read and totals.mono == totals.read:
        channels.ok(f"all {totals.read} WAVs are mono", where)
    if totals.read and totals.rate_ok == totals.read:
        rate.ok(f"all {totals.read} WAVs are 24 kHz", where)
    if not totals.read:
        return
    if totals.in_limits == 0:
        length.fail(f"none of the {totals.read} WAVs is within {min_seconds:g}–{max_seconds:g} s: "
                    "preprocessing keeps no sample, and training learns nothing", where,
                    id="dataset-filtered-empty",
                    fix="cut the audio into clips within the limits, or pass "
                        "--min_audio_seconds/--max_audio_seconds that fit it (both to "
                        "preprocess_dataset.py and to csm-doctor lint)")
    elif totals.in_limits == totals.read:
        length.ok(f"all {totals.read} WAVs are within {min_seconds:g}–{max_seconds:g} s", where)


# ---------------------------------------------------------------------------- train.py config

def lint_config(doc: ConfigDoc, machine: Any, recipe: Any, out: list[LintFinding],
                with_os: bool = True) -> None:
    if not isinstance(doc.data, dict):
        raise InputError.single(doc.file, "a train.py config is a YAML mapping of its options "
                                          "(batch_size: 2, ...)", line=1)
    options = {norm_key(k): (v, (k,)) for k, v in doc.data.items()}
    _model_format(doc, out)
    _vram(doc, options, machine, out)
    if with_os:
        lint_os(machine, recipe, out, Where(doc.file))


def _setting(doc: ConfigDoc, options: dict[str, tuple[Any, tuple]], name: str, kind: type) -> Any:
    value, key = options.get(name, (TRAIN_DEFAULTS[name], None))
    if key is None:
        return value
    ok = isinstance(value, bool) if kind is bool else (
        isinstance(value, int) and not isinstance(value, bool) and value >= 1)
    if not ok:
        where = doc.where(key)
        raise InputError.single(doc.file, f"expected {'true or false' if kind is bool else 'a whole number ≥ 1'}, "
                                          f"got {value!r}", key=where.key, line=where.line)
    return value


def estimate_vram_gib(batch_size: int, load_in_4bit: bool, full_finetune: bool) -> float:
    """Peak GPU memory of train.py for these settings (the model in docs/lint.md)."""
    weights = WEIGHTS_4BIT_GIB if load_in_4bit else WEIGHTS_16BIT_GIB
    extra = FULL_FINETUNE_EXTRA_GIB if full_finetune else 0.0
    return weights + extra + PER_SAMPLE_GIB * batch_size


def _vram(doc: ConfigDoc, options: dict, machine: Any, out: list[LintFinding]) -> None:
    check = sink("lint-unsloth-vram", out)
    batch = _setting(doc, options, "batch_size", int)
    four_bit = _setting(doc, options, "load_in_4bit", bool)
    full = _setting(doc, options, "full_finetune", bool)
    need = estimate_vram_gib(batch, four_bit, full)
    key = ("batch_size",) if "batch_size" in options else ()
    where = doc.where(options["batch_size"][1]) if key else Where(doc.file)
    setting = (f"batch_size {batch}{', load_in_4bit' if four_bit else ''}"
               f"{', full_finetune' if full else ''}")
    have, described = machine.accelerator_memory()
    if have is None:
        check.skip(f"{setting} needs about {need:.1f} GiB of GPU memory; {described} "
                   "(pass --vram-gb N, or --facts from the training machine)", where)
        check.close()
        return
    usable = have * USABLE_FRACTION
    fits = max(1, int((usable - (need - PER_SAMPLE_GIB * batch)) // PER_SAMPLE_GIB))
    detail = [f"estimate: {need - PER_SAMPLE_GIB * batch:.1f} GiB weights + {PER_SAMPLE_GIB:.2f} "
              f"GiB per sample × {batch} (Unsloth's T4 run: 6.7 GiB at batch 2)"]
    if need > usable:
        check.fail(f"{setting} needs about {need:.1f} GiB; the {described} leaves {usable:.1f}: "
                   "CUDA out of memory at the first step", where, observed=round(need, 1),
                   expected=f"≤ {usable:.1f} GiB", details=detail,
                   fix=f"set batch_size: {fits} (raise gradient_accumulation_steps to keep the "
                       "effective batch), or load_in_4bit: true, or use a larger GPU")
    elif need > 0.85 * usable:
        check.warn(f"{setting} needs about {need:.1f} GiB of {usable:.1f} usable on the "
                   f"{described}: longer clips or more context turns will not fit", where,
                   observed=round(need, 1), details=detail,
                   fix=f"keep a margin: batch_size: {max(1, fits - 1)}, or load_in_4bit: true")
    else:
        check.ok(f"{setting} needs about {need:.1f} GiB; the {described} has room", where,
                 details=detail)
    check.close()


def lint_os(machine: Any, recipe: Any, out: list[LintFinding], where: Where) -> None:
    check = sink("lint-unsloth-os", out)
    os_name = machine.os_name
    if os_name is None:
        check.skip(f"the training machine's OS is not known ({machine.source})", where)
    elif recipe.platforms and os_name not in recipe.platforms:
        check.fail(f"Unsloth needs an NVIDIA GPU and does not run on {os_name} "
                   f"({machine.source}); {recipe.id} runs on {', '.join(recipe.platforms)}",
                   where, observed=os_name, expected=list(recipe.platforms),
                   fix="train on Linux (or WSL on Windows) with an NVIDIA GPU (8 GB+, a T4 "
                       "or better); keep the Mac for inference with csm-1b-transformers")
    else:
        check.ok(f"{os_name} is a platform {recipe.id} supports", where)
    check.close()


def _model_format(doc: ConfigDoc, out: list[LintFinding]) -> None:
    check = sink("lint-unsloth-model-format", out)
    seen_model = False
    for key, value in doc.leaves():
        name = norm_key(key[-1]) if isinstance(key[-1], str) else ""
        if not isinstance(value, str) or name not in MODEL_KEYS | ORIGINAL_LOADER_KEYS:
            continue
        where = doc.where(key)
        fmt = checkpoint_format(value, doc.path.parent)
        if name in MODEL_KEYS:
            seen_model = True
            if fmt == "csm-original":
                check.fail(f"{name}: {value} is an original-format CSM checkpoint (ckpt.pt); "
                           "Unsloth's FastModel loads transformers-format weights", where,
                           observed=fmt, expected="transformers",
                           fix="use model_id: unsloth/csm-1b (or a transformers-format "
                               "fine-tune with config.json)")
            elif fmt == "transformers":
                check.ok(f"{name}: {value} is transformers-format, as FastModel loads", where)
            else:
                check.skip(f"{name}: {value}: format not known to csm-doctor", where)
        elif fmt == "transformers":
            check.fail(f"{name}: {value} is transformers-format (what Unsloth trains and "
                       "saves); the original csm.Model / load_csm_1b cannot load it", where,
                       observed=fmt, expected="csm-original (ckpt.pt)",
                       fix="load it with CsmForConditionalGeneration.from_pretrained (recipe "
                           "csm-1b-transformers), or point the original loader at sesame/csm-1b's "
                           "ckpt.pt")
    if not seen_model:
        check.ok("model_id is train.py's default, unsloth/csm-1b (transformers-format)",
                 Where(doc.file))
    check.close()


def checkpoint_format(value: str, base: Path) -> str | None:
    """'transformers', 'csm-original' or None, from a Hub id or a local path."""
    if value.strip().lower() in TRANSFORMERS_REPOS:
        return "transformers"
    for candidate in (base / value, Path(value)):
        try:
            if candidate.is_dir():
                if (candidate / "config.json").is_file() or (candidate / "adapter_config.json").is_file():
                    return "transformers"
                if (candidate / "ckpt.pt").is_file():
                    return "csm-original"
            elif candidate.is_file() and candidate.suffix in (".pt", ".ckpt", ".pth"):
                return "csm-original"
        except OSError:
            continue
    return None


# ---------------------------------------------------------------------------- project

def lint_project(root: Path, display: str, machine: Any, recipe: Any,
                 out: list[LintFinding]) -> list[str]:
    """A training project: every configs/*.yaml, and example_gen/ as a dataset."""
    files: list[str] = []
    configs = sorted((root / "configs").glob("*.y*ml")) if (root / "configs").is_dir() else []
    for path in configs:
        shown = os.path.join(display, "configs", path.name)
        lint_config(load_config(path, shown), machine, recipe, out, with_os=False)
        files.append(shown)
    if (root / "example_gen").is_dir():
        files += lint_dataset(root / "example_gen", os.path.join(display, "example_gen"), out)
    lint_os(machine, recipe, out, Where(display))
    return files
