"""The compatibility tables: every file is dated and sourced, every row parses, and the answers
the rules rely on match the upstream sources cited in each table (NVIDIA release notes Table 3,
pytorch RELEASE.md and build scripts, the triton-windows README, Ascend's release notes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from csm_doctor.knowledge import parse_version, variant_cuda
from csm_doctor.knowledge import tables as t

DATED = re.compile(r"^\d{4}-\d{2}$")


# ---------------------------------------------------------------------------- files

@pytest.mark.parametrize("name", t.TABLES)
def test_every_table_loads_with_title_sources_and_date(name):
    table = t.load_table(name)
    assert table, f"knowledge/{name}.yaml is missing or empty"
    assert isinstance(table.get("title"), str) and table["title"].strip()
    assert isinstance(table.get("sources"), list) and table["sources"]
    assert all(isinstance(s, str) and s.strip() for s in table["sources"])
    assert table.get("current_to") == "2026-11"
    assert DATED.match(str(table["current_to"]))


def test_knowledge_dir_is_the_shipped_data_directory():
    assert (t.knowledge_dir() / "README.md").is_file()
    assert sorted(p.stem for p in t.knowledge_dir().glob("*.yaml")) == sorted(t.TABLES)


def test_load_table_returns_a_copy():
    table = t.load_table("cuda-drivers")
    table["releases"].clear()
    assert t.load_table("cuda-drivers")["releases"]


# ---------------------------------------------------------------------------- rows are well-formed

def _parses(text) -> bool:
    return text is not None and parse_version(str(text)) is not None


def test_cuda_driver_rows_are_well_formed():
    table = t.load_table("cuda-drivers")
    seen = set()
    for row in table["releases"]:
        assert re.fullmatch(r"\d+\.\d+", row["cuda"]), row
        assert isinstance(row["update"], int) and row["update"] >= 0, row
        assert _parses(row["linux"]), row
        assert row["windows"] is None or _parses(row["windows"]), row
        assert (row["cuda"], row["update"]) not in seen, row
        seen.add((row["cuda"], row["update"]))
    for rule in table["minor_version_compatibility"]:
        assert isinstance(rule["major"], int)
        assert _parses(rule["linux_min"]) and _parses(rule["windows_min"])
        assert rule["max_exclusive"] is None or _parses(rule["max_exclusive"])


def test_cuda_driver_minimums_grow_with_the_release():
    """A newer toolkit never needs an older Linux driver: catches a transposed row."""
    rows = sorted(t.load_table("cuda-drivers")["releases"],
                  key=lambda r: (parse_version(r["cuda"]), r["update"]))
    linux = [parse_version(r["linux"]) for r in rows]
    assert linux == sorted(linux)


def test_torch_release_rows_are_well_formed():
    for row in t.load_table("torch-releases")["releases"]:
        assert re.fullmatch(r"\d+\.\d+", row["torch"]), row
        assert _parses(row["python"]["min"]) and _parses(row["python"]["max"]), row
        assert parse_version(row["python"]["min"]) <= parse_version(row["python"]["max"])
        assert DATED.match(row["released"][:7]), row
        for key, value in row["pypi_default"].items():
            assert value == "cpu" or variant_cuda(value), (row["torch"], key, value)
        for variant in row["variants"]:
            assert variant_cuda(variant["name"]), variant
            assert variant["status"] in ("stable", "experimental", "legacy"), variant
            for arch in variant["archs"] + variant.get("windows_archs", []):
                assert re.fullmatch(r"sm_\d{2,3}", arch), (row["torch"], variant["name"], arch)
            assert all(_parses(p) for p in variant["ptx"] + variant.get("windows_ptx", []))
        names = [v["name"] for v in row["variants"]]
        assert names == t.torch_variants(row["torch"]), "variants are listed newest first"


def test_triton_rows_are_well_formed():
    table = t.load_table("triton-windows")
    for row in table["rows"]:
        assert re.fullmatch(r"\d+\.\d+", row["torch"])
        assert row["source"] in ("readme", "linux-pin")
        if row["windows_spec"]:
            low, high = re.fullmatch(r"triton-windows>=(\d+\.\d+),<(\d+\.\d+)", row["windows_spec"]).groups()
            assert low == row["triton_minor"]
            assert parse_version(high) > parse_version(low)
        for torch_version, line in row["linux_triton"].items():
            assert torch_version.startswith(row["torch"] + ".")
            assert re.match(r"triton(==|~=)\d+\.\d+\.\d+;", line), line
    for rule in table["gpu_support"]:
        assert _parses(rule["min_cc"]) and _parses(rule["max_cc"])


def test_torch_npu_rows_are_well_formed():
    table = t.load_table("torch-npu")
    for row in table["releases"]:
        assert re.fullmatch(r"\d+\.\d+\.(\d+|RC\d+)", row["cann"]), row
        assert _parses(row["torch"]) and _parses(row["torch_npu"]), row
        assert row["torch_npu"].startswith(row["torch"]), row
        assert row["branch"] == f"v{row['torch']}-{row['extension']}", row
        assert _parses(row["python"]["min"]) and _parses(row["python"]["max"]), row
    for compat in table["compatibility"]:
        assert _parses(compat["extension"]) and compat["cann"]


def test_transformers_csm_table_is_well_formed():
    table = t.load_table("transformers-csm")
    assert _parses(table["first_release"]) and _parses(table["first_release_including_yanked"])
    assert "CsmForConditionalGeneration" in table["classes"]
    assert {p["id"] for p in table["pitfalls"]} >= {"add-special-tokens", "npu-integer-device-map"}


def test_gpu_architecture_rows_are_well_formed():
    table = t.load_table("gpu-architectures")
    for row in table["architectures"]:
        major, minor = row["compute_capability"].split(".")
        assert row["sm"] == f"sm_{major}{minor}", row
        assert _parses(row["cuda_min"]), row
        assert row.get("cuda_max_exclusive") is None or _parses(row["cuda_max_exclusive"])
    for entry in table["name_patterns"]:
        re.compile(entry["pattern"])
        assert t.architecture_name(entry["compute_capability"]), entry


# ---------------------------------------------------------------------------- drivers (NVIDIA Table 2/3)

def test_driver_minimum_per_release_and_os():
    assert t.driver_minimum("12.4", "linux") == "550.54.14"
    assert t.driver_minimum("12.4", "windows") == "551.61"
    assert t.driver_minimum("12.4.1", "linux") == "550.54.15"
    assert t.driver_minimum("12.8", "Linux") == "570.26"
    assert t.driver_minimum("12.8", "win32") == "570.65"
    assert t.driver_minimum("11.8", "linux") == "520.61.05"
    assert t.driver_minimum("13.0", "linux") == "580.65.06"


def test_cuda_13_has_no_windows_minimum():
    assert t.driver_minimum("13.0", "windows") is None
    assert t.driver_minimum("13.1", "windows") is None


def test_driver_supports_cuda_own_minimum_minor_compat_and_no():
    assert t.driver_supports_cuda("550.90.07", "12.4", "linux") == "yes"
    assert t.driver_supports_cuda("550.90.07", "12.8", "linux") == "minor-compat"
    assert t.driver_supports_cuda("470.82.01", "12.4", "linux") == "no"
    assert t.driver_supports_cuda("575.51.03", "13.0", "linux") == "no"
    assert t.driver_supports_cuda("580.95.05", "13.2", "linux") == "minor-compat"
    assert t.driver_supports_cuda("522.06", "11.8", "windows") == "yes"


def test_windows_cuda_13_compares_the_driver_branch():
    assert t.driver_supports_cuda("581.57", "13.0", "windows") == "yes"
    assert t.driver_supports_cuda("576.02", "13.0", "windows") == "no"


# ---------------------------------------------------------------------------- torch builds


def test_torch_2_4_variants():
    variants = t.torch_variants("2.4.0")
    assert "cu124" in variants and "cu128" not in variants
    assert variants == ["cu124", "cu121", "cu118"]


def test_cuda_13_era_variants():
    assert t.torch_variants("2.11.0") == ["cu130", "cu128", "cu126"]
    assert "cu128" not in t.torch_variants("2.12.0")


def _archs(torch_version, variant):
    """The sm_XY list of a wheel, as torch_runs_on_gpu reports it (None when the table has none)."""
    return list(t.torch_runs_on_gpu(torch_version, variant, "8.0").kernels) or None


def test_variant_archs():
    assert _archs("2.4.0", "cu124") == ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
    assert "sm_120" in _archs("2.7.1", "cu128")
    assert "sm_100" in _archs("2.7.1", "cu128")
    assert "sm_70" not in _archs("2.7.0", "cu128")  # PR #147607
    assert "sm_70" in _archs("2.8.0", "cu128")  # Volta kept in 2.8-2.10
    assert "sm_70" not in _archs("2.11.0", "cu128")  # RFC #172352
    assert not {"sm_50", "sm_60"} & set(_archs("2.8.0", "cu128"))
    assert not {"sm_50", "sm_60", "sm_70"} & set(_archs("2.12.0", "cu130"))


def test_torch_supports_gpu():
    assert t.torch_supports_gpu("2.4.0+cu124", "cu124", "12.0") is False
    assert t.torch_supports_gpu("2.7.1", "cu128", "12.0") is True
    assert t.torch_supports_gpu("2.7.0", "cu128", "sm_120") is True
    assert t.torch_supports_gpu("2.4.0", "cu124", "8.9") is True   # sm_86 cubin runs on Ada
    assert t.torch_supports_gpu("2.10.0", "cu128", "12.1") is True  # sm_120 cubin runs on GB10
    assert t.torch_supports_gpu("2.11.0", "cu128", "7.0") is False
    assert t.torch_supports_gpu("2.11.0", "cu126", "7.0") is True


def test_minimum_torch_for_gpu():
    assert t.minimum_torch_for_gpu("12.0") == ("2.7", "cu128")
    assert t.minimum_torch_for_gpu("10.0") == ("2.7", "cu128")
    assert t.minimum_torch_for_gpu("9.0") == ("2.0", "cu118")
    assert t.minimum_torch_for_gpu("8.6") == ("2.0", "cu117")


def test_python_supported():
    assert t.python_supported("2.4.0", "3.12.3") is True
    assert t.python_supported("2.4.0", "3.13") is False
    assert t.python_supported("2.9.0", "3.9") is False
    assert t.python_supported("2.5.1", "3.13", "linux") is True
    assert t.python_supported("2.5.1", "3.13", "windows") is False


def test_pypi_default_build():
    assert t.pypi_default_variant("2.4.0", "linux") == "cu121"
    assert t.pypi_default_variant("2.4.0", "windows") == "cpu"
    assert t.pypi_default_variant("2.4.0", "darwin") == "cpu"
    assert t.pypi_default_variant("2.8.0", "linux") == "cu128"
    assert t.pypi_default_variant("2.11.0", "linux", "aarch64") == "cu130"


# ---------------------------------------------------------------------------- triton

def test_triton_windows_spec():
    assert t.triton_windows_spec("2.4.0") == "triton-windows>=3.1,<3.2"
    assert "3.1" in t.triton_windows_spec("2.4.0+cu124")
    assert t.triton_windows_spec("2.6.0") == "triton-windows>=3.2,<3.3"
    assert t.triton_windows_spec("2.10.0") == "triton-windows>=3.6,<3.7"
    assert t.triton_windows_spec("2.3.1") is None  # "PyTorch 2.3 and older are not supported"


def test_linux_triton_for_torch():
    assert t.linux_triton_for_torch("2.4.0") == "triton==3.0.0"
    assert t.linux_triton_for_torch("2.4.1+cu121") == "triton==3.0.0"
    assert t.linux_triton_for_torch("2.7.1") == "triton==3.3.1"
    assert t.linux_triton_for_torch("2.9") == "triton==3.5.1"
    assert t.linux_triton_for_torch("2.14.0") == "triton~=3.8.0"


def test_triton_windows_gpu_limits():
    assert t.triton_windows_supports_gpu("3.2.0.post21", "12.0") is False
    assert t.triton_windows_supports_gpu("3.3.1", "12.0") is True
    assert t.triton_windows_supports_gpu("3.2.0", "7.5") is True
    assert t.triton_windows_supports_gpu("3.3.1", "7.5") is False
    assert t.triton_windows_supports_gpu("3.1.0", "6.1") is False
    assert t.triton_windows_supports_gpu("3.1.0", "8.6") is True


# ---------------------------------------------------------------------------- Ascend


def test_cann_supports():
    assert t.cann_supports("8.1.RC1", "2.5.1") is True
    assert t.cann_supports("CANN 8.5.0", "2.8.0.post2") is True
    assert t.cann_supports("9.1.0", "2.8.0.post2") is True   # 7.3.X runs on 9.1.X
    assert t.cann_supports("8.0.RC1", "2.8.0.post2") is False
    assert t.cann_supports("8.0.0", "2.4.0.post4") is None   # no compatibility table for 7.0.0


# ---------------------------------------------------------------------------- GPU names

@pytest.mark.parametrize("name, capability", [
    ("NVIDIA GeForce RTX 5090", "12.0"),
    ("NVIDIA GeForce RTX 5060 Ti", "12.0"),
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "12.0"),
    ("NVIDIA GB10", "12.1"),
    ("NVIDIA B200", "10.0"),
    ("NVIDIA H100 80GB HBM3", "9.0"),
    ("NVIDIA H200", "9.0"),
    ("NVIDIA GH200 480GB", "9.0"),
    ("NVIDIA GeForce RTX 4090", "8.9"),
    ("NVIDIA L4", "8.9"),
    ("NVIDIA L40S", "8.9"),
    ("NVIDIA RTX 6000 Ada Generation", "8.9"),
    ("NVIDIA GeForce RTX 3090", "8.6"),
    ("NVIDIA A10", "8.6"),
    ("NVIDIA A40", "8.6"),
    ("NVIDIA RTX A6000", "8.6"),
    ("NVIDIA A100-SXM4-80GB", "8.0"),
    ("NVIDIA A30", "8.0"),
    ("Tesla T4", "7.5"),
    ("NVIDIA GeForce RTX 2080 Ti", "7.5"),
    ("NVIDIA GeForce GTX 1660 SUPER", "7.5"),
    ("Quadro RTX 5000", "7.5"),
    ("Tesla V100-SXM2-32GB", "7.0"),
    ("Tesla P100-PCIE-16GB", "6.0"),
    ("NVIDIA GeForce GTX 1080 Ti", "6.1"),
    ("Tesla P40", "6.1"),
    ("Quadro P4000", "6.1"),
    ("NVIDIA GeForce GTX TITAN X", "5.2"),
    ("NVIDIA GeForce GTX 960M", "5.0"),
])
def test_compute_capability_for_name(name, capability):
    assert t.compute_capability_for_name(name) == capability


def test_architecture_name():
    assert t.architecture_name("12.0") == "Blackwell"
    assert t.architecture_name("9.0") == "Hopper"
    assert t.architecture_name("8.9") == "Ada Lovelace"
    assert t.architecture_name("8.6") == "Ampere"
    assert t.architecture_name("7.5") == "Turing"
    assert t.architecture_name("sm_70") == "Volta"
    assert t.architecture_name("6.1") == "Pascal"
    assert t.architecture_name("5.2") == "Maxwell"


# ---------------------------------------------------------------------------- unknown inputs

@pytest.mark.parametrize("junk", [None, "", "garbage", "sm_", "  ", "v"])
def test_unknown_inputs_answer_none_without_raising(junk):
    assert t.driver_minimum(junk, "linux") is None
    assert t.driver_minimum("12.4", junk) is None
    assert t.driver_supports_cuda(junk, "12.4", "linux") is None
    assert t.driver_supports_cuda("550.90.07", junk, "linux") is None
    assert t.torch_variants(junk) == []
    assert _archs(junk, "cu124") is None
    assert _archs("2.4.0", junk) is None
    assert t.torch_supports_gpu("2.4.0", "cu124", junk) is None
    assert t.torch_supports_gpu(junk, "cu124", "8.6") is None
    assert t.minimum_torch_for_gpu(junk) is None
    assert t.python_supported(junk, "3.11") is None
    assert t.python_supported("2.4.0", junk) is None
    assert t.triton_windows_spec(junk) is None
    assert t.linux_triton_for_torch(junk) is None
    assert t.triton_windows_supports_gpu(junk, "8.6") is None
    assert t.cann_supports(junk, "2.4.0") is None
    assert t.cann_supports("8.0.0", junk) is None
    assert t.compute_capability_for_name(junk) is None
    assert t.architecture_name(junk) is None


def test_versions_the_tables_do_not_cover():
    """Readable but unknown versions: no verdict, not a wrong one."""
    assert t.driver_minimum("99.9", "linux") is None
    assert t.driver_supports_cuda("550.90.07", "99.9", "linux") is None
    assert t.torch_variants("1.13.1") == []
    assert _archs("2.4.0", "cu128") is None
    assert t.torch_supports_gpu("2.4.0", "cu999", "8.6") is None
    assert t.minimum_torch_for_gpu("99.9") is None
    assert t.python_supported("9.9", "3.11") is None
    assert t.linux_triton_for_torch("2.4.7") is None
    assert t.triton_windows_supports_gpu("3.3.1", "10.0") is None
    assert t.cann_supports("8.5.0", "9.9") is None


def test_unknown_cuda_major_and_os():
    assert t.driver_supports_cuda("550.90.07", "14.0", "linux") is None
    assert t.driver_supports_cuda("550.90.07", "12.4", "macos") is None
    assert t.compute_capability_for_name("NVIDIA A10G") is None  # not on NVIDIA's pages
    assert t.architecture_name("8.8") is None
    assert t.torch_variants("2.15.0") == []


# ---------------------------------------------------------------------------- the one verdict

def test_torch_runs_on_gpu_one_build_a_recipes_choices_and_an_unknown_build() -> None:
    from csm_doctor.knowledge.tables import torch_runs_on_gpu

    # an installed build: torch 2.4.0+cu124 has no sm_120 kernels, 2.7.0+cu128 has
    assert torch_runs_on_gpu("2.4.0", "cu124", "12.0").runs is False
    assert torch_runs_on_gpu("2.7.0", "cu128", "12.0").runs is True
    # a recipe's choices: any build that runs is enough
    assert torch_runs_on_gpu("2.7.0", ["cu118", "cu128"], "12.0").runs is True
    assert torch_runs_on_gpu("2.4.0", ["cu124", "cu121", "cu118"], "12.0").runs is False
    # the installed build unknown (pip freeze '2.4.0'): every CUDA variant of 2.4 agrees
    assert torch_runs_on_gpu("2.4.0", None, "12.0").runs is False
    assert torch_runs_on_gpu("2.4.0", None, "8.6").runs is True
    # torch's own arch list wins over the table; same-major older cubins count
    verdict = torch_runs_on_gpu("2.4.0", "cu124", "8.9", arch_list=["sm_80", "sm_86"])
    assert (verdict.runs, verdict.arch, verdict.source) == (True, "sm_89", "torch's arch list")
    assert torch_runs_on_gpu("2.4.0", "cu124", "12.0", arch_list=["sm_90"]).runs is False
    assert torch_runs_on_gpu("2.4.0", "cu124", "12.0", arch_list=["sm_90", "compute_90"]).runs is True
    # unknown input: None, never an exception
    assert torch_runs_on_gpu("9.9.0", "cu999", "12.0").runs is None
    assert torch_runs_on_gpu("2.4.0", "cu124", "not a capability").runs is None
    # the driver half of the question, for the build's CUDA
    assert torch_runs_on_gpu("2.4.0", "cu124", "8.6", driver="470.57.02").driver == "no"
    assert torch_runs_on_gpu("2.4.0", "cu124", "8.6", driver="550.54.14").driver == "yes"


# ---------------------------------------------------------------------------- broken tables

def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped tables with one line of `name` changed."""
    import shutil

    from csm_doctor.knowledge.tables import knowledge_dir

    target = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), target)
    path = target / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_shipped_tables_fit_their_shapes() -> None:
    from csm_doctor.knowledge.tables import validate_tables

    validate_tables()  # raises on the first table that does not fit


def test_a_broken_table_is_an_input_error_with_file_and_line(tmp_path: Path) -> None:
    from csm_doctor.errors import InputError
    from csm_doctor.knowledge.tables import validate_tables

    # an arch list written as one string: before, every verdict of torch 2.4 became "unknown"
    directory = _broken_copy(tmp_path, "torch-releases", "archs: [sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90]",
                             "archs: 'sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90'")
    with pytest.raises(InputError) as caught:
        validate_tables(directory)
    path = directory / "torch-releases.yaml"
    problem = caught.value.problems[0]
    assert caught.value.filename == str(path)
    assert problem.line == _line_of(path, "archs: 'sm_50 sm_60")
    assert "archs" in (problem.key or "") and "a list" in problem.message


def test_a_table_that_is_not_yaml_or_misses_a_key_names_its_line(tmp_path: Path) -> None:
    from csm_doctor.errors import InputError
    from csm_doctor.knowledge.tables import validate_tables

    directory = _broken_copy(tmp_path, "cuda-drivers", "windows_na_policy: branch",
                             "windows_na_policy: [branch")
    with pytest.raises(InputError) as caught:
        validate_tables(directory)
    assert caught.value.filename == str(directory / "cuda-drivers.yaml")
    assert caught.value.problems[0].line is not None

    directory = _broken_copy(tmp_path / "b", "gpu-architectures", "pattern:", "patern:")
    with pytest.raises(InputError) as caught:
        validate_tables(directory)
    keys = [p.key or "" for p in caught.value.problems]
    assert any("patern" in k for k in keys) and any(k.endswith(".pattern") for k in keys)


def test_check_exits_2_on_a_broken_shipped_table(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from csm_doctor import cli
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.knowledge import tables

    directory = _broken_copy(tmp_path, "triton-windows", 'min_cc: "12.0"', "min_cc: twelve")
    monkeypatch.setattr(tables, "knowledge_dir", lambda: directory)
    tables._load.cache_clear()
    shipped_catalogue.cache_clear()  # the catalogue validates the tables when it loads
    try:
        facts = Path(__file__).parent / "fixtures/facts/h100-driver-550-csm-ready.json"
        result = CliRunner().invoke(cli.main, ["check", "--facts", str(facts)])
    finally:
        tables._load.cache_clear()
        shipped_catalogue.cache_clear()
    assert result.exit_code == 2, result.output
    assert f"{directory / 'triton-windows.yaml'}:{_line_of(directory / 'triton-windows.yaml', 'min_cc: twelve')}" \
        in result.output
