"""CosyVoice2 LoRA (seed 003): the training YAML and the checkout's own traps.

The YAML fixtures are seed 003's blocks verbatim (tests/fixtures/lint/cosyvoice/*.source.txt);
each trap is that config with one value changed back to what cost the seed its runs.
"""

from __future__ import annotations

import shutil

import pytest
from test_lint_support import LINT_FIXTURES, facts_file, problems, run_lint, statuses

COSY = LINT_FIXTURES / "cosyvoice"
SEED_CONFIG = COSY / "seed003-train_lora_llm_flow.yaml"

# An unpatched cosyvoice_join, written for these tests: it reads the barrier timeout from the
# process group's options, as upstream's cosyvoice/utils/train_utils.py does.
UNPATCHED_JOIN = '''\
import torch.distributed as dist


def cosyvoice_join(group_join, info_dict):
    if info_dict["batch_idx"] != 0:
        try:
            dist.monitored_barrier(group=group_join, timeout=group_join.options._timeout)
            return False
        except RuntimeError:
            return True
    return False
'''
# The same with only the seed's single-GPU guard (multi-GPU runs still read .options).
GUARDED_JOIN = UNPATCHED_JOIN.replace(
    "def cosyvoice_join(group_join, info_dict):\n",
    "def cosyvoice_join(group_join, info_dict):\n    world_size = 1\n"
    "    if world_size <= 1:\n        return False\n")

# A HyperPyYAML config in upstream's dialect (tags, !ref pipeline), written for these tests.
HYPERPYYAML = """\
sample_rate: 24000
__set_seed1: !apply:random.seed [1986]
filter: !name:cosyvoice.dataset.processor.filter
    max_length: 40960
    min_length: 100
    token_max_length: {token_max}
    token_min_length: 1
resample: !name:cosyvoice.dataset.processor.resample
    resample_rate: !ref <sample_rate>
batch: !name:cosyvoice.dataset.processor.batch
    batch_type: 'dynamic'
    max_frames_in_batch: {frames}
data_pipeline: [
    !ref <filter>,
    !ref <resample>,
    !ref <batch>,
]
train_conf:
    accum_grad: 2
"""


@pytest.fixture
def t4(tmp_path):
    return facts_file(tmp_path / "t4.json", python="3.10.14", torch="2.3.1+cu121",
                      packages={"torch": "2.3.1", "pynini": "2.1.5"})


def changed(tmp_path, old: str, new: str):
    text = SEED_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "train_lora_llm_flow.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_seed_snippet_wrong_filter_fails_at_its_line(t4):
    doc = run_lint(COSY / "seed003-wrong-filter.yaml", facts_file=t4)
    assert doc["kind"] == "cosyvoice-config" and doc["exit_code"] == 1
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert (fail["id"], fail["line"], fail["key"]) == ("dataset-filtered-empty", 2,
                                                       "token_max_length")
    assert "token_max_length: 400" in fail["fix"]
    [warn] = [f for f in doc["findings"] if f["status"] == "warn"]
    assert (warn["line"], warn["key"]) == (3, "token_min_length")


def test_seed_snippet_right_filter_passes(t4):
    doc = run_lint(COSY / "seed003-right-filter.yaml", facts_file=t4)
    assert problems(doc) == [] and doc["exit_code"] == 0


def test_seed_config_passes_on_its_t4(t4):
    doc = run_lint(SEED_CONFIG, facts_file=t4)
    assert problems(doc) == []
    assert statuses(doc, "lint-cosyvoice-filter") == ["pass"]
    assert statuses(doc, "lint-cosyvoice-batch-frames") == ["pass"]
    assert statuses(doc, "lint-cosyvoice-accum-grad") == ["pass"]


def test_token_max_length_zero_in_the_full_config(tmp_path, t4):
    path = changed(tmp_path, "token_max_length: 400", "token_max_length: 0")
    doc = run_lint(path, facts_file=t4)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["line"] == 10
    assert fail["key"] == "train_data_pipeline[1].conf.token_max_length"


def test_min_above_max_drops_everything(tmp_path, t4):
    path = changed(tmp_path, "token_min_length: 1 ", "token_min_length: 500 ")
    doc = run_lint(path, facts_file=t4)
    assert any("no sample can pass" in f["title"] for f in doc["findings"] if f["status"] == "fail")


def test_upstream_batch_on_a_t4_warns_and_fits_an_h100(tmp_path, t4):
    path = changed(tmp_path, "max_frames_in_batch: 400", "max_frames_in_batch: 2500")
    doc = run_lint(path, facts_file=t4)
    [warn] = [f for f in doc["findings"] if f["check"] == "lint-cosyvoice-batch-frames"]
    assert warn["status"] == "warn" and warn["id"] == "cuda-oom" and warn["line"] == 14
    assert warn["expected"] == "<= 400"
    h100 = facts_file(tmp_path / "h100.json", gpu=("NVIDIA H100 80GB HBM3", 81559))
    assert statuses(run_lint(path, facts_file=h100), "lint-cosyvoice-batch-frames") == ["pass"]


def test_unknown_gpu_memory_is_a_skip(tmp_path):
    doc = run_lint(SEED_CONFIG, facts_file=facts_file(tmp_path / "cpu.json", gpu=None))
    assert statuses(doc, "lint-cosyvoice-batch-frames") == ["skip"]
    assert statuses(run_lint(SEED_CONFIG, vram_gb=15, facts_file=facts_file(
        tmp_path / "cpu2.json", gpu=None)), "lint-cosyvoice-batch-frames") == ["pass"]


def test_small_accum_grad_with_small_batches(tmp_path, t4):
    path = changed(tmp_path, "accum_grad: 8 ", "accum_grad: 2 ")
    doc = run_lint(path, facts_file=t4)
    [warn] = [f for f in doc["findings"] if f["check"] == "lint-cosyvoice-accum-grad"]
    assert (warn["status"], warn["id"], warn["line"]) == ("warn", "effective-batch-small", 24)
    assert warn["fix"] == "train_conf.accum_grad: 8"
    assert doc["exit_code"] == 0


@pytest.mark.parametrize(("token_max", "frames", "expect"), [
    (0, 400, ("lint-cosyvoice-filter", "fail")),
    (200, 2500, ("lint-cosyvoice-batch-frames", "warn")),
    (200, 400, ("lint-cosyvoice-accum-grad", "warn")),   # 400 × 2 = 800 frames a step
])
def test_hyperpyyaml_dialect(tmp_path, t4, token_max, frames, expect):
    path = tmp_path / "cosyvoice2.yaml"
    path.write_text(HYPERPYYAML.format(token_max=token_max, frames=frames), encoding="utf-8")
    doc = run_lint(path, facts_file=t4)
    assert doc["kind"] == "cosyvoice-config"
    assert expect in problems(doc)
    if expect[0] == "lint-cosyvoice-filter":
        [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
        assert (fail["line"], fail["key"]) == (6, "filter.token_max_length")


# ---------------------------------------------------------------------------- checkout

def checkout(root, join=UNPATCHED_JOIN, matcha=True, requirements="torch==2.3.1\nwetext==0.0.4\n"):
    (root / "cosyvoice" / "utils").mkdir(parents=True)
    (root / "cosyvoice" / "utils" / "train_utils.py").write_text(join, encoding="utf-8")
    (root / "third_party" / "Matcha-TTS").mkdir(parents=True)
    if matcha:
        (root / "third_party" / "Matcha-TTS" / "setup.py").write_text("# matcha\n",
                                                                       encoding="utf-8")
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    (root / "lora_narisawa2").mkdir()
    shutil.copy(SEED_CONFIG, root / "lora_narisawa2" / "train_lora_llm_flow.yaml")
    (root / "examples" / "libritts").mkdir(parents=True)  # upstream examples are not linted
    (root / "examples" / "libritts" / "cosyvoice2.yaml").write_text(
        HYPERPYYAML.format(token_max=0, frames=2500), encoding="utf-8")
    return root


def test_checkout_on_its_pinned_torch_passes(tmp_path, t4):
    doc = run_lint(checkout(tmp_path / "CosyVoice"), facts_file=t4)
    assert doc["kind"] == "cosyvoice-project"
    assert problems(doc) == []
    assert any(f.endswith("lora_narisawa2/train_lora_llm_flow.yaml") for f in doc["files"])


def test_processgroup_options_on_a_newer_torch(tmp_path):
    newer = facts_file(tmp_path / "new.json", torch="2.6.0+cu124",
                       packages={"torch": "2.6.0", "pynini": "2.1.5"})
    doc = run_lint(checkout(tmp_path / "CosyVoice"), facts_file=newer)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["id"] == "processgroup-options-missing"
    assert fail["file"].endswith("cosyvoice/utils/train_utils.py") and fail["line"] == 7


def test_seed_patch_passes_and_guard_only_warns(tmp_path):
    newer = facts_file(tmp_path / "new.json", torch="2.6.0+cu124", packages={})
    patched = "import datetime\nimport os\nimport torch.distributed as dist\n\n\n" + \
        (COSY / "seed003-cosyvoice_join-patched.py").read_text(encoding="utf-8")
    doc = run_lint(checkout(tmp_path / "a", join=patched), facts_file=newer)
    assert statuses(doc, "lint-cosyvoice-processgroup") == ["pass"]
    doc = run_lint(checkout(tmp_path / "b", join=GUARDED_JOIN), facts_file=newer)
    assert statuses(doc, "lint-cosyvoice-processgroup") == ["warn"]


def test_unknown_torch_warns(tmp_path):
    doc = run_lint(checkout(tmp_path / "CosyVoice"),
                   facts_file=facts_file(tmp_path / "f.json", torch=None))
    assert statuses(doc, "lint-cosyvoice-processgroup") == ["warn"]


def test_processgroup_with_the_real_torch_of_an_environment(tmp_path, run_cli, torch_venv):
    """--python: torch 2.13.0's metadata, read from a real venv (never imported)."""
    import json

    result = run_cli("lint", str(checkout(tmp_path / "CosyVoice")), "--python", str(torch_venv),
                     "--json")
    doc = json.loads(result.stdout)
    [finding] = [f for f in doc["findings"] if f["check"] == "lint-cosyvoice-processgroup"]
    assert finding["status"] == "fail" and "torch 2.13.0" in finding["title"]
    assert doc["machine"]["facts_used"]["torch.version"].startswith("2.13.0")


@pytest.mark.parametrize("matcha_state", ["empty", "missing"])
def test_matcha_submodule(tmp_path, t4, matcha_state):
    root = checkout(tmp_path / "CosyVoice", matcha=False)
    if matcha_state == "missing":
        (root / "third_party" / "Matcha-TTS").rmdir()
    doc = run_lint(root, facts_file=t4)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["id"] == "git-submodule-missing" and fail["file"].endswith("third_party/Matcha-TTS")


@pytest.mark.parametrize(("os_name", "python", "status"), [
    ("linux", "3.10.14", "pass"), ("linux", "3.11.9", "pass"), ("linux", "3.12.3", "fail"),
    ("windows", "3.10.11", "fail"), ("darwin", "3.10.14", "fail"),
])
def test_pynini_for_wetextprocessing(tmp_path, os_name, python, status):
    root = checkout(tmp_path / "CosyVoice", requirements="WeTextProcessing==1.0.3\n")
    facts = facts_file(tmp_path / "f.json", os_name=os_name, python=python,
                       torch="2.3.1", packages={"torch": "2.3.1"})
    assert statuses(run_lint(root, facts_file=facts), "lint-cosyvoice-pynini") == [status]


def test_pynini_installed_or_not_needed(tmp_path):
    root = checkout(tmp_path / "CosyVoice", requirements="WeTextProcessing==1.0.3\n")
    conda = facts_file(tmp_path / "c.json", python="3.12.3", torch="2.3.1",
                       packages={"pynini": "2.1.5"})
    assert statuses(run_lint(root, facts_file=conda), "lint-cosyvoice-pynini") == ["pass"]
    win = facts_file(tmp_path / "w.json", os_name="windows", torch="2.3.1", packages={})
    assert statuses(run_lint(checkout(tmp_path / "new"), facts_file=win),
                    "lint-cosyvoice-pynini") == ["pass"]  # wetext: no pynini


def test_config_inside_a_checkout_judges_the_checkout_too(tmp_path):
    root = checkout(tmp_path / "CosyVoice", matcha=False)
    newer = facts_file(tmp_path / "new.json", torch="2.6.0", packages={})
    doc = run_lint(root / "lora_narisawa2" / "train_lora_llm_flow.yaml", facts_file=newer)
    assert doc["kind"] == "cosyvoice-config"
    assert {c for c, s in problems(doc) if s == "fail"} == {
        "lint-cosyvoice-processgroup", "lint-cosyvoice-submodule"}
