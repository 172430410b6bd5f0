"""Planning is pure: facts documents of many machines, planned against the built-in recipes.

The base machine is the healthy H100 fixture (driver 550, torch 2.4.0+cu124);
each test changes what makes its machine different and reads the plan: which
actions, in which order, with exactly which command, addressing which findings.
The safety tests run the planner over generated machines and check that no
plan ever runs sudo or touches GPU clocks, power, compute mode or persistence.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import base_facts, machine, packages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_doctor.catalogue import shipped_catalogue
from csm_doctor.evaluate import evaluate
from csm_doctor.findings import Finding, Status
from csm_doctor.fix.actions import Action, changes_gpu_settings, redact, unsafe_reason
from csm_doctor.fix.download import FileState, checkpoint_findings, facts_state
from csm_doctor.fix.installer import (
    IndexConfig,
    Installer,
    config_from_environment,
    parse_pip_config,
)
from csm_doctor.fix.plan import PlanInput, make_plan
from csm_doctor.fix.runner import UnsafeCommand, run_step
from csm_doctor.recipe import builtin_recipe_paths, load_recipe

BASE = base_facts()
PY = "/home/user/csm/.venv/bin/python"
PIP = Installer("pip", PY)
UV = Installer("uv", PY, uv="/usr/bin/uv", index=IndexConfig(
    extra_index_urls=("https://mirror.example/simple",), find_links=("/opt/wheels",)))


def catalogue():
    """Loaded when a test runs, not at import: a broken catalogue fails tests, not collection."""
    return shipped_catalogue()


def cached(recipe) -> list[FileState]:
    return [FileState(c["repo"], f, "ok") for c in recipe.checkpoints for f in c["files"]]


def plan_for(facts: dict[str, Any], recipe: str = "csm-1b", installer: Installer = PIP,
             checkpoints: list[FileState] | None = None, **options: Any) -> list[Action]:
    r = load_recipe(recipe)
    states = cached(r) if checkpoints is None else checkpoints
    findings = evaluate(facts, r, catalogue()) + checkpoint_findings(states)
    return make_plan(PlanInput(facts=facts, recipe=r, findings=findings, installer=installer,
                               checkpoints=states, **options))


def summary(plan: list[Action]) -> list[tuple[str, bool, str]]:
    return [(a.kind, a.runs, a.command) for a in plan]


def test_a_healthy_machine_plans_nothing():
    assert plan_for(BASE) == []


def test_a_cpu_build_on_a_gpu_machine_gets_the_cuda_build_for_this_driver():
    facts = machine(packages=packages(torch="2.4.0+cpu", torchaudio="2.4.0+cpu"),
                    torch={"version": "2.4.0+cpu", "variant": "cpu", "cuda": None, "arch_list": None})
    [action] = plan_for(facts)
    assert action.kind == "reinstall"
    assert action.argv == (PY, "-I", "-m", "pip", "install", "--extra-index-url",
                           "https://download.pytorch.org/whl/cu124",
                           "torch==2.4.0+cu124", "torchaudio==2.4.0+cu124")
    assert [r.id for r in action.addresses] == ["torch-cpu-build"]


def test_torch_index_only_replaces_the_users_index_when_asked():
    facts = machine(packages=packages(torch="2.4.0+cpu", torchaudio="2.4.0+cpu"),
                    torch={"version": "2.4.0+cpu", "variant": "cpu", "cuda": None, "arch_list": None})
    recipe = load_recipe("csm-1b")
    findings = evaluate(facts, recipe, catalogue())
    [action] = make_plan(PlanInput(facts=facts, recipe=recipe, findings=findings, installer=PIP,
                                   checkpoints=cached(recipe), torch_index="only"))
    assert action.argv[5:7] == ("--index-url", "https://download.pytorch.org/whl/cu124")


def test_a_driver_too_old_for_cu124_gets_the_build_it_runs():
    facts = machine(nvidia={"driver_version": "470.82.01", "cuda_version": "11.4"})
    [action] = plan_for(facts)
    assert action.argv[-2:] == ("torch==2.4.0+cu118", "torchaudio==2.4.0+cu118")
    assert "https://download.pytorch.org/whl/cu118" in action.argv
    assert [r.id for r in action.addresses] == ["nvidia-driver-too-old"]


def test_torch_from_the_cuda_index_with_uv_keeps_pips_other_sources():
    facts = machine(packages=packages(drop=("torch", "torchaudio")), torch={"version": None, "cuda": None,
                                                                           "variant": None})
    [action] = plan_for(facts, installer=UV)
    assert action.kind == "install"
    assert action.argv == ("/usr/bin/uv", "pip", "install", "--python", PY,
                           "--extra-index-url", "https://download.pytorch.org/whl/cu124",
                           "--extra-index-url", "https://mirror.example/simple",
                           "--find-links", "/opt/wheels", "--index-strategy", "unsafe-best-match",
                           "torch==2.4.0+cu124", "torchaudio==2.4.0+cu124")
    assert {r.subject for r in action.addresses} == {"torch", "torchaudio"}


def test_blackwell_that_the_pin_cannot_drive_is_advice_naming_the_other_recipe():
    gpu = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
           "compute_capability": "12.0"}
    facts = machine(nvidia={"driver_version": "575.51.03", "cuda_version": "12.9", "gpus": [gpu]})
    plan = plan_for(facts)
    assert [a.kind for a in plan] == ["advice"]
    assert not plan[0].runs and "csm-1b-transformers" in plan[0].command


def test_blackwell_on_the_transformers_recipe_gets_cu128():
    gpu = {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
           "compute_capability": "12.0"}
    facts = machine(nvidia={"driver_version": "575.51.03", "cuda_version": "12.9", "gpus": [gpu]},
                    packages=packages(torch="2.6.0+cu124", torchaudio="2.6.0+cu124",
                                      transformers="4.52.3"),
                    torch={"version": "2.6.0+cu124", "variant": "cu124", "cuda": "12.4",
                           "arch_list": ["sm_50", "sm_80", "sm_90"]})
    torch = [a for a in plan_for(facts, "csm-1b-transformers") if "torch==2.8.0+cu128" in a.argv]
    assert len(torch) == 1 and "https://download.pytorch.org/whl/cu128" in torch[0].argv
    assert {"package-version-mismatch", "cuda-arch-unsupported"} <= {r.id for r in torch[0].addresses}


def test_windows_swaps_triton_for_the_triton_windows_that_pairs_with_torch():
    facts = machine(os={"name": "windows", "distro": None}, packages=packages(triton="3.0.0"))
    plan = plan_for(facts)
    assert summary(plan) == [
        ("uninstall", True, f"{PY} -I -m pip uninstall -y triton"),
        ("install", True, f"{PY} -I -m pip install \"triton-windows>=3.1,<3.2\""),
    ]
    assert {r.id for a in plan for r in a.addresses} == {"triton-missing-windows"}


def test_a_git_package_is_installed_from_its_url_and_needs_git():
    facts = machine(packages=packages(drop=("silentcipher",)), tools={"git": "/usr/bin/git"})
    [action] = plan_for(facts)
    assert action.argv[-1] == "silentcipher @ git+https://github.com/SesameAILabs/silentcipher@master"
    no_git = plan_for(machine(packages=packages(drop=("silentcipher",)), tools={"git": None}))
    assert [(a.kind, a.runs) for a in no_git] == [("advice", False)]
    assert "git is not on PATH" in no_git[0].description


@pytest.mark.parametrize("installer, expected", [
    (PIP, (PY, "-I", "-m", "pip", "install", "--no-deps", "trl==0.22.2")),
    (UV, ("/usr/bin/uv", "pip", "install", "--python", PY,
          "--extra-index-url", "https://mirror.example/simple", "--find-links", "/opt/wheels",
          "--index-strategy", "unsafe-best-match", "--no-deps", "trl==0.22.2")),
])
def test_a_recipes_own_pip_command_runs_in_the_target(installer, expected):
    facts = machine(packages=packages(transformers="4.52.3", trl="0.21.0", unsloth="2025.6.1",
                                      torch="2.6.0+cu124", torchaudio="2.6.0+cu124"),
                    torch={"version": "2.6.0+cu124", "variant": "cu124", "cuda": "12.4"})
    trl = [a for a in plan_for(facts, "csm-1b-unsloth", installer=installer)
           if any(r.subject == "trl" for r in a.addresses)]
    assert [(a.kind, a.argv) for a in trl] == [("pip-command", expected)]


def test_a_conda_command_is_advice_never_run(tmp_path: Path):
    recipe = tmp_path / "conda.yaml"
    recipe.write_text("schema: csm-doctor/recipe/1\nid: conda-test\ntitle: t\npackages:\n"
                      "  - {name: pynini, spec: '==2.1.5', "
                      "install: 'conda install -y -c conda-forge pynini==2.1.5'}\n")
    [pynini] = plan_for(BASE, str(recipe))
    assert (pynini.kind, pynini.runs) == ("advice", False)
    assert pynini.command == "conda install -y -c conda-forge pynini==2.1.5"
    assert [r.label() for r in pynini.addresses] == ["package-missing (pynini)"]


def test_environment_variables_are_advice_unless_a_profile_is_written(tmp_path: Path):
    facts = machine(env={})
    facts["env"] = {}
    [linux] = plan_for(facts)
    assert (linux.kind, linux.runs, linux.command) == ("env", False, "export NO_TORCH_COMPILE=1")
    windows_facts = machine(os={"name": "windows", "distro": None},
                            packages=packages(drop=("triton",), triton_windows="3.1.0"))
    windows_facts["env"] = {}
    [windows] = plan_for(windows_facts)
    assert windows.command == "setx NO_TORCH_COMPILE 1" and not windows.runs
    profile = tmp_path / ".bashrc"
    [written] = plan_for(facts, profile=profile)
    assert (written.kind, written.runs) == ("profile", True)
    assert written.payload == {"path": str(profile), "variables": {"NO_TORCH_COMPILE": "1"}}


def test_system_packages_are_advice_and_never_sudo():
    facts = machine(ffmpeg={"found": False, "path": None, "version": None})
    [advice] = plan_for(facts, run_system=True, package_managers={"apt-get": "/usr/bin/apt-get"})
    assert (advice.kind, advice.runs) == ("system", False)
    assert advice.command == "sudo /usr/bin/apt-get install -y ffmpeg" and "never runs sudo" in advice.description
    [as_root] = plan_for(facts, run_system=True, is_root=True,
                         package_managers={"apt-get": "/usr/bin/apt-get"})
    assert (as_root.runs, as_root.argv) == (True, ("/usr/bin/apt-get", "install", "-y", "ffmpeg"))
    [not_asked] = plan_for(facts, is_root=True, package_managers={"apt-get": "/usr/bin/apt-get"})
    assert not not_asked.runs and "--run-system" in not_asked.description


def test_homebrew_runs_only_with_run_system():
    # No built-in recipe asks for ffmpeg on macOS (csm-1b cannot run there): the finding by hand.
    facts = machine(os={"name": "darwin", "distro": None},
                    ffmpeg={"found": False, "path": None, "version": None})
    missing = Finding("ffmpeg-missing", Status.FAIL, "ffmpeg is not on PATH", "media",
                      check="system-tools", subject="ffmpeg")
    brew = {"brew": "/opt/homebrew/bin/brew"}

    def plan(**options: Any) -> list[Action]:
        return [a for a in make_plan(PlanInput(facts=facts, recipe=load_recipe("csm-1b-transformers"),
                                               findings=[missing], installer=PIP, **options))
                if a.kind == "system"]

    ran = plan(package_managers=brew, run_system=True)
    assert [(a.runs, a.argv) for a in ran] == [(True, ("/opt/homebrew/bin/brew", "install", "ffmpeg"))]
    shown = plan(package_managers=brew)
    assert [(a.runs, a.command) for a in shown] == [(False, "/opt/homebrew/bin/brew install ffmpeg")]


def test_a_missing_driver_is_advice_with_where_to_get_one():
    facts = machine(nvidia={"driver_version": None, "cuda_version": None, "gpus": [],
                            "error_id": "nvidia-driver-missing", "pci_devices": 1,
                            "error": "NVIDIA-SMI has failed because it couldn't communicate"})
    plan = plan_for(facts)
    assert [(a.kind, a.runs) for a in plan] == [("advice", False)]
    assert "https://www.nvidia.com/Download/index.aspx" in plan[0].command


def test_cann_not_sourced_is_advice_to_source_set_env():
    ascend = {"npu_smi_version": "23.0.7", "npus": [{"npu_id": 0, "chip_id": 0, "name": "910B2",
                                                     "health": "OK", "hbm_total_mb": 65536}],
              "cann_version": "8.5.0", "env_sourced": False,
              "hal_library": "/usr/local/Ascend/driver/lib64/driver/libascend_hal.so",
              "set_env_script": "/usr/local/Ascend/ascend-toolkit/set_env.sh", "error": None}
    facts = machine(ascend=ascend, nvidia={"gpus": [], "driver_version": None, "cuda_version": None},
                    packages=packages(torch="2.9.0", torch_npu="2.9.0", transformers="5.0.0",
                                      huggingface_hub="1.3.0", pyyaml="6.0", setuptools="70.0",
                                      numpy="2.0.0"),
                    torch={"version": "2.9.0", "variant": None, "cuda": None})
    npu = [a for a in plan_for(facts, "csm-1b-ascend") if any(r.id == "npu-driver-missing"
                                                             for r in a.addresses)]
    assert [(a.runs, a.command.split()[:2]) for a in npu] == [
        (False, ["source", "/usr/local/Ascend/ascend-toolkit/set_env.sh"])]


def test_a_checkpoint_behind_a_missing_token_waits_for_access():
    facts = machine(hf={"token_present": False, "repos": {
        "sesame/csm-1b": {"state": "no-token", "cached": False},
        "meta-llama/Llama-3.2-1B": {"state": "no-token", "cached": False}}})
    states = [FileState("sesame/csm-1b", "model.safetensors", "missing"),
              FileState("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors",
                        "missing")]
    plan = plan_for(facts, checkpoints=states)
    download = [a for a in plan if a.kind == "download"]
    assert [a.payload["repo"] for a in download] == ["kyutai/moshiko-pytorch-bf16"]  # public: fetched
    blocked = next(a for a in plan if "sesame/csm-1b" in a.description)
    assert not blocked.runs and blocked.command == "huggingface-cli download sesame/csm-1b model.safetensors"  # hub 0.28.1
    assert {r.id for r in blocked.addresses} == {"checkpoint-missing"}
    assert "hf-token-missing first" in blocked.description
    token = next(a for a in plan if any(r.id == "hf-token-missing" for r in a.addresses))
    assert not token.runs and token.command == "huggingface-cli login"


def test_offline_downloads_are_advice_and_no_download_plans_none():
    states = [FileState("sesame/csm-1b", "config.json", "missing")]
    [offline] = plan_for(BASE, checkpoints=states, downloads="offline")
    assert not offline.runs and "--offline" in offline.description
    assert [a for a in plan_for(BASE, checkpoints=states, downloads="off") if a.kind == "download"] == []


def test_a_facts_file_knows_only_what_its_cache_flags_say():
    recipe = load_recipe("csm-1b")
    facts = machine(hf={"repos": {"sesame/csm-1b": {"state": "granted", "cached": False}}})
    states = {(s.repo, s.state) for s in facts_state(recipe.checkpoints, facts)}
    assert states == {("sesame/csm-1b", "missing"), ("kyutai/moshiko-pytorch-bf16", "unknown"),
                      ("meta-llama/Llama-3.2-1B", "unknown")}


def test_an_unsupported_python_stops_package_steps():
    facts = machine(python={"version": "3.13.1"}, packages=packages(drop=("moshi",)))
    plan = plan_for(facts)
    assert [a.kind for a in plan] == ["advice", "advice"]
    assert not any(a.runs for a in plan)


# ------------------------------------------------------------------ the installer's sources

def test_pip_config_precedence_env_then_install_then_global():
    text = "\n".join([
        "global.index-url='https://global.example/simple'",
        "global.extra-index-url='file:///opt/pypi/simple file:///opt/more/simple'",
        "install.index-url='https://install.example/simple'",
        ":env:.find-links='/opt/wheels'",
        ":env:.no-index='1'",
        "global.trusted-host='mirror.example'",
    ])
    config = parse_pip_config(text)
    assert config.index_url == "https://install.example/simple"
    assert config.extra_index_urls == ("file:///opt/pypi/simple", "file:///opt/more/simple")
    assert config.find_links == ("/opt/wheels",) and config.no_index
    assert config.uv_args() == ["--no-index", "--find-links", "/opt/wheels",
                                "--allow-insecure-host", "mirror.example"]
    env = config_from_environment({"PIP_INDEX_URL": "https://env.example/simple",
                                   "PIP_FIND_LINKS": "/a /b"})
    assert env.uv_args() == ["--index-url", "https://env.example/simple", "--find-links", "/a",
                             "--find-links", "/b", "--index-strategy", "unsafe-best-match"]


def test_credentials_in_an_index_url_never_reach_the_output():
    installer = Installer("uv", PY, uv="/usr/bin/uv", index=IndexConfig(
        index_url="https://user:s3cr3t-token@pypi.corp.example/simple"))
    action = Action("x", "install", "d", argv=installer.install(["fixa==1.0"]))
    assert "s3cr3t" not in action.command
    assert "https://user:<redacted>@pypi.corp.example" in action.command
    assert "s3cr3t" not in json.dumps(action.to_json())
    token = "ghp_" + "a1B2c3D4" * 5
    assert redact(f"see https://{token}@host/x") == "see https://<redacted>@host/x"


# ------------------------------------------------------------------ safety

GPU_SETTINGS = [["nvidia-smi", "-pl", "250"], ["nvidia-smi", "-ac", "5001,1590"],
                ["nvidia-smi", "-c", "EXCLUSIVE_PROCESS"], ["/usr/bin/nvidia-smi", "-pm", "1"],
                ["nvidia-smi", "--power-limit=300"], ["nvidia-smi", "-i", "0", "-lgc", "1500"]]


@pytest.mark.parametrize("argv", GPU_SETTINGS + [["sudo", "apt-get", "install", "ffmpeg"],
                                                 ["/usr/bin/sudo", "-E", "pip", "install", "x"]])
def test_the_runner_refuses_sudo_and_gpu_settings(argv):
    assert unsafe_reason(argv)
    with pytest.raises(UnsafeCommand):
        run_step(argv, timeout=5)


def test_reading_the_gpu_is_fine():
    assert unsafe_reason(["nvidia-smi", "--query-gpu=name", "--format=csv"]) is None
    assert not changes_gpu_settings("nvidia-smi -q -x")


def test_advice_that_would_change_gpu_settings_is_never_printed():
    facts = copy.deepcopy(BASE)
    recipe = load_recipe("csm-1b")
    finding = Finding("vram-insufficient", Status.FAIL, "too little free VRAM", "nvidia",
                      fix="sudo nvidia-smi -pl 250 && nvidia-smi -c EXCLUSIVE_PROCESS")
    plan = make_plan(PlanInput(facts=facts, recipe=recipe, findings=[finding], installer=PIP))
    assert len(plan) == 1 and not plan[0].runs
    assert not changes_gpu_settings(plan[0].command) and "shared machine" in plan[0].command


_RECIPES = sorted(builtin_recipe_paths())
_GPUS = [None, {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total_mib": 81559,
                "compute_capability": "9.0"},
         {"index": 0, "name": "NVIDIA GeForce RTX 5090", "memory_total_mib": 32607,
          "compute_capability": "12.0"},
         {"index": 0, "name": "Tesla T4", "memory_total_mib": 15360, "compute_capability": "7.5"}]
_DRIVERS = [None, ("550.90.07", "12.4"), ("470.82.01", "11.4"), ("575.51.03", "12.9")]
_TORCH = [None, ("2.4.0+cu124", "cu124", "12.4"), ("2.4.0+cpu", "cpu", None),
          ("2.8.0+cu128", "cu128", "12.8"), ("2.6.0", None, None)]
_STATES = ["granted", "no-token", "not-requested", "pending", "rejected", "not-checked"]


@st.composite
def machines(draw: st.DrawFn) -> tuple[dict[str, Any], str, dict[str, Any]]:
    facts = copy.deepcopy(BASE)
    facts["os"]["name"] = draw(st.sampled_from(["linux", "windows", "darwin"]))
    gpu, driver, torch = draw(st.sampled_from(_GPUS)), draw(st.sampled_from(_DRIVERS)), \
        draw(st.sampled_from(_TORCH))
    facts["nvidia"].update(gpus=[gpu] if gpu else [], driver_version=driver[0] if driver else None,
                           cuda_version=driver[1] if driver else None,
                           error_id=draw(st.sampled_from([None, None, "nvidia-driver-missing"])))
    pkgs = {k: v for k, v in BASE["packages"].items() if draw(st.booleans())}
    if torch:
        pkgs["torch"], pkgs["torchaudio"] = torch[0], torch[0]
    if draw(st.booleans()):
        pkgs["triton"] = "3.0.0"
    facts["packages"] = pkgs
    facts["torch"] = {"version": torch[0] if torch else None, "variant": torch[1] if torch else None,
                      "cuda": torch[2] if torch else None}
    facts["ffmpeg"]["found"] = draw(st.booleans())
    facts["tools"] = {"git": draw(st.sampled_from([None, "/usr/bin/git"])), "sox": None}
    facts["env"] = {} if draw(st.booleans()) else {"NO_TORCH_COMPILE": "1"}
    facts["python"]["version"] = draw(st.sampled_from(["3.10.14", "3.12.3", "3.13.1"]))
    facts["hf"]["token_present"] = draw(st.booleans())
    for info in facts["hf"]["repos"].values():
        info["state"] = draw(st.sampled_from(_STATES))
    options = {"run_system": draw(st.booleans()), "is_root": draw(st.booleans()),
               "package_managers": draw(st.sampled_from([{}, {"apt-get": "/usr/bin/apt-get"},
                                                         {"brew": "/opt/homebrew/bin/brew"},
                                                         {"winget": "C:/winget.exe"}])),
               "installer": draw(st.sampled_from([PIP, UV])),
               "downloads": draw(st.sampled_from(["on", "offline", "off"]))}
    return facts, draw(st.sampled_from(_RECIPES)), options


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines(), st.sampled_from(["missing", "corrupt", "ok"]))
def test_no_plan_ever_runs_sudo_or_touches_gpu_settings(machine_case, checkpoint_state):
    facts, recipe_id, options = machine_case
    recipe = load_recipe(recipe_id)
    states = [FileState(c["repo"], f, checkpoint_state) for c in recipe.checkpoints for f in c["files"]]
    findings = evaluate(facts, recipe, catalogue()) + checkpoint_findings(states)
    inp = PlanInput(facts=facts, recipe=recipe, findings=findings, checkpoints=states, **options)
    plan = make_plan(inp)
    for action in plan:
        assert not changes_gpu_settings(action.command), action
        if action.runs:
            assert unsafe_reason(action.argv) is None, action
            assert "sudo" not in action.command.split(), action
            assert action.argv or action.payload, action
    assert len({a.id for a in plan}) == len(plan)
    failing = {(f.id, f.check, f.subject) for f in findings if f.status is Status.FAIL}
    addressed = {(r.id, r.check, r.subject) for a in plan for r in a.addresses}
    assert failing <= addressed  # every failing finding gets a step or advice
    assert make_plan(inp) == plan  # pure: the same input plans the same steps


# ------------------------------------------------------------------ --facts: support plans for a user

def test_fix_on_a_facts_file_plans_for_that_machine_and_runs_nothing(tmp_path: Path, cli_env):
    from fix_support import run_fix

    facts = machine(packages=packages(torch="2.4.0+cpu", torchaudio="2.4.0+cpu"),
                    torch={"version": "2.4.0+cpu", "variant": "cpu", "cuda": None, "arch_list": None})
    path = tmp_path / "user-machine.json"
    path.write_text(json.dumps(facts))
    run = run_fix(cli_env, "--facts", str(path), "--recipe", "csm-1b", "--yes", "--json")
    doc = run.json()
    assert run.code == 1 and doc["mode"] == "facts" and doc["results"] == []
    torch = next(a for a in doc["plan"] if a["kind"] == "reinstall")
    assert torch["argv"] == [PY, "-I", "-m", "pip", "install", "--extra-index-url",
                             "https://download.pytorch.org/whl/cu124", "torch==2.4.0+cu124",
                             "torchaudio==2.4.0+cu124"]
    assert "torch-cpu-build" in doc["remaining"]
    human = run_fix(cli_env, "--facts", str(path), "--recipe", "csm-1b")
    assert human.code == 1 and "nothing is run (--facts plans only)" in human.stdout


def test_a_broken_facts_file_is_exit_2_naming_file_line_and_key(tmp_path: Path, cli_env):
    from fix_support import run_fix

    path = tmp_path / "bad.json"
    path.write_text('{"schema": "csm-doctor/facts/1",\n "nvidia": {"gpus": [{"memory_total_mib": "lots"}]}}')
    run = run_fix(cli_env, "--facts", str(path), "--recipe", "csm-1b", "--json")
    assert run.code == 2
    assert f"{path}:2: key 'nvidia.gpus[0].memory_total_mib'" in run.stderr
    assert run.json()["exit_code"] == 2
