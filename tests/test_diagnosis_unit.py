"""The diagnosis is the unit: one entry in diagnoses/*.yaml reaches check, fix, triage and docs.

A new known problem is added here the way a contributor would: one entry appended to a copy
of the shipped catalogue, nothing else. triage recognises its log, orders it under the root
it is explained by, shows its remedy; fix plans its typed step; check shows that step's
command; the generated docs list it. Bad entries are exit 2 naming file, line and key.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from csm_doctor.catalogue import Catalogue, load_catalogue, shipped_catalogue
from csm_doctor.errors import InputError
from csm_doctor.findings import Finding, Status
from csm_doctor.fix.installer import Installer
from csm_doctor.fix.plan import PlanInput, plan_with_remedies
from csm_doctor.recipe import load_recipe
from csm_doctor.triage.match import match_text

NEW_ENTRY = """
  protobuf-too-new:
    added: true
    cause: 'protobuf 4+ is installed and a package generated with protoc < 3.19 cannot load its _pb2 modules ("Descriptors cannot be created directly")'
    fix: 'install protobuf 3.20.x, or regenerate the _pb2 files with a newer protoc'
    remedy: [{install: 'protobuf<4'}]
    explains: [package-missing]
    signatures:
      - 'Descriptors cannot be created directly'
"""
LOG = """Traceback (most recent call last):
  File "train.py", line 3, in <module>
    import tensorboard
TypeError: Descriptors cannot be created directly.
If this call came from a _pb2.py file, your generated code is out of date and must be regenerated with protoc >= 3.19.0.
ModuleNotFoundError: No module named 'tensorboard'
"""


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "diagnoses"
    shutil.copytree(ROOT / "diagnoses", folder)
    return folder


def _with_entry(tmp_path: Path, entry: str = NEW_ENTRY, file: str = "50-packages.yaml") -> Path:
    folder = _copy(tmp_path)
    path = folder / file
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + entry.lstrip("\n"),
                    encoding="utf-8")
    return folder


def _installer() -> Installer:
    return Installer("pip", "/env/bin/python")


def test_one_entry_reaches_triage_fix_check_and_docs(tmp_path: Path):
    catalogue = load_catalogue(_with_entry(tmp_path))
    # triage: recognised, the root first, its consequence explained, the remedy's command shown
    found = match_text(LOG, catalogue=catalogue)
    assert [f["id"] for f in found] == ["protobuf-too-new", "package-missing"]
    assert found[1]["explained_by"] == ["protobuf-too-new"]
    assert found[0]["remedy"]["commands"] == ["python -m pip install 'protobuf<4'"]
    assert found[0]["fix"] == "install protobuf 3.20.x, or regenerate the _pb2 files with a newer protoc"
    # fix: the typed step is planned into the target; check shows exactly that command
    finding = Finding("protobuf-too-new", Status.FAIL, "protobuf 4.25.3 is too new", group="packages",
                      check=None, subject="protobuf")
    facts = {"os": {"name": "linux"}, "packages": {"protobuf": "4.25.3"}}
    plan = plan_with_remedies(PlanInput(facts, load_recipe("csm-1b"), [finding], _installer(),
                                        catalogue=catalogue))
    [step] = plan
    assert step.runs and step.command == "/env/bin/python -I -m pip install 'protobuf<4'"
    assert finding.remedy.commands == (step.command,)
    # the shipped catalogue does not know it: nothing planned, the id unrecognised
    assert "protobuf-too-new" not in shipped_catalogue().diagnoses
    # docs: the generated page lists it from the same entry
    spec = importlib.util.spec_from_file_location("render", ROOT / "tools/render_diagnoses.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.render(catalogue)
    assert "| `protobuf-too-new` † |" in page and "`install` (protobuf<4)" in page


def test_a_check_can_declare_its_own_remedy_and_heading():
    catalogue = shipped_catalogue()
    # packages-installed installs the recipe's pin whichever id the recipe gives the package
    assert [s.kind for s in catalogue.steps_for("triton-missing-windows", "packages-installed")] == \
        ["install-pins"]
    assert [s.kind for s in catalogue.steps_for("triton-missing-windows", "packages-conflicts")] == \
        ["replace-conflicts"]
    arch = {c.name: c.group for c in catalogue.checks if c.id == "cuda-arch-unsupported"}
    assert arch == {"gpu-capability": "nvidia", "torch-arch": "torch"}
    # a GPU below the recipe's minimum is no reason to reinstall torch: only the switch
    assert [s.kind for s in catalogue.steps_for("cuda-arch-unsupported", "gpu-capability")] == \
        ["switch-recipe"]


def test_every_diagnosis_is_declared_once_and_seen_somewhere():
    catalogue = shipped_catalogue()
    checked = {c.id for c in catalogue.checks}
    raised_elsewhere = {"probe-failed", "audio-silent-or-invalid"} | \
        {d for d in catalogue.diagnoses if d.startswith("cluster-")}
    for diagnosis in catalogue.diagnoses.values():
        assert diagnosis.id in checked or diagnosis.signatures or diagnosis.lint or \
            diagnosis.id in raised_elsewhere, diagnosis.id


def test_hub_states_map_to_one_id_each():
    catalogue = shipped_catalogue()
    assert catalogue.hub_state_diagnosis("no-token") == "hf-token-missing"
    assert catalogue.hub_state_diagnosis("pending") == "hf-gated-no-access"
    assert catalogue.hub_state_diagnosis("offline") == "hf-unreachable"
    assert catalogue.hub_state_diagnosis("granted") is None


@pytest.mark.parametrize("entry,message", [
    ("    remedy: [reinstall-everything]\n", "unknown remedy step 'reinstall-everything'"),
    ("    remedy: [{torch-build: always}]\n", "'torch-build' takes no argument 'always'"),
    ("    remedy: [install]\n", "`install` names its requirement"),
    ("    explains: [no-such-problem]\n", "'no-such-problem' is not a diagnosis"),
    ("    verdict: psychic\n", "no verdict named 'psychic'"),
    ("    facts_alone: {verdict: arch, sources: [tea-leaves]}\n", "triage reads no tool output 'tea-leaves'"),
    ("    checks:\n      - {name: x-check, title: t, reads: [], rule: no_such_rule}\n",
     "no rule named 'no_such_rule'"),
    ("    checks:\n      - {name: torch-arch, title: t, reads: [], rule: torch_arch}\n",
     "duplicate check name"),
    ("    hub_states: [no-token]\n", "Hub state 'no-token' already means hf-token-missing"),
])
def test_a_bad_entry_is_exit_2_with_file_line_and_key(tmp_path: Path, entry: str, message: str):
    body = "  broken-entry:\n    cause: c\n    fix: f\n" + entry
    folder = _with_entry(tmp_path, body, file="90-lint.yaml")
    with pytest.raises(InputError) as caught:
        load_catalogue(folder)
    text = str(caught.value)
    assert message in text and "90-lint.yaml:" in text
    assert "diagnoses.broken-entry" in text


def test_an_id_declared_in_two_areas_is_refused(tmp_path: Path):
    folder = _with_entry(tmp_path, "  cuda-oom:\n    cause: c\n    fix: f\n", file="60-media.yaml")
    with pytest.raises(InputError, match=r"'cuda-oom' is declared twice \(also 30-nvidia.yaml:\d+\)"):
        load_catalogue(folder)


def test_an_explains_loop_is_refused(tmp_path: Path):
    entries = ("  loop-a:\n    cause: c\n    fix: f\n    explains: [loop-b]\n"
               "  loop-b:\n    cause: c\n    fix: f\n    explains: [loop-a]\n")
    with pytest.raises(InputError, match="loops back"):
        load_catalogue(_with_entry(tmp_path, entries))


def test_the_catalogue_type_is_data_only():
    """An empty catalogue is valid: nothing in the code names a diagnosis it needs to exist."""
    empty = Catalogue()
    assert empty.steps_for("package-missing", "packages-installed") == ()
    assert empty.causes == {} and empty.lint_entries() == []


def _ids_raised_in_code() -> dict[str, set[str]]:
    """String ids the product code hands to a finding or a download error, by file."""
    import ast

    makers = {"make_finding", "finding", "Finding", "DownloadError", "_finding"}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "csm_doctor").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in makers and not (name or "").endswith(("passed", "failed", "warned", "skipped")):
                continue  # Action(id=...) and the like name steps, not diagnoses
            values = [kw.value for kw in node.keywords if kw.arg in ("id", "diagnosis", "finding_id")]
            if name in makers and node.args:
                values.append(node.args[0])
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(str(path.relative_to(ROOT)), set()).add(value.value)
    return found


def test_every_id_the_code_raises_is_declared():
    """Ids are not an enum to edit beside the entry; a literal that names no entry fails here."""
    known = set(shipped_catalogue().diagnoses)
    raised = _ids_raised_in_code()
    assert sum(len(v) for v in raised.values()) >= 15  # the scan sees the smoke, cluster, rule ids
    unknown = {path: ids - known for path, ids in raised.items() if ids - known}
    assert not unknown


def test_recipes_name_declared_ids():
    from csm_doctor.recipe import builtin_recipe_ids

    known = set(shipped_catalogue().diagnoses)
    for recipe_id in builtin_recipe_ids():
        recipe = load_recipe(recipe_id)
        for os_name in ("linux", "windows", "darwin"):
            assert {p.missing_id for p in recipe.packages_for(os_name)} <= known, recipe_id
