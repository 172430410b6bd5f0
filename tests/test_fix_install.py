"""Real installs by `csm-doctor fix` into throwaway venvs, with pip and with uv.

The packages are tiny wheels the tests write themselves, served from a local
folder (PIP_FIND_LINKS + PIP_NO_INDEX, no pip config files): nothing touches
torch or the network. uv ignores pip's variables, so these tests also show that
fix hands uv the same sources pip sees. uv itself comes from the package
registry (pip install uv); without it the uv cases are skipped, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fix_support import (
    ROOT,
    clone_venv,
    freeze,
    installed,
    offline_pip_env,
    run_fix,
    venv_python,
    write_recipe,
    write_wheel,
)

PINS = [{"name": "fixa", "spec": "==1.0"}, {"name": "fixb", "spec": "==2.0"}]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    write_wheel(folder, "fixa", "0.9")
    write_wheel(folder, "fixa", "1.0")
    write_wheel(folder, "fixb", "2.0", requires=("fixdep>=1.0",))
    write_wheel(folder, "fixdep", "1.0")
    write_wheel(folder, "fixold", "1.0")
    return folder


@pytest.fixture
def env(cli_env: dict[str, str], wheels: Path, tmp_path: Path) -> dict[str, str]:
    return {**cli_env, **offline_pip_env(wheels), "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state")}


def with_installer(env: dict[str, str], tool: str, uv_exe: Path | None, fake_bin) -> list[str]:
    if tool == "uv":
        fake_bin("uv", f'exec "{uv_exe}" "$@"\n')  # uv on PATH, as a user would have it
    return ["--installer", tool]


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_fix_installs_pins_plans_nothing_twice_and_undo_restores_freeze(
        tool, request, target, env, tmp_path, fake_bin):
    uv_exe = request.getfixturevalue("uv_exe") if tool == "uv" else None
    recipe = write_recipe(tmp_path, PINS)
    before = freeze(target)
    args = ["--json", "--offline", "--recipe", str(recipe), "--python", str(target),
            *with_installer(env, tool, uv_exe, fake_bin)]

    run = run_fix(env, "--yes", *args)
    doc = run.json()
    assert run.code == 0, run.stderr
    assert doc["schema"] == "csm-doctor/fix/1" and doc["mode"] == "apply" and doc["exit_code"] == 0
    [step] = doc["plan"]
    assert (step["kind"], step["runs"]) == ("install", True)
    assert set(step["addresses"]) == {"package-missing", "package-version-mismatch"}
    if tool == "uv":
        assert step["argv"][:5] == [str(fake_bin.dir / "uv"), "pip", "install", "--python", str(target)]
        assert "--no-index" in step["argv"] and "--find-links" in step["argv"]  # pip's sources
    else:
        assert step["argv"][:5] == [str(target), "-I", "-m", "pip", "install"]
    assert step["command"].endswith("fixa==1.0 fixb==2.0")
    assert [r["status"] for r in doc["results"]] == ["ok"]
    assert set(doc["fixed"]) == {"package-missing", "package-version-mismatch"}
    assert doc["remaining"] == []
    assert doc["snapshot"] and Path(doc["snapshot"]).is_file()
    now = installed(target)
    assert (now["fixa"], now["fixb"], now["fixdep"]) == ("1.0", "2.0", "1.0")

    second = run_fix(env, "--yes", *args)
    assert second.code == 0, second.stderr
    assert second.json()["plan"] == [] and second.json()["results"] == []

    undo = run_fix(env, "--undo", "--yes", "--json", "--python", str(target),
                   "--installer", tool)
    assert undo.code == 0, undo.stderr
    undone = undo.json()
    assert undone["mode"] == "undo" and undone["verified"] is True, undone
    assert [a["id"] for a in undone["plan"]] == ["undo-uninstall", "undo-install"]
    assert freeze(target) == before

    again = run_fix(env, "--undo", "--yes", "--json", "--python", str(target))
    assert again.code == 0 and again.json()["plan"] == []  # undo twice: nothing left to do


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_a_pin_that_does_not_exist_leaves_the_venv_as_it_was(tool, request, target, env, tmp_path,
                                                              fake_bin):
    uv_exe = request.getfixturevalue("uv_exe") if tool == "uv" else None
    recipe = write_recipe(tmp_path, PINS + [{"name": "fixc", "spec": "==9.9"}])
    before = freeze(target)
    run = run_fix(env, "--yes", "--json", "--offline", "--recipe", str(recipe), "--python",
                  str(target), *with_installer(env, tool, uv_exe, fake_bin))
    doc = run.json()
    assert run.code == 1
    [result] = doc["results"]
    assert result["status"] == "failed"
    assert "fixc" in result["message"] and "9.9" in result["message"]  # pip's / uv's own reason
    assert "as it was" in result["message"]
    assert freeze(target) == before
    assert "package-missing" in doc["remaining"]


def test_an_uninstall_before_a_failing_install_is_rolled_back(target, env, tmp_path):
    recipe = write_recipe(tmp_path, [{"name": "fixnew", "spec": "==9.9", "conflicts": ["fixa"]}])
    before = freeze(target)
    run = run_fix(env, "--yes", "--json", "--offline", "--recipe", str(recipe), "--python",
                  str(target), "--installer", "pip")
    doc = run.json()
    assert [a["kind"] for a in doc["plan"]] == ["uninstall", "install"]
    assert [r["status"] for r in doc["results"]] == ["ok", "failed"]
    assert doc["rolled_back"] is True
    assert "rolled back" in doc["results"][1]["message"]
    assert freeze(target) == before


def test_without_a_terminal_and_without_yes_fix_refuses(target, env, tmp_path):
    recipe = write_recipe(tmp_path, PINS)
    before = freeze(target)
    run = run_fix(env, "--json", "--offline", "--recipe", str(recipe), "--python", str(target))
    assert run.code == 2
    assert "--yes" in run.stderr and "no terminal" in run.stderr
    doc = run.json()
    assert doc["mode"] == "refused" and doc["plan"] and doc["results"] == []
    assert freeze(target) == before


@pytest.mark.skipif(os.name == "nt", reason="needs a POSIX pseudo-terminal")
def test_saying_no_at_the_prompt_changes_nothing(target, env, tmp_path):
    import pty

    recipe = write_recipe(tmp_path, PINS)
    before = freeze(target)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "csm_doctor", "fix", "--offline", "--recipe", str(recipe),
                             "--python", str(target), "--installer", "pip"], stdin=terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT),
                            text=True, encoding="utf-8")
    os.close(terminal)
    os.write(controller, b"n\n")
    out, err = proc.communicate(timeout=120)
    os.close(controller)
    assert proc.returncode == 1
    assert "[y/N]" in err and "nothing was changed" in err
    assert "Plan: 1 step" in out
    assert freeze(target) == before


def test_dry_run_prints_the_plan_and_changes_nothing(target, env, tmp_path):
    recipe = write_recipe(tmp_path, PINS)
    before = freeze(target)
    run = run_fix(env, "--dry-run", "--offline", "--recipe", str(recipe), "--python", str(target),
                  "--installer", "pip")
    assert run.code == 1
    assert "Plan: 1 step" in run.stdout and "fixa==1.0 fixb==2.0" in run.stdout
    assert "package-version-mismatch (fixa)" in run.stdout
    assert freeze(target) == before


def test_a_system_interpreter_is_refused_without_allow_system(env, tmp_path, wheels):
    base = getattr(sys, "_base_executable", None) or sys.executable
    probe = subprocess.run([base, "-c", "import sys; print(sys.prefix == sys.base_prefix)"],
                           capture_output=True, text=True, timeout=30)
    if probe.stdout.strip() != "True":
        pytest.skip("no interpreter outside a virtual environment to point at")
    recipe = write_recipe(tmp_path, [{"name": "fixb", "spec": "==2.0"}])
    run = run_fix(env, "--yes", "--json", "--offline", "--recipe", str(recipe), "--python", base,
                  "--installer", "pip")
    assert run.code == 2
    assert "not a virtual environment" in run.stderr and "--allow-system" in run.stderr
    assert run.json()["mode"] == "refused"


def test_write_profile_is_idempotent_and_undo_removes_it(target, env, tmp_path):
    recipe = write_recipe(tmp_path, [], extra=(
        "env:\n  - {name: CSM_FIX_TEST_VAR, value: 'on 1', required: true}\n"))
    profile = tmp_path / "home" / ".bashrc"
    profile.parent.mkdir(exist_ok=True)
    profile.write_text("alias ll='ls -l'\n")
    args = ["--json", "--offline", "--recipe", str(recipe), "--python", str(target)]

    advice = run_fix(env, "--yes", *args).json()
    assert [(a["kind"], a["runs"], a["command"]) for a in advice["plan"]] == [
        ("env", False, "export CSM_FIX_TEST_VAR='on 1'")]
    assert advice["exit_code"] == 1 and profile.read_text() == "alias ll='ls -l'\n"

    for _ in range(2):
        run = run_fix(env, "--yes", "--write-profile", "--profile-file", str(profile), *args)
        assert run.code == 0, run.stderr
    text = profile.read_text()
    assert text.count("# >>> csm-doctor >>>") == 1
    assert "export CSM_FIX_TEST_VAR='on 1'" in text and text.startswith("alias ll='ls -l'\n")

    undo = run_fix(env, "--undo", "--yes", "--json", "--python", str(target))
    assert undo.code == 0, undo.stderr
    assert profile.read_text() == "alias ll='ls -l'\n"


def test_undo_without_a_snapshot_says_there_is_nothing(env, tmp_path, base_venv):
    python = clone_venv(base_venv, tmp_path / "fresh")
    run = run_fix(env, "--undo", "--yes", "--python", str(python))
    assert run.code == 0
    assert "nothing to undo" in run.stderr


def test_get_uv_is_planned_into_csm_doctors_own_environment(target, env, tmp_path):
    """--installer uv with no uv anywhere: installing uv is a step of its own, shown first."""
    recipe = write_recipe(tmp_path, PINS)
    doc = run_fix(env, "--dry-run", "--json", "--offline", "--recipe", str(recipe), "--python",
                  str(target), "--installer", "uv").json()
    from csm_doctor.fix.installer import own_uv_path

    if own_uv_path().is_file():
        pytest.skip("uv is already installed in csm-doctor's environment")
    assert [a["kind"] for a in doc["plan"]] == ["get-uv", "install"]
    assert doc["plan"][0]["argv"][1:] == ["-I", "-m", "pip", "install", "--disable-pip-version-check", "uv"]
    assert doc["plan"][1]["argv"][1:5] == ["pip", "install", "--python", str(target)]


def test_venv_python_helper_points_inside_the_clone(tmp_path, base_venv):
    python = clone_venv(base_venv, tmp_path / "c")
    assert python == venv_python(tmp_path / "c")
    out = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                         text=True, timeout=30).stdout.strip()
    assert Path(out) == tmp_path / "c"


def test_fix_ends_with_the_smoke_run_it_was_asked_for(target, env, tmp_path):
    """After the fixes apply, `--smoke-tiny` runs the real smoke in the target: this venv has
    no torch, so CSM cannot speak and fix says so (exit 1) instead of declaring victory."""
    recipe = write_recipe(tmp_path, PINS)
    run = run_fix(env, "--yes", "--json", "--offline", "--recipe", str(recipe), "--python",
                  str(target), "--smoke-tiny")
    doc = run.json()
    assert doc["remaining"] == [] and [r["status"] for r in doc["results"]] == ["ok"]
    assert doc["smoke"]["status"] != "pass" and run.code == 1
    smoke = [f for f in doc["findings"] if f["group"] == "smoke" and f["status"] != "pass"]
    assert smoke and smoke[0]["id"] == "package-missing"  # import torch fails in the target
