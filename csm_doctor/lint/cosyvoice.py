"""CosyVoice2 LoRA training (seed 003): the training YAML and the checkout it runs from.

The seed's run trained for epochs and learned nothing: `token_max_length: 0` in the data
pipeline's `filter` does not mean "no limit", it drops every sample (CosyVoice's filter
skips any sample with more text tokens than the maximum), so each epoch was one empty step.
The same seed ran out of memory until `max_frames_in_batch` came down to 400 on a 16 GB
T4, raised `accum_grad` to 8 to keep the effective batch, patched `cosyvoice_join` for
a torch whose ProcessGroup has no `options`, and needed the Matcha-TTS submodule.

Both config dialects are read: the seed's list form (`train_data_pipeline: [{processor:
filter, conf: {...}}]`) and upstream's HyperPyYAML (`filter: !name:cosyvoice.dataset.
processor.filter` referenced from `data_pipeline: [!ref <filter>, ...]`).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError
from csm_doctor.lint.checks import sink
from csm_doctor.lint.files import MAX_TEXT_BYTES, ConfigDoc, load_config, norm_key, read_text
from csm_doctor.lint.model import LintFinding, Where
from csm_doctor.lint.verdicts import (  # noqa: F401 - re-exported for the lint code here
    PROCESSGROUP_OPTIONS_REMOVED_IN,
    PYNINI_WHEEL_PYTHONS,
    processgroup_verdict,
    pynini_verdict,
)
from csm_doctor.safeio import read_input
from csm_doctor.yamlpos import Path as KeyPath

# cosyvoice/dataset/processor.py: filter() and batch()/dynamic_batch() defaults
FILTER_DEFAULTS = {"max_length": 10240, "min_length": 10, "token_max_length": 200,
                   "token_min_length": 1}
DYNAMIC_BATCH_DEFAULT = 12000
# The seed's measured point: 400 frames per batch is safe on a T4 (16 GB, 15 GiB as reported).
# Budget model (docs/lint.md): a fixed share for the model (CosyVoice2-0.5B's weights in fp32,
# as torch_ddp trains, with gradients and optimizer state of what trains: about 4 GiB, an
# estimate) plus a cost per frame, calibrated so 400 frames fill the rest of a T4.
SAFE_FRAMES, SAFE_FRAMES_GIB = 400, 15.0
FIXED_GIB = 4.0
GIB_PER_FRAME = (SAFE_FRAMES_GIB - FIXED_GIB) / SAFE_FRAMES
# ... with accum_grad 8: 3200 frames per optimizer step, the seed's working effective batch
SEED_EFFECTIVE_FRAMES, SEED_ACCUM_GRAD = 3200, 8
TRAIN_UTILS = Path("cosyvoice/utils/train_utils.py")
SKIPPED_CONFIG_DIRS = {"examples", "runtime", "third_party", "pretrained_models", "tools",
                       "node_modules", "asset", "docker"}


@dataclass
class Processor:
    """One stage of the data pipeline: its function name and the mapping of its options."""

    name: str
    conf: dict[str, Any]
    key: KeyPath  # where `conf` is in the document


# ---------------------------------------------------------------------------- config

def lint_config(doc: ConfigDoc, machine: Any, out: list[LintFinding]) -> None:
    if not isinstance(doc.data, dict):
        raise InputError.single(doc.file, "a CosyVoice training config is a YAML mapping "
                                          "(train_data_pipeline / data_pipeline, train_conf)",
                                line=1)
    processors = pipeline(doc)
    _filter(doc, processors, out)
    frames = _batch(doc, processors, machine, out)
    _accum_grad(doc, frames, out)


def pipeline(doc: ConfigDoc) -> list[Processor]:
    """The data pipeline's processors, in either dialect."""
    found: list[Processor] = []
    for name in ("train_data_pipeline", "data_pipeline"):
        stages = doc.data.get(name)
        if not isinstance(stages, list):
            continue
        for i, stage in enumerate(stages):
            if isinstance(stage, dict) and isinstance(stage.get("processor"), str):
                conf = stage.get("conf") if isinstance(stage.get("conf"), dict) else {}
                found.append(Processor(stage["processor"], conf, (name, i, "conf")))
            elif isinstance(stage, str) and doc.tags.get((name, i)) == "!ref":
                ref = stage.strip().strip("<>")
                tagged = _tagged_processor(doc, ref)
                if tagged:
                    found.append(tagged)
    if not found:  # HyperPyYAML without a pipeline list: every processor it defines
        found = [p for key in doc.data if (p := _tagged_processor(doc, key))]
    if not found:  # a fragment: the mappings that hold the filter's or the batch's keys
        found = _loose(doc, ("token_max_length", "token_min_length"), "filter") + \
            _loose(doc, ("max_frames_in_batch",), "dynamic_batch")
    return found


def _loose(doc: ConfigDoc, keys: tuple[str, ...], name: str) -> list[Processor]:
    parents: dict[KeyPath, None] = {}
    for key, _ in doc.leaves():
        if key and key[-1] in keys:
            parents.setdefault(key[:-1], None)
    found = []
    for parent in parents:
        node: Any = doc.data
        for part in parent:
            node = node[part]
        if isinstance(node, dict):
            found.append(Processor(name, node, parent))
    return found


def _tagged_processor(doc: ConfigDoc, key: str) -> Processor | None:
    tag = doc.tags.get((key,), "")
    match = re.search(r"cosyvoice\.dataset\.processor\.(\w+)", tag)
    value = doc.data.get(key)
    if not match:
        return None
    return Processor(match.group(1), value if isinstance(value, dict) else {}, (key,))


def _number(doc: ConfigDoc, proc: Processor, name: str, default: float) -> tuple[Any, Where]:
    key = proc.key + (name,)
    if name not in proc.conf:
        return default, doc.where(proc.key)
    value = proc.conf[name]
    where = doc.where(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError.single(doc.file, f"expected a number, got {value!r}", key=where.key,
                                line=where.line)
    return value, where


def _filter(doc: ConfigDoc, processors: list[Processor], out: list[LintFinding]) -> None:
    check = sink("lint-cosyvoice-filter", out)
    filters = [p for p in processors if p.name == "filter"]
    if not filters:
        check.skip("the data pipeline has no filter processor", Where(doc.file))
    for proc in filters:
        values = {k: _number(doc, proc, k, d) for k, d in FILTER_DEFAULTS.items()}
        token_max, where_max = values["token_max_length"]
        token_min, where_min = values["token_min_length"]
        frames_max, where_fmax = values["max_length"]
        frames_min, _ = values["min_length"]
        before = check.problems
        if token_max <= 0:
            check.fail(f"token_max_length: {token_max:g} drops every sample: CosyVoice's filter "
                       "skips any sample with more text tokens than this, and every sample has "
                       "some; each epoch is one empty step and nothing is learned", where_max,
                       observed=token_max, expected="> 0 (the seed: 400)",
                       fix="token_max_length: 400 (0 is not 'no limit')")
        elif token_min > token_max:
            check.fail(f"token_min_length {token_min:g} > token_max_length {token_max:g}: no "
                       "sample can pass the filter", where_min, observed=token_min,
                       fix="token_min_length: 1, token_max_length: 400")
        if token_min < 1:
            check.warn(f"token_min_length: {token_min:g} lets samples with no text through",
                       where_min, observed=token_min, expected=">= 1",
                       fix="token_min_length: 1")
        if frames_max <= 0 or frames_min > frames_max:
            check.fail(f"max_length {frames_max:g} (min_length {frames_min:g}, in 10 ms frames) "
                       "admits no audio: every sample is dropped", where_fmax,
                       observed=frames_max, fix="max_length: 40960, min_length: 0 (the seed's)")
        if check.problems == before:
            check.ok(f"the filter keeps samples of {token_min:g}–{token_max:g} text tokens and "
                     f"{frames_min / 100:g}–{frames_max / 100:g} s", where_max)
    check.close()


def _batch(doc: ConfigDoc, processors: list[Processor], machine: Any,
           out: list[LintFinding]) -> tuple[int, Where] | None:
    """Judge max_frames_in_batch against the GPU; returns (frames, where) for accum_grad."""
    check = sink("lint-cosyvoice-batch-frames", out)
    frames: tuple[int, Where] | None = None
    for proc in processors:
        if proc.name == "dynamic_batch" or (
                proc.name == "batch" and proc.conf.get("batch_type") == "dynamic"):
            value, where = _number(doc, proc, "max_frames_in_batch", DYNAMIC_BATCH_DEFAULT)
            frames = (int(value), where)
    if frames is None:
        check.skip("no dynamic batching (max_frames_in_batch) in the pipeline", Where(doc.file))
        check.close()
        return None
    value, where = frames
    gib, described = machine.accelerator_memory()
    if value <= 0:
        check.fail(f"max_frames_in_batch: {value} puts no sample in a batch", where,
                   id="dataset-filtered-empty", fix="max_frames_in_batch: 400 on a 16 GB T4")
    elif gib is None:
        check.skip(f"max_frames_in_batch {value}: the GPU's memory is not known ({described}); "
                   "pass --vram-gb N (the seed: 400 is safe on a 16 GB T4)", where)
    else:
        budget = frames_budget(gib)
        detail = [f"budget: ({gib:.1f} GiB - {FIXED_GIB:g} GiB for the model) / "
                  f"{GIB_PER_FRAME * 1024:.0f} MiB per frame, calibrated on the seed's T4 "
                  f"({SAFE_FRAMES} frames in {SAFE_FRAMES_GIB:g} GiB)"]
        if value > budget:
            check.warn(f"max_frames_in_batch {value} is above about {budget} for the "
                       f"{described}: expect CUDA out of memory on long batches", where,
                       observed=value, expected=f"<= {budget}", details=detail,
                       fix=f"max_frames_in_batch: {max(100, budget // 50 * 50)}, and raise "
                           "train_conf.accum_grad to keep the effective batch")
        else:
            check.ok(f"max_frames_in_batch {value} is within about {budget} for the {described}",
                     where, details=detail)
    check.close()
    return frames


def frames_budget(gib: float) -> int:
    """The largest max_frames_in_batch that should fit `gib` of GPU memory (an estimate)."""
    return max(0, int((gib - FIXED_GIB) / GIB_PER_FRAME))


def _accum_grad(doc: ConfigDoc, frames: tuple[int, Where] | None,
                out: list[LintFinding]) -> None:
    check = sink("lint-cosyvoice-accum-grad", out)
    train_conf = doc.data.get("train_conf")
    if frames is None or frames[0] <= 0:
        check.skip("no dynamic batch size to judge accum_grad against", Where(doc.file))
    elif not isinstance(train_conf, dict) or "accum_grad" not in train_conf:
        check.warn("train_conf.accum_grad is not set: CosyVoice's train.py reads it",
                   doc.where(("train_conf",)) if isinstance(train_conf, dict) else Where(doc.file),
                   fix=f"train_conf: {{accum_grad: {SEED_ACCUM_GRAD}}}")
    else:
        accum = train_conf["accum_grad"]
        where = doc.where(("train_conf", "accum_grad"))
        if isinstance(accum, bool) or not isinstance(accum, int) or accum < 1:
            raise InputError.single(doc.file, f"expected a whole number >= 1, got {accum!r}",
                                    key=where.key, line=where.line)
        effective = frames[0] * accum
        need = -(-SEED_EFFECTIVE_FRAMES // frames[0])
        if effective < SEED_EFFECTIVE_FRAMES:
            check.warn(f"accum_grad {accum} × max_frames_in_batch {frames[0]} = {effective} "
                       f"frames per optimizer step, below the seed's {SEED_EFFECTIVE_FRAMES} "
                       f"({SAFE_FRAMES} × {SEED_ACCUM_GRAD}): small, noisy updates", where,
                       observed=effective, expected=f">= {SEED_EFFECTIVE_FRAMES}",
                       fix=f"train_conf.accum_grad: {need}")
        else:
            check.ok(f"accum_grad {accum}: {effective} frames per optimizer step", where)
    check.close()


# ---------------------------------------------------------------------------- checkout

def find_checkout(start: Path, levels: int = 4) -> Path | None:
    """The CosyVoice checkout a config sits in (a folder holding cosyvoice/utils/train_utils.py)."""
    here = start if start.is_dir() else start.parent
    for candidate in [here, *here.parents][:levels + 1]:
        if (candidate / TRAIN_UTILS).is_file():
            return candidate
    return None


def lint_project(root: Path, display: str, machine: Any, recipe: Any,
                 out: list[LintFinding], configs: bool = True) -> list[str]:
    """The checkout's own traps, then every training config found in it (not examples/)."""
    files = [_processgroup(root, display, machine, out)]
    _submodules(root, display, recipe, out)
    files.append(_pynini(root, display, machine, out))
    if configs:
        for path in _configs(root):
            shown = os.path.join(display, path.relative_to(root).as_posix())
            doc = load_config(path, shown)
            if isinstance(doc.data, dict) and pipeline(doc):
                lint_config(doc, machine, out)
                files.append(shown)
    return [f for f in files if f]


def _configs(root: Path, depth: int = 3) -> list[Path]:
    found: list[Path] = []
    stack = [(root, 0)]
    while stack:
        folder, level = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and level < depth and entry.name not in SKIPPED_CONFIG_DIRS \
                    and not entry.name.startswith("."):
                stack.append((entry, level + 1))
            elif entry.suffix in (".yaml", ".yml") and entry.is_file():
                found.append(entry)
    return sorted(found)


def _processgroup(root: Path, display: str, machine: Any, out: list[LintFinding]) -> str | None:
    check = sink("lint-cosyvoice-processgroup", out)
    path = root / TRAIN_UTILS
    shown = os.path.join(display, TRAIN_UTILS.as_posix())
    if not path.is_file():
        check.skip(f"no {TRAIN_UTILS.as_posix()} in {display}", Where(display))
        check.close()
        return None
    reads, guarded = _options_use(read_text(path, shown))
    torch = machine.torch_version
    missing = processgroup_verdict(torch)
    if reads is None:
        check.ok("cosyvoice_join does not read group_join.options (patched, or a newer "
                 "CosyVoice)", Where(shown))
    elif missing is False:
        check.ok(f"torch {torch} still has ProcessGroup.options, which cosyvoice_join reads",
                 Where(shown, reads))
    else:
        about = (f"torch {torch} has no ProcessGroup.options (removed in 2.5)" if missing
                 else "torch ≥ 2.5 has no ProcessGroup.options, and the torch under test is "
                      f"not known ({machine.source}; pass --python)")
        fix = ("in cosyvoice_join, return False when WORLD_SIZE is 1, and pass "
               "timeout=datetime.timedelta(seconds=60) to dist.monitored_barrier instead of "
               "group_join.options._timeout (the seed's patch); or install torch 2.3.1")
        if guarded:
            check.warn(f"cosyvoice_join returns early on one GPU, but reads "
                       f"group_join.options._timeout with more: {about}", Where(shown, reads),
                       fix=fix)
        elif missing:
            check.fail(f"cosyvoice_join reads group_join.options._timeout: {about}, so training "
                       "stops at the first batch with AttributeError", Where(shown, reads),
                       observed=torch, expected="torch < 2.5, or the patch", fix=fix)
        else:
            check.warn(f"cosyvoice_join reads group_join.options._timeout: {about}",
                       Where(shown, reads), fix=fix)
    check.close()
    return shown


def _options_use(source: str) -> tuple[int | None, bool]:
    """(line of the `.options` read in cosyvoice_join or None, whether a 1-GPU return precedes it)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        match = re.search(r"\.options\._timeout", source)
        return (source[:match.start()].count("\n") + 1 if match else None), False
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "cosyvoice_join":
            reads = [n.lineno for n in ast.walk(node)
                     if isinstance(n, ast.Attribute) and n.attr == "options"]
            if not reads:
                return None, False
            first = min(reads)
            guarded = any(isinstance(n, ast.If) and n.lineno < first
                          and "world_size" in ast.unparse(n.test)
                          and any(isinstance(b, ast.Return) for b in n.body)
                          for n in ast.walk(node))
            return first, guarded
    return None, False


def _submodules(root: Path, display: str, recipe: Any, out: list[LintFinding]) -> None:
    check = sink("lint-cosyvoice-submodule", out)
    submodules = recipe.repository.submodules if recipe.repository else ()
    for rel in submodules:
        path = root / rel
        shown = os.path.join(display, rel)
        try:
            entries = [p.name for p in path.iterdir()] if path.is_dir() else None
        except OSError:
            entries = None
        if entries is None:
            check.fail(f"{rel} is missing: the checkout was cloned without its submodules "
                       "(No module named 'matcha')", Where(shown))
        elif not entries:
            check.fail(f"{rel} is empty: the checkout was cloned without --recursive "
                       "(No module named 'matcha')", Where(shown))
        elif not {"setup.py", "pyproject.toml"} & set(entries):
            check.fail(f"{rel} has no setup.py or pyproject.toml: the submodule is not "
                       "checked out", Where(shown))
        else:
            check.ok(f"{rel} is checked out", Where(shown))
    if not submodules:
        check.skip("the recipe names no submodules", Where(display))
    check.close()


def needs_pynini(root: Path) -> tuple[bool, str] | None:
    """Whether the checkout's requirements.txt pulls pynini (WeTextProcessing does), and why."""
    path = root / "requirements.txt"
    try:
        text = read_input(path, MAX_TEXT_BYTES).decode("utf-8", errors="replace") \
            if path.is_file() else None
    except InputError:
        text = None
    if text is None:
        return None
    for line in text.splitlines():
        name = re.split(r"[=<>!~;\[\s]", line.strip(), maxsplit=1)[0]
        if norm_key(name) in ("pynini", "wetextprocessing"):
            return True, f"requirements.txt asks for {line.strip()}"
    return False, "requirements.txt does not ask for pynini or WeTextProcessing (wetext needs neither)"


def _pynini(root: Path, display: str, machine: Any, out: list[LintFinding]) -> str | None:
    check = sink("lint-cosyvoice-pynini", out)
    need = needs_pynini(root)
    shown = os.path.join(display, "requirements.txt")
    if need is None:
        check.skip(f"no requirements.txt in {display}", Where(display))
    elif not need[0]:
        check.ok(need[1], Where(shown))
    else:
        verdict = pynini_verdict(machine.os_name, machine.fact("os.arch"),
                                 machine.python_version, machine.packages())
        if verdict is None:
            check.skip(f"{need[1]}; the platform under test is not known ({machine.source})",
                       Where(shown))
        elif verdict[0] == "ok":
            check.ok(f"{need[1]}: {verdict[1]}", Where(shown))
        else:
            check.fail(f"{need[1]}, but {verdict[1]}: `pip install -r requirements.txt` "
                       "stops at building it", Where(shown),
                       fix="conda create -n cosyvoice python=3.10 && conda install -y -c "
                           "conda-forge pynini==2.1.5, before pip install -r requirements.txt "
                           "(on Windows: use WSL)")
    check.close()
    return shown if need is not None else None
