"""Token and gated-access states, through the real huggingface_hub client and a local Hub."""

from __future__ import annotations

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
