"""Docs that are generated from data must not drift from it."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def test_diagnoses_page_matches_the_data():
    spec = importlib.util.spec_from_file_location("render", ROOT / "tools/render_diagnoses.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs/diagnoses.md").read_text(encoding="utf-8") == module.render(), \
        "run: python tools/render_diagnoses.py > docs/diagnoses.md"


def test_every_facts_section_is_documented():
    from csm_doctor.facts import SECTIONS

    page = (ROOT / "docs/facts.md").read_text(encoding="utf-8")
    for section in SECTIONS + ("probes",):
        assert f"`{section}`" in page, section
