"""nvidia-smi parsers against real captures (tests/fixtures/probes/nvidia-smi-*) and
inline variants built from the documented formats that the captures lack."""

from __future__ import annotations

import pytest
from conftest import load_capture as load

from csm_doctor.parsers.nvidia_smi import (
    detect_error,
    looks_like_query_csv,
    looks_like_table,
    looks_like_version,
    parse_list,
    parse_query_compute_apps_csv,
    parse_query_gpu_csv,
    parse_table,
    parse_version,
)

GPU_KEYS = {
    "index", "name", "memory_total_mib", "memory_used_mib", "memory_free_mib",
    "compute_capability", "bus_id",
}



def noisy_copy(text: str) -> str:
    """The same output as pasted from a coloured terminal on Windows, with prompt noise."""
    lines = [f"\x1b[1;32m{line}\x1b[0m" for line in text.split("\n")]
    return "\r\n".join(["user@host:~$ nvidia-smi", *lines, "user@host:~$ "])


# --------------------------------------------------------------------------- #
# Boxed table: key facts of every capture
# --------------------------------------------------------------------------- #

# (file, smi, driver, cuda, gpu count, gpu 0 (name, model, bus id, used, total),
#  process rows, truncated name)
TABLE_FACTS = [
    (
        "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt",
        "595.71.05", "595.71.05", "13.2", 1,
        ("NVIDIA GeForce RTX 2080 ...", "Off", "00000000:0C:00.0", 214, 8192), 2, True,
    ),
    (
        "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle.txt",
        "610.57.04", "610.57.04", "13.3", 1,
        ("NVIDIA GeForce RTX 2080 ...", "Off", "00000000:0C:00.0", 211, 8192), 2, True,
    ),
    (
        "exporter-windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle.txt",
        "591.86", "591.86", "13.1", 1,
        ("NVIDIA GeForce RTX 2080 ...", "WDDM", "00000000:0C:00.0", 702, 8192), 10, True,
    ),
    (
        "gpud-8xH100-550.90.07.txt",
        "550.90.07", "550.90.07", "12.4", 8,
        ("NVIDIA H100 80GB HBM3", "On", "00000000:19:00.0", 1, 81559), 0, False,
    ),
    (
        "gpud-geforce-ERR-fan-525.125.06.txt",
        "525.125.06", "525.125.06", "12.0", 1,
        ("NVIDIA GeForce ...", "Off", "00000000:01:00.0", 2021, 23028), 0, True,
    ),
    (
        "thamada-L4-550.90.07.txt",
        "550.90.07", "550.90.07", "12.4", 1,
        ("NVIDIA L4", "On", "00000000:01:00.0", 1, 23034), 0, False,
    ),
]


@pytest.mark.parametrize(
    "name, smi, driver, cuda, count, gpu0, process_rows, truncated", TABLE_FACTS
)
def test_table_fixture_key_facts(name, smi, driver, cuda, count, gpu0, process_rows, truncated):
    result = parse_table(load("nvidia-smi-table", name))
    assert (result["smi_version"], result["driver_version"], result["cuda_version"]) == (smi, driver, cuda)
    assert len(result["gpus"]) == count
    assert [gpu["index"] for gpu in result["gpus"]] == list(range(count))
    first = result["gpus"][0]
    assert (first["name"], first["driver_model"], first["bus_id"]) == gpu0[:3]
    assert (first["memory_used_mib"], first["memory_total_mib"]) == gpu0[3:]
    assert first["name_truncated"] is truncated
    assert result["mig"] is False
    assert len(result["processes"]) == process_rows
    assert GPU_KEYS | {"name_truncated", "driver_model"} == set(first)


@pytest.mark.parametrize("name", [facts[0] for facts in TABLE_FACTS])
def test_table_survives_crlf_ansi_and_prompt_noise(name):
    text = load("nvidia-smi-table", name)
    assert parse_table(noisy_copy(text)) == parse_table(text)
    assert looks_like_table(noisy_copy(text))


def test_table_8xh100_every_gpu():
    gpus = parse_table(load("nvidia-smi-table", "gpud-8xH100-550.90.07.txt"))["gpus"]
    bus_ids = ["19", "3B", "4C", "5D", "9B", "BB", "CB", "DB"]
    assert [gpu["bus_id"] for gpu in gpus] == [f"00000000:{bus}:00.0" for bus in bus_ids]
    for gpu in gpus:
        assert gpu["name"] == "NVIDIA H100 80GB HBM3"
        assert (gpu["memory_used_mib"], gpu["memory_total_mib"], gpu["driver_model"]) == (1, 81559, "On")
        assert gpu["memory_free_mib"] is None and gpu["compute_capability"] is None


def test_table_process_rows_in_detail():
    linux = parse_table(load("nvidia-smi-table", TABLE_FACTS[0][0]))["processes"]
    assert linux == [
        {"gpu_index": 0, "pid": 1696, "type": "G", "name": "/usr/bin/gnome-shell", "memory_mib": 176},
        {"gpu_index": 0, "pid": 4584, "type": "G", "name": "/usr/bin/Xwayland", "memory_mib": 3},
    ]
    windows = parse_table(load("nvidia-smi-table", TABLE_FACTS[2][0]))["processes"]
    assert {process["type"] for process in windows} == {"C+G"}
    assert all(process["memory_mib"] is None for process in windows)  # "N/A" on WDDM
    assert windows[0]["name"] == "C:\\Windows\\System32\\dwm.exe"
    assert windows[8] == {
        "gpu_index": 0, "pid": 20372, "type": "C+G",
        "name": "...m Files\\NZXT CAM\\NZXT CAM.exe", "memory_mib": None,
    }


def test_table_err_fan_row_does_not_break_the_gpu():
    # Fan 'ERR!', compute mode 'E. Process', ECC 0, no Processes section at all.
    result = parse_table(load("nvidia-smi-table", "gpud-geforce-ERR-fan-525.125.06.txt"))
    assert result["processes"] == []
    assert result["gpus"][0]["memory_used_mib"] == 2021


def test_table_header_separator_pipe_or_plus_is_equivalent():
    text = load("nvidia-smi-table", "gpud-8xH100-550.90.07.txt")
    lines = text.split("\n")
    assert lines[3].startswith("|-----")
    plus = "\n".join([*lines[:3], "+" + lines[3][1:-1] + "+", *lines[4:]])
    assert parse_table(plus) == parse_table(text)


def test_table_r610_header_never_reports_deprecated():
    header = "| NVIDIA-SMI 610.57.04    KMD Version: 610.57.04    CUDA UMD Version: 13.3  |"
    result = parse_table(header)
    assert (result["driver_version"], result["cuda_version"]) == ("610.57.04", "13.3")


OLD_NARROW_TABLE = """\
Tue Mar 10 09:12:01 2020
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 440.33.01    Driver Version: 440.33.01    CUDA Version: 10.2     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | GPU-Util  Compute M. |
|===============================+======================+======================|
|   0  Tesla V100-SXM2...  On   | 00000000:00:1E.0 Off |                    0 |
| N/A   37C    P0    38W / 300W |  15000MiB / 16160MiB |      0%      Default |
+-------------------------------+----------------------+----------------------+
|   1  Tesla V100-SXM2...  On   | 00000000:00:1F.0 Off |                    0 |
| N/A   35C    P0    37W / 300W |      0MiB / 16160MiB |      0%      Default |
+-------------------------------+----------------------+----------------------+

+-----------------------------------------------------------------------------+
| Processes:                                                       GPU Memory |
|  GPU       PID   Type   Process name                             Usage      |
|=============================================================================|
|    0     23011      C   python train.py                            14990MiB |
+-----------------------------------------------------------------------------+
"""


def test_table_old_narrow_layout_and_pre_450_process_columns():
    result = parse_table(OLD_NARROW_TABLE)
    assert (result["smi_version"], result["driver_version"], result["cuda_version"]) == (
        "440.33.01", "440.33.01", "10.2",
    )
    assert [gpu["bus_id"] for gpu in result["gpus"]] == ["00000000:00:1E.0", "00000000:00:1F.0"]
    assert result["gpus"][0]["name"] == "Tesla V100-SXM2..."
    assert result["gpus"][0]["name_truncated"] is True
    assert result["gpus"][0]["memory_used_mib"] == 15000
    assert result["processes"] == [
        {"gpu_index": 0, "pid": 23011, "type": "C", "name": "python train.py", "memory_mib": 14990}
    ]


MIG_TABLE = """\
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 470.57.02    Driver Version: 470.57.02    CUDA Version: 11.4     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | GPU-Util  Compute M. |
|                               |                      |               MIG M. |
|===============================+======================+======================|
|   0  NVIDIA A100-SXM...  On   | 00000000:07:00.0 Off |                   On |
| N/A   28C    P0    43W / 400W |     24MiB / 40536MiB |     N/A      Default |
|                               |                      |              Enabled |
+-------------------------------+----------------------+----------------------+

+-----------------------------------------------------------------------------+
| MIG devices:                                                                |
+------------------+----------------------+-----------+-----------------------+
| GPU  GI  CI  MIG |         Memory-Usage |        Vol|         Shared        |
|      ID  ID  Dev |           BAR1-Usage | SM     Unc| CE  ENC  DEC  OFA  JPG|
|                  |                      |        ECC|                       |
|==================+======================+===========+=======================|
|  0    1   0   0  |     11MiB / 20096MiB | 42      0 |  3   0    2    0    0 |
|                  |      0MiB / 32767MiB |           |                       |
+------------------+----------------------+-----------+-----------------------+
|  0    2   0   1  |     13MiB / 20096MiB | 42      0 |  3   0    2    0    0 |
|                  |      0MiB / 32767MiB |           |                       |
+------------------+----------------------+-----------+-----------------------+

+-----------------------------------------------------------------------------+
| Processes:                                                                  |
|  GPU   GI   CI        PID   Type   Process name                  GPU Memory |
|        ID   ID                                                   Usage      |
|=============================================================================|
|    0    1    0      12345      C   python                           1000MiB |
+-----------------------------------------------------------------------------+
"""


def test_table_mig_devices_are_not_gpus():
    result = parse_table(MIG_TABLE)
    assert result["mig"] is True
    assert len(result["gpus"]) == 1
    assert result["gpus"][0]["memory_total_mib"] == 40536  # not a MIG slice's 20096
    assert result["processes"] == [
        {"gpu_index": 0, "pid": 12345, "type": "C", "name": "python", "memory_mib": 1000}
    ]


def test_table_mig_rows_without_their_title_are_still_not_gpus():
    body = MIG_TABLE.replace("| MIG devices:", "| ")
    assert len(parse_table(body)["gpus"]) == 1


def test_table_windows_tcc_and_header_without_cuda():
    text = """\
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 385.54                 Driver Version: 385.54                    |
|-------------------------------+----------------------+----------------------+
| GPU  Name            TCC/WDDM | Bus-Id        Disp.A | Volatile Uncorr. ECC |
|===============================+======================+======================|
|   0  Tesla K80           TCC  | 00000000:04:00.0 Off |                    0 |
| N/A   34C    P8    26W / 149W |      1MiB / 11447MiB |      0%      Default |
+-------------------------------+----------------------+----------------------+
"""
    result = parse_table(text)
    assert (result["driver_version"], result["cuda_version"]) == ("385.54", None)
    assert result["gpus"][0]["driver_model"] == "TCC"
    assert result["gpus"][0]["name"] == "Tesla K80"
    assert result["processes"] == []


def test_table_err_cells_everywhere_give_none_not_garbage():
    text = """\
| NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: N/A      |
|=========================================+======================+======================|
|   0  ERR!                          ERR! | 00000000:07:00.0 ERR!|                 ERR! |
|ERR!  ERR!  ERR!             ERR! / ERR! |              ERR!    |    ERR!      Default |
"""
    result = parse_table(text)
    assert result["cuda_version"] is None
    gpu = result["gpus"][0]
    assert (gpu["index"], gpu["name"], gpu["driver_model"], gpu["bus_id"]) == (0, None, None, "00000000:07:00.0")
    assert gpu["memory_total_mib"] is None


def test_table_truncated_mid_block_keeps_what_was_printed():
    text = load("nvidia-smi-table", "gpud-8xH100-550.90.07.txt")
    second_row = text.index("| N/A   23C    P0             70W")
    gpus = parse_table(text[: second_row + 20])["gpus"]
    assert [gpu["index"] for gpu in gpus] == [0, 1, 2]
    assert gpus[2]["bus_id"] == "00000000:4C:00.0"
    assert gpus[2]["memory_total_mib"] is None
    # A GPU row cut before its bus id is not counted: its name would be wrong too.
    gpus = parse_table(text[: text.index("|   2  NVIDIA H100") + 16])["gpus"]
    assert [gpu["index"] for gpu in gpus] == [0, 1]


def test_table_of_empty_or_unrelated_text_is_empty():
    empty = {"smi_version": None, "driver_version": None, "cuda_version": None,
             "gpus": [], "processes": [], "mig": False}
    assert parse_table("") == empty
    assert parse_table(load("nvidia-smi-errors", "mxochicale-driver-not-loaded.txt")) == empty


# --------------------------------------------------------------------------- #
# --query-gpu CSV
# --------------------------------------------------------------------------- #

H100_CSV = "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv"
APPS_CSV = "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__compute-apps.csv"


def test_query_csv_fixture_key_facts():
    text = load("nvidia-smi-csv", H100_CSV)
    header = text.split("\n")[0].split(", ")
    assert len(header) == 212  # the capture is intact: 212 columns, one data row
    assert header[:6] == ["timestamp", "driver_version", "vgpu_driver_capability.heterogenous_multivGPU",
                          "count", "name", "serial"]
    assert parse_query_gpu_csv(text) == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "memory_total_mib": 81559,
            "memory_used_mib": 0,
            "memory_free_mib": 81081,
            "compute_capability": "9.0",
            "bus_id": "00000000:00:09.0",
            "driver_version": "590.48.01",
        }
    ]


def test_query_csv_never_leaks_uuid_or_serial():
    rows = parse_query_gpu_csv(load("nvidia-smi-csv", H100_CSV))
    flat = repr(rows)
    assert "GPU-0000" not in flat and "0000000000000" not in flat


def test_query_csv_survives_crlf_ansi_and_noise():
    text = load("nvidia-smi-csv", H100_CSV)
    assert parse_query_gpu_csv(noisy_copy(text)) == parse_query_gpu_csv(text)


def test_query_csv_two_gpus_with_units_and_na():
    text = (
        "index, name, memory.total [MiB], memory.used [MiB], memory.free [MiB], compute_cap, pci.bus_id, driver_version\n"
        "0, NVIDIA GeForce RTX 4090, 24564 MiB, 1 MiB, 24077 MiB, 8.9, 00000000:01:00.0, 550.54.15\n"
        "1, NVIDIA GeForce RTX 3060, 12288 MiB, [N/A], [Not Supported], [N/A], 00000000:02:00.0, 550.54.15\n"
    )
    rows = parse_query_gpu_csv(text)
    assert [row["index"] for row in rows] == [0, 1]
    assert rows[0]["compute_capability"] == "8.9"
    assert rows[1]["memory_total_mib"] == 12288
    assert (rows[1]["memory_used_mib"], rows[1]["memory_free_mib"], rows[1]["compute_capability"]) == (None, None, None)
    assert looks_like_query_csv(text)


def test_query_csv_nounits_keeps_units_only_in_header():
    text = "name, memory.total [MiB], memory.used [MiB]\nNVIDIA L4, 23034, 1\n"
    row = parse_query_gpu_csv(text)[0]
    assert (row["name"], row["memory_total_mib"], row["memory_used_mib"]) == ("NVIDIA L4", 23034, 1)
    assert row["index"] is None and row["driver_version"] is None


def test_query_csv_noheader_needs_columns():
    text = "0, NVIDIA H100 80GB HBM3, 81559, 9.0\n1, NVIDIA H100 80GB HBM3, 81559, 9.0\n"
    columns = ["index", "name", "memory.total", "compute_cap"]
    rows = parse_query_gpu_csv(text, columns=columns)
    assert [(row["index"], row["memory_total_mib"], row["compute_capability"]) for row in rows] == [
        (0, 81559, "9.0"), (1, 81559, "9.0"),
    ]
    assert parse_query_gpu_csv(text) == []  # without columns there is nothing to map


def test_query_csv_noheader_with_units_in_values_and_unit_columns():
    text = "$ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader\nNVIDIA L4, 23034 MiB\n"
    rows = parse_query_gpu_csv(text, columns=["name", "memory.total [MiB]"])
    assert rows == [
        {"index": None, "name": "NVIDIA L4", "memory_total_mib": 23034, "memory_used_mib": None,
         "memory_free_mib": None, "compute_capability": None, "bus_id": None, "driver_version": None}
    ]


def test_query_csv_truncated_row_is_skipped_not_guessed():
    text = "index, name, memory.total [MiB]\n0, NVIDIA L4, 23034 MiB\n1, NVIDIA L"
    assert [row["index"] for row in parse_query_gpu_csv(text)] == [0]


def test_query_csv_deprecated_driver_version_is_none():
    text = "name, driver_version\nNVIDIA L4, [Requested functionality has been deprecated]\n"
    assert parse_query_gpu_csv(text)[0]["driver_version"] is None


def test_compute_apps_csv_fixture_key_facts():
    text = load("nvidia-smi-csv", APPS_CSV)
    lines = [line for line in text.split("\n") if line]
    assert len(lines[0].split(", ")) == 8 and len(lines) == 4  # 8 columns, 3 data rows
    assert lines[0].split(", ")[:6] == ["timestamp", "gpu_name", "gpu_bus_id", "gpu_serial", "gpu_uuid", "pid"]
    apps = parse_query_compute_apps_csv(text)
    assert [(app["gpu_name"], app["process_name"], app["used_memory_mib"]) for app in apps] == [
        ("NVIDIA H100 80GB HBM3", "/root/tools/memhog", 2566),
        ("NVIDIA H100 80GB HBM3", "/root/tools/memhog", 1542),
        ("NVIDIA H100 80GB HBM3", "./gpu_burn", 15690),
    ]
    assert [app["pid"] for app in apps] == [11327, 11328, 11345]
    assert "GPU-0000" not in repr(apps)
    # It lists processes, so it is not mistaken for three GPUs.
    assert parse_query_gpu_csv(text) == []
    assert parse_query_compute_apps_csv(load("nvidia-smi-csv", H100_CSV)) == []


# --------------------------------------------------------------------------- #
# --version and -L
# --------------------------------------------------------------------------- #


def test_version_fixture_590():
    text = load("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__version.txt")
    assert parse_version(text) == {
        "driver_version": "590.48.01", "cuda_version": "13.1",
        "nvml_version": "590.48", "smi_version": "590.48.01",
    }


def test_version_fixture_610_uses_kmd_and_umd_not_deprecated():
    text = load("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__version.txt")
    assert parse_version(text) == {
        "driver_version": "610.57.04", "cuda_version": "13.3",
        "nvml_version": "610.57", "smi_version": "610.57.04",
    }
    # The KMD/UMD lines could come first or be cut off: the placeholder is never a version.
    deprecated_only = "\n".join(line for line in text.split("\n") if "Deprecated" in line or "NVML" in line)
    result = parse_version(deprecated_only)
    assert (result["driver_version"], result["cuda_version"], result["nvml_version"]) == (None, None, "610.57")


def test_version_label_case_and_noise():
    text = "\x1b[0m$ nvidia-smi --version\r\nnvidia-smi version : 535.183.01\r\nnvml version: 535.183\r\n" \
           "driver version : 535.183.01\r\ncuda version : 12.2\r\n$ "
    assert parse_version(text) == {
        "driver_version": "535.183.01", "cuda_version": "12.2",
        "nvml_version": "535.183", "smi_version": "535.183.01",
    }
    assert looks_like_version(text)


def test_list_fixture():
    text = load("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__L.txt")
    assert parse_list(text) == [{"index": 0, "name": "NVIDIA H100 80GB HBM3"}]


def test_list_ignores_mig_lines_and_uuids():
    text = (
        "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)\r\n"
        "  MIG 3g.20gb     Device  0: (UUID: MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f)\r\n"
        "  MIG 3g.20gb     Device  1: (UUID: MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb)\r\n"
        "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-0000)\r\n"
    )
    assert parse_list(text) == [
        {"index": 0, "name": "NVIDIA A100-SXM4-40GB"},
        {"index": 1, "name": "NVIDIA A100-SXM4-40GB"},
    ]


# --------------------------------------------------------------------------- #
# Failure messages
# --------------------------------------------------------------------------- #


def test_error_fixture_driver_not_loaded():
    text = load("nvidia-smi-errors", "mxochicale-driver-not-loaded.txt")
    assert text.startswith("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    assert detect_error(text) == "nvidia-driver-missing"
    assert not looks_like_table(text)


@pytest.mark.parametrize(
    "text, diagnosis",
    [
        ("Failed to initialize NVML: Driver/library version mismatch\n", "nvidia-driver-library-mismatch"),
        ("Failed to initialize NVML: Driver/library version mismatch\r\nNVML library version: 535.183\r\n",
         "nvidia-driver-library-mismatch"),
        ("No devices were found", "gpu-missing"),
        ("\x1b[31mFound no NVIDIA driver on your system. Please check that you have an NVIDIA GPU\x1b[0m",
         "nvidia-driver-missing"),
        ("NVIDIA-SMI has failed because it couldn\u2019t communicate with the NVIDIA driver.",
         "nvidia-driver-missing"),
        ("", None),
    ],
)
def test_error_messages(text, diagnosis):
    assert detect_error(text) == diagnosis


@pytest.mark.parametrize("name", [facts[0] for facts in TABLE_FACTS])
def test_healthy_table_is_not_an_error(name):
    assert detect_error(load("nvidia-smi-table", name)) is None


# --------------------------------------------------------------------------- #
# Sniffers tell the formats apart
# --------------------------------------------------------------------------- #

SAMPLES = {
    "table": load("nvidia-smi-table", TABLE_FACTS[0][0]),
    "csv": load("nvidia-smi-csv", H100_CSV),
    "version": load("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__version.txt"),
    "list": load("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__L.txt"),
    "error": load("nvidia-smi-errors", "mxochicale-driver-not-loaded.txt"),
    "prose": "Hello, world, this is a log line, with commas.\nCUDA version: 12.1 was used",
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_sniffers_match_only_their_format(kind):
    text = SAMPLES[kind]
    assert looks_like_table(text) is (kind == "table")
    assert looks_like_query_csv(text) is (kind == "csv")
    assert looks_like_version(text) is (kind == "version")


def test_sniffers_find_output_inside_a_pasted_log():
    log = "Collecting environment...\nsome, other, text\n" + SAMPLES["table"] + "\nDone.\n"
    assert looks_like_table(log)
