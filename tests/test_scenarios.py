"""Machines described as facts documents, judged against csm-1b by pure evaluation.

The base document is a healthy H100 (driver 550, torch 2.4.0+cu124); each
scenario changes only what makes it different, and asserts ids and statuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import base_facts, machine
from remedy_support import assert_check_and_fix_agree, check_view

from csm_doctor.catalogue import shipped_catalogue
from csm_doctor.findings import Status, exit_code_for
from csm_doctor.recipe import load_recipe

BASE = base_facts()


def judge(facts: dict[str, Any], recipe: str = "csm-1b"):
    """The findings as check shows them (remedies attached); every scenario machine is also
    held to check-and-fix agreement (tests/remedy_support.py)."""
    loaded = load_recipe(recipe)
    assert_check_and_fix_agree(facts, loaded)
    return check_view(facts, loaded)


def statuses(findings, diagnosis: str, check: str | None = None) -> set[str]:
    return {f.status.value for f in findings if f.id == diagnosis and check in (None, f.check)}


def test_healthy_h100_passes_everything():
    findings = judge(BASE)
    bad = [(f.id, f.status.value, f.title) for f in findings
           if f.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    assert bad == []
    assert exit_code_for(findings) == 0
    for diagnosis in ("nvidia-driver-too-old", "torch-cpu-build", "package-version-mismatch",
                      "hf-gated-no-access", "vram-insufficient"):
        assert statuses(findings, diagnosis) == {"pass"}, diagnosis
    assert statuses(findings, "cuda-arch-unsupported", "torch-arch") == {"pass"}


def test_blackwell_with_torch_24_has_no_kernels():
    gpu = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
           "memory_free_mib": 31000, "compute_capability": "12.0", "bus_id": "00000000:01:00.0"}
    findings = judge(machine(nvidia={"driver_version": "575.51.03", "cuda_version": "12.9",
                                     "gpus": [gpu]}))
    arch = [f for f in findings if f.check == "torch-arch"]
    assert [(f.id, f.status) for f in arch] == [("cuda-arch-unsupported", Status.FAIL)]
    assert "sm_120" in arch[0].title
    assert arch[0].remedy.commands == ("csm-doctor fix --recipe csm-1b-transformers",)
    assert "the csm-1b-transformers recipe can run here" in arch[0].fix
    assert arch[0].details == ["this GPU needs torch ≥ 2.7 with cu128"]
    assert exit_code_for(findings) == 1


def test_blackwell_before_torch_is_installed_judges_the_recipe_pin():
    gpu = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
           "compute_capability": None, "bus_id": "00000000:01:00.0"}  # a table gives no capability
    packages = {k: v for k, v in BASE["packages"].items() if k not in ("torch", "torchaudio")}
    facts = machine(nvidia={"driver_version": "575.51.03", "cuda_version": "12.9", "gpus": [gpu]},
                    packages=packages)
    facts["torch"] = {"version": None, "cuda": None}
    arch = [f for f in judge(facts) if f.check == "torch-arch"]
    assert [f.status for f in arch] == [Status.FAIL]
    assert "csm-1b pins torch 2.4.0" in arch[0].title and "sm_120" in arch[0].title
    assert "csm-1b-transformers" in arch[0].fix


def test_same_blackwell_against_the_transformers_recipe_is_fine():
    gpu = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
           "compute_capability": "12.0", "bus_id": "00000000:01:00.0"}
    packages = {k: v for k, v in BASE["packages"].items() if k not in ("torch", "torchaudio")}
    facts = machine(nvidia={"driver_version": "575.51.03", "cuda_version": "12.9", "gpus": [gpu]},
                    packages=packages)
    facts["torch"] = {"version": None, "cuda": None}
    findings = judge(facts, "csm-1b-transformers")
    assert statuses(findings, "cuda-arch-unsupported", "torch-arch") == {"pass"}
    install = next(f for f in findings if f.id == "package-missing" and f.subject == "torch")
    assert "download.pytorch.org/whl/cu128" in " ".join(install.remedy.commands)


def test_cpu_torch_on_a_gpu_machine():
    findings = judge(machine(torch={"version": "2.4.0+cpu", "variant": "cpu", "cuda": None,
                                    "arch_list": [], "cuda_available": False}))
    cpu = [f for f in findings if f.id == "torch-cpu-build"]
    assert [f.status for f in cpu] == [Status.FAIL]
    assert "download.pytorch.org/whl/cu124" in " ".join(cpu[0].remedy.commands)


def test_driver_too_old_for_cu124():
    findings = judge(machine(nvidia={"driver_version": "470.256.02", "cuda_version": "11.4"}))
    assert statuses(findings, "nvidia-driver-too-old") == {"fail"}


def test_driver_minor_version_compatible_is_a_warning():
    findings = judge(machine(nvidia={"driver_version": "535.183.01", "cuda_version": "12.2"}))
    assert statuses(findings, "nvidia-driver-too-old") == {"warn"}


def test_driver_not_loaded():
    findings = judge(machine(nvidia={"source": "nvidia-smi", "driver_version": None, "cuda_version": None,
                                     "gpus": [], "error_id": "nvidia-driver-missing",
                                     "error": "NVIDIA-SMI has failed because it couldn't communicate "
                                              "with the NVIDIA driver."}))
    assert statuses(findings, "nvidia-driver-missing") == {"fail"}
    assert statuses(findings, "gpu-missing") == {"skip"}


def test_no_gpu_at_all():
    findings = judge(machine(nvidia={"source": None, "driver_version": None, "cuda_version": None,
                                     "gpus": [], "pci_devices": 0}))
    assert statuses(findings, "gpu-missing") == {"fail"}
    assert statuses(findings, "nvidia-driver-missing") == {"skip"}


def test_small_gpu():
    gpu = dict(BASE["nvidia"]["gpus"][0], name="NVIDIA GeForce GTX 1050", memory_total_mib=4096,
               compute_capability="6.1")
    findings = judge(machine(nvidia={"gpus": [gpu]}))
    assert statuses(findings, "vram-insufficient") == {"fail"}


def test_python_313_has_no_wheels():
    findings = judge(machine(python={"version": "3.13.0"}))
    assert statuses(findings, "python-version-unsupported") == {"fail"}


def test_windows_with_triton_instead_of_triton_windows():
    packages = dict(BASE["packages"])  # triton 3.0.0 installed, no triton-windows
    findings = judge(machine(os={"name": "windows", "release": "10", "version": "10.0.22631",
                                 "distro": None}, packages=packages))
    tw = [f for f in findings if f.id == "triton-missing-windows"]
    assert {f.status for f in tw} == {Status.FAIL}
    assert any("pip uninstall -y triton" in " ".join(f.remedy.commands) for f in tw)
    assert not any(f.subject == "triton" for f in findings if f.id == "package-missing")


def test_windows_with_triton_windows_is_fine():
    packages = {k: v for k, v in BASE["packages"].items() if k != "triton"}
    packages["triton-windows"] = "3.1.0.post17"
    findings = judge(machine(os={"name": "windows", "distro": None}, packages=packages))
    assert statuses(findings, "triton-missing-windows") == {"pass"}


def test_macos_is_not_a_csm_1b_platform():
    findings = judge(machine(os={"name": "darwin", "arch": "arm64", "distro": None}))
    assert statuses(findings, "os-unsupported") == {"fail"}


def test_huggingface_token_in_the_wrong_variable():
    findings = judge(machine(hf={"token_present": False, "token_source": None,
                                 "ignored_env": ["HUGGINGFACE_TOKEN"],
                                 "repos": {r: {"state": "no-token"} for r in BASE["hf"]["repos"]}}))
    assert statuses(findings, "hf-token-ignored-env") == {"fail"}
    assert statuses(findings, "hf-token-missing") == {"skip"}


def test_gated_access_pending():
    repos = dict(BASE["hf"]["repos"])
    repos["meta-llama/Llama-3.2-1B"] = {"state": "no-access", "detail": "403 awaiting review"}
    findings = judge(machine(hf={"repos": repos}))
    gated = {f.subject: f.status.value for f in findings if f.id == "hf-gated-no-access"}
    assert gated == {"sesame/csm-1b": "pass", "meta-llama/Llama-3.2-1B": "fail"}


def test_hub_unreachable_is_a_warning():
    repos = {r: {"state": "unreachable", "detail": "ConnectError", "cached": r == "sesame/csm-1b"}
             for r in BASE["hf"]["repos"]}
    findings = judge(machine(hf={"repos": repos}))
    reach = [f for f in findings if f.id == "hf-unreachable"]
    assert [f.status for f in reach] == [Status.WARN]
    assert "cached locally: sesame/csm-1b" in reach[0].details


def test_torchaudio_from_another_build():
    packages = dict(BASE["packages"], torchaudio="2.4.0+cpu")
    assert statuses(judge(machine(packages=packages)), "torchaudio-torch-mismatch") == {"fail"}


def test_off_pin_and_missing_packages():
    packages = {k: v for k, v in BASE["packages"].items() if k != "moshi"}
    packages["transformers"] = "4.52.1"
    findings = judge(machine(packages=packages))
    assert {f.subject for f in findings if f.id == "package-missing" and f.status is Status.FAIL} == {"moshi"}
    assert {f.subject for f in findings
            if f.id == "package-version-mismatch" and f.status is Status.FAIL} == {"transformers"}


def test_failed_probe_is_an_error_and_its_checks_skip():
    facts = machine(probes=dict(BASE["probes"], nvidia={"status": "timeout", "seconds": 25.0,
                                                        "error": "no answer within 25 s"}))
    findings = judge(facts)
    errors = [f for f in findings if f.status is Status.ERROR]
    assert [(f.id, f.subject) for f in errors] == [("probe-failed", "nvidia")]
    assert statuses(findings, "vram-insufficient") == {"skip"}
    assert findings[0].status is Status.ERROR  # most important first (no fails here)


def test_missing_sections_are_skips_not_crashes():
    findings = judge({"schema": "csm-doctor/facts/1", "os": {"name": "linux"}})
    assert all(f.status in (Status.SKIP, Status.PASS, Status.WARN, Status.FAIL) for f in findings)
    assert not [f for f in findings if f.status is Status.ERROR]


@pytest.mark.parametrize("recipe_env,status", [({"NO_TORCH_COMPILE": "1"}, "pass"), ({}, "warn")])
def test_no_torch_compile(recipe_env, status):
    facts = machine()
    facts["env"] = recipe_env
    assert statuses(judge(facts), "env-var-missing") == {status}


ASCEND_NPUS = [{"npu_id": i, "chip_id": 0, "name": "910B2", "health": "OK", "hbm_total_mb": 65536,
                "hbm_used_mb": 3380} for i in range(8)]  # tests/fixtures/probes/npu-smi capture


def ascend_machine(**ascend) -> dict[str, Any]:
    base = {"npu_smi_version": "23.0.7", "npus": ASCEND_NPUS, "cann_version": "8.0.RC3",
            "env_sourced": True, "hal_library": "/usr/local/Ascend/driver/lib64/driver/libascend_hal.so",
            "set_env_script": "/usr/local/Ascend/ascend-toolkit/set_env.sh", "error": None}
    packages = dict(BASE["packages"], **{"torch": "2.4.0", "torch-npu": "2.4.0.post2"})
    return machine(os={"arch": "aarch64"}, nvidia={"gpus": [], "driver_version": None,
                                                   "cuda_version": None, "pci_devices": 0},
                   ascend={**base, **ascend}, packages=packages)


def test_ascend_ready():
    findings = judge(ascend_machine())
    assert statuses(findings, "npu-driver-missing") == {"pass"}
    assert statuses(findings, "torch-npu-version-mismatch") == {"pass"}


def test_ascend_cann_not_sourced():
    findings = judge(ascend_machine(env_sourced=False))
    npu = [f for f in findings if f.id == "npu-driver-missing"]
    assert [f.status for f in npu] == [Status.FAIL]
    assert npu[0].fix.startswith("source /usr/local/Ascend/ascend-toolkit/set_env.sh")


def test_ascend_driver_library_missing():
    assert statuses(judge(ascend_machine(hal_library=None)), "npu-driver-missing") == {"fail"}


def test_torch_npu_paired_with_another_torch():
    facts = ascend_machine()
    facts["packages"]["torch-npu"] = "2.1.0.post8"
    assert statuses(judge(facts), "torch-npu-version-mismatch") == {"fail"}


def test_torch_npu_import_fails():
    facts = ascend_machine()
    facts["torch"]["npu_import_error"] = "ImportError: libhccl.so: cannot open shared object file"
    assert statuses(judge(facts), "torch-npu-version-mismatch") == {"fail"}


@pytest.mark.parametrize("backends,status", [(["soundfile", "sox"], "pass"), ([], "fail"),
                                             (None, "skip")])
def test_torchaudio_backends(backends, status):
    facts = machine()
    facts["torch"]["torchaudio_backends"] = backends
    assert statuses(judge(facts), "torchaudio-backend-missing") == {status}


def test_unified_memory_is_the_vram_figure_on_apple_silicon(tmp_path):
    recipe = tmp_path / "mps.yaml"
    recipe.write_text("schema: csm-doctor/recipe/1\nid: mps-test\ntitle: MPS\naccelerators: [mps, cpu]\n"
                      "hardware: {vram_min_gb: 8}\n")
    facts = machine(os={"name": "darwin", "arch": "arm64", "distro": None},
                    nvidia={"gpus": [], "driver_version": None, "cuda_version": None})
    facts["apple"] = {"chip": "Apple M1", "apple_silicon": True, "unified_memory_mib": 8192}
    assert statuses(judge(facts, str(recipe)), "vram-insufficient") == {"pass"}
    facts["apple"]["unified_memory_mib"] = 4096
    assert statuses(judge(facts, str(recipe)), "vram-insufficient") == {"fail"}


MAC = {"name": "darwin", "arch": "arm64", "release": "24.3.0", "version": "15.3", "distro": None}
NO_NVIDIA = {"source": None, "driver_version": None, "cuda_version": None, "gpus": [], "pci_devices": None}


def test_macos_against_csm_1b_names_the_transformers_recipe():
    findings = judge(machine(os=MAC, nvidia=NO_NVIDIA))
    os_finding = next(f for f in findings if f.id == "os-unsupported")
    assert os_finding.status is Status.FAIL
    assert "--recipe csm-1b-transformers" in " ".join(os_finding.remedy.commands)


def test_macos_m4_against_the_transformers_recipe_uses_mps():
    facts = machine(os=MAC, nvidia=NO_NVIDIA)
    facts["apple"] = {"chip": "Apple M4 Max", "apple_silicon": True, "unified_memory_mib": 65536}
    findings = judge(facts, "csm-1b-transformers")
    gpu = [f for f in findings if f.id == "gpu-missing"]
    assert [(f.status, f.title) for f in gpu] == [(Status.PASS, "Apple M4 Max (MPS)")]
    assert statuses(findings, "os-unsupported") == {"pass"}
    assert statuses(findings, "vram-insufficient") == {"pass"}


def test_linux_without_gpu_against_the_transformers_recipe_warns_cpu():
    findings = judge(machine(nvidia=dict(NO_NVIDIA, pci_devices=0)), "csm-1b-transformers")
    assert statuses(findings, "gpu-missing") == {"warn"}


def test_songbloom_on_linux_does_not_ask_for_the_macos_only_variable():
    facts = machine()
    facts["env"] = {"DISABLE_FLASH_ATTN": "1"}
    findings = judge(facts, "songbloom-lora")
    env = {f.subject: f.status.value for f in findings if f.id == "env-var-missing"}
    assert "PYTORCH_ENABLE_MPS_FALLBACK" not in env
    assert env.get("DISABLE_FLASH_ATTN") == "pass"


def test_songbloom_on_macos_requires_the_mps_fallback():
    facts = machine(os=MAC, nvidia=NO_NVIDIA)
    facts["env"] = {}
    findings = judge(facts, "songbloom-lora")
    env = {f.subject: f.status.value for f in findings if f.id == "env-var-missing"}
    assert env["PYTORCH_ENABLE_MPS_FALLBACK"] == "fail"


def test_unsloth_on_a_pascal_gpu_is_too_old():
    gpu = dict(BASE["nvidia"]["gpus"][0], name="Tesla P100-PCIE-16GB", compute_capability="6.0",
               memory_total_mib=16384)
    findings = judge(machine(nvidia={"gpus": [gpu]}), "csm-1b-unsloth")
    assert statuses(findings, "cuda-arch-unsupported", "gpu-capability") == {"fail"}


def test_python_outside_the_pins_wheels():
    findings = judge(machine(python={"version": "3.13.1"}))
    failed = [f for f in findings if f.id == "python-version-unsupported"]
    assert [f.status for f in failed] == [Status.FAIL]
    assert "3.10" in failed[0].fix


def test_ascend_cann_below_the_recipe_range():
    facts = ascend_machine(cann_version="7.0.0")
    facts["packages"].update({"torch": "2.9.0", "torch-npu": "2.9.0"})
    findings = judge(facts, "csm-1b-ascend")
    assert any(f.status is Status.FAIL and "CANN 7.0.0" in f.title for f in findings)


def test_ascend_ready_against_its_recipe():
    facts = ascend_machine(cann_version="8.5.0")
    facts["packages"].update({"torch": "2.9.0", "torch-npu": "2.9.0"})
    findings = judge(facts, "csm-1b-ascend")
    assert statuses(findings, "npu-driver-missing") == {"pass"}
    assert statuses(findings, "torch-npu-version-mismatch") == {"pass"}
    assert statuses(findings, "gpu-missing") == {"skip"}


def test_driver_535_gets_the_variant_it_runs_natively():
    """cu124 needs 550+ natively; a 535 driver runs cu121 natively, so that is what is proposed."""
    facts = machine(nvidia={"driver_version": "535.183.01", "cuda_version": "12.2"},
                    torch={"version": "2.4.0+cpu", "variant": "cpu", "cuda": None, "arch_list": []})
    cpu = next(f for f in judge(facts) if f.id == "torch-cpu-build")
    assert cpu.status is Status.FAIL
    assert "download.pytorch.org/whl/cu121" in " ".join(cpu.remedy.commands)


T4 = {"index": 0, "name": "Tesla T4", "memory_total_mib": 15360, "memory_free_mib": 14900,
      "compute_capability": "7.5", "bus_id": "00000000:00:04.0"}


def test_cosyvoice2_on_the_seeds_t4():
    facts = machine(nvidia={"driver_version": "550.90.07", "cuda_version": "12.4", "gpus": [T4]})
    findings = judge(facts, "cosyvoice2-lora")
    assert statuses(findings, "vram-insufficient") == {"pass"}
    assert statuses(findings, "cuda-arch-unsupported", "torch-arch") == {"pass"}
    missing = {f.subject for f in findings if f.id == "package-missing" and f.status is Status.FAIL}
    assert "deepspeed" in missing  # the training code imports it even for torch_ddp


def test_unsloth_on_the_notebooks_t4():
    facts = machine(nvidia={"driver_version": "550.90.07", "cuda_version": "12.4", "gpus": [T4]})
    findings = judge(facts, "csm-1b-unsloth")
    assert statuses(findings, "vram-insufficient") == {"pass"}
    assert statuses(findings, "cuda-arch-unsupported", "gpu-capability") == {"pass"}
    assert statuses(findings, "os-unsupported") == {"pass"}


def test_unsloth_refuses_macos():
    facts = machine(os=MAC, nvidia=NO_NVIDIA)
    assert statuses(judge(facts, "csm-1b-unsloth"), "os-unsupported") == {"fail"}


def test_cpu_only_linux_is_pointed_at_the_cpu_wheels():
    """PyPI's Linux torch is the CUDA build (gigabytes); a GPU-less machine gets the CPU index."""
    packages = {k: v for k, v in BASE["packages"].items() if k not in ("torch", "torchaudio")}
    facts = machine(nvidia=dict(NO_NVIDIA, pci_devices=0), packages=packages)
    facts["torch"] = {"version": None, "cuda": None}
    torch = next(f for f in judge(facts, "csm-1b-transformers")
                 if f.id == "package-missing" and f.subject == "torch")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in " ".join(torch.remedy.commands)


def test_windows_blackwell_with_triton_windows_31_is_judged_by_the_gpu_table():
    """triton-windows 3.1 (torch 2.4's pair) has no sm_120 support: the table's limit is judged."""
    blackwell = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
                 "memory_free_mib": 31000, "compute_capability": "12.0", "bus_id": "00000000:01:00.0"}
    packages = {k: v for k, v in BASE["packages"].items() if k != "triton"}
    windows = {"name": "windows", "release": "11", "version": "10.0.26100", "distro": None}
    findings = judge(machine(os=windows, packages={**packages, "triton-windows": "3.1.0.post17"},
                             nvidia={"driver_version": "576.02", "cuda_version": "12.9",
                                     "gpus": [blackwell]}), "csm-1b-transformers")
    tw = [f for f in findings if f.check == "triton-windows-gpu"]
    assert [(f.id, f.status) for f in tw] == [("triton-version-mismatch", Status.FAIL)]
    assert "Triton >= 3.3" in tw[0].title
    findings = judge(machine(os=windows, packages={**packages, "triton-windows": "3.3.1.post19"},
                             nvidia={"driver_version": "576.02", "cuda_version": "12.9",
                                     "gpus": [blackwell]}), "csm-1b-transformers")
    assert {f.status for f in findings if f.check == "triton-windows-gpu"} == {Status.PASS}
    # the H100 of the base machine with the same 3.1 build is supported; Linux skips it
    findings = judge(machine(os=windows, packages={**packages, "triton-windows": "3.1.0.post17"}))
    assert {f.status for f in findings if f.check == "triton-windows-gpu"} == {Status.PASS}
    assert {f.status for f in judge(BASE) if f.check == "triton-windows-gpu"} == {Status.SKIP}


def _ascend_29(**ascend: Any) -> dict[str, Any]:
    """An Ascend host as csm-1b-ascend wants it: CANN 8.5.0 with torch 2.9.0 + torch_npu 2.9.0."""
    facts = ascend_machine(cann_version="8.5.0", **ascend)
    facts["packages"].update({"torch": "2.9.0", "torch-npu": "2.9.0"})
    return facts


def test_cann_not_sourced_explains_the_torch_npu_import_error():
    """check uses triage's causes relation: torch_npu's libhccl.so error is under its root cause,
    not a torch-npu-version-mismatch of its own advising to reinstall a matching torch_npu."""
    from csm_doctor.render.human import render_check
    import io

    facts = _ascend_29(env_sourced=False)
    facts["torch"]["npu_import_error"] = ("ImportError: libhccl.so: cannot open shared object "
                                          "file: No such file or directory")
    findings = judge(facts, "csm-1b-ascend")
    root = [f for f in findings if f.id == "npu-driver-missing" and f.status is Status.FAIL]
    npu = [f for f in findings if f.id == "torch-npu-version-mismatch" and f.status is Status.FAIL]
    assert len(root) == 1 and len(npu) == 1
    assert npu[0].explained_by == "npu-driver-missing" and npu[0].fix is None
    assert npu[0].to_json()["explained_by"] == "npu-driver-missing"
    assert "explained_by" not in root[0].to_json()
    assert exit_code_for(findings) == 1  # a failing finding still fails
    out = io.StringIO()
    render_check(findings, facts, load_recipe("csm-1b-ascend"), shipped_catalogue(), stream=out)
    lines = out.getvalue().splitlines()
    at_root = next(i for i, line in enumerate(lines) if root[0].title in line)
    at_npu = next(i for i, line in enumerate(lines) if "libhccl.so" in line)
    assert at_npu > at_root and len(lines[at_npu]) - len(lines[at_npu].lstrip()) > \
        len(lines[at_root]) - len(lines[at_root].lstrip())
    assert "reinstall" not in out.getvalue() and "install the torch_npu" not in out.getvalue()
    # sourced: the same import error stands on its own, with its own fix
    facts = _ascend_29()
    facts["torch"]["npu_import_error"] = "ImportError: libhccl.so: cannot open shared object file"
    npu = [f for f in judge(facts, "csm-1b-ascend") if f.id == "torch-npu-version-mismatch"
           and f.status is Status.FAIL]
    assert npu and npu[0].explained_by is None


def test_linux_triton_other_than_torchs_requirement_is_found():
    """The torch table's `linux_triton` pin is judged: torch 2.4.0 requires triton==3.0.0."""
    assert statuses(judge(BASE), "triton-version-mismatch", "triton-pin") == {"pass"}
    findings = judge(machine(packages=dict(BASE["packages"], triton="3.1.0")))
    pin = [f for f in findings if f.check == "triton-pin"]
    assert [(f.status, f.expected) for f in pin] == [(Status.FAIL, "triton==3.0.0")]
    windows = machine(os={"name": "windows", "distro": None})
    assert statuses(judge(windows), "triton-version-mismatch", "triton-pin") == {"skip"}
