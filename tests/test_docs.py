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


def test_the_readme_links_docs_by_the_project_url_and_every_page_exists():
    """README is the wheel's description on the package index, where docs/ does not exist."""
    import re

    from csm_doctor import DOCS_URL

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\]\(docs/", readme), "link docs/ pages by DOCS_URL"
    for page in re.findall(re.escape(DOCS_URL) + r"([a-z-]+\.md)", readme):
        assert (ROOT / "docs" / page).is_file(), page


def test_version_has_one_source():
    import tomllib

    from csm_doctor import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert __version__
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")


def test_the_readme_example_is_the_real_output_of_its_command():
    spec = importlib.util.spec_from_file_location("readme_example", ROOT / "tools/render_readme_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.render(readme) == readme, "run: python tools/render_readme_example.py"
