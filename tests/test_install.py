"""Packaging and first-run: the wheel carries its data, install.sh works from a copy of the clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

IGNORE = shutil.ignore_patterns(".git", ".venv*", "__pycache__", ".pytest_cache", ".hypothesis",
                                "*.egg-info", "build", "dist")


def real_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "HF_TOKEN", "CONDA_PREFIX", "CSM_DOCTOR_VENV")}
    env.update(HOME=str(home), HF_HOME=str(home / "hf"), CSM_DOCTOR_PYTHON=sys.executable)
    return env


def test_wheel_ships_recipes_diagnoses_and_target_script(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("csm_doctor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for recipe in (ROOT / "recipes").glob("*.yaml"):
        assert f"csm_doctor/data/recipes/{recipe.name}" in names
    for area in (ROOT / "diagnoses").glob("*.yaml"):
        assert f"csm_doctor/data/diagnoses/{area.name}" in names
    assert "csm_doctor/probes/target_script.py" in names


def test_install_sh_from_a_fresh_copy(tmp_path: Path, home: Path):
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=IGNORE)
    venv = tmp_path / "venv"
    proc = subprocess.run(["bash", str(clone / "install.sh"), "--venv", str(venv), "--offline",
                           "--recipe", "csm-1b"],
                          capture_output=True, text=True, env=real_env(home), timeout=900,
                          cwd=str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "csm-doctor · recipe csm-1b" in proc.stdout
    assert "installed in" in proc.stderr
    # The installed wheel carries its own recipes: the clone can go away.
    shutil.rmtree(clone)
    listed = subprocess.run([str(venv / "bin" / "csm-doctor"), "recipes", "list"],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert listed.returncode == 0 and "csm-1b" in listed.stdout


def test_install_sh_without_python_says_what_to_do(tmp_path: Path, home: Path):
    env = real_env(home)
    env["CSM_DOCTOR_PYTHON"] = str(tmp_path / "no-python")
    proc = subprocess.run(["bash", str(ROOT / "install.sh"), "--venv", str(tmp_path / "v")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 3
    assert "no Python >= 3.10 found" in proc.stderr


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no real ffmpeg on this machine")
def test_real_ffmpeg(run_cli, cli_env):
    real_dir = str(Path(shutil.which("ffmpeg")).parent)
    facts = run_cli("facts", "--offline", env={"PATH": real_dir}).json()
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    assert facts["ffmpeg"]["found"] is True
    assert facts["ffmpeg"]["version"] == version.split()[2]
