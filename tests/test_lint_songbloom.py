"""SongBloom LoRA (seed 004): launch scripts and configs of the ayutaz/SongBloom fork.

The scripts are seed 004's command blocks verbatim (tests/fixtures/lint/songbloom/*.source.txt);
each trap is that command with one flag changed back to what cost the seed its runs.
"""

from __future__ import annotations

import pytest
from test_lint_support import LINT_FIXTURES, facts_file, problems, run_lint, statuses

from csm_doctor.errors import InputError

SONG = LINT_FIXTURES / "songbloom"
TRAIN = (SONG / "seed004-train-multigpu.sh").read_text(encoding="utf-8")
VQ = (SONG / "seed004-train-vq-codebook.sh").read_text(encoding="utf-8")
INFER = (SONG / "seed004-infer-mps.sh").read_text(encoding="utf-8")
TARGETS = (SONG / "seed004-lora-targets.sh").read_text(encoding="utf-8").splitlines()
GOOD_TARGETS = TARGETS[1]   # 推奨（ARのみ）: --lora-target-modules "q_proj,v_proj"
BAD_TARGETS = TARGETS[4]    # 非推奨: --lora-target-modules "q_proj,v_proj,to_q,to_kv,to_qkv"
assert "to_qkv" in BAD_TARGETS and "to_q" not in GOOD_TARGETS


@pytest.fixture
def linux(tmp_path):
    return facts_file(tmp_path / "linux.json", torch="2.2.0", env={}, gpu_count=4)  # the seed's 4 x T4


@pytest.fixture
def mac(tmp_path):
    return facts_file(tmp_path / "mac.json", os_name="darwin", arch="arm64", gpu=None,
                      torch="2.2.0", unified_mib=65536, env={})


def script(tmp_path, text: str, name: str = "run.sh"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_flag(text: str, flag_line: str) -> str:
    """The command with one more continuation line (the seed's flags are one per line)."""
    return text.rstrip("\n") + " \\\n  " + flag_line.strip() + "\n"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_seed_data_preparation_has_nothing_to_judge(linux):
    doc = run_lint(SONG / "seed004-prepare-jacappella.sh", facts_file=linux)
    assert doc["kind"] == "songbloom-script" and doc["exit_code"] == 0
    assert {f["status"] for f in doc["findings"]} == {"skip"}


def test_seed_training_command_asks_for_explicit_targets(tmp_path, linux):
    doc = run_lint(script(tmp_path, TRAIN), facts_file=linux)
    assert doc["kind"] == "songbloom-script" and doc["recipe"] == "songbloom-lora"
    assert problems(doc) == [("lint-songbloom-lora-targets", "warn")]
    assert statuses(doc, "lint-songbloom-vq-codebook") == ["pass"]
    assert statuses(doc, "lint-songbloom-ddp") == ["pass"]


def test_seed_training_command_with_the_recommended_targets_passes(tmp_path, linux):
    doc = run_lint(script(tmp_path, with_flag(TRAIN, GOOD_TARGETS)), facts_file=linux)
    assert problems(doc) == [] and doc["exit_code"] == 0


def test_dit_targets_kill_the_vocals(tmp_path, linux):
    text = with_flag(TRAIN, BAD_TARGETS)
    doc = run_lint(script(tmp_path, text), facts_file=linux)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["id"] == "lora-targets-break-generator"
    assert fail["line"] == line_of(text, "to_qkv") and fail["key"] == "--lora-target-modules"
    assert "to_kv, to_q, to_qkv" in fail["title"]
    assert fail["fix"].startswith('--lora-target-modules "q_proj,v_proj"')


@pytest.mark.parametrize("target", ["q", "kv", "all-linear"])
def test_targets_match_by_substring(tmp_path, linux, target):
    doc = run_lint(script(tmp_path, with_flag(TRAIN, f"--lora-target-modules {target}")),
                   facts_file=linux)
    assert statuses(doc, "lint-songbloom-lora-targets") == ["fail"]


@pytest.mark.parametrize("change", ["16384", "drop"])
def test_codebook_larger_than_the_embedding(tmp_path, linux, change):
    if change == "drop":  # --sketch-mode muq without a size: train_japanese.py's 16384
        text = TRAIN.replace("  --muq-codebook-size 129 \\\n", "")
    else:
        text = TRAIN.replace("--muq-codebook-size 129", "--muq-codebook-size 16384")
    text = with_flag(text, GOOD_TARGETS)
    doc = run_lint(script(tmp_path, text), facts_file=linux)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["id"] == "vq-codebook-mismatch" and "ln(16384) ≈ 9.7" in fail["title"]
    assert fail["line"] == (line_of(text, "16384") if change == "16384" else 1)


def test_vq_step_codebook_and_device(tmp_path, linux):
    assert problems(run_lint(script(tmp_path, VQ, "vq.sh"), facts_file=linux)) == []
    big = run_lint(script(tmp_path, VQ.replace("--codebook-size 129", "--codebook-size 16384"),
                          "big.sh"), facts_file=linux)
    assert problems(big) == [("lint-songbloom-vq-codebook", "fail")]
    text = VQ.replace("--device cuda", "--device mps")
    mps = run_lint(script(tmp_path, text, "mps.sh"), facts_file=linux)
    [fail] = [f for f in mps["findings"] if f["check"] == "lint-songbloom-muq-device"]
    assert (fail["status"], fail["id"], fail["line"]) == ("fail", "mps-op-unsupported",
                                                          line_of(text, "--device mps"))


def test_muq_device_mps_in_training(tmp_path, linux):
    doc = run_lint(script(tmp_path, with_flag(with_flag(TRAIN, GOOD_TARGETS),
                                              "--muq-device mps")), facts_file=linux)
    assert ("lint-songbloom-muq-device", "fail") in problems(doc)


@pytest.mark.parametrize(("old", "new", "title"), [
    ("--strategy ddp_find_unused_parameters_true", "--strategy ddp", "--strategy ddp"),
    ("  --strategy ddp_find_unused_parameters_true \\\n", "", "4 devices"),
])
def test_ddp_with_lora_needs_find_unused(tmp_path, linux, old, new, title):
    text = with_flag(TRAIN.replace(old, new), GOOD_TARGETS)
    doc = run_lint(script(tmp_path, text), facts_file=linux)
    [fail] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert fail["id"] == "ddp-unused-parameters" and title in fail["title"]
    assert fail["fix"] == "--strategy ddp_find_unused_parameters_true"


def test_seed_mps_inference_passes(tmp_path, mac):
    assert problems(run_lint(script(tmp_path, INFER), facts_file=mac)) == []


def test_mps_without_the_environment(tmp_path, mac):
    text = INFER.replace("PYTORCH_ENABLE_MPS_FALLBACK=1 DISABLE_FLASH_ATTN=1 \\\n", "")
    doc = run_lint(script(tmp_path, text), facts_file=mac)
    env = {f["subject"]: f["status"] for f in doc["findings"]
           if f["check"] == "lint-songbloom-mps-env"}
    assert env == {"PYTORCH_ENABLE_MPS_FALLBACK": "fail", "DISABLE_FLASH_ATTN": "warn"}
    assert doc["exit_code"] == 1
    shell_has_it = facts_file(tmp_path / "set.json", os_name="darwin", gpu=None,
                              env={"PYTORCH_ENABLE_MPS_FALLBACK": "1", "DISABLE_FLASH_ATTN": "1"})
    assert problems(run_lint(script(tmp_path, text), facts_file=shell_has_it)) == []


def test_exports_and_sourced_env_files_count(tmp_path, mac):
    body = INFER.replace("PYTORCH_ENABLE_MPS_FALLBACK=1 DISABLE_FLASH_ATTN=1 \\\n", "")
    exported = "export PYTORCH_ENABLE_MPS_FALLBACK=1\nexport DISABLE_FLASH_ATTN=1\n" + body
    assert problems(run_lint(script(tmp_path, exported), facts_file=mac)) == []
    (tmp_path / "set_env.sh").write_text("export PYTORCH_ENABLE_MPS_FALLBACK=1\n"
                                         "export DISABLE_FLASH_ATTN=1\n", encoding="utf-8")
    sourced = "source set_env.sh\n" + body
    assert problems(run_lint(script(tmp_path, sourced, "s.sh"), facts_file=mac)) == []


def test_here_documents_are_data_not_commands(tmp_path, mac):
    text = ("cat <<'EOF' > notes.txt\ndon't run infer.py --device mps here\nEOF\n" + INFER)
    doc = run_lint(script(tmp_path, text), facts_file=mac)
    assert problems(doc) == []
    assert {f["line"] for f in doc["findings"] if f["check"] == "lint-songbloom-mps-env"} == {4}


def test_bfloat16_on_mps_warns(tmp_path, mac):
    doc = run_lint(script(tmp_path, INFER.replace("--dtype float32", "--dtype bfloat16")),
                   facts_file=mac)
    assert problems(doc) == [("lint-songbloom-muq-device", "warn")]


def test_unbalanced_quote_is_bad_input_with_its_line(tmp_path, linux):
    text = with_flag(TRAIN, '--lora-target-modules "q_proj,v_proj')
    with pytest.raises(InputError) as caught:
        run_lint(script(tmp_path, text), facts_file=linux)
    assert caught.value.problems[0].line == 1  # the command the quote broke


CONFIG = """\
sketch_mode: muq
muq_codebook_size: {codebook}
lora:
  rank: 16
  target_modules: [{targets}]
trainer:
  devices: 4
  strategy: {strategy}
"""


def test_yaml_config_traps_and_fix(tmp_path, linux):
    bad = tmp_path / "songbloom_lora.yaml"
    bad.write_text(CONFIG.format(codebook=16384, targets="q_proj, v_proj, to_q",
                                 strategy="ddp"), encoding="utf-8")
    doc = run_lint(bad, facts_file=linux)
    assert doc["kind"] == "songbloom-config"
    where = {f["check"]: (f["line"], f["key"]) for f in doc["findings"] if f["status"] == "fail"}
    assert where == {"lint-songbloom-vq-codebook": (2, "muq_codebook_size"),
                     "lint-songbloom-lora-targets": (5, "lora.target_modules"),
                     "lint-songbloom-ddp": (8, "trainer.strategy")}
    good = tmp_path / "fixed.yaml"
    good.write_text(CONFIG.format(codebook=129, targets="q_proj, v_proj",
                                  strategy="ddp_find_unused_parameters_true"), encoding="utf-8")
    assert problems(run_lint(good, facts_file=linux)) == []


def test_project_reads_its_launch_scripts(tmp_path, linux):
    root = tmp_path / "SongBloom-fork"
    (root / "SongBloom").mkdir(parents=True)
    (root / "train_japanese.py").write_text("# the fork's trainer\n", encoding="utf-8")
    (root / "scripts").mkdir()
    script(root / "scripts", with_flag(TRAIN, BAD_TARGETS), "train_4gpu.sh")
    script(root, VQ, "vq.sh")
    doc = run_lint(root, facts_file=linux)
    assert doc["kind"] == "songbloom-project" and len(doc["files"]) == 2
    assert problems(doc) == [("lint-songbloom-lora-targets", "fail")]
