"""`nvidia-smi -q` parser against the exporter (595) and gpud (535, 8x RTX 4090)
captures, plus R610+ "Deprecated" lines, MIG sections and pasted noise.

The source notes also list "Reserved" framebuffer memory, which is outside the
GPU record shape and not asserted.
"""

from __future__ import annotations

import pytest
from conftest import load_capture

from csm_doctor.parsers.nvidia_smi_q import looks_like_query_text, parse_query_text

FOLDER = "nvidia-smi-q"
EXPORTER = "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt"
GPUD = "gpud-nvidia-smi-query.535.154.05.out.0.valid.txt"

# (file, driver, cuda, attached, names, [(total, used, free) per GPU], bus ids)
Q_FACTS = [
    (EXPORTER, "595.71.05", "13.2", 1, ["NVIDIA GeForce RTX 2080 SUPER"], [(8192, 214, 7571)],
     ["00000000:0C:00.0"]),
    (GPUD, "535.154.05", "12.2", 8, ["NVIDIA GeForce RTX 4090"] * 8,
     [(24564, 20328, 3888), (24564, 21356, 2860), (24564, 23044, 1172), (24564, 22790, 1426),
      (24564, 24212, 4), (24564, 0, 24217), (24564, 22378, 1838), (24564, 6488, 17728)],
     ["00000000:01:00.0", "00000000:23:00.0", "00000000:41:00.0", "00000000:61:00.0",
      "00000000:81:00.0", "00000000:A1:00.0", "00000000:C1:00.0", "00000000:E1:00.0"]),
]


def load(name: str) -> str:
    return load_capture(FOLDER, name)


@pytest.mark.parametrize("name, driver, cuda, attached, names, memory, bus_ids", Q_FACTS)
def test_fixture_key_facts(name, driver, cuda, attached, names, memory, bus_ids):
    result = parse_query_text(load(name))
    assert (result["driver_version"], result["cuda_version"], result["attached_gpus"]) == (driver, cuda, attached)
    gpus = result["gpus"]
    assert [g["name"] for g in gpus] == names
    assert [(g["memory_total_mib"], g["memory_used_mib"], g["memory_free_mib"]) for g in gpus] == memory
    assert [g["bus_id"] for g in gpus] == bus_ids
    assert [g["index"] for g in gpus] == list(range(len(names)))  # print order, not "Minor Number"
    assert all(g["compute_capability"] is None and g["driver_model"] is None for g in gpus)
    assert looks_like_query_text(load(name))


def test_same_shapes_as_the_xml_parser():
    from csm_doctor.parsers.nvidia_smi_xml import parse_query_xml

    q = parse_query_text(load(EXPORTER))
    xml = parse_query_xml(load_capture("nvidia-smi-xml", "telegraf-rtx-3080-v12.xml"))
    assert set(q) == set(xml)
    assert set(q["gpus"][0]) == set(xml["gpus"][0])
    assert set(q["processes"][0]) == set(xml["processes"][0])


def test_processes_are_read_per_gpu():
    assert parse_query_text(load(EXPORTER))["processes"] == [
        {"gpu_index": 0, "pid": 1696, "type": "G", "name": "/usr/bin/gnome-shell", "memory_mib": 176},
        {"gpu_index": 0, "pid": 4584, "type": "G", "name": "/usr/bin/Xwayland", "memory_mib": 3},
    ]
    processes = parse_query_text(load(GPUD))["processes"]
    assert [(p["gpu_index"], p["pid"], p["memory_mib"]) for p in processes][:2] == [
        (0, 58130, 20322), (1, 2930819, 21350)]
    assert 5 not in [p["gpu_index"] for p in processes]  # GPU 5 runs nothing


def test_bar1_and_protected_memory_are_not_the_framebuffer():
    gpu = parse_query_text(load(EXPORTER))["gpus"][0]
    assert gpu["memory_total_mib"] == 8192  # BAR1 says 256, protected memory 0


def test_never_returns_uuids_or_serials():
    text = load(GPUD)
    assert "GPU-313bbff0" in text
    assert "GPU-313bbff0" not in repr(parse_query_text(text))


_R610 = """
==============NVSMI LOG==============

Timestamp                                 : Tue Sep  1 10:00:00 2026
Driver Version                            : 610.47 [Deprecated; will be removed. Use KMD Version instead]
KMD Version                               : 610.47.01
CUDA Version                              : 13.3 [Deprecated; Use CUDA UMD Version instead]
CUDA UMD Version                          : 13.3

Attached GPUs                             : 1
GPU 00000000:01:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Driver Model
        Current                           : TCC
        Pending                           : TCC
    MIG Devices
        MIG Device
            Index                         : 0
            FB Memory Usage
                Total                     : 9984 MiB
                Used                      : 12 MiB
    FB Memory Usage
        Total                             : 81559 MiB
        Reserved                          : 529 MiB
        Used                              : 1 MiB
        Free                              : 81029 MiB
    Processes                             : None
"""


def test_r610_prefers_kmd_and_umd_and_never_returns_bracket_text():
    result = parse_query_text(_R610)
    assert (result["driver_version"], result["cuda_version"]) == ("610.47.01", "13.3")
    only_deprecated = "\n".join(line for line in _R610.split("\n") if not line.startswith(("KMD", "CUDA UMD")))
    result = parse_query_text(only_deprecated)
    assert (result["driver_version"], result["cuda_version"]) == ("610.47", "13.3")


def test_mig_slices_do_not_shadow_the_gpu_and_driver_model_is_read():
    result = parse_query_text(_R610)
    gpu = result["gpus"][0]
    assert (gpu["memory_total_mib"], gpu["memory_used_mib"], gpu["memory_free_mib"]) == (81559, 1, 81029)
    assert gpu["driver_model"] == "TCC"
    assert result["processes"] == []


def test_indented_crlf_ansi_paste():
    """Inside a markdown list item (indented), from a Windows terminal with colours."""
    text = load(EXPORTER)
    pasted = "\r\n".join("    \x1b[0m" + line if line else line for line in text.split("\n"))
    assert parse_query_text(pasted) == parse_query_text(text)


def test_truncated_report_keeps_what_is_there():
    text = load(GPUD)
    cut = text[: text.index("FB Memory Usage", text.index("GPU 00000000:23:00.0"))]
    result = parse_query_text(cut)
    assert [g["memory_total_mib"] for g in result["gpus"]] == [24564, None]
    assert result["gpus"][1]["name"] == "NVIDIA GeForce RTX 4090"


@pytest.mark.parametrize("text", ["", "nvidia-smi: command not found", "Driver Version: 550.1"])
def test_not_a_report(text):
    result = parse_query_text(text)
    assert result["gpus"] == [] and result["attached_gpus"] is None
    assert not looks_like_query_text(text)
