"""Unsloth CSM fine-tuning (seed 002): the dataset tree and train.py's configs.

Datasets are seed 002's tree (tests/fixtures/lint/unsloth/seed002-dataset-tree.txt) with its
script (seed002-vibevoice-podcast-script.txt) and real tiny WAVs; each trap is one change.
"""

from __future__ import annotations

import shutil

import pytest
from test_lint_support import (
    LINT_FIXTURES,
    SEED_SCRIPT,
    conversation,
    facts_file,
    problems,
    run_lint,
    seed_dataset,
    statuses,
    write_wav,
)

from csm_doctor.errors import InputError

UNSLOTH = LINT_FIXTURES / "unsloth"
EN = ("en", "Conversation_Name", "segments")


@pytest.fixture
def dataset(tmp_path):
    return seed_dataset(tmp_path / "synthetic-dataset")


def segments(root):
    return root.joinpath(*EN)


def test_the_seed_tree_is_what_the_tests_build():
    from test_lint_support import seed_tree

    assert seed_tree() == {"langs": ["de", "en", "_meta"], "conversation": "Conversation_Name",
                           "script": "vibevoice-podcast-script.txt",
                           "wavs": ["001_speaker1.wav", "002_speaker2.wav"]}


def test_seed_dataset_passes(dataset):
    doc = run_lint(dataset)
    assert doc["kind"] == "unsloth-dataset" and doc["recipe"] == "csm-1b-unsloth"
    assert problems(doc) == [] and doc["exit_code"] == 0
    layout = [f for f in doc["findings"] if f["check"] == "lint-unsloth-dataset-layout"][0]
    assert layout["status"] == "pass" and "2 conversation(s), 6 script lines" in layout["title"]
    assert '[1] → "0", [2] → "1"' in layout["details"][0]  # the seed's speaker mapping
    assert {f["check"] for f in doc["findings"] if f["status"] == "pass"} >= {
        "lint-unsloth-audio-channels", "lint-unsloth-audio-rate", "lint-unsloth-audio-length"}


def test_example_gen_layout_passes(tmp_path):
    """seed002-example-gen-tree.txt: example_gen/segments/script.txt, segment_0001_speaker1.wav."""
    root = tmp_path / "example_gen"
    conversation(root / "segments", script_name="script.txt", speakers=[1, 1, 1],
                 script="[1]: a\n[1]: b\n[1]: c\n", name="segment_{i:04d}_speaker{s}.wav")
    doc = run_lint(root)
    assert doc["kind"] == "unsloth-dataset" and problems(doc) == []


def test_missing_wav_shifts_every_pair(dataset):
    (segments(dataset) / "002_speaker2.wav").unlink()
    doc = run_lint(dataset)
    [finding] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert finding["id"] == "dataset-layout-invalid"
    assert finding["file"].endswith("en/Conversation_Name/segments/vibevoice-podcast-script.txt")
    assert finding["line"] == 2  # the line whose WAV is missing
    assert "3 script lines but 2 WAVs" in finding["title"]
    assert finding["details"] == ["no WAV numbered 2"]
    assert doc["exit_code"] == 1


def test_speaker_out_of_step(dataset):
    seg = segments(dataset)
    (seg / "002_speaker2.wav").rename(seg / "002_speaker1.wav")
    doc = run_lint(dataset)
    [finding] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert finding["line"] == 2 and "speaker [2] but its WAV 002_speaker1.wav" in finding["title"]


@pytest.mark.parametrize(("script", "line", "words"), [
    ("[1]: fine\nSpeaker 2: no tag\n[1]: fine\n", 2, "is not `[N]: text`"),
    ("[1]: fine\n[0]: zero\n[1]: fine\n", 2, 'CSM speaker "-1"'),
    ("[1]: fine\n[2]:\n[1]: fine\n", 2, "has no text"),
])
def test_script_lines_are_checked(dataset, script, line, words):
    (segments(dataset) / "vibevoice-podcast-script.txt").write_text(script, encoding="utf-8")
    doc = run_lint(dataset)
    fails = [f for f in doc["findings"] if f["status"] == "fail"]
    assert any(f["line"] == line and words in f["title"] for f in fails), fails


def test_missing_script_names_what_was_found(dataset):
    seg = segments(dataset)
    (seg / "vibevoice-podcast-script.txt").rename(seg / "script.txt")
    doc = run_lint(dataset)
    [finding] = [f for f in doc["findings"] if f["status"] == "fail"]
    assert "no vibevoice-podcast-script.txt (found script.txt)" in finding["title"]


def test_conversation_without_segments(dataset):
    (dataset / "en" / "Other_Talk").mkdir()
    doc = run_lint(dataset)
    assert any("Other_Talk has no segments/ folder" in f["title"] for f in doc["findings"]
               if f["status"] == "fail")


def test_unpadded_names_are_out_of_order(tmp_path):
    script = "".join(f"[1]: line {i}\n" for i in range(1, 11))
    root = tmp_path / "ds"
    conversation(root / "en" / "Talk" / "segments", script=script, speakers=[1] * 10,
                 name="{i}_speaker{s}.wav")
    doc = run_lint(root)
    assert ("lint-unsloth-dataset-layout", "warn") in problems(doc)


def test_stereo_fails_and_16khz_warns(dataset):
    seg = segments(dataset)
    write_wav(seg / "001_speaker1.wav", channels=2)
    write_wav(seg / "003_speaker1.wav", rate=16000)
    doc = run_lint(dataset)
    assert statuses(doc, "lint-unsloth-audio-channels") == ["fail"]
    [rate] = [f for f in doc["findings"] if f["check"] == "lint-unsloth-audio-rate"]
    assert rate["status"] == "warn" and rate["id"] == "audio-sample-rate-mismatch"
    assert rate["observed"] == 16000 and "nothing above 8 kHz" in rate["title"]
    assert doc["exit_code"] == 1  # stereo


def test_resampled_only_is_a_warning(dataset):
    write_wav(segments(dataset) / "003_speaker1.wav", rate=16000)
    assert run_lint(dataset)["exit_code"] == 0


def test_clip_outside_limits_warns_and_limits_are_options(dataset):
    write_wav(segments(dataset) / "002_speaker2.wav", seconds=12.0)
    write_wav(segments(dataset) / "003_speaker1.wav", seconds=0.2)
    doc = run_lint(dataset)
    lengths = [f for f in doc["findings"] if f["check"] == "lint-unsloth-audio-length"]
    assert [f["status"] for f in lengths] == ["warn", "warn"]
    assert {f["id"] for f in lengths} == {"dataset-samples-filtered"}
    assert doc["exit_code"] == 0
    wider = run_lint(dataset, min_audio_seconds=0.1, max_audio_seconds=15.0)
    assert statuses(wider, "lint-unsloth-audio-length") == ["pass"]


def test_every_clip_too_long_learns_nothing(tmp_path):
    root = tmp_path / "ds"
    conversation(root / "en" / "Talk" / "segments", seconds=11.0)
    doc = run_lint(root)
    fail = [f for f in doc["findings"] if f["status"] == "fail"]
    assert [f["id"] for f in fail] == ["dataset-filtered-empty"]


def test_unreadable_wav_is_named(dataset):
    (segments(dataset) / "001_speaker1.wav").write_bytes(b"ID3 not a wav")
    doc = run_lint(dataset)
    assert any(f["status"] == "fail" and "cannot read its WAV header" in f["title"]
               and f["id"] == "dataset-layout-invalid" for f in doc["findings"])


def test_big_datasets_are_capped(tmp_path):
    root = tmp_path / "ds"
    script = "".join(f"[1]: line {i}\n" for i in range(1, 31))
    seg = root / "en" / "Talk" / "segments"
    conversation(seg, script=script, speakers=[1] * 30, seconds=0.05)
    for i in range(1, 31):
        write_wav(seg / f"{i:03d}_speaker1.wav", channels=2, seconds=0.6)
    doc = run_lint(root)
    channel = [f for f in doc["findings"] if f["check"] == "lint-unsloth-audio-channels"]
    assert len(channel) == 21 and channel[-1]["title"].startswith("10 more like this")


def test_a_script_file_lints_its_conversation(dataset):
    doc = run_lint(segments(dataset) / "vibevoice-podcast-script.txt")
    assert doc["kind"] == "unsloth-dataset" and problems(doc) == []


def test_empty_folder_with_recipe_says_no_conversation(tmp_path):
    doc = run_lint(tmp_path, "csm-1b-unsloth")
    assert any("no conversation found" in f["title"] for f in doc["findings"])


# ---------------------------------------------------------------------------- configs

@pytest.mark.parametrize(("config", "status"), [
    ("finetune_param_defaults.yaml", "fail"),          # batch 8 on a T4
    ("finetune_param_defaults_bs4.yaml", "pass"),
    ("finetune_param_defaults_lower_vram.yaml", "pass"),
])
def test_batch_size_against_a_t4(tmp_path, config, status):
    doc = run_lint(UNSLOTH / config, facts_file=facts_file(tmp_path / "t4.json"))
    assert doc["kind"] == "unsloth-config"
    [vram] = [f for f in doc["findings"] if f["check"] == "lint-unsloth-vram"]
    assert vram["status"] == status and vram["line"] == 3 and vram["key"] == "batch_size"
    if status == "fail":
        assert vram["id"] == "vram-insufficient" and "batch_size: 6" in vram["fix"]


def test_batch_8_fits_a_24_gb_card_and_4bit_fits_a_t4(tmp_path):
    assert statuses(run_lint(UNSLOTH / "finetune_param_defaults.yaml", vram_gb=24,
                             facts_file=facts_file(tmp_path / "f.json")),
                    "lint-unsloth-vram") == ["pass"]
    config = tmp_path / "bs6.yaml"
    config.write_text("batch_size: 6\nload_in_4bit: true\nlora_r: 32\n", encoding="utf-8")
    assert statuses(run_lint(config, facts_file=facts_file(tmp_path / "t4.json")),
                    "lint-unsloth-vram") in (["pass"], ["warn"])


def test_estimate_matches_the_notebook_run():
    from csm_doctor.lint.unsloth import estimate_vram_gib

    assert estimate_vram_gib(2, False, False) == pytest.approx(6.719, abs=0.01)
    assert estimate_vram_gib(2, True, False) < estimate_vram_gib(2, False, False)
    assert estimate_vram_gib(2, False, True) > estimate_vram_gib(2, False, False) + 5


def test_unknown_vram_is_a_skip_with_the_estimate(tmp_path):
    doc = run_lint(UNSLOTH / "finetune_param_defaults_bs4.yaml",
                   facts_file=facts_file(tmp_path / "cpu.json", gpu=None))
    [vram] = [f for f in doc["findings"] if f["check"] == "lint-unsloth-vram"]
    assert vram["status"] == "skip" and "10.4 GiB" in vram["title"]


def test_macos_is_refused(tmp_path):
    mac = facts_file(tmp_path / "mac.json", os_name="darwin", arch="arm64", gpu=None,
                     unified_mib=65536)
    doc = run_lint(UNSLOTH / "finetune_param_defaults_lower_vram.yaml", facts_file=mac)
    [os_finding] = [f for f in doc["findings"] if f["check"] == "lint-unsloth-os"]
    assert os_finding["status"] == "fail" and os_finding["id"] == "os-unsupported"
    assert doc["exit_code"] == 1


def test_original_checkpoint_given_to_fastmodel(tmp_path):
    (tmp_path / "csm-original").mkdir()
    (tmp_path / "csm-original" / "ckpt.pt").write_bytes(b"\0")
    config = tmp_path / "train.yaml"
    config.write_text("batch_size: 2\nmodel_id: csm-original\n", encoding="utf-8")
    doc = run_lint(config, vram_gb=15, facts_file=facts_file(tmp_path / "t4.json"))
    [fmt] = [f for f in doc["findings"] if f["check"] == "lint-unsloth-model-format"]
    assert fmt["status"] == "fail" and fmt["id"] == "checkpoint-format-mismatch"
    assert fmt["line"] == 2 and fmt["key"] == "model_id"


def test_unsloth_checkpoint_given_to_the_original_loader(tmp_path):
    out = tmp_path / "outputs"
    out.mkdir()
    (out / "adapter_config.json").write_text("{}", encoding="utf-8")
    config = tmp_path / "gen.yaml"
    config.write_text("model_id: unsloth/csm-1b\nbatch_size: 2\ngenerator:\n"
                      "  ckpt_path: outputs\n", encoding="utf-8")
    doc = run_lint(config, facts_file=facts_file(tmp_path / "t4.json"))
    fails = [f for f in doc["findings"] if f["check"] == "lint-unsloth-model-format"
             and f["status"] == "fail"]
    assert [(f["line"], f["key"]) for f in fails] == [(4, "generator.ckpt_path")]
    assert "CsmForConditionalGeneration" in fails[0]["fix"]


@pytest.mark.parametrize("text", ["batch_size: two\nlora_r: 32\n", "batch_size: 2\nload_in_4bit: maybe\n"])
def test_wrong_types_are_bad_input(tmp_path, text):
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        run_lint(config, "csm-1b-unsloth", facts_file=facts_file(tmp_path / "t4.json"))
    assert caught.value.problems[0].line in (1, 2)


def test_project_lints_each_config_and_example_gen(tmp_path):
    project = tmp_path / "csm-training"
    (project / "configs").mkdir(parents=True)
    for config in ("finetune_param_defaults.yaml", "finetune_param_defaults_bs4.yaml"):
        shutil.copy(UNSLOTH / config, project / "configs" / config)
    (project / "train.py").write_text("# train\n", encoding="utf-8")
    (project / "preprocess_dataset.py").write_text("# preprocess\n", encoding="utf-8")
    conversation(project / "example_gen" / "segments", script_name="script.txt",
                 script=SEED_SCRIPT)
    doc = run_lint(project, facts_file=facts_file(tmp_path / "t4.json"))
    assert doc["kind"] == "unsloth-project"
    assert [(c, s) for c, s in problems(doc)] == [("lint-unsloth-vram", "fail")]
    assert len(doc["files"]) == 3
