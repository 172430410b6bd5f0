"""Which environment is under test: --python, the activated one, ./.venv, never pipx's own.

The end-to-end test builds a real wheel of csm-doctor, installs it with a real
pipx (from the package registry, skipped with the reason when it cannot be
installed) and runs the installed `csm-doctor` from a project folder with a
`.venv`, exactly as a user who ran `pipx install csm-doctor` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import ROOT

from csm_doctor.probes.resolve import OWN, own_tool_install, resolve_target


def make_env(prefix: Path) -> Path:
    venv.create(prefix, with_pip=False, symlinks=os.name != "nt")
    return prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def test_python_option_wins(tmp_path: Path):
    active = make_env(tmp_path / "active")
    choice = resolve_target("some/python", cwd=str(tmp_path), environ={"VIRTUAL_ENV": str(active.parent.parent)})
    assert choice.source == "--python" and choice.python == os.path.abspath("some/python")


def test_activated_environment_beats_dot_venv(tmp_path: Path):
    active = make_env(tmp_path / "active")
    make_env(tmp_path / "project" / ".venv")
    choice = resolve_target(None, cwd=str(tmp_path / "project"),
                            environ={"VIRTUAL_ENV": str(tmp_path / "active")})
    assert (choice.python, choice.source) == (str(active), "VIRTUAL_ENV")
    conda = resolve_target(None, cwd=str(tmp_path / "project"),
                           environ={"CONDA_PREFIX": str(tmp_path / "active")})
    assert conda.source == "CONDA_PREFIX"


def test_dot_venv_here_or_above(tmp_path: Path):
    python = make_env(tmp_path / "project" / ".venv")
    sub = tmp_path / "project" / "src" / "pkg"
    sub.mkdir(parents=True)
    here = resolve_target(None, cwd=str(tmp_path / "project"), environ={})
    assert (here.python, here.source) == (str(python), "./.venv")
    above = resolve_target(None, cwd=str(sub), environ={})
    assert above.python == str(python) and above.source == str(tmp_path / "project" / ".venv")


def test_uv_project_environment_is_relative_to_the_project_root(tmp_path: Path):
    project = tmp_path / "project"
    python = make_env(project / "envs" / "dev")
    make_env(project / ".venv")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "src").mkdir()
    choice = resolve_target(None, cwd=str(project / "src"),
                            environ={"UV_PROJECT_ENVIRONMENT": "envs/dev"})
    assert (choice.python, choice.source) == (str(python), "UV_PROJECT_ENVIRONMENT")


def test_nothing_found_is_csm_doctors_own_environment(tmp_path: Path):
    choice = resolve_target(None, cwd=str(tmp_path), environ={})
    assert choice.source == OWN and choice.python == sys.executable


def test_tool_installs_are_recognised_by_their_markers_and_homes(tmp_path: Path):
    pipx = tmp_path / "pipx" / "venvs" / "csm-doctor"
    pipx.mkdir(parents=True)
    assert own_tool_install(str(pipx), {}) == "pipx"
    uv = tmp_path / "elsewhere" / "csm-doctor"
    uv.mkdir(parents=True)
    assert own_tool_install(str(uv), {}) is None
    (uv / "uv-receipt.toml").write_text("[tool]\n")
    assert own_tool_install(str(uv), {}) == "uv tool"
    custom = tmp_path / "tools" / "csm-doctor"
    custom.mkdir(parents=True)
    assert own_tool_install(str(custom), {"UV_TOOL_DIR": str(tmp_path / "tools")}) == "uv tool"


@pytest.fixture(scope="module")
def pipx_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, installed by a real pipx into its own home; its csm-doctor."""
    root = tmp_path_factory.mktemp("pipx")
    wheels = root / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    venv.create(root / "pipx-itself", with_pip=True)
    tool_python = root / "pipx-itself" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    got = subprocess.run([str(tool_python), "-m", "pip", "install", "-q", "pipx"],
                         capture_output=True, text=True, timeout=600)
    if got.returncode != 0:
        pytest.skip(f"pipx cannot be installed from the package registry here: {got.stderr[-300:]}")
    env = {**os.environ, "PIPX_HOME": str(root / "home"), "PIPX_BIN_DIR": str(root / "bin"),
           "PIPX_MAN_DIR": str(root / "man")}
    env.pop("VIRTUAL_ENV", None)
    wheel = next(wheels.glob("csm_doctor-*.whl"))
    done = subprocess.run([str(tool_python), "-m", "pipx", "install", str(wheel)], capture_output=True,
                          text=True, env=env, timeout=900)
    if done.returncode != 0 and "No matching distribution" in done.stderr + done.stdout:
        pytest.skip("csm-doctor's dependencies are not reachable from the package registry here")
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    exe = root / "bin" / "csm-doctor"
    assert exe.is_file()
    return exe


def _run(exe: Path, cwd: Path, cli_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**cli_env, "PATH": os.environ.get("PATH", "")}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=str(cwd), env=env,
                          timeout=300)


@pytest.mark.slow
def test_pipx_installed_fix_targets_the_projects_dot_venv(pipx_install: Path, tmp_path: Path,
                                                         cli_env: dict[str, str]):
    project = tmp_path / "project"
    python = make_env(project / ".venv")
    proc = _run(pipx_install, project, cli_env, "fix", "--dry-run", "--json", "--offline",
                "--recipe", "csm-1b-transformers")  # runs on any host: its plan installs
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["target"]["python"] == str(python)
    assert out["target"]["chosen"]["source"] == "./.venv"
    runs = [step["command"] for step in out["plan"] if step["runs"]]
    assert runs and all(command.startswith(str(python)) for command in runs
                        if "pip install" in command), runs
    own_home = str(pipx_install.parent.parent / "home")
    assert not any(own_home in command for command in runs), runs


@pytest.mark.slow
def test_pipx_installed_check_says_it_judged_its_own_environment_and_fix_refuses(
        pipx_install: Path, tmp_path: Path, cli_env: dict[str, str]):
    empty = tmp_path / "nowhere"
    empty.mkdir()
    check = _run(pipx_install, empty, cli_env, "check", "--offline", "--recipe", "csm-1b")
    assert "csm-doctor's own pipx environment" in check.stdout, check.stdout[:2000]
    assert "--python" in check.stdout
    fix = _run(pipx_install, empty, cli_env, "fix", "--yes", "--offline", "--recipe",
               "csm-1b-transformers")  # runs on any host: there is something to install
    assert fix.returncode == 2, fix.stderr[-2000:]
    assert "refusing to change csm-doctor's own pipx environment" in fix.stderr
