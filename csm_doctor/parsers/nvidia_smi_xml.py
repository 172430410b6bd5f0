"""Parser for `nvidia-smi -q -x` (the XML query; DTD nvsmi_device_v10 to v13).

The XML is the most complete thing a user can paste: full product names,
framebuffer totals, the driver model and every process. It is read with the
standard library, made safe the way defusedxml would: the parser is only ever
given the text from `<nvidia_smi_log` on, so the DOCTYPE line (and any DTD,
internal or external) never reaches expat. Nothing is fetched, no entity can be
declared, and an undeclared entity simply ends the parse.

A paste is often cut off, so a parse error is not fatal: everything read
before it is kept (a half-pasted second GPU still gives its name). GPUs are
indexed by their order in the file, which is nvidia-smi's own order;
`attached_gpus` is reported as printed and may exceed the `<gpu>` elements
present (tools trim the file, `-i` selects GPUs).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .nvidia_smi import COMPUTE_CAP_RE, gpu_record
from .textutil import (
    na_to_none,
    never_raise,
    normalize_text,
    parse_int,
    parse_mib,
    version_token,
)

_ROOT_TAG = "<nvidia_smi_log"
# R610+ drivers rename the driver/CUDA versions (KMD / CUDA UMD, as in the table
# header and --version) and mark the old ones deprecated; the new names go first.
_DRIVER_TAGS = ("kmd_version", "driver_version")
_CUDA_TAGS = ("cuda_umd_version", "cuda_version")
_DRIVER_MODELS = {"WDDM", "TCC", "MCDM"}
_XML_SNIFF_RE = re.compile(r"<nvidia_smi_log\b")


def _empty() -> dict:
    return {"driver_version": None, "cuda_version": None, "attached_gpus": None, "gpus": [],
            "processes": []}


def _root(text: str) -> ET.Element | None:
    """The <nvidia_smi_log> element, as much of it as parses; None if absent.

    Feeding bytes (UTF-8, errors replaced) keeps odd code points in a paste
    from raising an encoding error instead of a parse error.
    """
    start = text.find(_ROOT_TAG)
    if start < 0:
        return None
    parser = ET.XMLPullParser(events=("start",))
    parser.feed(text[start:].encode("utf-8", errors="replace"))
    root = None
    try:
        for _event, element in parser.read_events():
            if root is None:
                root = element
    except ET.ParseError:
        pass  # truncated or spliced paste: keep the tree built so far
    return root


def _text(element: ET.Element | None, path: str) -> str | None:
    """Stripped text at `path` under `element`; None for missing elements and N/A markers."""
    if element is None:
        return None
    found = element.find(path)
    return na_to_none(found.text) if found is not None and found.text else None


def _first_version(root: ET.Element, tags: tuple[str, ...]) -> str | None:
    """First real version number among `tags`, refusing "Deprecated ..." placeholders."""
    for tag in tags:
        version = version_token(_text(root, tag))
        if version:
            return version
    return None


def _compute_capability(gpu: ET.Element) -> str | None:
    """"8.0" from <cuda_compute_capability><major>8</major><minor>0</minor>, if printed."""
    major, minor = _text(gpu, "cuda_compute_capability/major"), _text(gpu, "cuda_compute_capability/minor")
    value = f"{major}.{minor}" if major and minor else _text(gpu, "compute_cap")
    return value if value and COMPUTE_CAP_RE.fullmatch(value) else None


def _gpu(index: int, gpu: ET.Element) -> dict:
    """One GPU record; memory is the GPU's own fb_memory_usage, not a MIG slice's."""
    driver_model = (_text(gpu, "driver_model/current_dm") or "").upper()
    record = gpu_record(
        index=index,
        name=_text(gpu, "product_name"),
        memory_total_mib=parse_mib(_text(gpu, "fb_memory_usage/total")),
        memory_used_mib=parse_mib(_text(gpu, "fb_memory_usage/used")),
        memory_free_mib=parse_mib(_text(gpu, "fb_memory_usage/free")),
        compute_capability=_compute_capability(gpu),
        bus_id=na_to_none(gpu.get("id")) or _text(gpu, "pci/pci_bus_id"),
    )
    record["name_truncated"] = False
    record["driver_model"] = driver_model if driver_model in _DRIVER_MODELS else None
    return record


def _processes(index: int, gpu: ET.Element) -> list[dict]:
    """<processes><process_info> entries, in the table parser's process shape."""
    return [
        {
            "gpu_index": index,
            "pid": parse_int(_text(info, "pid")),
            "type": _text(info, "type"),
            "name": _text(info, "process_name"),
            "memory_mib": parse_mib(_text(info, "used_memory")),
        }
        for info in gpu.findall("processes/process_info")
    ]


@never_raise(_empty)
def parse_query_xml(text: str) -> dict:
    """Versions, GPUs and processes from `nvidia-smi -q -x`.

    Returns {"driver_version", "cuda_version", "attached_gpus": int | None,
    "gpus": [{"index", "name", "memory_total_mib", "memory_used_mib",
    "memory_free_mib", "compute_capability", "bus_id", "name_truncated",
    "driver_model"}], "processes": [{"gpu_index", "pid", "type", "name",
    "memory_mib"}]}: the shapes of `nvidia_smi.parse_table`. UUIDs and serials
    are never read.
    """
    root = _root(normalize_text(text))
    result = _empty()
    if root is None:
        return result
    result["driver_version"] = _first_version(root, _DRIVER_TAGS)
    result["cuda_version"] = _first_version(root, _CUDA_TAGS)
    result["attached_gpus"] = parse_int(_text(root, "attached_gpus"))
    for index, gpu in enumerate(root.findall("gpu")):
        result["gpus"].append(_gpu(index, gpu))
        result["processes"].extend(_processes(index, gpu))
    return result


@never_raise(bool)
def looks_like_query_xml(text: str) -> bool:
    """Cheap sniff: an <nvidia_smi_log> root element."""
    return bool(_XML_SNIFF_RE.search(normalize_text(text)))
