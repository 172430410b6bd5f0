"""The command-line contract: one JSON object, exit codes, file:line:key errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROBE_FIXTURES, ROOT, cat_script

CONTRACT_PATHS = ["os.name", "python.version", "torch.version", "torch.cuda",
                  "nvidia.driver_version", "nvidia.cuda_version", "nvidia.gpus",
                  "ascend.npus", "ascend.npu_smi_version", "ffmpeg.version"]
STATUSES = {"pass", "warn", "fail", "skip", "error"}


def known_ids() -> set[str]:
    from csm_doctor.catalogue import shipped_catalogue

    return set(shipped_catalogue().diagnoses)


def has_path(doc: dict, dotted: str) -> bool:
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_check_json_is_one_contract_object(run_cli):
    result = run_cli("check", "--json", "--offline")
    assert result.code in (0, 1), result.stderr
    doc = result.json()  # exactly one JSON object: json.loads rejects trailing data
    assert doc["schema"] == "csm-doctor/check/1"
    assert doc["exit_code"] == result.code
    for path in CONTRACT_PATHS:
        assert has_path(doc["facts"], path), path
    ids = known_ids()
    assert doc["findings"], "a check always reports something"
    for finding in doc["findings"]:
        assert {"id", "status", "title", "fix"} <= finding.keys()
        assert finding["id"] in ids
        assert finding["status"] in STATUSES
    order = ["fail", "error", "warn", "pass", "skip"]
    ranks = [order.index(f["status"]) for f in doc["findings"]]
    assert ranks == sorted(ranks), "most important first"
    assert "probing" not in result.stdout


def test_exit_code_follows_failures(run_cli):
    doc = run_cli("check", "--json", "--offline").json()
    failed = any(f["status"] == "fail" for f in doc["findings"])
    assert doc["exit_code"] == (1 if failed else 0)


@pytest.fixture
def driver_not_loaded(fake_bin) -> None:
    """The NVIDIA group fails the same way on every host, a GPU CI runner too: an nvidia-smi
    first on PATH that answers as a machine whose driver is not loaded (a real capture)."""
    fake_bin("nvidia-smi", cat_script(PROBE_FIXTURES / "nvidia-smi-errors" /
                                      "mxochicale-driver-not-loaded.txt", exit_code=9))


def test_human_report_has_groups_and_summary(run_cli, driver_not_loaded):
    result = run_cli("check", "--offline", "--recipe", "csm-1b")
    assert result.code in (0, 1)
    assert "csm-doctor · recipe csm-1b: CSM-1B, official" in result.stdout
    assert "[✗] NVIDIA GPU and driver" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"
    assert "csm-doctor found issues" in result.stdout


def test_verbose_shows_passes_and_timings(run_cli):
    out = run_cli("check", "--offline", "-v", "--recipe", "csm-1b").stdout
    assert "probe timings:" in out
    assert "✓" in out and "[python-version-unsupported]" in out


def test_ascii_console_fallback(run_cli, driver_not_loaded):
    result = run_cli("check", "--offline", "--recipe", "csm-1b", env={"PYTHONIOENCODING": "ascii"})
    assert result.code in (0, 1)
    assert "[x] NVIDIA GPU and driver" in result.stdout


def test_force_color_and_no_color(run_cli):
    coloured = run_cli("check", "--offline", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" in coloured
    plain = run_cli("check", "--offline", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert "\x1b[3" not in plain  # NO_COLOR wins: no colour codes


def test_help_is_fast_to_import(run_cli):
    result = run_cli("--help")
    assert result.code == 0 and "check" in result.stdout


def test_unknown_option_is_usage_error(run_cli):
    result = run_cli("check", "--no-such-flag")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_unknown_recipe(run_cli):
    result = run_cli("check", "--recipe", "nope", "--json")
    assert result.code == 2
    assert "unknown recipe 'nope'" in result.stderr and "csm-1b" in result.stderr
    assert result.json()["schema"] == "csm-doctor/error/1"


BROKEN = {
    "unknown-key": ("schema: csm-doctor/recipe/1\nid: x\ntitle: X\nhardware:\n  vram_gb: 4\n",
                    ":5: key 'hardware.vram_gb': unknown key"),
    "wrong-type": ("schema: csm-doctor/recipe/1\nid: x\ntitle: X\nhardware:\n  vram_min_gb: lots\n",
                   ":5: key 'hardware.vram_min_gb': expected a number"),
    "bad-specifier": ("schema: csm-doctor/recipe/1\nid: x\ntitle: X\npackages:\n"
                      "  - {name: torch, spec: '=>2.4'}\n",
                      ":5: key 'packages[0].spec': '=>2.4' is not a valid version specifier"),
    "bad-yaml": ("schema: csm-doctor/recipe/1\nid: x\ntitle: [unclosed\n", ": not valid YAML"),
    "float-version": ("schema: csm-doctor/recipe/1\nid: x\ntitle: X\npython:\n  requires: '>=3.10'\n"
                      "  recommended: 3.10\n", ":6: key 'python.recommended': write versions as quoted"),
    "missing-id": ("schema: csm-doctor/recipe/1\ntitle: X\n", ": key 'id': required key is missing"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_recipe_exits_2_with_file_line_key(run_cli, tmp_path: Path, case: str):
    text, expected = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    for args in (("check", "--recipe", str(path), "--offline"), ("recipes", "validate", str(path))):
        result = run_cli(*args)
        assert result.code == 2, result.stderr
        assert str(path) in result.stderr
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_recipes_list_show_validate(run_cli):
    listed = run_cli("recipes", "list", "--json").json()
    assert "csm-1b" in {r["id"] for r in listed["recipes"]}
    shown = run_cli("recipes", "show", "csm-1b", "--json").json()
    assert shown["recipe"]["torch"]["version"] == "2.4.0"
    assert run_cli("recipes", "validate", str(ROOT / "recipes/csm-1b.yaml")).code == 0


def test_facts_save_and_replay(run_cli, tmp_path: Path):
    saved = tmp_path / "facts.json"
    made = run_cli("facts", "-o", str(saved), "--offline")
    assert made.code == 0, made.stderr
    document = json.loads(saved.read_text())
    assert document["schema"] == "csm-doctor/facts/1"
    live = run_cli("check", "--json", "--offline").json()
    replay = run_cli("check", "--json", "--facts", str(saved)).json()
    def verdicts(doc: dict) -> list:
        return sorted((f["id"], f["status"], f["subject"]) for f in doc["findings"])

    assert verdicts(replay) == verdicts(live)
    assert replay["facts"]["python"] == document["python"]


def test_facts_stdout_is_one_json_object(run_cli):
    result = run_cli("facts", "--offline")
    assert result.code == 0
    assert json.loads(result.stdout)["schema"] == "csm-doctor/facts/1"


@pytest.mark.parametrize("content,expected", [
    ("{not json", ":1: not valid JSON"),
    ('{"schema": "csm-doctor/facts/9"}', "key 'schema': unsupported facts schema"),
    ('{"schema": "csm-doctor/facts/1",\n "nvidia": {\n  "gpus": [{"memory_total_mib": "lots"}]}}',
     ":3: key 'nvidia.gpus[0].memory_total_mib': expected a whole number"),
    ("[1, 2]", "a facts document is a JSON object"),
])
def test_bad_facts_file_exits_2(run_cli, tmp_path: Path, content: str, expected: str):
    path = tmp_path / "facts.json"
    path.write_text(content)
    result = run_cli("check", "--facts", str(path))
    assert result.code == 2
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_facts_file_and_python(run_cli, tmp_path: Path):
    assert run_cli("check", "--facts", str(tmp_path / "none.json")).code == 2
    result = run_cli("check", "--python", str(tmp_path / "none" / "python"))
    assert result.code == 2 and "--python" in result.stderr


def test_internal_crash_exits_3_without_traceback(monkeypatch):
    from click.testing import CliRunner

    import csm_doctor.evaluate as evaluate_module
    from csm_doctor import cli

    def explode(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(evaluate_module, "evaluate", explode)
    facts = ROOT / "tests/fixtures/facts/h100-driver-550-csm-ready.json"
    result = CliRunner().invoke(cli.main, ["check", "--facts", str(facts)])
    assert result.exit_code == 3
    assert "internal error: RuntimeError: simulated bug" in result.output
    assert "Traceback" not in result.output


def test_replayed_sparse_facts_keep_contract_paths(run_cli, tmp_path: Path):
    path = tmp_path / "sparse.json"
    path.write_text('{"schema": "csm-doctor/facts/1", "torch": null, "os": {"name": "windows"}}')
    doc = run_cli("check", "--json", "--facts", str(path)).json()
    for dotted in CONTRACT_PATHS:
        assert has_path(doc["facts"], dotted), dotted


def test_token_never_reaches_output(run_cli, tmp_path: Path):
    secret = "hf_PLANTEDsecretTOKEN0123456789abcdefgh"
    env = {"HF_TOKEN": secret, "HUGGINGFACE_TOKEN": secret, "MY_API_KEY": secret}
    for args in (("check", "--offline", "-v"), ("check", "--offline", "--json"),
                 ("facts", "--offline")):
        result = run_cli(*args, env=env)
        assert secret not in result.stdout and secret not in result.stderr, args
    doc = run_cli("check", "--offline", "--json", env=env).json()
    assert doc["facts"]["hf"]["token_source"] == "env:HF_TOKEN"
    assert "MY_API_KEY" not in doc["facts"]["env"]


def test_recipe_is_chosen_for_the_machine_and_says_why(run_cli):
    doc = run_cli("check", "--json", "--offline").json()
    assert doc["recipe"]["selected"] == "auto"
    assert doc["recipe"]["id"] == "csm-1b-transformers"  # test machines have no GPU
    assert "no GPU found" in doc["recipe"]["reason"]
    human = run_cli("check", "--offline").stdout
    assert "chosen for this machine: no GPU found" in human
    given = run_cli("check", "--json", "--offline", "--recipe", "csm-1b").json()["recipe"]
    assert given["selected"] == "given" and given["reason"] is None


@pytest.mark.parametrize("facts_change,expected", [
    ({"os": {"name": "darwin", "arch": "arm64"}, "nvidia": {"gpus": []}}, "csm-1b-transformers"),
    ({"ascend": {"npus": [{"name": "910B2", "hbm_total_mb": 65536}]}, "nvidia": {"gpus": []}},
     "csm-1b-ascend"),
    ({"nvidia": {"gpus": [{"name": "NVIDIA GeForce RTX 5090", "compute_capability": "12.0",
                           "memory_total_mib": 32607}]}}, "csm-1b-transformers"),
    ({}, "csm-1b"),
])
def test_auto_selection_from_replayed_facts(run_cli, tmp_path: Path, facts_change, expected):
    facts = json.loads((ROOT / "tests/fixtures/facts/h100-driver-550-csm-ready.json").read_text())
    for section, change in facts_change.items():
        facts[section].update(change)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    doc = run_cli("check", "--json", "--facts", str(path)).json()
    assert doc["recipe"]["id"] == expected, doc["recipe"]["reason"]


# ------------------------------------------------------------------ CLI habits (issue 14)

COMMANDS = [["check"], ["fix"], ["smoke"], ["facts"], ["report"], ["triage"], ["lint"],
            ["recipes", "list"], ["recipes", "show"], ["recipes", "validate"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_takes_v_and_q(run_cli, command):
    text = run_cli(*command, "--help").stdout
    assert "-v, --verbose" in text and "-q, --quiet" in text


@pytest.mark.parametrize("command", [["smoke"], ["facts"], ["report"]], ids=" ".join)
def test_o_is_output_wherever_a_command_writes(run_cli, command):
    assert re.search(r"-o, --output\b", run_cli(*command, "--help").stdout)


def test_smokes_old_output_dir_still_works(run_cli):
    assert "--output-dir" in run_cli("smoke", "--help").stdout


def test_a_mistyped_recipe_gets_did_you_mean(run_cli):
    run = run_cli("check", "--offline", "--recipe", "csm1b-transformer")
    assert run.code == 2 and "did you mean 'csm-1b-transformers'?" in run.stderr


def test_quiet_check_prints_no_progress(run_cli):
    loud = run_cli("check", "--offline", "--recipe", "csm-1b")
    quiet = run_cli("check", "-q", "--offline", "--recipe", "csm-1b")
    assert "probing this machine" in loud.stderr and quiet.stderr == ""
    assert quiet.code == loud.code and "csm-doctor · recipe csm-1b" in quiet.stdout


def test_shell_completion_offers_recipe_ids(cli_env):
    env = {**cli_env, "_CSM_DOCTOR_COMPLETE": "bash_complete", "COMP_WORDS": "csm-doctor check --recipe csm-1b-a",
           "COMP_CWORD": "3"}
    code = "from csm_doctor.cli import main; main(prog_name='csm-doctor')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "plain,csm-1b-ascend" in proc.stdout.splitlines()
