"""`csm-doctor lint` as a user runs it: the JSON contract, exit codes, bad input, the catalogue."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lint_support import LINT_FIXTURES, facts_file, run_lint, seed_dataset

from csm_doctor.errors import InputError

WRONG = LINT_FIXTURES / "cosyvoice" / "seed003-wrong-filter.yaml"
CONTRACT_KEYS = {"id", "status", "title", "fix", "file", "line", "key"}


def known_ids() -> set[str]:
    from csm_doctor.catalogue import shipped_catalogue

    return set(shipped_catalogue().diagnoses)


def test_json_is_one_contract_object(run_cli, tmp_path):
    result = run_cli("lint", str(WRONG), "--json", "--facts", facts_file(tmp_path / "t4.json"))
    assert result.code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "csm-doctor/lint/1" and doc["exit_code"] == 1
    assert doc["target"] == str(WRONG) and doc["kind"] == "cosyvoice-config"
    assert doc["recipe"]["id"] == "cosyvoice2-lora" and doc["recipe"]["selected"] == "auto"
    assert "token_max_length" in doc["detected"]
    ids = known_ids()
    order = ["fail", "error", "warn", "pass", "skip"]
    assert [order.index(f["status"]) for f in doc["findings"]] == \
        sorted(order.index(f["status"]) for f in doc["findings"])
    for finding in doc["findings"]:
        assert CONTRACT_KEYS <= finding.keys() and finding["id"] in ids
    first = doc["findings"][0]
    assert (first["file"], first["line"], first["key"]) == (str(WRONG), 2, "token_max_length")
    assert doc["summary"]["fail"] == 1


def test_human_report_names_kind_place_and_fix(run_cli, tmp_path):
    result = run_cli("lint", str(WRONG), "--vram-gb", "15")
    assert result.code == 1
    assert "CosyVoice2 training config (detected: it sets CosyVoice's data pipeline" in result.stdout
    assert f"✗ {WRONG}:2: key 'token_max_length': token_max_length: 0 drops every sample" \
        in result.stdout
    assert "→ token_max_length: 400" in result.stdout
    assert "\x1b[" not in result.stdout


def test_clean_dataset_exits_zero(run_cli, tmp_path):
    root = seed_dataset(tmp_path / "synthetic-dataset")
    result = run_cli("lint", str(root), "-v")
    assert result.code == 0, result.stdout
    assert "Unsloth CSM training dataset" in result.stdout
    assert "No problems found" in result.stdout and "✓" in result.stdout


def test_recipe_option_says_what_it_is(run_cli, tmp_path):
    snippet = tmp_path / "filter.yaml"
    snippet.write_text("token_max_length: 0\n", encoding="utf-8")
    doc = json.loads(run_cli("lint", str(snippet), "--recipe", "cosyvoice2-lora", "--json",
                             "--vram-gb", "15").stdout)
    assert doc["recipe"]["selected"] == "given" and doc["exit_code"] == 1


@pytest.mark.parametrize(("content", "line"), [
    ("train_data_pipeline:\n  - conf:\n      token_max_length: [400\n", 4),
    ("a: 1\nb: 2\na: 3\n", 3),
    ("train_conf:\n\taccum_grad: 8\n", 2),
])
def test_malformed_yaml_is_exit_2_with_file_and_line(run_cli, tmp_path, content, line):
    bad = tmp_path / "train.yaml"
    bad.write_text(content, encoding="utf-8")
    result = run_cli("lint", str(bad), "--recipe", "cosyvoice2-lora")
    assert result.code == 2
    assert f"{bad}:{line}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    as_json = run_cli("lint", str(bad), "--recipe", "cosyvoice2-lora", "--json")
    doc = json.loads(as_json.stdout)
    assert doc["schema"] == "csm-doctor/error/1" and doc["problems"][0]["line"] == line


@pytest.mark.parametrize("args", [
    ["no/such/folder"],
    ["{tmp}/binary.yaml"],
    ["{tmp}/notes.txt"],
    ["{tmp}", "--recipe", "csm-1b"],
    ["{tmp}", "--recipe", "no-such-recipe"],
    ["{wrong}", "--facts", "{tmp}/missing.json"],
    ["{wrong}", "--python", "{tmp}/no-python"],
    ["{tmp}", "--recipe", "csm-1b-unsloth", "--min-audio-seconds", "5", "--max-audio-seconds", "2"],
])
def test_bad_input_is_exit_2_without_traceback(run_cli, tmp_path, args):
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "notes.txt").write_text("shopping list\n", encoding="utf-8")
    argv = [a.format(tmp=tmp_path, wrong=WRONG) for a in args]
    result = run_cli("lint", *argv)
    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("csm-doctor: ") and "Traceback" not in result.stderr


def test_undetectable_folder_asks_for_a_recipe(run_cli, tmp_path):
    result = run_cli("lint", str(tmp_path))
    assert result.code == 2 and "--recipe csm-1b-unsloth|cosyvoice2-lora|songbloom-lora" \
        in result.stderr


# ---------------------------------------------------------------------------- any input

YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False, width=32)
    | st.text(max_size=12) | st.sampled_from(["q_proj,to_q", "ddp", "mps", "muq", "!ref <x>"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["token_max_length", "token_min_length", "max_frames_in_batch",
                         "processor", "conf", "train_data_pipeline", "data_pipeline",
                         "train_conf", "accum_grad", "batch_size", "load_in_4bit", "model_id",
                         "muq_codebook_size", "lora", "target_modules", "strategy", "devices",
                         "device", "sketch_mode", "env", "x"]), inner, max_size=5),
    max_leaves=20)


@pytest.fixture(scope="module")
def quiet_machine(tmp_path_factory):
    return facts_file(tmp_path_factory.mktemp("facts") / "t4.json")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=YAML_VALUES, recipe=st.sampled_from(["csm-1b-unsloth", "cosyvoice2-lora",
                                                 "songbloom-lora", None]))
def test_any_yaml_gives_findings_or_input_error(tmp_path_factory, quiet_machine, data, recipe):
    path = tmp_path_factory.mktemp("yaml") / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    _lint_or_input_error(path, recipe, quiet_machine)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.lists(st.sampled_from(list("abc:-[]{}\"'\\!&|;#= \n\t0129<>") + [
    "--device mps ", "train_japanese.py ", "--muq-codebook-size ", "token_max_length: 0",
    "\\\n", "  - conf:\n", "processor: filter\n", "--lora-target-modules "]),
    max_size=60).map("".join),
       suffix=st.sampled_from([".yaml", ".sh"]),
       recipe=st.sampled_from(["cosyvoice2-lora", "songbloom-lora", "csm-1b-unsloth", None]))
def test_any_text_gives_findings_or_input_error(tmp_path_factory, quiet_machine, text, suffix,
                                                recipe):
    path = tmp_path_factory.mktemp("text") / f"config{suffix}"
    path.write_text(text, encoding="utf-8")
    _lint_or_input_error(path, recipe, quiet_machine)


def _lint_or_input_error(path, recipe, facts) -> None:
    try:
        doc = run_lint(path, recipe, facts_file=facts)
    except InputError as exc:
        assert str(exc).startswith(str(path)) or "--recipe" in str(exc) or "PATH" in str(exc)
        return
    assert doc["exit_code"] in (0, 1)
    for finding in doc["findings"]:
        assert finding["status"] in ("pass", "warn", "fail", "skip")


# ---------------------------------------------------------------------------- catalogue

def test_every_lint_check_is_in_the_catalogue_and_documented():
    from csm_doctor.lint.checks import lint_checks

    checks = lint_checks()
    ids = known_ids()
    assert all(c.id in ids for c in checks.values())
    used = set()
    for module in (ROOT / "csm_doctor" / "lint").glob("*.py"):
        used |= set(re.findall(r'"(lint-(?:unsloth|cosyvoice|songbloom)-[a-z0-9-]+)"',
                               module.read_text(encoding="utf-8")))
    used |= {f"lint-songbloom-{n}" for n in ("vq-codebook", "lora-targets", "ddp",
                                              "muq-device", "mps-env")}  # built by name
    assert used == set(checks)
    page = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    for name, check in checks.items():
        assert f"`{name}`" in page and f"`{check.id}`" in page, name


def test_check_judges_what_the_facts_can_and_points_at_lint(run_cli, tmp_path):
    facts = facts_file(tmp_path / "t4.json", python="3.12.3", torch="2.6.0+cu124", packages={})
    doc = run_cli("check", "--facts", facts, "--recipe", "cosyvoice2-lora", "--json").json()
    lint = {f["check"]: f for f in doc["findings"] if f["group"] == "lint"}
    assert lint["lint-cosyvoice-processgroup"]["status"] == "warn"
    assert lint["lint-cosyvoice-pynini"]["status"] == "warn"
    assert "token_max_length" not in json.dumps(lint)  # file checks: for `lint` only
    assert set(lint) == {"lint-cosyvoice-processgroup", "lint-cosyvoice-pynini"}
    other = run_cli("check", "--facts", facts, "--recipe", "csm-1b", "--json").json()
    assert {f["status"] for f in other["findings"] if f["group"] == "lint"} == {"skip"}
    assert "applies to cosyvoice2-lora" in " ".join(
        f["title"] for f in other["findings"] if f["group"] == "lint")
