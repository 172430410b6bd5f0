"""Recipe loading: every shipped recipe valid, bad input named by file:line:key, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

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


ALL_RECIPE_TEXTS = [path.read_text() for path in sorted((ROOT / "recipes").glob("*.yaml"))]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_RECIPE_TEXTS), st.integers(0, 20_000), st.integers(0, 40),
       st.text(max_size=8))
def test_mutated_shipped_recipes_never_traceback(text, position, cut, insert):
    position %= len(text) + 1
    _only_input_errors(text[:position] + insert + text[position + cut:])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["schema", "id", "title", "python", "torch", "packages",
                                        "hardware", "env", "platforms", "gated_repos", "extends",
                                        "checkpoints", "system_tools", "accelerators",
                                        "ascend", "repository", "alternatives"]),
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
    assert [a.recipe for a in recipe.alternatives] == ["csm-1b-transformers"]
    assert [e["name"] for e in recipe.env_for("linux")] == ["NO_TORCH_COMPILE"]


# --- The recipes beyond csm-1b, and the keys they brought -------------------------------------

NEW_RECIPES = ("csm-1b-transformers", "csm-1b-ascend", "csm-1b-unsloth", "cosyvoice2-lora",
               "songbloom-lora")


def _pins(recipe, os_name=None):
    return {p.name: p.spec for p in recipe.packages_for(os_name)}


def test_every_new_recipe_is_shipped_and_cites_sources():
    shipped = builtin_recipe_paths()
    for rid in NEW_RECIPES:
        assert rid in shipped
        recipe = load_recipe(rid)
        assert recipe.raw["sources"], rid
        assert recipe.python_requires and recipe.python_recommended and recipe.torch_version
        assert recipe.hardware.get("disk_free_min_gb"), rid


def test_csm_1b_points_to_its_alternatives():
    recipe = load_recipe("csm-1b")
    assert [a.recipe for a in recipe.alternatives] == ["csm-1b-transformers", "csm-1b-ascend"]
    assert "sm_120" in recipe.alternatives[0].when and "Mac" in recipe.alternatives[0].when
    assert recipe.repository.url == "https://github.com/SesameAILabs/csm"
    assert recipe.checkpoints[0]["format"] == "csm-original"


def test_csm_1b_transformers_pins():
    recipe = load_recipe("csm-1b-transformers")
    assert set(recipe.platforms) == {"linux", "windows", "darwin"}
    assert set(recipe.accelerators) == {"cuda", "mps", "cpu"}
    assert _pins(recipe)["transformers"] == ">=4.52.1"      # CSM is native since 4.52.1
    assert recipe.torch_variants[0] == "cu128"               # the build with Blackwell kernels
    linux_torch = [p for p in recipe.packages_for("linux") if p.name == "torch"]
    mac_torch = [p for p in recipe.packages_for("darwin") if p.name == "torch"]
    assert [(p.spec, p.index) for p in linux_torch] == [(">=2.7.0", "pytorch")]
    assert [(p.spec, p.index) for p in mac_torch] == [(">=2.7.0", None)]
    assert recipe.gated_repos == ("sesame/csm-1b",)          # the processor bundles the tokenizer
    assert recipe.checkpoints[0]["format"] == "transformers"
    assert [e["name"] for e in recipe.env_for("darwin")] == ["PYTORCH_ENABLE_MPS_FALLBACK"]
    assert recipe.env_for("linux") == []
    assert recipe.accelerators_for("darwin") == ("mps", "cpu")
    assert recipe.accelerators_for("linux") == ("cuda", "cpu")
    assert [a.recipe for a in recipe.alternatives] == ["csm-1b-ascend"]


def test_csm_1b_ascend_extends_transformers_with_the_torch_npu_pairing():
    recipe = load_recipe("csm-1b-ascend")
    assert recipe.raw.get("extends") is None                 # resolved
    pins = _pins(recipe)
    assert pins["torch"] == "==2.9.0"
    assert SpecifierSet(pins["torch_npu"]).contains("2.9.0")
    assert not SpecifierSet(pins["torch_npu"]).contains("2.10.0")
    assert pins["transformers"] == ">=5.0.0"
    assert pins["soundfile"] == ""                           # inherited from csm-1b-transformers
    assert [p.name for p in recipe.packages].count("torch") == 1   # the parent's per-OS pair is gone
    assert recipe.python_requires == ">=3.10,<3.13"          # torch_npu 2.9.0 wheels: cp310-cp312
    assert recipe.accelerators == ("npu",) and recipe.platforms == ("linux",)
    assert recipe.torch_variants == ()
    assert recipe.ascend.cann_recommended == "8.5.0"
    assert SpecifierSet(recipe.ascend.cann).contains("8.5.0")
    assert SpecifierSet(recipe.ascend.driver).contains("25.0.rc1", prereleases=True)
    assert not SpecifierSet(recipe.ascend.driver).contains("24.1.1")
    assert recipe.ascend.set_env.endswith("ascend-toolkit/set_env.sh")
    npu = next(p for p in recipe.packages if p.name == "torch_npu")
    assert "torch-npu==2.9.0" in npu.install
    assert {e["name"]: e["value"] for e in recipe.env} == {
        "PYTORCH_NPU_ALLOC_CONF": "expandable_segments:True"}
    assert recipe.gated_repos == () and recipe.checkpoints[0]["hub"] == "modelscope"
    assert [a.recipe for a in recipe.alternatives] == ["csm-1b-transformers"]


def test_csm_1b_unsloth_pins_follow_the_notebook():
    recipe = load_recipe("csm-1b-unsloth")
    pins = _pins(recipe)
    assert pins["transformers"] == "==4.52.3" and pins["trl"] == "==0.22.2"
    assert pins["torch"] == "==2.6.0" and pins["xformers"] == "==0.0.29.post3"
    assert pins["datasets"] == ">=3.4.1,<4.0.0"
    trl = next(p for p in recipe.packages if p.name == "trl")
    assert "--no-deps" in trl.install
    assert "darwin" not in recipe.platforms and recipe.accelerators == ("cuda",)
    assert recipe.hardware["vram_min_gb"] == 8 and recipe.hardware["compute_capability_min"] == 7.0
    assert recipe.checkpoints[0]["repo"] == "unsloth/csm-1b"
    assert recipe.checkpoints[0]["format"] == "transformers"
    assert [p.name for p in recipe.packages_for("windows") if "triton" in p.name] == ["triton-windows"]
    assert SpecifierSet(recipe.python_requires).contains("3.12")
    assert not SpecifierSet(recipe.python_requires).contains("3.13")


def test_cosyvoice2_lora_pins_follow_upstream():
    recipe = load_recipe("cosyvoice2-lora")
    pins = _pins(recipe)
    assert pins["torch"] == "==2.3.1" and pins["torchaudio"] == "==2.3.1"
    assert pins["deepspeed"] == "==0.15.1" and pins["HyperPyYAML"] == "==1.2.3"
    assert recipe.python_recommended == "3.10" and recipe.torch_variants[0] == "cu121"
    assert recipe.repository.submodules == ("third_party/Matcha-TTS",)
    assert "third_party/Matcha-TTS" in recipe.repository.pythonpath
    pynini = next(p for p in recipe.packages if p.name == "pynini")
    assert pynini.spec == "==2.1.5" and "conda-forge" in pynini.install
    assert [t["name"] for t in recipe.system_tools_for("linux")] == ["sox"]
    assert recipe.platforms == ("linux",)
    assert recipe.hardware["vram_min_gb"] <= 15                # a T4 reports 15 GiB
    assert recipe.checkpoints[0]["hub"] == "modelscope"
    assert {"llm.pt", "flow.pt", "CosyVoice-BlankEN"} <= set(recipe.checkpoints[0]["files"])


def test_songbloom_lora_runs_on_mps_or_cuda():
    recipe = load_recipe("songbloom-lora")
    pins = _pins(recipe)
    assert pins["torch"] == "==2.2.0" and pins["torchaudio"] == "==2.2.0"
    assert pins["numpy"] == "<2" and pins["lightning"] == "==2.2.1"
    assert "muq" in pins
    assert SpecifierSet(recipe.python_requires).contains("3.12.12")   # the seed's Python
    assert not SpecifierSet(recipe.python_requires).contains("3.13")
    assert recipe.accelerators_for("darwin") == ("mps",)
    assert recipe.accelerators_for("linux") == ("cuda",)
    mac_env = {e["name"]: e for e in recipe.env_for("darwin")}
    assert mac_env["PYTORCH_ENABLE_MPS_FALLBACK"]["value"] == "1"
    assert mac_env["PYTORCH_ENABLE_MPS_FALLBACK"].get("required") is True
    assert mac_env["DISABLE_FLASH_ATTN"]["value"] == "1"
    assert [e["name"] for e in recipe.env_for("linux")] == ["DISABLE_FLASH_ATTN"]
    assert [p.index for p in recipe.packages_for("darwin") if p.name == "torch"] == [None]
    assert [p.index for p in recipe.packages_for("linux") if p.name == "torch"] == ["pytorch"]


def test_extends_chain_of_three(tmp_path: Path):
    """my-npu-fork → csm-1b-ascend → csm-1b-transformers resolves all the way down."""
    child = tmp_path / "fork.yaml"
    child.write_text("schema: csm-doctor/recipe/1\nid: my-npu-fork\ntitle: Fork\n"
                     "extends: csm-1b-ascend\npackages:\n  - {name: scipy, spec: '>=1.11'}\n")
    recipe = load_recipe(str(child))
    pins = _pins(recipe)
    assert pins["scipy"] == ">=1.11" and pins["torch_npu"] == ">=2.9.0,<2.10"
    assert pins["soundfile"] == ""                       # two levels up
    assert recipe.ascend.cann_recommended == "8.5.0"
    assert [a.recipe for a in recipe.alternatives] == ["csm-1b-transformers"]


def test_inherited_alternative_naming_the_child_is_dropped(tmp_path: Path):
    # A recipe that extends csm-1b-transformers under the id its alternative names.
    child = tmp_path / "csm-1b-ascend.yaml"
    child.write_text("schema: csm-doctor/recipe/1\nid: csm-1b-ascend\ntitle: T\n"
                     "extends: csm-1b-transformers\n")
    assert load_recipe(str(child)).alternatives == ()


def test_child_replaces_a_per_os_package_pair_as_a_whole(tmp_path: Path):
    child = tmp_path / "pin.yaml"
    child.write_text("schema: csm-doctor/recipe/1\nid: pin\ntitle: T\nextends: csm-1b-transformers\n"
                     "packages:\n  - {name: torch, spec: '==2.8.0', index: pytorch}\n"
                     "  - {name: Torch, spec: '==2.8.0', platforms: [darwin]}\n")
    recipe = load_recipe(str(child))
    torches = [(p.spec, p.platforms) for p in recipe.packages if p.key == "torch"]
    assert torches == [("==2.8.0", ()), ("==2.8.0", ("darwin",))]
    assert [p.name for p in recipe.packages][:2] == ["torch", "Torch"]   # in the parent's place


@pytest.mark.parametrize("snippet, line, key", [
    ("ascend:\n  cann: '=>8.5'\n", 6, "ascend.cann"),
    ("ascend:\n  cann_recommended: 8.5\n", 6, "ascend.cann_recommended"),
    ("ascend:\n  driver: 25\n", 6, "ascend.driver"),
    ("ascend:\n  toolkit: x\n", 6, "ascend.toolkit"),
    ("env:\n  - {name: A, platforms: [macos]}\n", 6, "env[0].platforms[0]"),
    ("system_tools:\n  - {name: git}\n", 6, "system_tools[0].name"),
    ("system_tools:\n  - {name: sox, platforms: linux}\n", 6, "system_tools[0].platforms"),
    ("checkpoints:\n  - {repo: a/b, files: [], hub: gitee}\n", 6, "checkpoints[0].hub"),
    ("checkpoints:\n  - {repo: a/b, files: [], format: Transformers Format}\n", 6,
     "checkpoints[0].format"),
    ("hardware:\n  compute_capability_min: -7\n", 6, "hardware.compute_capability_min"),
    ("hardware:\n  compute_capability_min: '7.0'\n", 6, "hardware.compute_capability_min"),
    ("packages:\n  - {name: a, install: '  '}\n", 6, "packages[0].install"),
    ("repository:\n  url: github.com/x/y\n", 6, "repository.url"),
    ("repository:\n  url: https://github.com/x/y\n  submodules: [/abs/path]\n", 7,
     "repository.submodules[0]"),
    ("repository:\n  submodules: [third_party/x]\n", 5, "repository.url"),
    ("alternatives:\n  - {recipe: no-such-recipe, when: x}\n", 6, "alternatives[0].recipe"),
    ("alternatives:\n  - {recipe: x, when: x}\n", 6, "alternatives[0].recipe"),
    ("alternatives:\n  - {recipe: csm-1b}\n", 6, "alternatives[0].when"),
    ("alternatives:\n  - {recipe: Csm 1B, when: x}\n", 6, "alternatives[0].recipe"),
    ("alternatives: csm-1b\n", 5, "alternatives"),
])
def test_new_keys_reject_bad_values_with_file_line_key(snippet, line, key):
    text = "schema: csm-doctor/recipe/1\nid: x\ntitle: X\nplatforms: [linux]\n" + snippet
    with pytest.raises(InputError) as caught:
        parse_recipe(text, "r.yaml")
    rendered = str(caught.value).splitlines()
    assert any(row.startswith(f"r.yaml:{line}: key '{key}'") for row in rendered), rendered


def test_new_keys_accept_good_values():
    doc = parse_recipe(
        "schema: csm-doctor/recipe/1\nid: x\ntitle: X\n"
        "ascend: {cann: '>=8.0.0', cann_recommended: '8.5.0', driver: '>=25.0.rc1',"
        " set_env: /usr/local/Ascend/ascend-toolkit/set_env.sh}\n"
        "system_tools: [{name: sox, optional: true, platforms: [linux]}]\n"
        "repository: {url: 'git@github.com:x/y.git', submodules: [third_party/m], pythonpath: ['.']}\n"
        "checkpoints: [{repo: iic/x, files: [a.pt], hub: modelscope, format: cosyvoice2}]\n"
        "hardware: {compute_capability_min: 7.5}\n"
        "env: [{name: A, value: '1', platforms: [darwin], required: true}]\n"
        "packages: [{name: pynini, install: conda install -c conda-forge pynini==2.1.5}]\n"
        "alternatives: [{recipe: csm-1b, when: the GPU is too new}]\n", "x.yaml")
    assert doc["alternatives"] == [{"recipe": "csm-1b", "when": "the GPU is too new"}]
