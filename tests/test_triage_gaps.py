"""When nothing matches, triage says what the paste lacks and the one command that would show it."""

from __future__ import annotations

from conftest import FIXTURES

from csm_doctor.triage.extract import extract_facts
from csm_doctor.triage.gaps import what_is_missing
from csm_doctor.triage.match import match_text


def gaps(text: str):
    facts, sources = extract_facts(text)
    return what_is_missing(text, facts, sources, match_text(text, facts, sources))


def test_prose_without_error_or_machine_asks_for_a_report():
    found = gaps("It does not work, the audio is wrong. Any idea?")
    assert found["command"] == "csm-doctor report"
    assert any("error message" in lack for lack in found["lacks"])
    assert any("OS, Python, torch build, GPU" in lack for lack in found["lacks"])


def test_traceback_cut_before_its_message_is_named():
    found = gaps('Traceback (most recent call last):\n  File "run.py", line 3, in <module>\n    main()\n')
    assert found["lacks"][0].startswith("the traceback's last line")


def test_machine_shown_but_no_error_asks_for_check():
    text = (FIXTURES / "logs" / "healthy" / "vllm-pr9293-collect-env-wsl.txt").read_text(encoding="utf-8")
    found = gaps(text)
    assert found["command"] == "csm-doctor check" and found["lacks"] == ["an error message or traceback"]


def test_nothing_to_say_when_a_problem_is_named():
    assert gaps("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB") is None


def test_cli_prints_the_gaps_and_json_carries_them(run_cli):
    path = FIXTURES / "logs" / "healthy" / "pip-install-clean-local-capture.txt"
    result = run_cli("triage", str(path), "--json")
    assert result.code == 0 and result.json()["unrecognised"]["command"] in ("csm-doctor report",
                                                                            "csm-doctor check")
    human = run_cli("triage", str(path))
    assert "It cannot tell because the paste lacks:" in human.stdout and "run `csm-doctor" in human.stdout
