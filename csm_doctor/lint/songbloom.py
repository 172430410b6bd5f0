"""SongBloom LoRA fine-tuning (seed 004): launch scripts and configs of the ayutaz/SongBloom fork.

The seed lost days to four settings, none of which stops a run:
- a MuQ VQ codebook of 16384 entries (train_japanese.py's `--muq-codebook-size` default)
  against `skeleton_emb`'s 130 classes: sketch tokens fall outside the embedding and the
  loss stalls near ln(16384) ≈ 9.7; the codebook must have 129 entries;
- LoRA on the NAR DiT's `to_q`/`to_kv`/`to_qkv`: the songs come out without vocals (the fork
  matches targets by substring, so any target inside those names counts);
- DDP with LoRA without `find_unused_parameters` (frozen weights get no gradient);
- MuQ's preprocessing on MPS (complex ops): the VQ step must run on the CPU, and MPS runs
  need PYTORCH_ENABLE_MPS_FALLBACK=1 (and DISABLE_FLASH_ATTN=1).

The fork is configured by command-line flags, so launch scripts are read as shell
(`VAR=1 python train_japanese.py --flag value \\`), and YAML configs that spell the same
options (`muq_codebook_size`, `lora: {target_modules: ...}`, `trainer: {strategy: ...}`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError
from csm_doctor.lint.checks import sink
from csm_doctor.lint.files import (
    ConfigDoc,
    ShellCommand,
    norm_key,
    parse_shell,
    read_text,
)
from csm_doctor.lint.model import LintFinding, Where
from csm_doctor.safeio import read_input

SKETCH_CLASSES = 130  # skeleton_emb: num_pitch 128 + 2 special tokens (seed 004)
TRAIN_CODEBOOK_DEFAULT = 16384  # train_japanese.py --muq-codebook-size default
NAR_DIT_ATTENTION = ("to_q", "to_kv", "to_qkv")  # the DiT's attention (vocals live here)
RECOMMENDED_TARGETS = "q_proj,v_proj"  # the AR transformer's attention only
FIND_UNUSED_STRATEGY = "ddp_find_unused_parameters_true"
PROGRAMS = (("train_japanese.py", "train"), ("train_vq_codebook.py", "vq"),
            ("SongBloom.training.train_vq", "vq"), ("infer.py", "infer"))
LAUNCHER_COUNTS = ("nproc_per_node", "num_processes", "gpus")
SYNONYMS = {
    "codebook": ("muq_codebook_size", "vq_codebook_size", "sketch_codebook_size",
                 "codebook_size"),
    "targets": ("lora_target_modules", "target_modules"),
    "devices": ("devices", "num_gpus", "gpus", "nproc_per_node"),
    "find_unused": ("find_unused_parameters", "ddp_find_unused_parameters"),
    "device": ("device", "accelerator"),
    "precision": ("precision", "dtype"),
}


@dataclass
class Setting:
    value: Any
    where: Where


@dataclass
class Launch:
    """One run of a SongBloom program, from a script line or a config: its options and env."""

    program: str  # train | vq | infer
    label: str
    where: Where
    options: dict[str, Setting] = field(default_factory=dict)
    env: dict[str, Setting] = field(default_factory=dict)

    def get(self, name: str) -> Setting | None:
        for key in SYNONYMS.get(name, (name,)):
            if key in self.options:
                return self.options[key]
        return None

    def value(self, name: str, default: Any = None) -> Any:
        found = self.get(name)
        return default if found is None else found.value


# ---------------------------------------------------------------------------- reading

def launches_from_script(path: Path, display: str) -> list[Launch]:
    commands = parse_shell(read_text(path, display), display, include=path.parent)
    return [launch for c in commands if (launch := _launch(c, display))]


def _launch(command: ShellCommand, display: str) -> Launch | None:
    words = command.words
    for i, word in enumerate(words):
        program = next((p for name, p in PROGRAMS if word.endswith(name)), None)
        if program is None:
            continue
        launch = Launch(program, Path(word).name, Where(display, command.lines[i]))
        rest = list(zip(words[i + 1:], command.lines[i + 1:], strict=True))
        j = 0
        while j < len(rest):
            word, line = rest[j]
            j += 1
            if not word.startswith("--"):
                continue
            name, eq, value = word.partition("=")
            if not eq:
                if j < len(rest) and not rest[j][0].startswith("--"):
                    value, j = rest[j][0], j + 1
                else:
                    value = True
            key = norm_key(name)
            launch.options[key] = Setting(value, Where(display, line, name))
        launch.env = {k: Setting(v, Where(display, line, k)) for k, (v, line) in command.env.items()}
        _launcher_options(launch, words[:i], command.lines[:i], display)
        return launch
    return None


def _launcher_options(launch: Launch, words: list[str], lines: list[int], display: str) -> None:
    """torchrun's / accelerate's process count before the program (`torchrun --nproc_per_node 4`)."""
    for j, word in enumerate(words):
        name, eq, value = word.partition("=")
        key = norm_key(name) if name.startswith("--") else ""
        if key not in LAUNCHER_COUNTS:
            continue
        if not eq and j + 1 < len(words):
            value = words[j + 1]
        if value:
            launch.options.setdefault("nproc_per_node", Setting(value, Where(display, lines[j], name)))


def launch_from_config(doc: ConfigDoc) -> Launch:
    if not isinstance(doc.data, dict):
        raise InputError.single(doc.file, "a SongBloom training config is a YAML mapping of "
                                          "its options", line=1)
    launch = Launch("train", doc.file, Where(doc.file, 1))
    for key, value in doc.leaves():
        names = [norm_key(k) for k in key if isinstance(k, str)]
        if not names:
            continue
        if names[0] in ("env", "environment") and len(key) == 2:
            launch.env[str(key[1])] = Setting(str(value), doc.where(key))
            continue
        setting = Setting(value, doc.where(key))
        launch.options.setdefault(names[-1], setting)
        if len(names) > 1:
            launch.options.setdefault(f"{names[-2]}_{names[-1]}", setting)
    if isinstance(doc.data.get("lora"), dict):  # a lora: section means LoRA is on
        launch.options.setdefault("use_lora", Setting(True, doc.where(("lora",))))
    return launch


# ---------------------------------------------------------------------------- rules

def lint_launches(launches: list[Launch], where: Where, machine: Any, recipe: Any,
                  out: list[LintFinding]) -> None:
    checks = {name: sink(f"lint-songbloom-{name}", out)
              for name in ("vq-codebook", "lora-targets", "ddp", "muq-device", "mps-env")}
    checks["gpus"] = sink("lint-songbloom-gpus", out)
    if not launches:
        checks["vq-codebook"].skip("no SongBloom command (train_japanese.py, "
                                   "train_vq_codebook.py, infer.py) found", where)
    for launch in launches:
        _codebook(launch, checks["vq-codebook"])
        _lora_targets(launch, checks["lora-targets"])
        _ddp(launch, checks["ddp"])
        _muq_device(launch, checks["muq-device"])
        _mps_env(launch, machine, recipe, checks["mps-env"])
        _gpus_present(launch, machine, checks["gpus"])
    for check in checks.values():
        check.close()


def _int(setting: Setting | None) -> int | None:
    if setting is None:
        return None
    try:
        return int(str(setting.value).strip())
    except ValueError:
        raise InputError.single(setting.where.file, f"expected a whole number, got "
                                                    f"{setting.value!r}", key=setting.where.key,
                                line=setting.where.line) from None


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _codebook(launch: Launch, check: Any) -> None:
    classes = SKETCH_CLASSES
    pitch = _int(launch.options.get("num_pitch"))
    if pitch is not None:
        classes = pitch + 2
    allowed = classes - 1
    setting = launch.get("codebook")
    size = _int(setting)
    where = setting.where if setting else launch.where
    if launch.program == "train" and size is None:
        mode = str(launch.value("sketch_mode", "precomputed"))
        if mode != "muq":
            check.skip(f"{launch.label}: sketch tokens are precomputed (--sketch-mode {mode}); "
                       "their codebook is the VQ step's", where)
            return
        size = TRAIN_CODEBOOK_DEFAULT
        origin = f"--sketch-mode muq without --muq-codebook-size: the default {size}"
    elif size is None:
        if launch.program == "vq":
            check.warn(f"{launch.label}: no --codebook-size; pass {allowed} so sketch tokens fit "
                       f"skeleton_emb's {classes} classes", where,
                       fix=f"--codebook-size {allowed}")
        return
    else:
        origin = f"codebook size {size}"
    if size > allowed:
        check.fail(f"{launch.label}: {origin} makes sketch tokens up to {size - 1}, but "
                   f"skeleton_emb has {classes} classes: the loss stalls near "
                   f"ln({size}) ≈ {math.log(size):.1f} and nothing is learned", where,
                   observed=size, expected=f"<= {allowed}",
                   fix=(f"--muq-codebook-size {allowed}" if launch.program == "train"
                        else f"--codebook-size {allowed}") + f" (retrain the VQ codebook at {allowed})")
    else:
        check.ok(f"{launch.label}: codebook size {size} fits skeleton_emb's {classes} classes",
                 where)


def lora_in_use(launch: Launch) -> bool:
    return _truthy(launch.value("use_lora", False)) or launch.get("targets") is not None


def lora_targets(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value).replace(" ", ",").split(",")
    return [str(t).strip().strip("'\"") for t in items if str(t).strip()]


def _lora_targets(launch: Launch, check: Any) -> None:
    if launch.program != "train" or not lora_in_use(launch):
        return  # infer.py --use-lora loads what training made
    setting = launch.get("targets")
    if setting is None:
        check.warn(f"{launch.label}: LoRA without --lora-target-modules: the fork's default "
                   "targets decide whether the DiT (vocals) is touched", launch.where,
                   fix=f'--lora-target-modules "{RECOMMENDED_TARGETS}"')
        return
    targets = lora_targets(setting.value)
    # the fork matches a target anywhere in a module's dotted name
    hits = sorted({t for t in targets for leaf in NAR_DIT_ATTENTION if t and t in leaf}
                  | {t for t in targets if t.lower() in ("all", "all-linear", "all_linear")})
    if hits:
        check.fail(f"{launch.label}: LoRA targets {', '.join(hits)} reach the NAR DiT's "
                   f"attention ({'/'.join(NAR_DIT_ATTENTION)}): the accompaniment survives, "
                   "the vocals do not", setting.where, observed=targets,
                   expected=RECOMMENDED_TARGETS.split(","),
                   fix=f'--lora-target-modules "{RECOMMENDED_TARGETS}" (the AR transformer '
                       "only), and retrain")
    else:
        check.ok(f"{launch.label}: LoRA targets {', '.join(targets)} leave the DiT alone",
                 setting.where)


def _devices(launch: Launch) -> int | None:
    setting = launch.get("devices")
    if setting is None:
        return None
    if isinstance(setting.value, list):
        return len(setting.value)
    text = str(setting.value).strip()
    if "," in text:
        return len([x for x in text.split(",") if x.strip()])
    if text in ("-1", "auto"):
        return 2  # every visible GPU: more than one in a DDP setup
    return _int(setting)


def _gpus_present(launch: Launch, machine: Any, check: Any) -> None:
    """--devices / --nproc-per-node / --gpus against the GPUs the machine's facts show."""
    from csm_doctor.rules.nvidia import visible_gpus

    setting = launch.get("devices")
    wanted = _devices(launch)
    if launch.program != "train" or setting is None or wanted is None or \
            str(setting.value).strip() in ("-1", "auto"):
        return
    gpus = machine.fact("nvidia.gpus")
    if gpus is None:
        check.skip(f"{launch.label}: no GPU list in the machine's facts to compare "
                   f"{setting.where.key or 'devices'} {setting.value} with", setting.where)
        return
    in_script = launch.env.get("CUDA_VISIBLE_DEVICES")
    cvd = in_script.value if in_script else machine.env("CUDA_VISIBLE_DEVICES")
    visible = visible_gpus({"nvidia": {"gpus": gpus},
                            "env": {} if cvd is None else {"CUDA_VISIBLE_DEVICES": str(cvd)}})
    shown = f" (CUDA_VISIBLE_DEVICES={cvd})" if cvd is not None else ""
    option = setting.where.key or "--devices"
    if wanted > len(visible):
        check.fail(f"{launch.label}: {option} {setting.value} but the machine shows {len(visible)} "
                   f"GPU{'s' * (len(visible) != 1)}{shown}: the extra ranks have no GPU",
                   setting.where, observed=len(visible), expected=wanted,
                   fix=f"{option} {len(visible)}" if visible else None)
    else:
        check.ok(f"{launch.label}: {option} {setting.value} of {len(visible)} visible GPU"
                 f"{'s' * (len(visible) != 1)}{shown}", setting.where)


def _ddp(launch: Launch, check: Any) -> None:
    if launch.program != "train":
        return
    devices = _devices(launch)
    strategy = launch.get("strategy")
    name = str(strategy.value) if strategy else ""
    ddp = (devices or 1) > 1 or "ddp" in name
    if not ddp:
        return
    where = strategy.where if strategy else (launch.get("devices") or Setting(0, launch.where)).where
    if not lora_in_use(launch):
        check.ok(f"{launch.label}: DDP without LoRA: every parameter gets a gradient", where)
    elif name == FIND_UNUSED_STRATEGY or _truthy(launch.value("find_unused", False)):
        check.ok(f"{launch.label}: DDP with LoRA finds unused parameters", where)
    else:
        what = f"--strategy {name}" if name else f"{devices} devices (Lightning picks ddp)"
        check.fail(f"{launch.label}: {what} with LoRA: frozen weights get no gradient and DDP "
                   "stops with 'parameters that were not used in producing the loss'", where,
                   observed=name or None, expected=FIND_UNUSED_STRATEGY,
                   fix=f"--strategy {FIND_UNUSED_STRATEGY}")


def _muq_device(launch: Launch, check: Any) -> None:
    device = str(launch.value("device", "cuda")).lower()
    if launch.program == "vq":
        setting, what = launch.get("device"), "the VQ codebook training (MuQ embeddings)"
    elif launch.program == "train" and str(launch.value("sketch_mode", "")) == "muq":
        setting, what = launch.get("muq_device"), "MuQ's sketch extraction"
    else:
        setting, what = None, ""
    if what and (setting is not None or launch.program == "train"):
        value = str(setting.value).lower() if setting else "cpu (the default)"
        if value.startswith("mps"):
            check.fail(f"{launch.label}: {what} on MPS: MuQ's preprocessing uses complex-number "
                       "ops MPS does not implement", setting.where if setting else launch.where,
                       observed=value, expected="cpu or cuda",
                       fix=("--device cpu" if launch.program == "vq" else "--muq-device cpu")
                       + " (the MuQ/VQ step runs on the CPU on a Mac)")
        else:
            check.ok(f"{launch.label}: {what} runs on {value}",
                     setting.where if setting else launch.where)
    precision = launch.get("precision")
    if device.startswith("mps") and precision and "bf16" in str(precision.value).replace(
            "bfloat16", "bf16"):
        check.warn(f"{launch.label}: {precision.value} on MPS: bfloat16 is not supported there",
                   precision.where, observed=precision.value, expected="32 / float32",
                   fix="--precision 32 (--dtype float32 for infer.py) on MPS")


def _mps_env(launch: Launch, machine: Any, recipe: Any, check: Any) -> None:
    device = str(launch.value("device", "")).lower()
    if not device.startswith("mps"):
        return
    for entry in recipe.env_for("darwin"):
        name, want = entry["name"], entry.get("value") or "1"
        have = launch.env.get(name)
        value = have.value if have else machine.env(name)
        where = have.where if have else (launch.get("device") or Setting(0, launch.where)).where
        if value == want:
            origin = "set in the script" if have else f"set in this shell ({machine.source})"
            check.ok(f"{launch.label}: {name}={value} ({origin})", where)
            continue
        make = check.fail if entry.get("required") else check.warn
        why = f": {entry['why']}" if entry.get("why") else ""
        make(f"{launch.label}: runs on MPS without {name}={want}{why}", where,
             observed=value, expected=want, subject=name,
             fix=f"{name}={want} before the command (export {name}={want})")


# ---------------------------------------------------------------------------- project

def launch_scripts(root: Path) -> list[Path]:
    """Shell scripts at the top of a checkout or in scripts/ that run a SongBloom program."""
    from csm_doctor.lint.kinds import SCRIPT_SUFFIXES, SONGBLOOM_PROGRAMS

    found = []
    for folder in (root, root / "scripts"):
        try:
            candidates = sorted(p for p in folder.iterdir() if p.suffix in SCRIPT_SUFFIXES)
        except OSError:
            continue
        for path in candidates:
            try:  # a FIFO or a device among the scripts is skipped, never waited on
                if SONGBLOOM_PROGRAMS.search(
                        read_input(path, 1024 * 1024).decode("utf-8", errors="replace")):
                    found.append(path)
            except InputError:
                continue
    return found


def lint_project(root: Path, display: str, machine: Any, recipe: Any,
                 out: list[LintFinding]) -> list[str]:
    launches: list[Launch] = []
    files = []
    for path in launch_scripts(root):
        shown = os.path.join(display, path.relative_to(root).as_posix())
        launches += launches_from_script(path, shown)
        files.append(shown)
    lint_launches(launches, Where(display), machine, recipe, out)
    return files
