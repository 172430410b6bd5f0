"""The issue-11 examples, each fixed as a consequence of one remedy derivation.

Each test builds a facts document, runs check's path and fix's path
(tests/remedy_support.py) and reads what a user would paste: the command
strings must be runnable as printed on that machine and identical between
check and fix.
"""

from __future__ import annotations

import pytest
from conftest import base_facts, machine, packages
from remedy_support import assert_check_and_fix_agree, check_view, fix_plan

from csm_doctor.findings import Status
from csm_doctor.recipe import load_recipe
from csm_doctor.remedy import hub_cli, join_command

BASE = base_facts()
PY = BASE["python"]["executable"]
NO_DRIVER = {"driver_version": None, "cuda_version": None, "gpus": [], "pci_devices": 1,
             "error_id": "nvidia-driver-missing", "error": "NVIDIA-SMI has failed"}
NO_GPU = {"driver_version": None, "cuda_version": None, "gpus": [], "pci_devices": 0,
          "error_id": None, "error": None}
WINDOWS = {"name": "windows", "distro": None}


def failing(findings, diagnosis: str, subject: str | None = None):
    return next(f for f in findings if f.id == diagnosis and f.status is Status.FAIL
                and subject in (None, f.subject))


def runnable(plan, diagnosis: str):
    return [s for s in plan if s.runs and any(r.id == diagnosis for r in s.addresses)]


def test_nvidia_card_without_driver_check_and_fix_name_the_same_torch():
    recipe = load_recipe("csm-1b-transformers")
    facts = machine(nvidia=NO_DRIVER, torch={"version": None, "cuda": None},
                    packages=packages(drop=("torch", "torchaudio")))
    assert_check_and_fix_agree(facts, recipe)
    torch = failing(check_view(facts, recipe), "package-missing", "torch")
    [step] = [s for s in runnable(fix_plan(facts, recipe), "package-missing") if "torch" in s.description]
    assert torch.remedy.commands == (step.command,)
    assert step.command.startswith(f"{PY} -I -m pip install torch==")
    # PyPI's build (CUDA once the driver is in), not PyTorch's CPU index: the card is there
    assert "whl/cpu" not in step.command and "--index-url" not in step.command


@pytest.mark.parametrize("version,cli", [("0.28.1", "huggingface-cli"), ("0.33.9", "huggingface-cli"),
                                         ("0.34.0", "hf"), ("1.2.0", "hf"), (None, "hf")])
def test_hub_cli_follows_the_targets_huggingface_hub(version, cli):
    assert hub_cli(version) == cli


@pytest.mark.parametrize("hub,login", [("0.28.1", "huggingface-cli login"), ("0.35.0", "hf auth login")])
def test_hub_login_and_download_use_the_cli_the_target_ships(hub, login):
    recipe = load_recipe("csm-1b")
    facts = machine(packages=packages(huggingface_hub=hub),
                    hf={"token_present": False, "token_source": None, "repos": {
                        "sesame/csm-1b": {"state": "no-token", "cached": False},
                        "meta-llama/Llama-3.2-1B": {"state": "no-token", "cached": True}}})
    assert_check_and_fix_agree(facts, recipe)
    findings = check_view(facts, recipe)
    assert failing(findings, "hf-token-missing").remedy.commands == (login,)
    download = failing(findings, "checkpoint-missing").remedy.commands
    assert download and all(c.startswith(login.split()[0] + " download sesame/csm-1b") for c in download)


def test_windows_specs_are_double_quoted_for_cmd_and_powershell():
    recipe = load_recipe("csm-1b")
    facts = machine(os=WINDOWS, packages=packages(drop=("triton-windows",)))
    assert_check_and_fix_agree(facts, recipe)
    commands = [c for f in check_view(facts, recipe) if f.status is Status.FAIL for c in f.remedy.commands]
    assert commands and not any("'" in c for c in commands)
    assert any('"triton-windows>=3.1,<3.2"' in c for c in commands)
    assert join_command(["C:\\Program Files\\Python\\python.exe", "-m", "pip"], "windows") == \
        '"C:\\Program Files\\Python\\python.exe" -m pip'


@pytest.mark.parametrize("is_root,expected", [(True, "/usr/bin/apt-get install -y ffmpeg"),
                                              (False, "sudo /usr/bin/apt-get install -y ffmpeg")])
def test_system_packages_by_the_managers_path_and_sudo_only_when_not_root(is_root, expected):
    recipe = load_recipe("csm-1b")
    facts = machine(os={"is_root": is_root}, ffmpeg={"found": False, "path": None, "version": None},
                    tools={"git": "/usr/bin/git", "apt-get": "/usr/bin/apt-get"})
    assert_check_and_fix_agree(facts, recipe)
    [ffmpeg] = [f for f in check_view(facts, recipe) if f.status is Status.FAIL and f.subject == "ffmpeg"]
    assert ffmpeg.remedy.commands == (expected,)


def test_windows_with_triton_and_triton_windows_removes_both_then_reinstalls():
    recipe = load_recipe("csm-1b")
    facts = machine(os=WINDOWS, packages=packages(triton="3.1.0", triton_windows="3.1.0.post17"))
    assert_check_and_fix_agree(facts, recipe)
    steps = runnable(fix_plan(facts, recipe), "triton-missing-windows")
    assert [s.command for s in steps] == [
        f"{PY} -I -m pip uninstall -y triton triton-windows",
        f'{PY} -I -m pip install "triton-windows>=3.1,<3.2"']
    conflict = next(f for f in check_view(facts, recipe) if f.check == "packages-conflicts")
    assert conflict.remedy.commands == tuple(s.command for s in steps)


def test_every_download_step_names_the_finding_it_addresses():
    recipe = load_recipe("csm-1b")
    # the facts know the gated repo's cache, not kyutai/moshiko's: nothing is planned for it
    facts = machine(hf={"token_present": True, "token_source": "file", "repos": {
        "sesame/csm-1b": {"state": "granted", "cached": False},
        "meta-llama/Llama-3.2-1B": {"state": "granted", "cached": False}}})
    plan = fix_plan(facts, recipe)
    downloads = [s for s in plan if s.kind == "download"]
    assert downloads and all(s.addresses for s in downloads)
    assert "kyutai/moshiko-pytorch-bf16" not in {s.payload["repo"] for s in downloads}


def test_checkpoint_missing_is_failing_in_check_as_in_fix():
    recipe = load_recipe("csm-1b")
    facts = machine(hf={"token_present": True, "token_source": "file", "repos": {
        "sesame/csm-1b": {"state": "granted", "cached": False},
        "meta-llama/Llama-3.2-1B": {"state": "granted", "cached": True}}})
    assert_check_and_fix_agree(facts, recipe)
    missing = failing(check_view(facts, recipe), "checkpoint-missing")
    [step] = runnable(fix_plan(facts, recipe), "checkpoint-missing")
    assert missing.subject.startswith("sesame/csm-1b") and step.payload["repo"] == "sesame/csm-1b"
    assert missing.remedy.commands == (step.command,)


def test_hub_token_check_reads_only_the_recipes_gated_repos():
    facts = machine(hf={"token_present": True, "token_source": "file", "repos": {
        "sesame/csm-1b": {"state": "granted", "cached": True},
        "meta-llama/Llama-3.2-1B": {"state": "token-invalid", "cached": False}}})
    uses_llama = check_view(facts, load_recipe("csm-1b"))
    assert failing(uses_llama, "hf-token-invalid")
    without = check_view(facts, load_recipe("csm-1b-transformers"))
    assert not [f for f in without if f.status is Status.FAIL and f.id.startswith("hf-")]
    assert not any("meta-llama" in (f.title + (f.fix or "")) for f in without if f.status is Status.FAIL)


def test_triage_fix_for_an_unsupported_gpu_is_a_recipe_switch(run_cli, tmp_path):
    paste = tmp_path / "log.txt"
    paste.write_text("UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not "
                     "compatible with the current PyTorch installation.\n", encoding="utf-8")
    doc = run_cli("triage", str(paste), "--json").json()
    arch = next(f for f in doc["findings"] if f["id"] == "cuda-arch-unsupported")
    assert arch["remedy"]["commands"] == ["csm-doctor fix --recipe csm-1b-transformers"]
    human = run_cli("triage", str(paste)).stdout
    assert "$ csm-doctor fix --recipe csm-1b-transformers" in human


@pytest.mark.parametrize("recipe", ["csm-1b", "csm-1b-unsloth", "songbloom-lora", "cosyvoice2-lora"])
def test_a_recipe_that_cannot_run_here_plans_no_install_or_download(run_cli, tmp_path, recipe):
    import json

    facts = machine(nvidia=NO_GPU, torch={"version": None, "cuda": None},
                    packages=packages(drop=("torch", "torchaudio", "triton")),
                    hf={"token_present": True, "token_source": "file", "repos": {
                        "sesame/csm-1b": {"state": "granted", "cached": False},
                        "meta-llama/Llama-3.2-1B": {"state": "granted", "cached": False}}})
    path = tmp_path / "no-gpu.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    plan = run_cli("fix", "--dry-run", "--json", "--facts", str(path), "--recipe", recipe).json()
    steps = plan["plan"] if "plan" in plan else plan["steps"]
    kinds = [s["kind"] for s in steps]
    assert not {"install", "reinstall", "uninstall", "pip-command", "download", "system"} & set(kinds)
    assert not any(s["runs"] for s in steps)
    said = [s for s in steps if "cannot run on this machine" in s["description"]]
    assert len(said) == 1 and "gpu-missing" in said[0]["addresses"]
    alternatives = load_recipe(recipe).alternatives
    if alternatives:
        assert said[0]["command"] == f"csm-doctor fix --recipe {alternatives[0].recipe}"
    check = run_cli("check", "--json", "--facts", str(path), "--recipe", recipe).json()
    gpu = next(f for f in check["findings"] if f["id"] == "gpu-missing" and f["status"] == "fail")
    assert gpu["remedy"]["commands"] == ([said[0]["command"]] if alternatives else [])


def test_check_json_remedies_hold_the_commands_fix_runs(run_cli, tmp_path):
    import json

    facts = machine(packages=packages(drop=("moshi",), transformers="4.40.0"))
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    check = run_cli("check", "--json", "--facts", str(path)).json()
    plan = run_cli("fix", "--dry-run", "--json", "--facts", str(path)).json()
    steps = plan["plan"] if "plan" in plan else plan["steps"]
    runs = [s for s in steps if s["runs"]]
    assert runs
    for step in runs:
        commands = [c for f in check["findings"] if f["status"] == "fail" and f["id"] in step["addresses"]
                    for c in f["remedy"]["commands"]]
        assert step["command"] in commands
    assert all(set(f["remedy"]) == {"commands", "text"} for f in check["findings"])


@pytest.mark.parametrize("recipe,needs", [
    ("csm-1b", "OFFICIAL_NEEDS"),
    ("csm-1b-transformers", "TRANSFORMERS_FILES"),
])
def test_fix_downloads_every_file_smoke_needs(recipe, needs):
    from csm_doctor.smoke import hub

    files = {(e["repo"], f) for e in load_recipe(recipe).checkpoints for f in e["files"]}
    wanted = getattr(hub, needs)
    if needs == "TRANSFORMERS_FILES":
        wanted = (("sesame/csm-1b", wanted),)
    for repo, groups in wanted:
        for group in groups:
            assert any((repo, name) in files for name in group), (recipe, repo, group)
