"""extract_facts: every captured tool output, alone and embedded in the noise
users paste around it (issue markdown, Colab colours, Windows CRLF logs,
Chinese/Japanese prose, quoted replies), several tools in one paste, and the
facts document it builds (contract paths, schema, merge rules, speed)."""

from __future__ import annotations

import random
import re
import time

import pytest
from conftest import PROBE_FIXTURES, load_capture

from csm_doctor.facts import FACTS_SCHEMA, FACTS_SHAPE, empty_facts, get_path
from csm_doctor.triage import extract_facts
from csm_doctor.triage.extract import merge_gpus, torch_variant

H100 = "NVIDIA H100 80GB HBM3"
RTX_2080S = "NVIDIA GeForce RTX 2080 SUPER"

# (folder, file) -> (source kinds, {dotted facts path: expected value})
FIXTURES: dict[tuple[str, str], tuple[list[str], dict]] = {
    ("ffmpeg", "debian12-bookworm-5.1.9-local-capture.txt"):
        (["ffmpeg"], {"ffmpeg.version": "5.1.9-0+deb12u1", "ffmpeg.release": "5.1.9", "ffmpeg.found": True}),
    ("npu-smi", "vllm-ascend-issue362-910B2-x8-23.0.7.txt"):
        (["npu-smi"], {"ascend.npu_smi_version": "23.0.7",
                       "ascend.npus": lambda npus: len(npus) == 8 and all(
                           (n["name"], n["hbm_total_mb"]) == ("910B2", 65536) for n in npus)}),
    ("nvidia-smi-csv", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv"):
        (["nvidia-smi-csv"], {"nvidia.driver_version": "590.48.01", "nvidia.cuda_version": None,
                              "nvidia.gpus": [{"index": 0, "name": H100, "memory_total_mib": 81559,
                                               "memory_used_mib": 0, "memory_free_mib": 81081,
                                               "compute_capability": "9.0", "bus_id": "00000000:00:09.0"}]}),
    ("nvidia-smi-csv", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__compute-apps.csv"):
        (["nvidia-smi-csv"], {"nvidia.gpus": []}),
    ("nvidia-smi-errors", "mxochicale-driver-not-loaded.txt"):
        (["nvidia-smi-error"], {"nvidia.error_id": "nvidia-driver-missing", "nvidia.gpus": []}),
    ("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__version.txt"):
        (["nvidia-smi-version"], {"nvidia.driver_version": "610.57.04", "nvidia.cuda_version": "13.3"}),
    ("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__version.txt"):
        (["nvidia-smi-version"], {"nvidia.driver_version": "590.48.01", "nvidia.cuda_version": "13.1"}),
    ("nvidia-smi-misc", "exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__L.txt"):
        (["nvidia-smi-list"], {"nvidia.gpus": [{"index": 0, "name": H100, "memory_total_mib": None,
                                                "memory_used_mib": None, "memory_free_mib": None,
                                                "compute_capability": None, "bus_id": None}]}),
    ("nvidia-smi-q", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt"):
        (["nvidia-smi-q"], {"nvidia.driver_version": "595.71.05", "nvidia.cuda_version": "13.2",
                            "nvidia.gpus": [{"index": 0, "name": RTX_2080S, "memory_total_mib": 8192,
                                             "memory_used_mib": 214, "memory_free_mib": 7571,
                                             "compute_capability": None, "bus_id": "00000000:0C:00.0"}]}),
    ("nvidia-smi-q", "gpud-nvidia-smi-query.535.154.05.out.0.valid.txt"):
        (["nvidia-smi-q"], {"nvidia.driver_version": "535.154.05", "nvidia.cuda_version": "12.2",
                            "nvidia.gpus": lambda gpus: [(g["name"], g["memory_total_mib"]) for g in gpus]
                            == [("NVIDIA GeForce RTX 4090", 24564)] * 8}),
    ("nvidia-smi-table", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "595.71.05", "nvidia.cuda_version": "13.2",
                                "nvidia.gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 2080 ...",
                                                 "memory_total_mib": 8192, "memory_used_mib": 214,
                                                 "memory_free_mib": None, "compute_capability": None,
                                                 "bus_id": "00000000:0C:00.0"}]}),
    ("nvidia-smi-table", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "610.57.04", "nvidia.cuda_version": "13.3"}),
    ("nvidia-smi-table", "exporter-windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "591.86", "nvidia.cuda_version": "13.1",
                                "nvidia.gpus": lambda gpus: gpus[0]["memory_total_mib"] == 8192}),
    ("nvidia-smi-table", "gpud-8xH100-550.90.07.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "550.90.07", "nvidia.cuda_version": "12.4",
                                "nvidia.gpus": lambda gpus: [(g["name"], g["memory_total_mib"]) for g in gpus]
                                == [(H100, 81559)] * 8}),
    ("nvidia-smi-table", "gpud-geforce-ERR-fan-525.125.06.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "525.125.06", "nvidia.cuda_version": "12.0",
                                "nvidia.gpus": lambda gpus: gpus[0]["memory_total_mib"] == 23028}),
    ("nvidia-smi-table", "thamada-L4-550.90.07.txt"):
        (["nvidia-smi-table"], {"nvidia.driver_version": "550.90.07", "nvidia.cuda_version": "12.4",
                                "nvidia.gpus": lambda gpus: (gpus[0]["name"], gpus[0]["memory_total_mib"])
                                == ("NVIDIA L4", 23034)}),
    ("nvidia-smi-xml", "telegraf-a100-sxm4-v12.xml"):
        (["nvidia-smi-xml"], {"nvidia.driver_version": "535.54.03", "nvidia.cuda_version": "12.2",
                              "nvidia.gpus": [{"index": 0, "name": "NVIDIA A100-SXM4-80GB",
                                               "memory_total_mib": 81920, "memory_used_mib": 50,
                                               "memory_free_mib": 80999, "compute_capability": None,
                                               "bus_id": "00000000:01:00.0"}]}),
    ("nvidia-smi-xml", "telegraf-dual_2070-v13.xml"):
        (["nvidia-smi-xml"], {"nvidia.driver_version": "590.44.01", "nvidia.cuda_version": "13.1",
                              "nvidia.gpus": lambda gpus: [(g["name"], g["memory_total_mib"]) for g in gpus]
                              == [("NVIDIA GeForce RTX 2070", 8192)] * 2}),
    ("nvidia-smi-xml", "telegraf-quadro-p400.xml"):
        (["nvidia-smi-xml"], {"nvidia.driver_version": "418.43", "nvidia.cuda_version": "10.1",
                              "nvidia.gpus": lambda gpus: (gpus[0]["name"], gpus[0]["memory_total_mib"])
                              == ("Quadro P400", 1998)}),
    ("nvidia-smi-xml", "telegraf-rtx-3080-v12.xml"):
        (["nvidia-smi-xml"], {"nvidia.driver_version": "536.40", "nvidia.cuda_version": "12.2",
                              "nvidia.gpus": lambda gpus: (gpus[0]["name"], gpus[0]["memory_total_mib"])
                              == ("NVIDIA GeForce RTX 3080", 10240)}),
    ("torch-collect-env", "pytorch-issue88820-macos13-arm64-applesilicon-torch1.14dev.txt"):
        (["collect-env"], {"os.name": "darwin", "python.version": "3.10.8",
                           "torch.version": "1.14.0.dev20221104", "torch.cuda": None, "torch.cuda_available": False,
                           "nvidia.gpus": [], "nvidia.driver_version": None,
                           "packages": lambda packages: packages["torch"] == "1.14.0.dev20221104"
                           and "pytorch" not in packages}),  # conda lines are another environment
    ("torch-collect-env", "pytorch-issue91351-linux-ubuntu20.04-cuda11.8-RTXA5000.txt"):
        (["collect-env"], {"os.name": "linux", "python.version": "3.8.10", "torch.version": "1.14.0a0+410ce96",
                           "torch.cuda": "11.8", "torch.variant": "cu118",  # "+410ce96" is a git hash
                           "nvidia.driver_version": "515.65.01", "nvidia.cuda_version": None,
                           "nvidia.gpus": lambda gpus: [g["name"] for g in gpus] == ["NVIDIA RTX A5000"],
                           "packages": lambda packages: packages["torchaudio"] == "0.14.0"}),
    ("torch-collect-env", "pytorch-issue97229-linux-centos8-torch2.0-cpu-only.txt"):
        (["collect-env"], {"os.name": "linux", "python.version": "3.9.16",
                           "torch.version": "2.0.0.dev20230228+cpu-cxx11-abi", "torch.cuda": None,
                           "torch.variant": "cpu-cxx11-abi", "nvidia.gpus": []}),
}
CASES = sorted(FIXTURES)
IDS = [f"{folder}/{name[:40]}" for folder, name in CASES]


def test_every_captured_fixture_is_a_case():
    captured = {(path.parent.name, path.name) for path in PROBE_FIXTURES.rglob("*")
                if path.is_file() and not path.name.endswith(".source.txt")}
    assert captured == set(FIXTURES)


def assert_facts(facts: dict, expected: dict) -> None:
    for path, value in expected.items():
        actual = get_path(facts, path)
        if callable(value):
            assert value(actual), f"{path}: {actual!r}"
        else:
            assert actual == value, f"{path}: {actual!r} != {value!r}"


def assert_valid_document(facts: dict) -> None:
    """The result is a facts document `check --facts` would load, skeleton included."""
    problems: list = []
    FACTS_SHAPE.check(facts, (), problems)
    assert problems == []
    assert facts["schema"] == FACTS_SCHEMA
    assert set(empty_facts()) <= set(facts)
    for section, skeleton in empty_facts().items():
        if isinstance(skeleton, dict) and skeleton:
            assert set(skeleton) <= set(facts[section]), section


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fixture_alone(case):
    kinds, expected = FIXTURES[case]
    text = load_capture(*case)
    facts, sources = extract_facts(text)
    assert [source["kind"] for source in sources] == kinds
    assert_facts(facts, expected)
    assert_valid_document(facts)
    first_line = next(number for number, line in enumerate(text.split("\n"), 1) if line.strip())
    assert sources[0]["line"] == first_line
    assert sources[0]["line"] + sources[0]["lines"] - 1 <= len(text.rstrip("\n").split("\n"))


# --------------------------------------------------------------------------- #
# The same outputs inside realistic noise
# --------------------------------------------------------------------------- #


def github_issue(text: str) -> tuple[str, str]:
    before = ("### Describe the bug\n\nGenerating audio with `csm-1b` fails: `CUDA error: no kernel image`.\n\n"
              "<details><summary>Output</summary>\n\n```console\n$ run-the-tool\n")
    return before, before + text + "\n```\n\n</details>\n\n### Expected behaviour\n\nIt speaks.\n"


def colab_cell(text: str) -> tuple[str, str]:
    before = ("\x1b[1m[3]\x1b[0m !run-the-tool\nDownloading model.safetensors:  10%|#   | 1/10\r"
              "Downloading model.safetensors: 100%|###| 10/10\n")
    coloured = "\n".join(f"\x1b[0;32m{line}\x1b[0m" if line else line for line in text.split("\n"))
    return before, before + coloured + "\n\x1b[31mCUDA out of memory.\x1b[0m\n"


def windows_log(text: str) -> tuple[str, str]:
    before = ("[2025-01-20 10:18:26] INFO  C:\\Users\\bob\\AppData\\Local\\Programs\\Python\\Python310\\python.exe "
              "C:\\Users\\bob\\csm\\run_csm.py\n"
              "[2025-01-20 10:18:27] WARN  C:\\Users\\bob\\csm\\.venv\\Lib\\site-packages\\torch\\cuda\\__init__.py:"
              "128: UserWarning\n")
    return before.replace("\n", "\r\n"), (before + text + "\n[2025-01-20 10:18:30] ERROR exit 1\n").replace(
        "\n", "\r\n")


def cjk_prose(text: str) -> tuple[str, str]:
    before = "我的环境如下，运行后报错。\n以下は実行結果です。\n\n"
    return before, before + text + "\n\n请问该怎么解决？　よろしくお願いします。\n"


def quoted_reply(text: str) -> tuple[str, str]:
    before = "> @bob wrote:\n>\n"
    quoted = "\n".join("> " + line if line else ">" for line in text.split("\n"))
    return before, before + quoted + "\n\nThanks, that explains it.\n"


def indented_list_item(text: str) -> tuple[str, str]:
    before = "1. Ran the tool:\n\n"
    indented = "\n".join("    " + line if line else line for line in text.split("\n"))
    return before, before + indented + "\n2. Then it failed.\n"


WRAPPERS = [github_issue, colab_cell, windows_log, cjk_prose, quoted_reply, indented_list_item]


def lines_in(text: str) -> int:
    """Line breaks in `text` as extract_facts counts them (LF, CRLF, CR)."""
    return len(re.findall(r"\r\n|\r|\n", text))


@pytest.mark.parametrize("wrap", WRAPPERS, ids=[wrap.__name__ for wrap in WRAPPERS])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fixture_in_noise(case, wrap):
    text = load_capture(*case)
    alone_facts, alone_sources = extract_facts(text)
    before, pasted = wrap(text)
    facts, sources = extract_facts(pasted)
    assert facts == alone_facts
    assert [source["kind"] for source in sources] == [source["kind"] for source in alone_sources]
    assert sources[0]["line"] == alone_sources[0]["line"] + lines_in(before)


# --------------------------------------------------------------------------- #
# Several outputs in one paste
# --------------------------------------------------------------------------- #

TABLE_2080 = load_capture("nvidia-smi-table", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt")
Q_2080 = load_capture("nvidia-smi-q", "exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.txt")
TABLE_L4 = load_capture("nvidia-smi-table", "thamada-L4-550.90.07.txt")
TABLE_8XH100 = load_capture("nvidia-smi-table", "gpud-8xH100-550.90.07.txt")
ENV_A5000 = load_capture("torch-collect-env", "pytorch-issue91351-linux-ubuntu20.04-cuda11.8-RTXA5000.txt")
FFMPEG = load_capture("ffmpeg", "debian12-bookworm-5.1.9-local-capture.txt")
NPU = load_capture("npu-smi", "vllm-ascend-issue362-910B2-x8-23.0.7.txt")


def test_table_then_q_gives_the_full_name():
    facts, sources = extract_facts("$ nvidia-smi\n" + TABLE_2080 + "\n$ nvidia-smi -q\n" + Q_2080)
    assert [source["kind"] for source in sources] == ["nvidia-smi-table", "nvidia-smi-q"]
    assert facts["nvidia"]["gpus"] == [{"index": 0, "name": RTX_2080S, "memory_total_mib": 8192,
                                        "memory_used_mib": 214, "memory_free_mib": 7571,
                                        "compute_capability": None, "bus_id": "00000000:0C:00.0"}]
    assert (facts["nvidia"]["driver_version"], facts["nvidia"]["cuda_version"]) == ("595.71.05", "13.2")


def test_table_and_list_back_to_back_without_a_separator():
    listing = f"GPU 0: {RTX_2080S} (UUID: GPU-00000000-0000-0000-0000-000000000000)\n"
    facts, sources = extract_facts(TABLE_2080.rstrip("\n") + "\n" + listing)
    assert [source["kind"] for source in sources] == ["nvidia-smi-table", "nvidia-smi-list"]
    assert facts["nvidia"]["gpus"][0]["name"] == RTX_2080S
    assert facts["nvidia"]["gpus"][0]["memory_total_mib"] == 8192


def test_compute_capability_comes_from_the_csv():
    csv = ("name, pci.bus_id, compute_cap, memory.total [MiB]\n"
           "NVIDIA L4, 00000000:01:00.0, 8.9, 23034 MiB\n")
    facts, _ = extract_facts(TABLE_L4 + "\n" + csv)
    gpu = facts["nvidia"]["gpus"][0]
    assert (gpu["name"], gpu["compute_capability"], gpu["memory_used_mib"]) == ("NVIDIA L4", "8.9", 1)


def test_other_devices_are_never_merged():
    """The CSV (the better source) describes a GPU on another bus: nothing of the table's L4 joins it."""
    csv = "name, pci.bus_id, compute_cap\nNVIDIA H100 80GB HBM3, 00000000:00:09.0, 9.0\n"
    facts, _ = extract_facts(TABLE_L4 + "\n" + csv)
    assert [(g["name"], g["compute_capability"], g["memory_total_mib"], g["bus_id"])
            for g in facts["nvidia"]["gpus"]] == [(H100, "9.0", None, "00000000:00:09.0")]


def test_a_trimmed_xml_does_not_shrink_the_gpu_list():
    xml = load_capture("nvidia-smi-xml", "telegraf-a100-sxm4-v12.xml")  # 1 of its 4 GPUs
    table = TABLE_8XH100
    facts, _ = extract_facts(xml + "\n" + table)
    assert len(facts["nvidia"]["gpus"]) == 8
    assert facts["nvidia"]["driver_version"] == "535.54.03"  # XML outranks the table


def test_collect_env_with_table_and_pip_freeze():
    freeze = "torch==2.4.0+cu124\nnumpy==1.26.4\nHuggingface_Hub==0.24.5\n"
    text = "## Env\n```\n" + ENV_A5000 + "\n```\n```\n" + TABLE_8XH100 + "```\n```\n" + freeze + "```\n"
    facts, sources = extract_facts(text)
    assert [source["kind"] for source in sources] == ["collect-env", "nvidia-smi-table", "pip-freeze"]
    assert facts["nvidia"]["driver_version"] == "550.90.07"  # nvidia-smi outranks collect_env
    assert len(facts["nvidia"]["gpus"]) == 8
    assert facts["torch"]["version"] == "1.14.0a0+410ce96"  # collect_env's, not the package list's
    assert facts["packages"]["torch"] == "2.4.0+cu124"  # pip freeze outranks collect_env's [pip3] lines
    assert facts["packages"]["huggingface-hub"] == "0.24.5"
    assert facts["packages"]["torchmetrics"] == "0.11.0"  # only collect_env lists it


def test_ascend_host_paste():
    text = "$ npu-smi info\n" + NPU + "\n$ ffmpeg -version\n" + FFMPEG + "\n$ pip list\n" + (
        "Package    Version\n---------- ---------\ntorch      2.1.0\ntorch-npu  2.1.0.post8\n")
    facts, sources = extract_facts(text)
    assert [source["kind"] for source in sources] == ["npu-smi", "ffmpeg", "pip-list"]
    assert facts["ascend"]["npu_smi_version"] == "23.0.7" and len(facts["ascend"]["npus"]) == 8
    assert facts["ffmpeg"]["version"] == "5.1.9-0+deb12u1"
    assert facts["packages"] == {"torch": "2.1.0", "torch-npu": "2.1.0.post8"}
    assert facts["torch"]["version"] == "2.1.0" and facts["torch"].get("variant") is None
    assert facts["nvidia"]["gpus"] == []


def test_repeated_output_first_wins_and_each_is_a_source():
    facts, sources = extract_facts(TABLE_L4 + "\n" + TABLE_8XH100)
    assert [source["kind"] for source in sources] == ["nvidia-smi-table", "nvidia-smi-table"]
    assert [source["line"] for source in sources] == [1, TABLE_L4.count("\n") + 2]
    assert len(facts["nvidia"]["gpus"]) == 8  # the list naming the most GPUs is the base


def test_driver_error_and_collect_env():
    error = load_capture("nvidia-smi-errors", "mxochicale-driver-not-loaded.txt")
    facts, _ = extract_facts(error + "\n" + ENV_A5000)
    assert facts["nvidia"]["error_id"] == "nvidia-driver-missing"
    assert facts["nvidia"]["error"].startswith("NVIDIA-SMI has failed")


# --------------------------------------------------------------------------- #
# The facts document
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("text", ["", "hello\nworld", "```\n```", "Traceback (most recent call last):\n  ...",
                                  "\x1b[31m\r\n\r\n", "PyTorch version: N/A"])
def test_nothing_found_is_the_empty_skeleton(text):
    assert extract_facts(text) == (empty_facts(), [])


@pytest.mark.parametrize("value", [None, 42, b"GPU 0: NVIDIA L4 (UUID: GPU-1)\r\n", "\x00\ud800"])
def test_odd_inputs(value):
    facts, sources = extract_facts(value)
    assert_valid_document(facts)
    assert isinstance(sources, list)


@pytest.mark.parametrize("version, cuda, variant", [
    ("2.4.0+cu124", None, "cu124"), ("2.5.1+cpu", None, "cpu"), ("2.3.1+rocm6.0", None, "rocm6.0"),
    ("1.14.0a0+410ce96", "11.8", "cu118"), ("2.4.0", None, None), ("2.4.0", "12.1", "cu121"), (None, None, None),
])
def test_torch_variant(version, cuda, variant):
    assert torch_variant(version, cuda) == variant


def test_torch_from_a_package_listing_alone():
    facts, _ = extract_facts("pip freeze:\ntorch==2.4.0+cu121\ntorchaudio==2.4.0+cu121\n")
    assert (facts["torch"]["version"], facts["torch"]["variant"]) == ("2.4.0+cu121", "cu121")
    assert facts["torch"]["cuda"] is None  # the label names a variant; the text does not state a CUDA


def test_line_numbers_count_crlf_and_lone_cr():
    text = "one\r\ntwo\rthree\n" + TABLE_L4
    _, sources = extract_facts(text)
    assert sources == [{"kind": "nvidia-smi-table", "line": 4, "lines": TABLE_L4.rstrip("\n").count("\n") + 1}]


def test_merge_gpus_matches_by_bus_then_index_then_position():
    def gpu(**values):
        return {"index": None, "name": None, "memory_total_mib": None, "memory_used_mib": None,
                "memory_free_mib": None, "compute_capability": None, "bus_id": None, **values}

    table = [gpu(index=0, name="NVIDIA GeForce ...", bus_id="00000000:01:00.0"),
             gpu(index=1, name="NVIDIA GeForce ...", bus_id="00000000:02:00.0")]
    csv = [gpu(name="NVIDIA GeForce RTX 4090", bus_id="0000:02:00.0", compute_capability="8.9")]
    listing = [gpu(index=0, name="NVIDIA GeForce RTX 3090"), gpu(index=1, name="NVIDIA GeForce RTX 4090")]
    merged = merge_gpus([csv, table, listing])
    assert [(g["name"], g["compute_capability"]) for g in merged] == [
        ("NVIDIA GeForce RTX 3090", None), ("NVIDIA GeForce RTX 4090", "8.9")]
    assert merge_gpus([]) == [] and merge_gpus([[], []]) == []


def test_a_megabyte_log_is_read_quickly():
    texts = [load_capture(*case) for case in CASES]
    rng = random.Random(7)
    parts, size = [], 0
    while size < 1_000_000:
        if rng.random() < 0.05:
            part = rng.choice(texts)
        else:
            part = (f"2025-01-20 10:{rng.randint(0, 59):02d}:00 INFO step {rng.randint(0, 9999)} loss="
                    f"{rng.random():.4f}, lr=1e-4, file=C:\\Users\\bob\\csm\\generator.py: ok | GPU 0 | 设备\n")
        parts.append(part)
        size += len(part)
    log = "".join(parts)
    started = time.perf_counter()
    facts, sources = extract_facts(log)
    assert time.perf_counter() - started < 2.0
    assert sources and facts["nvidia"]["gpus"]
    assert_valid_document(facts)
