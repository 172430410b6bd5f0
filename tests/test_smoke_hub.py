"""Before real weights load: cached? reachable? allowed? Answered against the local fake Hub."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from hub_server import VALID_TOKEN, FakeHub

from csm_doctor.findings import Status
from csm_doctor.smoke.hub import TRANSFORMERS_FILES, plan_hub_access
from csm_doctor.smoke.runner import redact

NEEDS = (("sesame/csm-1b", TRANSFORMERS_FILES),)
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache of our own and the valid test token (never a developer's real one)."""
    cache = tmp_path / "hf"
    for var in ("HF_HUB_OFFLINE", "HF_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_TOKEN", VALID_TOKEN)
    return cache


def cache_files(cache: Path) -> None:
    folder = cache / "hub" / "models--sesame--csm-1b"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(SNAPSHOT)
    (folder / "snapshots" / SNAPSHOT).mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer_config.json", "tokenizer.json"):
        (folder / "snapshots" / SNAPSHOT / name).write_text("{}")


@pytest.mark.parametrize(("state", "offline"), [("granted", False), ("not-requested", True)])
def test_cached_weights_run_offline_unless_the_hub_grants_access(
        hub_env: Path, monkeypatch: pytest.MonkeyPatch, state: str, offline: bool) -> None:
    cache_files(hub_env)
    with FakeHub(repos={"sesame/csm-1b": state}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        plan = plan_hub_access(NEEDS, offline=False)
    assert plan.findings == []
    assert ("HF_HUB_OFFLINE" in plan.env) is offline
    if offline:
        assert "answers not-requested" in plan.notes[0]


def test_missing_weights_with_access_are_downloaded(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeHub(repos={"sesame/csm-1b": "granted"}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        plan = plan_hub_access(NEEDS, offline=False)
    assert plan.findings == [] and plan.env == {}
    assert plan.notes[0].startswith("downloading sesame/csm-1b")


def test_a_pending_request_is_named(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeHub(repos={"sesame/csm-1b": "pending"}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        plan = plan_hub_access(NEEDS, offline=False)
    (finding,) = plan.findings
    assert (finding.id, finding.status) == ("hf-gated-no-access", Status.FAIL)
    assert "still pending" in finding.title
    assert "not cached: config.json" in finding.details


def test_a_hub_that_never_answers_is_given_up_on_at_the_deadline(
        hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        plan = plan_hub_access(NEEDS, offline=False, deadline=1.0)
        elapsed = time.monotonic() - started
    (finding,) = plan.findings
    assert finding.id == "hf-unreachable" and "no answer within 1 s" in finding.details[0]
    assert elapsed < 3


def test_offline_never_asks_the_hub(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeHub(repos={"sesame/csm-1b": "granted"}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        missing = plan_hub_access(NEEDS, offline=True)
        cache_files(hub_env)
        cached = plan_hub_access(NEEDS, offline=True)
        assert hub.requests == []
    assert [f.id for f in missing.findings] == ["checkpoint-missing"]
    assert cached.findings == [] and cached.env == {"HF_HUB_OFFLINE": "1"}


def test_tokens_never_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_short_but_set")
    line = f"Authorization: Bearer {VALID_TOKEN} and hf_short_but_set, hf_hub_download"
    assert redact(line) == "Authorization: Bearer <redacted> and <redacted>, hf_hub_download"
