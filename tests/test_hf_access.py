"""Token and gated-access states, through the real huggingface_hub client and a local Hub."""

from __future__ import annotations

import json
import os
import sys

import pytest
from hub_server import VALID_TOKEN, FakeHub

from csm_doctor.probes import PROBES, ProbeContext, collect_facts
from csm_doctor.recipe import load_recipe

CSM = "sesame/csm-1b"
LLAMA = "meta-llama/Llama-3.2-1B"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, home):
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def hf_facts(token: str | None, monkeypatch: pytest.MonkeyPatch) -> dict:
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    ctx = ProbeContext(python=sys.executable, offline=False, recipe=load_recipe("csm-1b"))
    return collect_facts(ctx, tuple(p for p in PROBES if p.name == "hf"))["hf"]


@pytest.mark.parametrize("state", ["granted", "not-requested", "pending", "rejected"])
def test_access_states_with_a_valid_token(hub, monkeypatch, state):
    hub.repos = {CSM: state, LLAMA: "granted"}
    repos = hf_facts(VALID_TOKEN, monkeypatch)["repos"]
    assert repos[CSM]["state"] == state
    assert repos[LLAMA]["state"] == "granted"
    assert f"/api/models/{CSM}/auth-check" in hub.requests


def test_no_token(hub, monkeypatch):
    hub.repos = {CSM: "granted", LLAMA: "granted"}
    hf = hf_facts(None, monkeypatch)
    assert hf["token_present"] is False
    assert {r["state"] for r in hf["repos"].values()} == {"no-token"}


def test_invalid_token(hub, monkeypatch):
    hub.repos = {CSM: "granted", LLAMA: "granted"}
    hf = hf_facts("hf_expiredEXPIREDexpiredEXPIREDexpired00", monkeypatch)
    assert {r["state"] for r in hf["repos"].values()} == {"token-invalid"}


def test_end_to_end_check_names_the_pending_repo(hub, run_cli):
    hub.repos = {CSM: "granted", LLAMA: "pending"}
    doc = run_cli("check", "--json", "--recipe", "csm-1b",
                  env={"HF_ENDPOINT": hub.url, "HF_TOKEN": VALID_TOKEN}).json()
    gated = {f["subject"]: f for f in doc["findings"] if f["id"] == "hf-gated-no-access"}
    assert gated[CSM]["status"] == "pass"
    assert gated[LLAMA]["status"] == "fail"
    assert "awaiting the authors' review" in gated[LLAMA]["title"]
    valid = [f for f in doc["findings"] if f["id"] == "hf-token-invalid"]
    assert [f["status"] for f in valid] == ["pass"]
    assert VALID_TOKEN not in str(doc)


def test_end_to_end_rejected_llama_points_to_the_ungated_mirror(hub, run_cli):
    hub.repos = {CSM: "granted", LLAMA: "rejected"}
    doc = run_cli("check", "--json", "--recipe", "csm-1b",
                  env={"HF_ENDPOINT": hub.url, "HF_TOKEN": VALID_TOKEN}).json()
    llama = next(f for f in doc["findings"] if f["id"] == "hf-gated-no-access" and f["subject"] == LLAMA)
    assert "unsloth/Llama-3.2-1B" in llama["fix"]


def test_offline_check_reads_the_saved_token_without_importing_huggingface_hub(run_cli, home):
    """`hf auth login` writes HF_HOME/token; an offline check finds it and never imports the Hub
    client (75 ms of an offline run). -X importtime lists every module the process imported."""
    hf_home = home / ".cache" / "huggingface"
    hf_home.mkdir(parents=True, exist_ok=True)
    (hf_home / "token").write_text("hf_savedTESTtokenABCDEFGHIJKLMNOPQ\n", encoding="utf-8")
    import subprocess

    run = run_cli("check", "--offline", "--json", "--recipe", "csm-1b")
    doc = run.json()
    assert doc["facts"]["hf"]["token_present"] is True
    assert doc["facts"]["hf"]["token_source"] == "file"
    assert "hf_savedTESTtoken" not in run.stdout + run.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HOME=str(hf_home), HOME=str(home))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "csm_doctor", "check", "--offline",
                           "--json", "--recipe", "csm-1b"], capture_output=True, text=True, env=env,
                          timeout=120)
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")]
    assert "csm_doctor.probes.hf" in imported  # the probe ran in this process
    assert not [m for m in imported if m.startswith("huggingface_hub")]
    assert json.loads(proc.stdout)["facts"]["hf"]["token_present"] is True


def test_token_precedence_matches_huggingface_hub(monkeypatch, tmp_path):
    from csm_doctor.probes.hf import token_source

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
        monkeypatch.delenv(var, raising=False)
    assert token_source() == (None, None)
    (tmp_path / "token").write_text("hf_fromfile\n")
    assert token_source() == ("hf_fromfile", "file")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_old")
    assert token_source() == ("hf_old", "env:HUGGING_FACE_HUB_TOKEN")
    monkeypatch.setenv("HF_TOKEN", "")  # empty counts as unset, as in huggingface_hub
    assert token_source() == ("hf_old", "env:HUGGING_FACE_HUB_TOKEN")
    monkeypatch.setenv("HF_TOKEN", "hf_new")
    assert token_source() == ("hf_new", "env:HF_TOKEN")
    from huggingface_hub import get_token

    assert get_token() == "hf_new"  # the library agrees
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN")
    other = tmp_path / "elsewhere"
    other.write_text("hf_custompath")
    monkeypatch.setenv("HF_TOKEN_PATH", str(other))
    assert token_source() == ("hf_custompath", "file")
