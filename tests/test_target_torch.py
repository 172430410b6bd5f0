"""The target probe against a real torch install in a throwaway venv.

torch==2.13.0 is the pinned CPU wheel on these machines; any other spec would
download gigabytes of CUDA packages.
"""

from __future__ import annotations

import sys

from csm_doctor.probes import PROBES, ProbeContext, collect_facts
from csm_doctor.recipe import load_recipe


def target_facts(python, level: int) -> dict:
    ctx = ProbeContext(python=str(python), offline=True, level=level, recipe=load_recipe("csm-1b"))
    return collect_facts(ctx, tuple(p for p in PROBES if p.name in ("target", "torch-import")))


def test_torch_read_from_metadata_without_import(torch_venv):
    facts = target_facts(torch_venv, level=1)
    torch = facts["torch"]
    assert torch["version"] == "2.13.0+cpu"
    assert torch["variant"] == "cpu" and torch["cuda"] is None
    assert torch["source"] == "metadata" and torch["imported"] is False
    assert facts["probes"]["torch-import"]["status"] == "skipped"
    assert facts["python"]["in_venv"] is True
    assert "torch" not in sys.modules, "the doctor itself never imports torch"


def test_level_2_skips_import_without_accelerator(torch_venv):
    facts = target_facts(torch_venv, level=2)
    assert facts["torch"]["imported"] is False
    assert "no accelerator" in facts["probes"]["torch-import"]["error"]


def test_torch_imported_in_the_target_at_level_3(torch_venv):
    facts = target_facts(torch_venv, level=3)
    torch = facts["torch"]
    assert facts["probes"]["torch-import"]["status"] == "ok"
    assert torch["imported"] is True and torch["source"] == "import"
    assert torch["version"] == "2.13.0+cpu"
    assert torch["cuda_available"] is False and torch["devices"] == []
    assert torch["arch_list"] == []
    assert torch["mps_available"] is False
    assert "torch" not in sys.modules


def test_check_against_torch_venv(run_cli, torch_venv):
    doc = run_cli("check", "--json", "--offline", "--level", "3", "--recipe", "csm-1b",
                  "--python", str(torch_venv)).json()
    assert doc["facts"]["torch"]["version"] == "2.13.0+cpu"
    by_subject = {(f["id"], f["subject"]): f for f in doc["findings"]}
    torch_pin = by_subject[("package-version-mismatch", "torch")]
    assert torch_pin["status"] == "fail" and torch_pin["expected"] == "==2.4.0"
