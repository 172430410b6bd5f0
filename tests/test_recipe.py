"""Recipe loading: every shipped recipe valid, bad input named by file:line:key, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from csm_doctor.catalogue import load_catalogue
from csm_doctor.errors import InputError
from csm_doctor.recipe import builtin_recipe_paths, load_recipe, parse_recipe

CSM_1B = (ROOT / "recipes/csm-1b.yaml").read_text()


def test_shipped_recipes_and_catalogue_are_valid():
    assert "csm-1b" in builtin_recipe_paths()
    for rid in builtin_recipe_paths():
        assert load_recipe(rid).id == rid
    catalogue = load_catalogue()
    assert catalogue.checks and all(c.id in catalogue.diagnoses for c in catalogue.checks)


def test_csm_1b_pins_match_the_official_requirements():
    recipe = load_recipe("csm-1b")
    pins = {p.name: p.spec for p in recipe.packages}
    assert pins["torch"] == "==2.4.0" and pins["torchaudio"] == "==2.4.0"
    assert pins["transformers"] == "==4.49.0" and pins["tokenizers"] == "==0.21.0"
    assert pins["huggingface_hub"] == "==0.28.1" and pins["moshi"] == "==0.2.2"
    assert pins["torchtune"] == "==0.4.0" and pins["torchao"] == "==0.9.0"
    assert recipe.torch_variants[0] == "cu124"
    assert set(recipe.gated_repos) == {"sesame/csm-1b", "meta-llama/Llama-3.2-1B"}
    assert recipe.hardware["vram_min_gb"] == 4.5
    assert [p.name for p in recipe.packages_for("windows") if "triton" in p.name] == ["triton-windows"]
    assert [p.name for p in recipe.packages_for("linux") if "triton" in p.name] == ["triton"]


def test_requirement_string_form():
    doc = parse_recipe("schema: csm-doctor/recipe/1\nid: x\ntitle: X\npackages: ['moshi==0.2.2']\n", "x.yaml")
    assert doc["packages"] == [{"name": "moshi", "spec": "==0.2.2"}]


def test_extends_merges_packages(tmp_path: Path):
    child = tmp_path / "child.yaml"
    child.write_text("schema: csm-doctor/recipe/1\nid: child\ntitle: Child\nextends: csm-1b\n"
                     "packages:\n  - {name: transformers, spec: '>=4.52.1'}\n")
    recipe = load_recipe(str(child))
    pins = {p.name: p.spec for p in recipe.packages}
    assert pins["transformers"] == ">=4.52.1" and pins["moshi"] == "==0.2.2"
    assert recipe.gated_repos == load_recipe("csm-1b").gated_repos


def test_extends_cycle(tmp_path: Path):
    path = tmp_path / "loop.yaml"
    path.write_text("schema: csm-doctor/recipe/1\nid: loop\ntitle: L\nextends: loop\n")
    with pytest.raises(InputError, match="cycle"):
        load_recipe(str(path))


def test_all_problems_reported_with_lines():
    text = ("schema: csm-doctor/recipe/1\nid: Bad Id\ntitle: 3\nplatforms: [linux, beos]\n"
            "hardware:\n  vram_min_gb: -1\n")
    with pytest.raises(InputError) as caught:
        parse_recipe(text, "r.yaml")
    rendered = str(caught.value).splitlines()
    assert any(line.startswith("r.yaml:2: key 'id'") for line in rendered)
    assert any(line.startswith("r.yaml:3: key 'title'") for line in rendered)
    assert any(line.startswith("r.yaml:4: key 'platforms[1]'") for line in rendered)
    assert any(line.startswith("r.yaml:6: key 'hardware.vram_min_gb'") for line in rendered)


def test_duplicate_key():
    with pytest.raises(InputError, match=r"r.yaml:3: key 'id': duplicate key"):
        parse_recipe("schema: csm-doctor/recipe/1\nid: a\nid: b\ntitle: T\n", "r.yaml")


def _only_input_errors(text: str) -> None:
    try:
        parse_recipe(text, "fuzz.yaml")
    except InputError as exc:
        rendered = str(exc)
        assert rendered.startswith("fuzz.yaml")
        assert "Traceback" not in rendered


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=12))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_values)
def test_random_yaml_documents_never_traceback(value):
    _only_input_errors(yaml.safe_dump(value))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_tracebacks(text):
    _only_input_errors(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(CSM_1B)), st.integers(0, 40), st.text(max_size=8))
def test_mutated_real_recipe_never_tracebacks(position, cut, insert):
    _only_input_errors(CSM_1B[:position] + insert + CSM_1B[position + cut:])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["schema", "id", "title", "python", "torch", "packages",
                                        "hardware", "env", "platforms", "gated_repos", "extends",
                                        "checkpoints", "system_tools", "accelerators"]),
                       yaml_values, max_size=8))
def test_random_recipe_shaped_documents_never_traceback(doc):
    _only_input_errors(yaml.safe_dump(doc))


def test_worked_example_in_the_docs_is_valid(tmp_path: Path):
    page = (ROOT / "docs/recipes.md").read_text()
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "my-csm-fork.yaml"
    path.write_text(example)
    recipe = load_recipe(str(path))
    pins = {p.name: p.spec for p in recipe.packages}
    assert pins["transformers"] == ">=4.52.1" and pins["accelerate"] == ">=1.0"
    assert pins["moshi"] == "==0.2.2"  # inherited from csm-1b
