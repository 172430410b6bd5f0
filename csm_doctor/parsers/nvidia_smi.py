"""Parsers for nvidia-smi text output: query CSV, --version, the boxed table, -L, errors.

All of them read live output and pasted text alike, never raise, and return
None/empty values for anything they cannot read. GPU records share one shape
(see `gpu_record`) and never carry UUIDs or serial numbers, so reports built
from them are safe to paste publicly.
"""

from __future__ import annotations

import csv
import re

from csm_doctor.gpu import gpu_record  # noqa: F401 - the one GPU record; re-exported for the parsers
from .textutil import (
    na_to_none,
    never_raise,
    normalize_text,
    parse_int,
    parse_mib,
    table_cells,
    text_lines,
    to_int,
    version_token,
)

# --------------------------------------------------------------------------- #
# Shared pieces
# --------------------------------------------------------------------------- #

BUS_ID_RE = re.compile(r"\b[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]\b")
COMPUTE_CAP_RE = re.compile(r"\d+\.\d+")
# Longest real table lines are ~100 chars; skipping absurd lines keeps the
# row regexes linear on hostile input.
_MAX_ROW_LEN = 1000


def _first_version(text: str, patterns: list[re.Pattern[str]]) -> str | None:
    """First match over `patterns` (in priority order) that is a real version number."""
    for pattern in patterns:
        for match in pattern.finditer(text):
            version = version_token(match.group(1))
            if version:
                return version
    return None


# "X version : v" (--version) and "X Version: v" (table header) share these.
# R610+ prints KMD/CUDA UMD and marks DRIVER/CUDA "Deprecated", so those go first.
_SMI_LINE_RE = re.compile(r"NVIDIA-SMI\s+version\s*:\s*(\S+)", re.IGNORECASE)  # --version
_SMI_HEADER_RE = re.compile(r"NVIDIA-SMI\s+(\d\S*)", re.IGNORECASE)  # table header
_SMI_PATTERNS = [_SMI_LINE_RE, _SMI_HEADER_RE]
_DRIVER_PATTERNS = [
    re.compile(r"KMD\s+version\s*:\s*(\S+)", re.IGNORECASE),
    re.compile(r"Driver\s+version\s*:\s*(\S+)", re.IGNORECASE),
]
_CUDA_PATTERNS = [
    re.compile(r"CUDA\s+UMD\s+version\s*:\s*(\S+)", re.IGNORECASE),
    re.compile(r"CUDA\s+version\s*:\s*(\S+)", re.IGNORECASE),
]
_NVML_PATTERNS = [re.compile(r"NVML\s+version\s*:\s*(\S+)", re.IGNORECASE)]


# --------------------------------------------------------------------------- #
# --query-gpu / --query-compute-apps CSV
# --------------------------------------------------------------------------- #

# Query field name -> GPU-record key. nvidia-smi accepts "gpu_name" and
# "gpu_bus_id" as aliases of "name" and "pci.bus_id".
_GPU_FIELDS = {
    "index": "index",
    "name": "name",
    "gpu_name": "name",
    "memory.total": "memory_total_mib",
    "memory.used": "memory_used_mib",
    "memory.free": "memory_free_mib",
    "compute_cap": "compute_capability",
    "pci.bus_id": "bus_id",
    "gpu_bus_id": "bus_id",
    "driver_version": "driver_version",
}
_PROCESS_FIELDS = {"pid", "process_name", "used_gpu_memory", "used_memory"}
_FIELD_NAME_RE = re.compile(r"[A-Za-z_][\w.]*(?:\s*\[[^\]]*\])?")
# A header line must name at least one of these, so prose with commas is not a header.
_KNOWN_FIELDS = set(_GPU_FIELDS) | _PROCESS_FIELDS | {
    "timestamp", "count", "uuid", "serial", "gpu_uuid", "gpu_serial", "pstate",
    "temperature.gpu", "utilization.gpu", "power.draw", "persistence_mode",
}


def _field_key(column: str) -> str:
    """Query field name without its unit suffix: "memory.total [MiB]" -> "memory.total"."""
    return re.sub(r"\s*\[[^\]]*\]\s*$", "", column.strip()).strip().lower()


def _csv_fields(line: str) -> list[str]:
    """Comma-separated values of one line, stripped (nvidia-smi writes ", ")."""
    try:
        row = next(csv.reader([line], skipinitialspace=True), [])
    except csv.Error:
        row = line.split(",")
    return [value.strip() for value in row]


def _is_header(fields: list[str]) -> bool:
    """True when every field looks like a query name and one is a known one."""
    if not all(_FIELD_NAME_RE.fullmatch(field) for field in fields):
        return False
    return any(_field_key(field) in _KNOWN_FIELDS for field in fields)


def _csv_records(text: str, columns: list[str] | None) -> list[dict[str, str]]:
    """Rows of a query CSV as {field key: raw value}.

    The header in the text wins over `columns` (it is what nvidia-smi printed);
    `columns` is for `noheader` output. Lines with a different field count are
    noise or truncated rows and are skipped rather than guessed at.
    """
    keys = [_field_key(column) for column in columns] if columns else None
    records: list[dict[str, str]] = []
    for line in text_lines(text):
        if not line.strip():
            continue
        fields = _csv_fields(line)
        if _is_header(fields):
            keys = [_field_key(field) for field in fields]
            continue
        if keys and len(fields) == len(keys) and len(keys) > 0:
            records.append(dict(zip(keys, fields, strict=True)))
    return records


def _gpu_from_csv(record: dict[str, str]) -> dict:
    """Map one query-gpu CSV record onto the GPU shape plus driver_version."""
    values = {key: record.get(field) for field, key in _GPU_FIELDS.items() if field in record}
    compute_cap = na_to_none(values.get("compute_capability"))
    return gpu_record(
        index=parse_int(values.get("index")),
        name=na_to_none(values.get("name")),
        memory_total_mib=parse_mib(values.get("memory_total_mib")),
        memory_used_mib=parse_mib(values.get("memory_used_mib")),
        memory_free_mib=parse_mib(values.get("memory_free_mib")),
        compute_capability=compute_cap if compute_cap and COMPUTE_CAP_RE.fullmatch(compute_cap) else None,
        bus_id=na_to_none(values.get("bus_id")),
        driver_version=version_token(values.get("driver_version")),
    )


@never_raise(list)
def parse_query_gpu_csv(text: str, columns: list[str] | None = None) -> list[dict]:
    """GPUs from `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`.

    One dict per GPU row: the GPU shape plus "driver_version". Pass `columns`
    (the queried field names, in order) for noheader output. Returns [] for a
    --query-compute-apps CSV, which lists processes rather than GPUs.
    """
    records = _csv_records(text, columns)
    if not records or _PROCESS_FIELDS & set(records[0]):
        return []
    if not set(_GPU_FIELDS) & set(records[0]):
        return []
    return [_gpu_from_csv(record) for record in records]


@never_raise(list)
def parse_query_compute_apps_csv(text: str, columns: list[str] | None = None) -> list[dict]:
    """Processes from `nvidia-smi --query-compute-apps=... --format=csv`.

    Tells the doctor which programs already hold VRAM. Returns
    [{"pid", "process_name", "used_memory_mib", "gpu_name", "gpu_bus_id"}];
    UUID and serial columns are dropped on purpose.
    """
    records = [record for record in _csv_records(text, columns) if "pid" in record]
    return [
        {
            "pid": parse_int(record.get("pid")),
            "process_name": na_to_none(record.get("process_name") or record.get("name")),
            "used_memory_mib": parse_mib(record.get("used_gpu_memory") or record.get("used_memory")),
            "gpu_name": na_to_none(record.get("gpu_name")),
            "gpu_bus_id": na_to_none(record.get("gpu_bus_id")),
        }
        for record in records
    ]


@never_raise(bool)
def looks_like_query_csv(text: str) -> bool:
    """Cheap sniff: does the text contain a query-CSV header line?"""
    return any(
        "," in line and _is_header(_csv_fields(line))
        for line in text_lines(text)
        if len(line) < 100_000
    )


# --------------------------------------------------------------------------- #
# nvidia-smi --version
# --------------------------------------------------------------------------- #


def _empty_version() -> dict:
    return {"driver_version": None, "cuda_version": None, "nvml_version": None, "smi_version": None}


@never_raise(_empty_version)
def parse_version(text: str) -> dict:
    """Versions from `nvidia-smi --version`, R610+ "KMD"/"CUDA UMD" lines included.

    On R610+ "DRIVER version" and "CUDA version" say "Deprecated, see ...";
    the KMD and CUDA UMD lines are used instead, and a placeholder is never
    returned as a version.
    """
    text = normalize_text(text)
    return {
        "driver_version": _first_version(text, _DRIVER_PATTERNS),
        "cuda_version": _first_version(text, _CUDA_PATTERNS),
        "nvml_version": _first_version(text, _NVML_PATTERNS),
        "smi_version": _first_version(text, _SMI_PATTERNS),
    }


_VERSION_SNIFF_RE = re.compile(r"(NVIDIA-SMI|NVML|DRIVER|KMD)\s+version\s*:", re.IGNORECASE)


@never_raise(bool)
def looks_like_version(text: str) -> bool:
    """Cheap sniff: does the text contain `nvidia-smi --version` lines?"""
    return len(_VERSION_SNIFF_RE.findall(normalize_text(text))) >= 2


# --------------------------------------------------------------------------- #
# The boxed table (`nvidia-smi` with no arguments)
# --------------------------------------------------------------------------- #

_DRIVER_MODELS = {"on": "On", "off": "Off", "wddm": "WDDM", "tcc": "TCC", "mcdm": "MCDM"}
_GPU_CELL_RE = re.compile(r"(\d+)\s+(.*?)(?:\s+(On|Off|WDDM|TCC|MCDM|N/A|ERR!))?", re.IGNORECASE)
_MEMORY_USAGE_RE = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB", re.IGNORECASE)
_PROCESS_RE = re.compile(
    r"(\d+|N/A)\s+"  # GPU index
    r"(?:\S+\s+\S+\s+)?"  # GI ID, CI ID (drivers 450+)
    r"(\d+)\s+"  # PID
    r"([A-Z](?:\+[A-Z])?)\s+"  # type: C, G, C+G, M, M+C
    r"(.*?)\s+"  # process name (may contain spaces, may be "..."-truncated)
    r"(\d+\s*MiB|\S+)"  # GPU memory, or N/A
)
_TABLE_HEADER_RE = re.compile(r"NVIDIA-SMI\s+\d\S*\s+(?:Driver|KMD)\s+Version\s*:", re.IGNORECASE)
_TABLE_COLUMNS_RE = re.compile(r"Bus-Id.*Disp\.A|Memory-Usage", re.IGNORECASE)


def _empty_table() -> dict:
    return {
        "smi_version": None,
        "driver_version": None,
        "cuda_version": None,
        "gpus": [],
        "processes": [],
        "mig": False,
    }


def _table_header(lines: list[str]) -> str:
    """The "NVIDIA-SMI x  Driver Version: y ..." line, or all text if it is missing.

    Restricting the version search to that line keeps stray "CUDA Version"
    text elsewhere in a paste from being read as the header.
    """
    for line in lines:
        if _SMI_HEADER_RE.search(line):
            return line
    return "\n".join(lines)


def _gpu_from_row(cells: list[str]) -> dict | None:
    """A GPU from the first row of its block ("|   0  Name  Off | bus-id ... |").

    nvidia-smi always prints the PCI bus id there, even when other cells say
    ERR!, so requiring it tells GPU rows from fan rows, MIG rows and headers.
    """
    if len(cells) < 2 or len(cells[0]) > _MAX_ROW_LEN:
        return None
    match = _GPU_CELL_RE.fullmatch(cells[0])
    bus_id = BUS_ID_RE.search(cells[1])
    if not match or not bus_id:
        return None
    name = na_to_none(match.group(2))
    gpu = gpu_record(index=to_int(match.group(1)), name=name, bus_id=bus_id.group())
    gpu["name_truncated"] = bool(name and name.endswith(("...", "\u2026")))
    gpu["driver_model"] = _DRIVER_MODELS.get((match.group(3) or "").lower())
    return gpu


def _set_memory(gpu: dict, cells: list[str]) -> None:
    """Fill used/total MiB from the "214MiB / 8192MiB" cell of a GPU's later rows."""
    if gpu["memory_total_mib"] is not None:
        return
    for cell in cells:
        match = _MEMORY_USAGE_RE.search(cell) if len(cell) <= _MAX_ROW_LEN else None
        if match:
            gpu["memory_used_mib"] = to_int(match.group(1))
            gpu["memory_total_mib"] = to_int(match.group(2))
            return


def _process_from_row(cells: list[str]) -> dict | None:
    """A process from a Processes-section row; None for headers and "No running ..."."""
    if len(cells) != 1 or len(cells[0]) > _MAX_ROW_LEN:
        return None
    match = _PROCESS_RE.fullmatch(cells[0])
    if not match:
        return None
    return {
        "gpu_index": parse_int(match.group(1)),
        "pid": to_int(match.group(2)),
        "type": match.group(3),
        "name": na_to_none(match.group(4)),
        "memory_mib": parse_mib(match.group(5)),
    }


@never_raise(_empty_table)
def parse_table(text: str) -> dict:
    """Header versions, GPUs and processes from the default `nvidia-smi` table.

    Handles drivers 440 to 610+ (narrow and wide layouts, "KMD Version" headers),
    ERR!/N/A cells, Windows WDDM/TCC, and a "MIG devices:" section whose rows are
    GPU slices, not GPUs (it only sets "mig": True). Memory free is left None:
    the table shows used/total only and reserved memory makes the difference wrong.
    """
    lines = text_lines(text)
    header = _table_header(lines)
    result = _empty_table()
    result["smi_version"] = _first_version(header, [_SMI_HEADER_RE])
    result["driver_version"] = _first_version(header, _DRIVER_PATTERNS)
    result["cuda_version"] = _first_version(header, _CUDA_PATTERNS)

    section = "gpus"
    for line in lines:
        if "MIG devices:" in line:
            section, result["mig"] = "mig", True
            continue
        if "Processes:" in line:
            section = "processes"
            continue
        cells = table_cells(line)
        if section == "gpus":
            _read_gpu_line(result["gpus"], cells)
        elif section == "processes":
            process = _process_from_row(cells)
            if process:
                result["processes"].append(process)
    return result


def _read_gpu_line(gpus: list[dict], cells: list[str]) -> None:
    """Start a new GPU on its first row, or add memory from a follow-up row."""
    gpu = _gpu_from_row(cells)
    if gpu:
        gpus.append(gpu)
    elif gpus and cells:
        _set_memory(gpus[-1], cells)


@never_raise(bool)
def looks_like_table(text: str) -> bool:
    """Cheap sniff: a table header line, or the column titles of the GPU box."""
    text = normalize_text(text)
    return bool(_TABLE_HEADER_RE.search(text) or ("|" in text and _TABLE_COLUMNS_RE.search(text)))


# --------------------------------------------------------------------------- #
# nvidia-smi -L
# --------------------------------------------------------------------------- #

_LIST_RE = re.compile(r"\s*GPU\s+(\d+)\s*:\s*(.*?)\s*(?:\((?:UUID|S/N)\s*:.*)?")


@never_raise(list)
def parse_list(text: str) -> list[dict]:
    """[{"index", "name"}] from `nvidia-smi -L`; MIG lines and UUIDs are dropped."""
    gpus = []
    for line in text_lines(text):
        match = _LIST_RE.fullmatch(line) if len(line) <= _MAX_ROW_LEN else None
        if match:
            gpus.append({"index": to_int(match.group(1)), "name": na_to_none(match.group(2))})
    return gpus


# --------------------------------------------------------------------------- #
# Failure messages
# --------------------------------------------------------------------------- #

# Most specific first: a mismatch message can also mention the driver.
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Driver/library version mismatch", re.IGNORECASE), "nvidia-driver-library-mismatch"),
    (re.compile(r"couldn.?t communicate with the NVIDIA driver", re.IGNORECASE), "nvidia-driver-missing"),
    (re.compile(r"Found no NVIDIA driver on your system", re.IGNORECASE), "nvidia-driver-missing"),
    (re.compile(r"No devices were found", re.IGNORECASE), "gpu-missing"),
]


@never_raise(lambda: None)
def detect_error(text: str) -> str | None:
    """Diagnosis id for a known nvidia-smi failure message in `text`, else None."""
    text = normalize_text(text)
    for pattern, diagnosis in _ERRORS:
        if pattern.search(text):
            return diagnosis
    return None

