"""Shared test fixtures: fake tools on PATH, the CLI as a real subprocess, a torch venv.

Nothing here reads ../shared: captured tool outputs live in tests/fixtures
with their source notes, so a user's clone runs the suite as CI does.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROBE_FIXTURES = FIXTURES / "probes"

# Variables that would make a test depend on the developer's machine.
_SCRUB = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "HUGGINGFACEHUB_API_TOKEN",
          "HF_API_TOKEN", "VIRTUAL_ENV", "CONDA_PREFIX", "NO_TORCH_COMPILE", "HF_ENDPOINT",
          "HF_HUB_OFFLINE", "NO_COLOR", "FORCE_COLOR")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@pytest.fixture
def fake_bin(tmp_path: Path):
    """A directory of fake executables; `add(name, script)` writes a /bin/sh script."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()

    def add(name: str, body: str) -> Path:
        path = bindir / name
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip("\n"))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    add.dir = bindir  # type: ignore[attr-defined]
    return add


def cat_script(text_file: Path, exit_code: int = 0) -> str:
    """A fake tool that prints a real captured output."""
    return f"/bin/cat '{text_file}'\nexit {exit_code}\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME/HF_HOME so no saved token or cache leaks in."""
    path = tmp_path / "home"
    (path / ".cache").mkdir(parents=True)
    return path


@pytest.fixture
def cli_env(home: Path, fake_bin) -> dict[str, str]:
    """Environment for running csm-doctor: PATH is only the fake bin dir."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(HOME=str(home), HF_HOME=str(home / ".cache" / "huggingface"),
               PATH=str(fake_bin.dir), PYTHONIOENCODING="utf-8", CSM_DOCTOR_NVML="0",
               XDG_CACHE_HOME=str(home / ".cache"))
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path):
    """Run `python -m csm_doctor ARGS` as a real process; exit codes are part of the contract.

    The working directory is a scratch folder: commands that write next to the user
    (smoke's ./csm-doctor-smoke/, report's bundles) must never write into the repository.
    """
    scratch = tmp_path / "cwd"
    scratch.mkdir(exist_ok=True)

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            cwd: str | None = None) -> Run:
        proc = subprocess.run([sys.executable, "-m", "csm_doctor", *args], capture_output=True,
                              text=True, env={**cli_env, **(env or {})}, timeout=timeout,
                              cwd=cwd or str(scratch), encoding="utf-8")
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv with pip per session; tests clone it (a copy of a venv is a working venv)."""
    from fix_support import make_base_venv

    return make_base_venv(tmp_path_factory.mktemp("base") / "venv").parent.parent


@pytest.fixture
def target(tmp_path: Path, base_venv: Path, wheels: Path) -> Path:
    """A venv with fixa 0.9 (the test recipes want 1.0), from the module's own `wheels`."""
    from fix_support import clone_venv, pip_install

    python = clone_venv(base_venv, tmp_path / "target")
    pip_install(python, wheels, "fixa==0.9")
    return python


@pytest.fixture(scope="session")
def uv_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv from the registry, in a venv of its own (never in the project's .venv)."""
    from fix_support import make_base_venv

    home = tmp_path_factory.mktemp("uv") / "venv"
    python = make_base_venv(home)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "uv"], capture_output=True,
                          text=True, timeout=600)
    exe = home / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    if proc.returncode != 0 or not exe.is_file():
        cannot_install(f"uv cannot be installed from the package registry here: {proc.stderr[-300:]}")
    return exe


def cannot_install(reason: str) -> None:
    """An end-to-end test whose wheels cannot be installed: a skip on a developer's machine,
    a failure in CI (CI=true), where a skipped torch or smoke test would hide a regression."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run this end-to-end test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def torch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway venv with the real CPU torch 2.13.0 wheel (pinned: other specs pull GBs)."""
    target = tmp_path_factory.mktemp("torch-venv")
    venv.create(target, with_pip=True)
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        cannot_install(f"torch==2.13.0 is not installable here: {proc.stderr[-500:]}")
    return python


def load_capture(folder: str, name: str) -> str:
    """A real captured tool output from tests/fixtures/probes/<folder>/<name>."""
    return (PROBE_FIXTURES / folder / name).read_text(encoding="utf-8")


def base_facts() -> dict:
    """The healthy H100 machine (driver 550, torch 2.4.0+cu124) scenario tests start from."""
    return json.loads((FIXTURES / "facts" / "h100-driver-550-csm-ready.json").read_text())


def machine(**changes: object) -> dict:
    """The healthy H100 machine with sections replaced or (for mapping values) updated."""
    return machine_from(base_facts(), **changes)


def packages(drop: tuple[str, ...] = (), **versions: str) -> dict[str, str]:
    """The healthy machine's packages without `drop`, with `versions` (underscores as dashes)."""
    found = {k: v for k, v in base_facts()["packages"].items() if k not in drop}
    found.update({k.replace("_", "-"): v for k, v in versions.items()})
    return found


def machine_from(base: dict, **changes: object) -> dict:
    """`base` with sections replaced or, for mapping values, updated (packages: replaced)."""
    import copy

    facts = copy.deepcopy(base)
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(facts.get(section), dict) and section != "packages":
            facts[section].update(value)
        else:
            facts[section] = value
    return facts


# Fixtures that build real environments (a venv with pip, torch, transformers, uv): the tests
# that use them are end-to-end and slow, as are the install script's and the property-based
# fuzz modules. `pytest -m "not slow"` is the inner loop.
SLOW_FIXTURES = frozenset({"torch_venv", "csm_python", "uv_exe", "base_venv", "target"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or \
                item.module.__name__ in ("test_install", "test_parsers_fuzz", "test_triage_fuzz"):
            item.add_marker(pytest.mark.slow)
