"""`csm-doctor triage` naming known problems, through the real command (exit codes, JSON, view)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

LOGS = FIXTURES / "logs"
ROOT_FIRST = LOGS / "triton-missing-windows" / "triton-windows-issue34-comfyui-portable.txt"
HEALTHY = LOGS / "healthy" / "pip-install-clean-local-capture.txt"


def test_known_problem_is_exit_1_with_contract_json(run_cli):
    result = run_cli("triage", str(ROOT_FIRST), "--json")
    assert result.code == 1, result.stderr
    doc = result.json()
    assert doc["schema"] == "csm-doctor/triage/1" and doc["exit_code"] == 1
    ids = [f["id"] for f in doc["findings"]]
    assert ids[:2] == ["triton-missing-windows", "torch-compile-unsupported"]
    root, consequence = doc["findings"][:2]
    assert (root["status"], root["confidence"]) == ("fail", "certain")
    assert consequence["status"] == "warn" and consequence["explained_by"] == ["triton-missing-windows"]
    assert root["evidence"][0]["line"] == 2 and "Cannot find a working triton" in root["evidence"][0]["text"]
    assert root["fix"].startswith("`pip uninstall triton`")
    assert doc["summary"] == {"fail": 1, "warn": 1}
    assert isinstance(doc["redactions"], list) and "facts" in doc and "sources" in doc


def test_healthy_log_is_exit_0(run_cli):
    result = run_cli("triage", str(HEALTHY), "--json")
    assert result.code == 0, result.stderr
    assert [f for f in result.json()["findings"] if f["status"] == "fail"] == []


def test_human_view_names_cause_evidence_and_fix(run_cli):
    result = run_cli("triage", str(ROOT_FIRST))
    assert result.code == 1
    out = result.stdout
    assert out.index("triton-missing-windows") < out.index("torch-compile-unsupported")
    assert "line 2: RuntimeError: Cannot find a working triton installation" in out
    assert "a consequence of triton-missing-windows" in out
    assert "→ `pip uninstall triton`" in out


def test_likely_is_said_in_the_view(run_cli, tmp_path: Path):
    paste = tmp_path / "paste.txt"
    paste.write_text("RuntimeError: CUDA error: no kernel image is available for execution on the device\n")
    out = run_cli("triage", str(paste)).stdout
    assert "cuda-arch-unsupported  (likely)" in out and "other causes too" in out


def test_windows_powershell_utf16_paste_from_stdin(cli_env):
    text = (LOGS / "torchaudio-backend-missing" / "zonos-issue126-windows-mp3.txt").read_text(encoding="utf-8")
    data = text.replace("\n", "\r\n").encode("utf-16")
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", "triage", "-", "--json"], input=data,
                          capture_output=True, env=cli_env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["source"] == "standard input"
    assert doc["findings"][0]["id"] == "torchaudio-backend-missing"
    assert [e["line"] for e in doc["findings"][0]["evidence"]] == [9, 10]


def test_nothing_known_is_exit_0_and_said(run_cli, tmp_path: Path):
    paste = tmp_path / "prose.txt"
    paste.write_text("Hi, the voice sounds a bit robotic, any tips?\n")
    result = run_cli("triage", str(paste))
    assert result.code == 0
    assert "No known problem recognised" in result.stdout


def test_unreadable_paste_under_home_is_named_with_tilde(run_cli, home: Path):
    result = run_cli("triage", str(home / "missing.log"))
    assert result.code == 2 and "~/missing.log" in result.stderr and str(home) not in result.stderr
