"""What a PATH is (a training YAML, a dataset folder, a checkout) and which setup it belongs to.

Detection looks at shape only, cheaply: a CosyVoice config has a data pipeline with a
`filter` processor; an Unsloth CSM dataset has `<lang>/<conversation>/segments/` with a
`*-script.txt`; a SongBloom config or launch script names its sketch/VQ/LoRA options.
Every answer comes with the reason, which the report prints.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError
from csm_doctor.lint.files import plain_files, subdirs

FAMILIES = ("unsloth", "cosyvoice", "songbloom")  # the fine-tuning setups lint knows


def family_recipes() -> dict[str, str]:
    """Each setup's built-in recipe, from the recipes' own `lint:` key (no ids kept here)."""
    from csm_doctor.recipe import builtin_recipe_ids

    out = {}
    for family in FAMILIES:
        ids = builtin_recipe_ids(lint=family)
        if ids:
            out[family] = ids[0]
    return out


@dataclass(frozen=True)
class Kind:
    id: str
    family: str
    title: str


KINDS = {k.id: k for k in (
    Kind("unsloth-dataset", "unsloth", "Unsloth CSM training dataset (<lang>/<conversation>/segments/)"),
    Kind("unsloth-config", "unsloth", "Unsloth CSM train.py config"),
    Kind("unsloth-project", "unsloth", "Unsloth CSM training project (train.py, configs/)"),
    Kind("cosyvoice-config", "cosyvoice", "CosyVoice2 training config"),
    Kind("cosyvoice-project", "cosyvoice", "CosyVoice checkout"),
    Kind("songbloom-config", "songbloom", "SongBloom training config"),
    Kind("songbloom-script", "songbloom", "SongBloom launch script"),
    Kind("songbloom-project", "songbloom", "SongBloom checkout"),
)}

SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".command")
YAML_SUFFIXES = (".yaml", ".yml")
SONGBLOOM_PROGRAMS = re.compile(r"train_japanese\.py|train_vq_codebook\.py|infer\.py|"
                                r"SongBloom\.training\.\w+")
# train.py's options (seed 002's argument table), as its YAML configs spell them
UNSLOTH_TRAIN_KEYS = {
    "preprocessed_path", "output_dir", "model_id", "batch_size", "gradient_accumulation_steps",
    "learning_rate", "n_epochs", "max_steps", "warmup_steps", "weight_decay", "lr_scheduler_type",
    "max_grad_norm", "seed", "load_in_4bit", "full_finetune", "lora_r", "lora_alpha",
    "save_every", "gen_every", "gen_from", "use_wandb",
}
COSYVOICE_KEYS = {"token_max_length", "token_min_length", "max_frames_in_batch"}
SONGBLOOM_KEYS = re.compile(r"(sketch|muq|codebook|vq_|lora_target|target_modules|skeleton)")


def family_of_recipe(recipe: Any) -> str | None:
    """Which setup a recipe is: a built-in id, else its repository or its packages say."""
    family = (recipe.raw or {}).get("lint")
    if family in FAMILIES:
        return family
    url = (recipe.repository.url if recipe.repository else "").lower()
    if "cosyvoice" in url:
        return "cosyvoice"
    if "songbloom" in url:
        return "songbloom"
    if any(p.key == "unsloth" for p in recipe.packages):
        return "unsloth"
    return None


def detect(path: Path, display: str, family: str | None) -> tuple[Kind, str]:
    """The kind of `path` and why; `family` (from --recipe) narrows the choice."""
    if path.is_dir():
        found = _detect_dir(path)
    elif path.suffix.lower() in YAML_SUFFIXES:
        found = _detect_yaml(path, display)
    else:
        found = _detect_text(path, display)
    if found and (family is None or KINDS[found[0]].family == family):
        return KINDS[found[0]], found[1]
    if family is not None:
        fallback = _fallback(path, family)
        if fallback:
            why = f"--recipe {family_recipes().get(family, family)}"
            if found:
                why += f" (it looks like a {KINDS[found[0]].title}: {found[1]})"
            return KINDS[fallback], why
    hint = ("a CosyVoice2 YAML (train_data_pipeline / data_pipeline with a filter), a SongBloom "
            "config or launch script (sketch / VQ / LoRA options), an Unsloth CSM train.py YAML "
            "or dataset folder (<lang>/<conversation>/segments/*-script.txt), or a CosyVoice / "
            "SongBloom checkout")
    raise InputError.single(display, f"cannot tell what this is; lint reads {hint}. Pass "
                                     "--recipe csm-1b-unsloth|cosyvoice2-lora|songbloom-lora "
                                     "to say which", key="PATH")


def _fallback(path: Path, family: str) -> str | None:
    """The kind --recipe implies for a path the detector did not recognise."""
    if path.is_dir():
        return {"unsloth": "unsloth-dataset", "cosyvoice": "cosyvoice-project",
                "songbloom": "songbloom-project"}[family]
    if path.suffix.lower() in YAML_SUFFIXES:
        return f"{family}-config"
    if family == "songbloom":
        return "songbloom-script"
    return None


def _detect_dir(path: Path) -> tuple[str, str] | None:
    if (path / "cosyvoice").is_dir() and ((path / "cosyvoice" / "utils").is_dir()
                                          or (path / "third_party").is_dir()):
        return "cosyvoice-project", "it holds the cosyvoice package"
    if (path / "SongBloom").is_dir() or (path / "train_japanese.py").is_file():
        return "songbloom-project", "it holds the SongBloom package / train_japanese.py"
    if (path / "preprocess_dataset.py").is_file() or (
            (path / "train.py").is_file() and (path / "configs").is_dir()):
        return "unsloth-project", "it holds preprocess_dataset.py / train.py with configs/"
    segments = find_segment_dirs(path, limit=1)
    if segments:
        rel = segments[0].relative_to(path).as_posix() or "."
        return "unsloth-dataset", f"it has a segments/ folder with a script file ({rel})"
    return None


def find_segment_dirs(root: Path, limit: int | None = None) -> list[Path]:
    """`segments/` folders holding a `*script.txt`: root itself, root/segments, or 3 levels down."""
    found: list[Path] = []
    candidates = itertools.chain(
        (root, root / "segments"),
        (conv / "segments" for lang in subdirs(root) for conv in subdirs(lang)))
    for candidate in candidates:  # lazily: detection stops at the first
        if candidate.is_dir() and any(p.name.endswith("script.txt") for p in plain_files(candidate)):
            found.append(candidate)
            if limit and len(found) >= limit:
                break
    return found




def _detect_yaml(path: Path, display: str) -> tuple[str, str] | None:
    from csm_doctor.lint.files import load_config, norm_key

    doc = load_config(path, display)
    if not isinstance(doc.data, dict):
        return None
    keys = {norm_key(k) for k in doc.data}
    if keys & {"train_data_pipeline", "data_pipeline"} or any(
            "cosyvoice.dataset.processor" in tag for tag in doc.tags.values()):
        return "cosyvoice-config", "it has a CosyVoice data pipeline (train_data_pipeline / " \
                                   "data_pipeline, cosyvoice.dataset.processor)"
    leaf_keys = {norm_key(p[-1]) for p, _ in doc.leaves() if isinstance(p[-1], str)}
    cosyvoice = sorted(leaf_keys & COSYVOICE_KEYS)
    if cosyvoice:
        return "cosyvoice-config", f"it sets CosyVoice's data pipeline options ({', '.join(cosyvoice)})"
    songbloom = sorted(k for k in leaf_keys | keys if SONGBLOOM_KEYS.search(k))
    if songbloom:
        return "songbloom-config", f"it sets SongBloom's sketch/VQ/LoRA options ({', '.join(songbloom[:3])})"
    unsloth = sorted(keys & UNSLOTH_TRAIN_KEYS)
    model = str(doc.data.get("model_id", "")).lower()
    if len(unsloth) >= 2 or "csm" in model:
        return "unsloth-config", f"it sets train.py's options ({', '.join(unsloth[:3])})"
    return None


def _detect_text(path: Path, display: str) -> tuple[str, str] | None:
    from csm_doctor.lint.files import read_text

    if path.name.endswith("script.txt") and path.parent.name == "segments":
        return "unsloth-dataset", "it is a conversation's script file"
    text = read_text(path, display)
    match = SONGBLOOM_PROGRAMS.search(text)
    if match:
        return "songbloom-script", f"it runs {match.group(0)}"
    return None
