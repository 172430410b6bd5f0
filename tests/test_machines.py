"""Every machine in tests/fixtures/machines/<id>/: judged as check judges it, held to its `expect`.

A known problem that `check` judges from facts is tested by data: a facts change on the healthy
H100 machine, the recipe, and what check must say (status, subject, title, remedy commands,
root cause). Each machine is also held to check-and-fix agreement (tests/remedy_support.py).
The format is in tests/fixtures/machines/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, base_facts, machine_from
from remedy_support import assert_check_and_fix_agree, check_view

from csm_doctor.catalogue import shipped_catalogue
from csm_doctor.recipe import load_recipe

MACHINES = sorted((FIXTURES / "machines").glob("*/*.json"))
_EXPECT_KEYS = {"id", "status", "check", "subject", "title_has", "commands", "explained_by"}


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """The facts document a machine file describes."""
    facts = machine_from(base_facts(), **spec.get("changes", {}))
    for name, version in spec.get("packages", {}).items():
        if version is None:
            facts["packages"].pop(name, None)
        else:
            facts["packages"][name] = version
    facts.update(spec.get("facts", {}))
    return facts


@pytest.mark.parametrize("path", MACHINES, ids=[f"{p.parent.name}/{p.stem}" for p in MACHINES])
def test_machine(path: Path):
    spec = json.loads(path.read_text(encoding="utf-8"))
    assert spec["expect"] and spec.get("about"), f"{path}: say what the machine is and what to expect"
    recipe = load_recipe(spec["recipe"])
    facts = build(spec)
    assert_check_and_fix_agree(facts, recipe)
    findings = check_view(facts, recipe)
    for want in spec["expect"]:
        assert set(want) <= _EXPECT_KEYS, f"{path}: unknown keys {set(want) - _EXPECT_KEYS}"
        mine = [f for f in findings if f.id == want["id"]
                and want.get("check", f.check) == f.check and want.get("subject", f.subject) == f.subject]
        assert mine, f"{path}: no {want['id']} finding"
        for finding in mine:
            assert finding.status.value == want["status"], (path.name, finding)
            if "title_has" in want:
                assert want["title_has"] in finding.title, (path.name, finding.title)
            if "commands" in want:
                assert list(finding.remedy.commands if finding.remedy else ()) == want["commands"]
            if "explained_by" in want:
                assert finding.explained_by == want["explained_by"], (path.name, finding)


def test_machine_folders_are_diagnosis_ids():
    known = set(shipped_catalogue().diagnoses)
    assert MACHINES and {p.parent.name for p in MACHINES} <= known
