"""The env-report parsers on real captured outputs, and triage reading them as tool outputs.

tests/fixtures/env-reports/ holds captures from the development machine
(README.source.txt gives the commands); tests/fixtures/logs/healthy/ holds
public ones from issue threads, each with its source note.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from csm_doctor.parsers.env_reports import (
    os_from_platform,
    parse_conda_list,
    parse_env_report,
    parse_pip_check,
)
from csm_doctor.triage.extract import extract_facts
from csm_doctor.triage.match import match_text

CAPTURES = FIXTURES / "env-reports"
PUBLIC = FIXTURES / "logs" / "healthy"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_transformers_env_capture():
    report = parse_env_report(read(CAPTURES / "transformers-env-local-capture.txt"))
    assert report["tool"] == "transformers-env" and report["os"] == "linux"
    assert report["python"] == "3.11.7"
    assert report["torch"] == {"version": "2.13.0+cpu", "gpu": "NA"}
    assert report["packages"] == {"transformers": "5.25.0", "huggingface-hub": "2.5.0",
                                  "safetensors": "0.8.0", "accelerate": "1.16.0", "torch": "2.13.0+cpu"}


def test_accelerate_env_capture_and_a_public_one_with_gpu():
    local = parse_env_report(read(CAPTURES / "accelerate-env-local-capture.txt"))
    assert local["tool"] == "accelerate-env" and local["torch"]["version"] == "2.13.0+cpu"
    assert local["accelerator"] is None and local["packages"]["numpy"] == "2.4.6"
    public = parse_env_report(read(PUBLIC / "accelerate-issue3446-a6000.txt"))
    assert public["gpu_type"] == "NVIDIA RTX A6000" and public["torch"] == {"version": "2.3.0+cu121",
                                                                            "gpu": "True"}


def test_hf_env_capture():
    report = parse_env_report(read(CAPTURES / "hf-env-local-capture.txt"))
    assert report["tool"] == "hf-env" and report["packages"]["huggingface-hub"] == "2.5.0"
    assert report["token_saved"] is False and report["offline"] is False
    old = parse_env_report(read(PUBLIC / "huggingface-hub-pr1177-hf-env.txt"))
    assert old["torch"]["version"] == "1.12.1" and old["token_saved"] is True


def test_transformers_env_pasted_without_bullets_and_backticks():
    report = parse_env_report(read(PUBLIC / "sentence-transformers-issue1975-transformers-env.txt"))
    assert report["tool"] == "transformers-env" and report["torch"]["version"] == "2.0.1+cu117"


def test_pip_check_broken_and_clean_captures():
    broken = parse_pip_check(read(CAPTURES / "pip-check-broken-local-capture.txt"))
    assert broken["ok"] is False
    assert {(m["package"], m["requires"]) for m in broken["missing"]} == {
        ("huggingface-hub", "requests"), ("transformers", "tokenizers")}
    assert {(c["package"], c["installed"], c["installed_version"]) for c in broken["conflicts"]} == {
        ("kernels", "huggingface-hub", "0.20.3"), ("transformers", "huggingface-hub", "0.20.3")}
    assert parse_pip_check(read(CAPTURES / "pip-check-local-capture.txt")) == {
        "ok": True, "missing": [], "conflicts": []}
    assert parse_pip_check("nothing here") == {}


def test_conda_list_builds_tell_torch_variant():
    grep = parse_conda_list(read(PUBLIC / "pytorch-data-issue315-conda-list-grep.txt"))
    assert grep["torch"] == {"version": "1.11.0", "variant": "cu113", "channel": "pytorch"}
    windows = parse_conda_list(read(PUBLIC / "conda-issue13413-conda-list-windows.txt"))
    assert windows["os"] == "windows" and windows["packages"]["cuda-cudart"] == "12.1.105"
    assert parse_conda_list("pytorch 2.1.0 cuda120_py311h1234_301 conda-forge")["torch"]["variant"] == "cu120"
    assert parse_conda_list("pytorch 1.11.0 py3.8_cpu_0 pytorch")["torch"]["variant"] == "cpu"


@pytest.mark.parametrize("platform,name", [("Linux-5.15.0-52-generic-x86_64-with-glibc2.35", "linux"),
                                           ("Windows-10-10.0.18362-SP0", "windows"),
                                           ("macOS-14.5-arm64-arm-64bit", "darwin"), ("", None)])
def test_platform_line_names_the_os(platform: str, name: str | None):
    assert os_from_platform(platform) == name


@pytest.mark.parametrize("name,kind", [
    (CAPTURES / "transformers-env-local-capture.txt", "transformers-env"),
    (CAPTURES / "accelerate-env-local-capture.txt", "accelerate-env"),
    (CAPTURES / "hf-env-local-capture.txt", "hf-env"),
    (CAPTURES / "pip-check-broken-local-capture.txt", "pip-check"),
    (CAPTURES / "uv-pip-list-local-capture.txt", "pip-list"),
    (PUBLIC / "conda-issue13413-conda-list-windows.txt", "conda-list"),
], ids=lambda v: getattr(v, "name", v))
def test_triage_recognises_each_report_as_one_tool_output(name: Path, kind: str):
    facts, sources = extract_facts(read(name))
    assert [s["kind"] for s in sources] == [kind]


def test_report_facts_feed_the_verdicts():
    """A torch+cpu wheel in `accelerate env` next to an NVIDIA GPU it names: the CPU build is settled."""
    text = read(PUBLIC / "accelerate-issue3446-a6000.txt").replace("2.3.0+cu121 (True)", "2.3.0+cpu (False)")
    text += "\nAssertionError: Torch not compiled with CUDA enabled\n"
    facts, sources = extract_facts(text)
    assert facts["torch"]["variant"] == "cpu" and facts["nvidia"]["gpus"][0]["name"] == "NVIDIA RTX A6000"
    first = match_text(text, facts, sources)[0]
    assert (first["id"], first["confidence"]) == ("torch-cpu-build", "certain")


def test_pip_check_complaints_are_findings():
    text = read(CAPTURES / "pip-check-broken-local-capture.txt")
    facts, sources = extract_facts(text)
    found = {(f["id"], f["status"]) for f in match_text(text, facts, sources)}
    assert found == {("package-missing", "fail"), ("package-version-mismatch", "fail")}
