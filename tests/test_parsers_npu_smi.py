"""npu-smi info parser against the 8x 910B2 capture and inline variants of the
documented layouts (310P Duo without HBM, 310 with separate tool/driver
versions, A3 "Chip Phy-ID" rows, a process table, truncation)."""

from __future__ import annotations

from conftest import load_capture as load

from csm_doctor.parsers.npu_smi import looks_like_npu_smi, parse_npu_smi_info

B2_X8 = "vllm-ascend-issue362-910B2-x8-23.0.7.txt"



def test_910b2_fixture_key_facts():
    result = parse_npu_smi_info(load("npu-smi", B2_X8))
    assert result["npu_smi_version"] == "23.0.7"
    npus = result["npus"]
    assert len(npus) == 8  # chip rows: 8, one chip per card; process rows: 0
    expected = [
        (0, "0000:C1:00.0", 29954), (1, "0000:01:00.0", 29951), (2, "0000:C2:00.0", 29950),
        (3, "0000:02:00.0", 29951), (4, "0000:81:00.0", 3347), (5, "0000:41:00.0", 3350),
        (6, "0000:82:00.0", 3347), (7, "0000:42:00.0", 3347),
    ]
    assert [(npu["npu_id"], npu["bus_id"], npu["hbm_used_mb"]) for npu in npus] == expected
    for npu in npus:
        assert (npu["chip_id"], npu["name"], npu["health"]) == (0, "910B2", "OK")
        assert (npu["hbm_total_mb"], npu["memory_total_mb"]) == (65536, 0)
    assert looks_like_npu_smi(load("npu-smi", B2_X8))


def test_fixture_with_crlf_ansi_and_surrounding_log():
    text = load("npu-smi", B2_X8)
    pasted = "NPU:\r\n\x1b[0m" + text.replace("\n", "\r\n") + "\r\nCANN:\r\npackage_name=Ascend-cann-toolkit\r\n"
    assert parse_npu_smi_info(pasted) == parse_npu_smi_info(text)


DUO_310P = """\
+--------------------------------------------------------------------------------------------------------+
| npu-smi 23.0.0                                   Version: 23.0.0                                       |
+-------------------------------+-----------------+------------------------------------------------------+
| NPU     Name                  | Health          | Power(W)     Temp(C)           Hugepages-Usage(page) |
| Chip    Device                | Bus-Id          | AICore(%)    Memory-Usage(MB)                        |
+===============================+=================+======================================================+
| 8       310P3                 | OK              | NA           48                0     / 0             |
| 0       0                     | 0000:01:00.0    | 0            1782 / 44280                            |
| 1       1                     | 0000:02:00.0    | 0            1482 / 44280                            |
+===============================+=================+======================================================+
"""


def test_310p_duo_two_chips_no_hbm():
    result = parse_npu_smi_info(DUO_310P)
    assert result["npu_smi_version"] == "23.0.0"
    assert result["npus"] == [
        {"npu_id": 8, "chip_id": 0, "name": "310P3", "health": "OK", "hbm_total_mb": None,
         "hbm_used_mb": None, "memory_total_mb": 44280, "bus_id": "0000:01:00.0"},
        {"npu_id": 8, "chip_id": 1, "name": "310P3", "health": "OK", "hbm_total_mb": None,
         "hbm_used_mb": None, "memory_total_mb": 44280, "bus_id": "0000:02:00.0"},
    ]


def test_310_tool_version_differs_from_driver_version():
    text = """\
+------------------------------------------------------------------------------+
| npu-smi 1.8.21                   Version: 20.2.0                             |
+-------------------+-----------------+----------------------------------------+
| NPU     Name      | Health          | Power(W)          Temp(C)              |
| Chip    Device    | Bus-Id          | AICore(%)         Memory-Usage(MB)     |
+===================+=================+========================================+
| 0       310       | OK              | 12.8              45                   |
| 0       0         | 0000:05:00.0    | 0                 2621 / 8192          |
+===================+=================+========================================+
"""
    result = parse_npu_smi_info(text)
    assert result["npu_smi_version"] == "1.8.21"
    (npu,) = result["npus"]
    assert (npu["name"], npu["memory_total_mb"], npu["hbm_total_mb"], npu["hbm_used_mb"]) == ("310", 8192, None, None)


A3_WITH_PROCESS = """\
+------------------------------------------------------------------------------------------------+
| npu-smi 25.0.rc1.1               Version: 25.0.rc1.1                                           |
+---------------------------+---------------+----------------------------------------------------+
| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip  Phy-ID              | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+===========================+===============+====================================================+
| 0     Ascend910           | OK            | 163.2       35                0    / 0             |
| 0     0                   | 0000:9D:00.0  | 0           0    / 0          3406 / 65536         |
+------------------------------------------------------------------------------------------------+
| 0     Ascend910           | OK            | -           36                0    / 0             |
| 1     1                   | 0000:9F:00.0  | 0           0    / 0          3390 / 65536         |
+===========================+===============+====================================================+
+---------------------------+---------------+----------------------------------------------------+
| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |
+===========================+===============+====================================================+
| 0       0                 | 12345         | python                   | 3000                    |
+===========================+===============+====================================================+
"""


def test_a3_phy_id_rows_and_process_table_ignored():
    result = parse_npu_smi_info(A3_WITH_PROCESS)
    assert result["npu_smi_version"] == "25.0.rc1.1"
    assert [(npu["npu_id"], npu["chip_id"], npu["hbm_used_mb"], npu["hbm_total_mb"]) for npu in result["npus"]] == [
        (0, 0, 3406, 65536), (0, 1, 3390, 65536),
    ]
    assert {npu["name"] for npu in result["npus"]} == {"Ascend910"}


def test_truncated_after_an_npu_row_keeps_the_npu():
    text = load("npu-smi", B2_X8)
    cut = text[: text.index("| 0                         | 0000:01:00.0")]
    npus = parse_npu_smi_info(cut)["npus"]
    assert [npu["npu_id"] for npu in npus] == [0, 1]
    assert npus[1]["name"] == "910B2" and npus[1]["chip_id"] is None and npus[1]["hbm_total_mb"] is None


def test_unhealthy_and_headerless_rows():
    text = """\
| 3     910B3               | Warning       | 90.1        40                0    / 0             |
| 0                         | 0000:02:00.0  | 0           0    / 0          61000/ 65536         |
"""
    (npu,) = parse_npu_smi_info(text)["npus"]
    assert (npu["npu_id"], npu["health"], npu["hbm_used_mb"], npu["hbm_total_mb"]) == (3, "Warning", 61000, 65536)


def test_not_npu_smi_output():
    assert parse_npu_smi_info("") == {"npu_smi_version": None, "npus": []}
    assert parse_npu_smi_info("bash: npu-smi: command not found") == {"npu_smi_version": None, "npus": []}
    assert not looks_like_npu_smi("bash: npu-smi: command not found")
    assert not looks_like_npu_smi(load("ffmpeg", "debian12-bookworm-5.1.9-local-capture.txt"))
