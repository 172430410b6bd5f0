"""package-dependency-broken: every distribution's own requirements, read in the target, no pip.

The broken environment is real: tiny wheels named like the packages of the
report that started this (transformers 5.25.0 needs tokenizers>=0.22,<0.23;
tokenizers 0.20.3 is installed with --no-deps, as a hand-pinned requirements
file does), installed by pip into a throwaway venv from a local folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_support import (
    clone_venv,
    installed,
    make_base_venv,
    offline_pip_env,
    pip_install,
    run_fix,
    write_recipe,
    write_wheel,
)

from csm_doctor.findings import Status
from csm_doctor.smoke.judge import judge_error

NEED = "tokenizers<0.23,>=0.22"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dep-wheels")
    write_wheel(folder, "transformers", "5.25.0",
                requires=(NEED, "regex; python_version < '3.0'", "extrathing>=9; extra == 'dev'"))
    write_wheel(folder, "tokenizers", "0.20.3")
    write_wheel(folder, "tokenizers", "0.22.1")
    write_wheel(folder, "tokenizers", "0.23.0")
    return folder


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    root = tmp_path_factory.mktemp("dep-venv")
    base = make_base_venv(root / "base").parent.parent
    python = clone_venv(base, root / "target")
    pip_install(python, wheels, "transformers==5.25.0")   # pulls tokenizers 0.22.1
    pip_install(python, wheels, "--no-deps", "tokenizers==0.20.3")
    assert installed(python)["tokenizers"] == "0.20.3"
    return python


def _env(cli_env: dict[str, str], wheels: Path, tmp_path: Path) -> dict[str, str]:
    return {**cli_env, **offline_pip_env(wheels), "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state")}


def test_check_names_the_package_its_requirement_and_what_is_installed(run_cli, broken, tmp_path):
    recipe = write_recipe(tmp_path, [{"name": "transformers", "spec": "==5.25.0"}])
    run = run_cli("check", "--json", "--offline", "--recipe", str(recipe), "--python", str(broken))
    doc = run.json()
    [found] = [f for f in doc["findings"] if f["id"] == "package-dependency-broken"]
    assert run.code == 1 and found["status"] == "fail"
    assert found["title"] == f"transformers 5.25.0 requires {NEED}, but tokenizers 0.20.3 is installed"
    assert "tokenizers<0.23,>=0.22" in found["fix"] and "transformers==5.25.0" in found["fix"]
    # markers: a Python-2-only and an extra-only requirement are not required here
    assert not [f for f in doc["findings"] if f["id"] == "package-dependency-broken"
                and ("regex" in f["title"] or "extrathing" in f["title"])]
    assert doc["facts"]["dependencies"]["checked"] is True


def test_a_consistent_environment_passes(run_cli, wheels, tmp_path):
    python = make_base_venv(tmp_path / "ok")
    pip_install(python, wheels, "transformers==5.25.0")
    recipe = write_recipe(tmp_path, [{"name": "transformers", "spec": "==5.25.0"}])
    doc = run_cli("check", "--json", "--offline", "--recipe", str(recipe), "--python", str(python)).json()
    [found] = [f for f in doc["findings"] if f["id"] == "package-dependency-broken"]
    assert found["status"] == "pass"


def test_broken_pairs_outside_the_recipe_only_warn(run_cli, broken, tmp_path):
    recipe = write_recipe(tmp_path, [])
    doc = run_cli("check", "--json", "--offline", "--recipe", str(recipe), "--python", str(broken)).json()
    [found] = [f for f in doc["findings"] if f["id"] == "package-dependency-broken"]
    assert found["status"] == "warn"


def test_fix_reinstalls_the_pair_in_one_resolver_run(broken, wheels, cli_env, tmp_path):
    recipe = write_recipe(tmp_path, [{"name": "transformers", "spec": "==5.25.0"}])
    env = _env(cli_env, wheels, tmp_path)
    run = run_fix(env, "--yes", "--json", "--offline", "--installer", "pip", "--recipe", str(recipe),
                  "--python", str(broken))
    doc = run.json()
    assert run.code == 0, run.stderr
    [step] = [s for s in doc["plan"] if s["runs"]]
    assert step["addresses"] == ["package-dependency-broken"]
    assert step["argv"][-2:] == ["transformers==5.25.0", NEED]
    assert doc["fixed"] == ["package-dependency-broken"]
    assert installed(broken)["tokenizers"] == "0.22.1"


def test_smoke_import_errors_are_the_broken_dependency_not_a_bug_report():
    message = ("tokenizers>=0.22,<0.23 is required for a normal functioning of this module, "
               "but found tokenizers==0.20.3.")
    named = judge_error({"type": "ImportError", "message": message, "stage": "import",
                         "chain": [{"type": "ImportError", "message": message}]},
                        hf_offline=False, where="cpu")
    assert (named.id, named.status) == ("package-dependency-broken", Status.FAIL)
    other = judge_error({"type": "ImportError", "stage": "import",
                         "message": "cannot import name 'Foo' from 'tokenizers'",
                         "chain": [{"type": "ImportError",
                                    "message": "cannot import name 'Foo' from 'tokenizers'"}]},
                        hf_offline=False, where="cpu")
    assert other.id == "package-dependency-broken" and "report" not in (other.fix or "")
