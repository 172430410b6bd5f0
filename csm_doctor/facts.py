"""The facts document: everything probed about a machine, as plain JSON.

A facts document can be saved (`csm-doctor facts -o FILE`) and replayed
(`check --facts FILE`): that is how Windows, macOS, Ascend and Blackwell
machines are judged on Linux, and how support evaluates a user's machine.
The schema is versioned; docs/facts.md describes every key.
"""

from __future__ import annotations

import json
from typing import Any

from csm_doctor.errors import InputError, Problem
from csm_doctor.gpu import GPU_KEYS, INT_KEYS
from csm_doctor.shapes import (
    Bool,
    Enum,
    Key,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Record,
    ShapeProblem,
    Str,
)
from csm_doctor.yamlpos import format_path, line_for

FACTS_SCHEMA = "csm-doctor/facts/1"

_str = Nullable(Str())
_int = Nullable(Number(integer=True))
_num = Nullable(Number())
_bool = Nullable(Bool())

_GPU = Record({key: Key(_int if key in INT_KEYS else _str) for key in GPU_KEYS},
              open=True, description="a GPU mapping")  # csm_doctor/gpu.py: the one GPU record

_NPU = Record({
    "npu_id": Key(_int), "chip_id": Key(_int), "name": Key(_str), "health": Key(_str),
    "hbm_total_mb": Key(_int), "hbm_used_mb": Key(_int),
}, open=True, description="an NPU mapping")

_PROBE = Record({
    "status": Key(Enum("ok", "error", "timeout", "skipped")),
    "seconds": Key(_num), "error": Key(_str),
}, open=True, description="a probe record")

FACTS_SHAPE = Record({
    "schema": Key(Str(), required=True),
    "collected_at": Key(_str),
    "doctor": Key(Nullable(Record({"version": Key(_str), "python": Key(_str)}, open=True))),
    "os": Key(Nullable(Record({
        "name": Key(Nullable(Enum("linux", "windows", "darwin", "other"))),
        "release": Key(_str), "version": Key(_str), "arch": Key(_str),
        "distro": Key(Nullable(Record({"id": Key(_str), "name": Key(_str), "version": Key(_str)},
                                      open=True))),
        "wsl": Key(_bool),
        "is_root": Key(_bool),  # csm-doctor runs as root: commands are printed without sudo
    }, open=True))),
    "python": Key(Nullable(Record({
        "executable": Key(_str), "version": Key(_str), "implementation": Key(_str),
        "in_venv": Key(_bool), "venv_kind": Key(_str), "prefix": Key(_str),
    }, open=True))),
    "packages": Key(Nullable(MapOf(Str()))),
    "torch": Key(Nullable(Record({
        "version": Key(_str), "variant": Key(_str), "cuda": Key(_str), "hip": Key(_str),
        "source": Key(Nullable(Enum("metadata", "import"))), "imported": Key(_bool),
        "cuda_available": Key(_bool), "device_count": Key(_int),
        "devices": Key(Nullable(ListOf(_GPU))), "arch_list": Key(Nullable(ListOf(Str()))),
        "mps_built": Key(_bool), "mps_available": Key(_bool), "import_error": Key(_str),
    }, open=True))),
    "nvidia": Key(Nullable(Record({
        "source": Key(_str), "driver_version": Key(_str), "cuda_version": Key(_str),
        "gpus": Key(Nullable(ListOf(_GPU))), "error_id": Key(_str), "error": Key(_str),
        "pci_devices": Key(_int),
    }, open=True))),
    "ascend": Key(Nullable(Record({
        "npu_smi_version": Key(_str), "npus": Key(Nullable(ListOf(_NPU))),
    }, open=True))),
    "apple": Key(Nullable(Record({
        "chip": Key(_str), "apple_silicon": Key(_bool), "unified_memory_mib": Key(_int),
    }, open=True))),
    "ffmpeg": Key(Nullable(Record({
        "found": Key(_bool), "path": Key(_str), "version": Key(_str), "release": Key(_str),
    }, open=True))),
    "memory": Key(Nullable(Record({"total_mib": Key(_int), "available_mib": Key(_int)},
                                  open=True))),
    "disk": Key(Nullable(Record({"path": Key(_str), "total_mib": Key(_int), "free_mib": Key(_int)},
                                open=True))),
    "hf": Key(Nullable(Record({
        "token_present": Key(_bool), "token_source": Key(_str),
        "ignored_env": Key(Nullable(ListOf(Str()))), "offline": Key(_bool),
        "endpoint": Key(_str), "repos": Key(Nullable(MapOf(Record({
            "state": Key(Str(), required=True), "detail": Key(_str),
        }, open=True)))),
    }, open=True))),
    "env": Key(Nullable(MapOf(Str()))),
    "shm": Key(Nullable(Record({"path": Key(_str), "total_mib": Key(_int), "free_mib": Key(_int)},
                               open=True))),
    "tools": Key(Nullable(MapOf(_str))),
    "probes": Key(Nullable(MapOf(_PROBE))),
}, open=True, description="a facts document")

SECTIONS = ("os", "python", "packages", "torch", "nvidia", "ascend", "apple", "ffmpeg", "memory",
            "disk", "hf", "env", "tools", "shm")


def empty_facts() -> dict[str, Any]:
    """Every contract path present, null where unknown (the contract's promise)."""
    return {
        "schema": FACTS_SCHEMA,
        "collected_at": None,
        "doctor": None,
        "os": {"name": None},
        "python": {"version": None},
        "packages": None,
        "torch": {"version": None, "cuda": None},
        "nvidia": {"driver_version": None, "cuda_version": None, "gpus": []},
        "ascend": {"npu_smi_version": None, "npus": []},
        "ffmpeg": {"version": None},
        "memory": None,
        "disk": None,
        "hf": None,
        "env": None,
        "probes": {},
    }


def merge_facts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Overlay a probe's sections onto the document, section by section."""
    for key, value in update.items():
        if value is None and isinstance(base.get(key), dict):
            continue  # keep the contract's null-valued skeleton ("torch": {"version": null})
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "packages":
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


MAX_FACTS_BYTES = 16 * 1024 * 1024  # a real document is ~50 KiB


def load_facts(path: str) -> dict[str, Any]:
    """Read and validate a saved facts document; InputError (exit 2) if it is not one."""
    from csm_doctor.jsonload import parse_json
    from csm_doctor.safeio import read_input_text
    from csm_doctor.yamlpos import load_yaml

    # A regular file (or '-') under a cap: a FIFO or /dev/zero is exit 2, not a hang.
    text = read_input_text(path, MAX_FACTS_BYTES)
    data = parse_json(text, path)  # bounded depth and numbers; no NaN/Infinity
    if not isinstance(data, dict):
        raise InputError.single(path, "a facts document is a JSON object", line=1)
    problems: list[ShapeProblem] = []
    if data.get("schema") != FACTS_SCHEMA:
        problems.append(ShapeProblem(("schema",), f"unsupported facts schema {data.get('schema')!r}"
                                                  f" (this csm-doctor reads {FACTS_SCHEMA!r})"))
    FACTS_SHAPE.check(data, (), problems)
    if problems:
        try:  # JSON is YAML: reuse the YAML composer to find the line of each bad key
            _, lines = load_yaml(text, path)
        except InputError:
            lines = {}
        raise InputError(path, [Problem(p.message, format_path(p.path) or None,
                                        line_for(lines, p.path)) for p in problems])
    return merge_facts(empty_facts(), data)


def dump_facts(facts: dict[str, Any]) -> str:
    return json.dumps(facts, indent=2, sort_keys=False, default=str) + "\n"


def get_path(facts: dict[str, Any], dotted: str) -> Any:
    """`get_path(facts, "nvidia.driver_version")`; None where any step is missing."""
    node: Any = facts
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
