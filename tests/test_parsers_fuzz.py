"""Property tests: no input text makes a public parser raise.

The parsers carry a `never_raise` safety net; these tests call the undecorated
functions (`__wrapped__`) so the net cannot hide a real bug. Inputs: random
text, random table-ish printable text, and random mutations/truncations of
every captured fixture. Return shapes are checked too, since callers index them.
"""

from __future__ import annotations

import pytest
from conftest import PROBE_FIXTURES as FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_doctor.parsers import (
    collect_env,
    env_reports,
    ffmpeg,
    npu_smi,
    nvidia_smi,
    nvidia_smi_q,
    nvidia_smi_xml,
    pip_freeze,
)

FIXTURE_TEXTS = sorted(
    path.read_text(encoding="utf-8")
    for path in FIXTURES.rglob("*")
    if path.is_file() and not path.name.endswith(".source.txt")
)

GPU_KEYS = {"index", "name", "memory_total_mib", "memory_used_mib", "memory_free_mib", "compute_capability", "bus_id"}


def _check_gpus(rows: object, extra: set[str]) -> None:
    assert isinstance(rows, list)
    for row in rows:
        assert set(row) == GPU_KEYS | extra


def _check_table(result: object) -> None:
    assert set(result) == {"smi_version", "driver_version", "cuda_version", "gpus", "processes", "mig"}
    _check_gpus(result["gpus"], {"name_truncated", "driver_model"})
    assert isinstance(result["mig"], bool)
    for process in result["processes"]:
        assert set(process) == {"gpu_index", "pid", "type", "name", "memory_mib"}


def _check_npus(result: object) -> None:
    assert set(result) == {"npu_smi_version", "npus"}
    for npu in result["npus"]:
        assert set(npu) == {"npu_id", "chip_id", "name", "health", "hbm_total_mb", "hbm_used_mb",
                            "memory_total_mb", "bus_id"}


def _check_ffmpeg(result: object) -> None:
    assert set(result) == {"version", "release", "built_with", "configuration", "libraries"}
    assert isinstance(result["configuration"], list) and isinstance(result["libraries"], dict)


def _check_query_report(result: object) -> None:
    """parse_query_xml / parse_query_text: the table parser's GPU and process shapes."""
    assert set(result) == {"driver_version", "cuda_version", "attached_gpus", "gpus", "processes"}
    assert result["attached_gpus"] is None or isinstance(result["attached_gpus"], int)
    _check_gpus(result["gpus"], {"name_truncated", "driver_model"})
    for process in result["processes"]:
        assert set(process) == {"gpu_index", "pid", "type", "name", "memory_mib"}


def _check_collect_env(result: object) -> None:
    assert set(result) == {"torch_version", "torch_cuda", "torch_rocm", "is_debug", "os", "python_version",
                           "cuda_available", "gpus", "driver_version", "cudnn_version", "pip_packages",
                           "conda_packages"}
    assert set(result["os"]) == {"name", "pretty"} and result["os"]["name"] in (None, "linux", "darwin", "windows")
    assert all(set(gpu) == {"index", "name"} for gpu in result["gpus"])
    _check_package_map(result["pip_packages"])
    _check_package_map(result["conda_packages"])


def _check_package_map(result: object) -> None:
    assert isinstance(result, dict)
    assert all(isinstance(name, str) and isinstance(version, str) for name, version in result.items())


def _is_bool(result: object) -> None:
    assert isinstance(result, bool)


def _is_optional_str(result: object) -> None:
    assert result is None or isinstance(result, str)


def _has_keys(*keys: str):
    def check(result: object) -> None:
        assert set(result) == set(keys)

    return check


def _rows_with_keys(*keys: str):
    def check(rows: object) -> None:
        assert isinstance(rows, list)
        for row in rows:
            assert set(row) == set(keys)

    return check


def _dict_or_empty(*keys: str):
    """An env-report parser's result: {} (not that report) or a dict with these keys."""
    def check(result: object) -> None:
        assert isinstance(result, dict) and (not result or set(keys) <= set(result)), result
    return check


# (parser, shape check); every public parser of the parser modules.
PARSERS = [
    (nvidia_smi.parse_query_gpu_csv, lambda rows: _check_gpus(rows, {"driver_version"})),
    (nvidia_smi.parse_query_compute_apps_csv,
     _rows_with_keys("pid", "process_name", "used_memory_mib", "gpu_name", "gpu_bus_id")),
    (nvidia_smi.parse_version, _has_keys("driver_version", "cuda_version", "nvml_version", "smi_version")),
    (nvidia_smi.parse_table, _check_table),
    (nvidia_smi.parse_list, _rows_with_keys("index", "name")),
    (nvidia_smi.detect_error, _is_optional_str),
    (nvidia_smi.looks_like_table, _is_bool),
    (nvidia_smi.looks_like_query_csv, _is_bool),
    (nvidia_smi.looks_like_version, _is_bool),
    (ffmpeg.parse_ffmpeg_version, _check_ffmpeg),
    (ffmpeg.looks_like_ffmpeg_version, _is_bool),
    (npu_smi.parse_npu_smi_info, _check_npus),
    (npu_smi.looks_like_npu_smi, _is_bool),
    (nvidia_smi_xml.parse_query_xml, _check_query_report),
    (nvidia_smi_xml.looks_like_query_xml, _is_bool),
    (nvidia_smi_q.parse_query_text, _check_query_report),
    (nvidia_smi_q.looks_like_query_text, _is_bool),
    (collect_env.parse_collect_env, _check_collect_env),
    (collect_env.looks_like_collect_env, _is_bool),
    (pip_freeze.parse_pip_freeze, _check_package_map),
    (env_reports.parse_env_report, _dict_or_empty("tool", "os", "python", "packages", "torch")),
    (env_reports.parse_pip_check, _dict_or_empty("ok", "missing", "conflicts")),
    (env_reports.parse_conda_list, _dict_or_empty("prefix", "os", "packages", "torch")),
    (pip_freeze.looks_like_pip_freeze, _is_bool),
]
PARSER_IDS = [parser.__name__ for parser, _ in PARSERS]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters the formats are made of, so random text reaches deep parser paths.
TABLE_ALPHABET = st.sampled_from(list("|+-=:/., \n\r\t0123456789ABCDEFMiBNVIDA%[]()\x1b") + [
    "MiB", "N/A", "ERR!", "[N/A]", "On", "Off", "WDDM", "00000000:01:00.0", "Version:", "NVIDIA-SMI ",
    "Driver Version: ", "CUDA Version: ", "KMD version : ", "Processes:", "MIG devices:", "GPU 0: ",
    "ffmpeg version ", "libavutil 57. 28.100", "configuration: --a='", "npu-smi ", "Process id", " / ",
    "index, name, memory.total [MiB]", "pid", "\u2026", "\u0663",
    "<nvidia_smi_log>", "<gpu id=\"0000:01:00.0\">", "</gpu>", "<product_name>", "<fb_memory_usage>",
    "<total>", "</total>", "<!DOCTYPE x [<!ENTITY e \"e\">]>", "&e;", "==============NVSMI LOG==============",
    "GPU 00000000:01:00.0", "    FB Memory Usage", "        Total  : ", "Attached GPUs : ", "PyTorch version: ",
    "GPU models and configuration: ", "[pip3] torch==", "[conda] numpy ", "Python version: 3.",
    "cuDNN version: ", "libcudnn.so.", "==", " @ ", "-e ", "Package    Version", "----- -----",
])


@st.composite
def mutated_fixture(draw: st.DrawFn) -> str:
    """A fixture truncated, sliced out, spliced with junk, or with lines shuffled."""
    text = draw(st.sampled_from(FIXTURE_TEXTS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not text:
            break
        cut = draw(st.integers(min_value=0, max_value=len(text)))
        operation = draw(st.sampled_from(["truncate", "drop_head", "delete", "insert", "shuffle_lines", "crlf"]))
        if operation == "truncate":
            text = text[:cut]
        elif operation == "drop_head":
            text = text[cut:]
        elif operation == "delete":
            text = text[:cut] + text[cut + draw(st.integers(min_value=1, max_value=80)):]
        elif operation == "insert":
            text = text[:cut] + draw(st.text(max_size=40)) + text[cut:]
        elif operation == "shuffle_lines":
            text = "\n".join(draw(st.permutations(text.split("\n"))))
        else:
            text = text.replace("\n", "\r\n")
    return text


def _run(parser, check, text: str) -> None:
    raw = parser.__wrapped__  # bypass the safety net: a raise here is a real bug
    check(raw(text))
    assert parser(text) == raw(text)


@pytest.mark.parametrize(("parser", "check"), PARSERS, ids=PARSER_IDS)
@FUZZ
@given(text=st.text(max_size=2000))
def test_random_text_never_raises(parser, check, text):
    _run(parser, check, text)


@pytest.mark.parametrize(("parser", "check"), PARSERS, ids=PARSER_IDS)
@FUZZ
@given(text=st.lists(TABLE_ALPHABET, max_size=300).map("".join))
def test_format_shaped_text_never_raises(parser, check, text):
    _run(parser, check, text)


@pytest.mark.parametrize(("parser", "check"), PARSERS, ids=PARSER_IDS)
@FUZZ
@given(text=mutated_fixture())
def test_mutated_fixtures_never_raise(parser, check, text):
    _run(parser, check, text)


@FUZZ
@given(text=mutated_fixture(), columns=st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=12)))
def test_query_csv_with_any_columns_never_raises(text, columns):
    for parser in (nvidia_smi.parse_query_gpu_csv, nvidia_smi.parse_query_compute_apps_csv):
        assert isinstance(parser.__wrapped__(text, columns=columns), list)


@pytest.mark.parametrize(("parser", "check"), PARSERS, ids=PARSER_IDS)
@pytest.mark.parametrize("value", [None, b"GPU 0: NVIDIA L4 (UUID: x)\r\n", 42, "\x00" * 10, "9" * 5000])
def test_odd_inputs_never_raise(parser, check, value):
    check(parser.__wrapped__(value))
