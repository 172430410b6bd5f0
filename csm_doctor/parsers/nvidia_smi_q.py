"""Parser for `nvidia-smi -q` (the long "==NVSMI LOG==" report).

The report is an indented tree of "Key : value" lines under one
"GPU 00000000:01:00.0" heading per GPU. The same leaf names recur in many
sections ("Total" under FB, BAR1 and protected memory; "Name" under
processes), so every value is read together with the section it sits in,
found from the indentation. Only the GPU's own "FB Memory Usage" counts as its
memory: MIG devices nest their own FB blocks deeper.

R610+ drivers print `Driver Version : 610.47 [Deprecated; ... Use KMD Version
instead]` beside `KMD Version`; the KMD / CUDA UMD lines win and the bracket
text is never returned. GPUs are indexed in the order printed (nvidia-smi's
index order); "Minor Number" is a device-node number, not the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .nvidia_smi import BUS_ID_RE, gpu_record
from .textutil import (
    na_to_none,
    never_raise,
    parse_int,
    parse_mib,
    text_lines,
    version_token,
)

_BANNER_RE = re.compile(r"=+\s*NVSMI LOG\s*=+")
_GPU_HEADING_RE = re.compile(r"\s*GPU\s+(" + BUS_ID_RE.pattern + r")\s*")
# "Key    : value": nvidia-smi pads keys, so a blank precedes the colon.
_ENTRY_RE = re.compile(r"(\s*)(\S[^:]{0,80}?)\s+:(?:\s(.*))?")
_HEADING_RE = re.compile(r"(\s*)(\S.{0,80}?)")
_MAX_LINE = 1000
_DRIVER_KEYS = ("kmd version", "driver version")
_CUDA_KEYS = ("cuda umd version", "cuda version")
_DRIVER_MODELS = {"WDDM", "TCC", "MCDM"}
_FB = "fb memory usage"
_DRIVER_MODEL = "driver model"
_PROCESSES = "processes"


def _empty() -> dict:
    return {"driver_version": None, "cuda_version": None, "attached_gpus": None, "gpus": [],
            "processes": []}


@dataclass
class _Reader:
    """Walks the report line by line, tracking the GPU and the section path."""

    top: dict[str, str] = field(default_factory=dict)  # top-level "Key : value", first wins
    gpus: list[dict] = field(default_factory=list)
    processes: list[dict] = field(default_factory=list)
    sections: list[tuple[int, str]] = field(default_factory=list)  # (indent, lower-case name)

    def line(self, line: str) -> None:
        heading = _GPU_HEADING_RE.fullmatch(line)
        if heading:
            self._start_gpu(heading.group(1))
            return
        entry = _ENTRY_RE.fullmatch(line)
        match = entry or _HEADING_RE.fullmatch(line)
        if not match:
            return
        indent, key = len(match.group(1)), match.group(2).strip().lower()
        while self.sections and self.sections[-1][0] >= indent:
            self.sections.pop()
        if entry is None:
            self.sections.append((indent, key))
        else:
            self._value(key, na_to_none(entry.group(3)))

    def _start_gpu(self, bus_id: str) -> None:
        gpu = gpu_record(index=len(self.gpus), bus_id=bus_id)
        gpu.update(name_truncated=False, driver_model=None)
        self.gpus.append(gpu)
        self.sections = []

    def _value(self, key: str, value: str | None) -> None:
        path = tuple(name for _, name in self.sections)
        if not self.gpus:
            self.top.setdefault(key, value or "")
            return
        gpu = self.gpus[-1]
        if path == () and key == "product name":
            gpu["name"] = gpu["name"] or value
        elif path == (_FB,) and key in ("total", "used", "free"):
            gpu[f"memory_{key}_mib"] = parse_mib(value)
        elif path == (_DRIVER_MODEL,) and key == "current" and (value or "").upper() in _DRIVER_MODELS:
            gpu["driver_model"] = value.upper()
        elif path[:1] == (_PROCESSES,):
            self._process_value(gpu["index"], key, value)

    def _process_value(self, gpu_index: int, key: str, value: str | None) -> None:
        """"Process ID" opens an entry; Type/Name/Used GPU Memory (nested under it) fill it."""
        if key == "process id":
            self.processes.append({"gpu_index": gpu_index, "pid": parse_int(value), "type": None,
                                   "name": None, "memory_mib": None})
        elif self.processes and self.processes[-1]["gpu_index"] == gpu_index:
            process = self.processes[-1]
            if key == "type":
                process["type"] = value
            elif key == "name":
                process["name"] = value
            elif key == "used gpu memory":
                process["memory_mib"] = parse_mib(value)


def _first_version(top: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        version = version_token(top.get(key))
        if version:
            return version
    return None


@never_raise(_empty)
def parse_query_text(text: str) -> dict:
    """Versions, GPUs and processes from `nvidia-smi -q`.

    Returns the shape of `nvidia_smi_xml.parse_query_xml`: {"driver_version",
    "cuda_version", "attached_gpus", "gpus": [GPU records as parse_table's,
    compute_capability None since -q does not print it], "processes": [...]}.
    """
    reader = _Reader()
    for line in text_lines(text):
        if len(line) <= _MAX_LINE and line.strip():
            reader.line(line)
    return {
        "driver_version": _first_version(reader.top, _DRIVER_KEYS),
        "cuda_version": _first_version(reader.top, _CUDA_KEYS),
        "attached_gpus": parse_int(reader.top.get("attached gpus")),
        "gpus": reader.gpus,
        "processes": reader.processes,
    }


@never_raise(bool)
def looks_like_query_text(text: str) -> bool:
    """Cheap sniff: the NVSMI LOG banner, or a "GPU <bus id>" heading and an "Attached GPUs" line."""
    lines = [line for line in text_lines(text) if len(line) <= _MAX_LINE]
    if any(_BANNER_RE.search(line) for line in lines):
        return True
    has_heading = any(_GPU_HEADING_RE.fullmatch(line) for line in lines)
    return has_heading and any(re.match(r"\s*Attached GPUs\s+:", line) for line in lines)
