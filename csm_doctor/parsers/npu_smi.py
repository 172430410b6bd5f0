"""Parser for Huawei Ascend `npu-smi info` output.

Each chip takes two table rows: the NPU row (id, name, health, power, temp,
hugepages) and the chip row (chip id [+ phy-id/device], bus id, AICore%,
Memory-Usage and, on 910-series, HBM-Usage as "used / total"). Multi-chip
cards (300I Duo) print one NPU row followed by several chip rows; A3 hosts
repeat the NPU row before each chip. The doctor needs the HBM totals to judge
whether a model fits, hence one record per chip.
"""

from __future__ import annotations

import re

from .textutil import na_to_none, never_raise, table_cells, text_lines, to_int

_VERSION_RE = re.compile(r"npu-smi\s+(\d[\w.\-]*)", re.IGNORECASE)
_DRIVER_VERSION_RE = re.compile(r"\bVersion:\s*(\d[\w.\-]*)", re.IGNORECASE)
_NPU_CELL_RE = re.compile(r"(\d+)\s+(\S.*)")
_CHIP_CELL_RE = re.compile(r"(\d+)(?:\s+\d+)?")
BUS_ID_RE = re.compile(r"[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]")
_HEALTH_RE = re.compile(r"[A-Za-z][A-Za-z ]*")
_USAGE_RE = re.compile(r"(\d+)\s*/\s*(\d+)")
_PROCESS_HEADER_RE = re.compile(r"Process\s*id", re.IGNORECASE)
_MAX_ROW_LEN = 1000


def _empty() -> dict:
    return {"npu_smi_version": None, "npus": []}


def _chip_record(npu: dict | None) -> dict:
    """A chip entry carrying the NPU row's fields (all None when that row is missing)."""
    npu = npu or {}
    return {
        "npu_id": npu.get("npu_id"),
        "chip_id": None,
        "name": npu.get("name"),
        "health": npu.get("health"),
        "hbm_total_mb": None,
        "hbm_used_mb": None,
        "memory_total_mb": None,
        "bus_id": None,
    }


def _usage_columns(lines: list[str]) -> list[str]:
    """Order of the "used / total" columns in chip rows, read from the header.

    910-series print Memory-Usage then HBM-Usage; 310-series only Memory-Usage.
    Without a header (truncated paste) assume the 910 order.
    """
    for line in lines:
        if "Bus-Id" in line and "Usage" in line:
            found = [(line.find(label), key) for label, key in (("Memory-Usage", "memory"), ("HBM-Usage", "hbm"))]
            return [key for position, key in sorted(found) if position >= 0]
    return ["memory", "hbm"]


def _npu_row(cells: list[str]) -> dict | None:
    """{"npu_id", "name", "health"} from an NPU row, else None."""
    if len(cells) < 2:
        return None
    match = _NPU_CELL_RE.fullmatch(cells[0])
    if not match or not _HEALTH_RE.fullmatch(cells[1]) or BUS_ID_RE.search(cells[1]):
        return None
    return {"npu_id": to_int(match.group(1)), "name": na_to_none(match.group(2)), "health": na_to_none(cells[1])}


def _chip_row(cells: list[str], npu: dict | None, usage_columns: list[str]) -> dict | None:
    """A chip entry from a chip row (identified by its bus-id cell), else None."""
    if len(cells) < 3:
        return None
    match = _CHIP_CELL_RE.fullmatch(cells[0])
    bus_id = BUS_ID_RE.fullmatch(cells[1])
    if not match or not (bus_id or na_to_none(cells[1]) is None):
        return None
    chip = _chip_record(npu)
    chip["chip_id"] = to_int(match.group(1))
    chip["bus_id"] = bus_id.group() if bus_id else None
    for key, (used, total) in zip(usage_columns, _USAGE_RE.findall(cells[2]), strict=False):
        if key == "memory":
            chip["memory_total_mb"] = to_int(total)
        else:
            chip["hbm_used_mb"], chip["hbm_total_mb"] = to_int(used), to_int(total)
    return chip


@never_raise(_empty)
def parse_npu_smi_info(text: str) -> dict:
    """Version and one record per chip from `npu-smi info`; the process table is ignored.

    Returns {"npu_smi_version", "npus": [{"npu_id", "chip_id", "name", "health",
    "hbm_total_mb", "hbm_used_mb", "memory_total_mb", "bus_id"}]}. hbm_* are
    None on cards without HBM (310-series). An NPU row whose chip row was cut
    off still yields an entry, with chip fields None.
    """
    lines = [line for line in text_lines(text) if len(line) <= _MAX_ROW_LEN]
    joined = "\n".join(lines)
    version = _VERSION_RE.search(joined) or _DRIVER_VERSION_RE.search(joined)
    usage_columns = _usage_columns(lines)
    npus: list[dict] = []
    npu, npu_has_chip = None, False
    for line in lines:
        if _PROCESS_HEADER_RE.search(line):
            break
        cells = table_cells(line)
        new_npu = _npu_row(cells)
        if new_npu:
            if npu and not npu_has_chip:
                npus.append(_chip_record(npu))
            npu, npu_has_chip = new_npu, False
            continue
        chip = _chip_row(cells, npu, usage_columns)
        if chip:
            npus.append(chip)
            npu_has_chip = True
    if npu and not npu_has_chip:
        npus.append(_chip_record(npu))
    return {"npu_smi_version": version.group(1) if version else None, "npus": npus}


@never_raise(bool)
def looks_like_npu_smi(text: str) -> bool:
    """Cheap sniff: an "npu-smi X" title or the NPU/Health/Bus-Id column titles."""
    text = "\n".join(text_lines(text))
    if re.search(r"npu-smi\s+\d", text, re.IGNORECASE):
        return True
    return bool(re.search(r"\|\s*NPU\s+Name\s*\|\s*Health", text) and "Bus-Id" in text)
