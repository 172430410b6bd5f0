"""`csm-doctor triage`: the facts a pasted capture shows, through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROBE_FIXTURES, load_capture

H100_TABLE = ("nvidia-smi-table", "gpud-8xH100-550.90.07.txt")
COLLECT_ENV = ("torch-collect-env", "pytorch-issue91351-linux-ubuntu20.04-cuda11.8-RTXA5000.txt")
NPU = ("npu-smi", "vllm-ascend-issue362-910B2-x8-23.0.7.txt")


def issue_body() -> str:
    """A GitHub issue as users write it: prose, fences, two captures, CRLF, colour codes."""
    return ("### Bug\r\nGeneration fails with `no kernel image is available`.\r\n\r\n"
            "```\r\n" + load_capture(*H100_TABLE).replace("\n", "\r\n") + "\r\n```\r\n"
            "\x1b[31mTraceback (most recent call last):\x1b[0m\r\n"
            "<details><summary>collect_env</summary>\r\n\r\n```\r\n"
            + load_capture(*COLLECT_ENV).replace("\n", "\r\n") + "\r\n```\r\n</details>\r\n")


def test_triage_json_fills_contract_paths(run_cli, tmp_path: Path):
    paste = tmp_path / "issue.md"
    paste.write_text(issue_body(), newline="")
    result = run_cli("triage", str(paste), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "csm-doctor/triage/1"
    facts = doc["facts"]
    assert facts["nvidia"]["driver_version"] == "550.90.07"
    assert facts["nvidia"]["cuda_version"] == "12.4"
    assert len(facts["nvidia"]["gpus"]) == 8
    assert facts["torch"]["version"] and facts["python"]["version"]
    assert {s["kind"] for s in doc["sources"]} >= {"nvidia-smi-table", "collect-env"}
    assert doc["findings"] == []


def test_triage_from_stdin_and_utf16(tmp_path: Path, cli_env):
    text = load_capture(*NPU)
    for data in (text.encode(), text.encode("utf-16"), text.encode("utf-16-le")):
        proc = subprocess.run([sys.executable, "-m", "csm_doctor", "triage", "-", "--json"],
                              input=data, capture_output=True, env=cli_env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        facts = json.loads(proc.stdout)["facts"]
        assert facts["ascend"]["npu_smi_version"] == "23.0.7"
        assert len(facts["ascend"]["npus"]) == 8


def test_triage_human_view(run_cli, tmp_path: Path):
    paste = tmp_path / "issue.md"
    paste.write_text(issue_body(), newline="")
    out = run_cli("triage", str(paste)).stdout
    assert "GPU: 8 × NVIDIA H100 80GB HBM3" in out
    assert "NVIDIA driver 550.90.07, supports CUDA ≤ 12.4" in out


def test_triage_nothing_recognised(run_cli, tmp_path: Path):
    paste = tmp_path / "plain.txt"
    paste.write_text("it does not work on my machine\n")
    result = run_cli("triage", str(paste))
    assert result.code == 0 and "No tool output recognised" in result.stdout


@pytest.mark.parametrize("folder", sorted(p.name for p in PROBE_FIXTURES.iterdir() if p.is_dir()))
def test_triage_reads_every_capture_folder(run_cli, folder: str):
    capture = next(p for p in sorted((PROBE_FIXTURES / folder).iterdir())
                   if not p.name.endswith(".source.txt"))
    doc = run_cli("triage", str(capture), "--json").json()
    assert doc["sources"], f"nothing recognised in {capture.name}"


def test_triage_missing_file_is_exit_2(run_cli, tmp_path: Path):
    result = run_cli("triage", str(tmp_path / "nope.log"))
    assert result.code == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr
