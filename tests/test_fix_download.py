"""Checkpoint downloads through the real huggingface_hub client against a local Hub.

The fake Hub (tests/hub_server.py) speaks the resolve protocol hf_hub_download
uses: X-Repo-Commit, ETag / X-Linked-Etag / X-Linked-Size, Range requests.
Faults are real too: a connection dropped mid-file, bytes that do not match
the ETag, a size the disk cannot hold.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from fix_support import run_fix, write_recipe
from hub_server import VALID_TOKEN, FakeHub

from csm_doctor.fix.download import (
    DownloadError,
    VerifiedCache,
    checkpoint_findings,
    fetch_files,
    local_state,
    repo_folder,
)

REPO = "tiny/csm-test"
GATED = "gated/csm-test"
WEIGHTS = bytes(range(256)) * 4096 * 3 + b"tail"   # 3 MiB + 4 bytes: an LFS file
CONFIG = b'{"model_type": "csm", "hidden_size": 8}\n'  # a regular (git) file
BIG = os.urandom(12 * 1024 * 1024 + 17)            # > huggingface_hub's 10 MiB read chunk


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with FakeHub() as server:
        server.add_file(REPO, "config.json", CONFIG)
        server.add_file(REPO, "model.safetensors", WEIGHTS)
        server.add_file(REPO, "big.safetensors", BIG)
        server.add_file(GATED, "model.safetensors", WEIGHTS)
        yield server


def fetch(hub: FakeHub, cache: Path, files: list[str], repo: str = REPO, token: str | None = None,
          verified: VerifiedCache | None = None):
    return fetch_files(repo, files, cache_dir=cache, endpoint=hub.url, token=token, verified=verified)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_lands_in_the_hf_cache_verified(hub: FakeHub, tmp_path: Path):
    from huggingface_hub import try_to_load_from_cache

    cache = tmp_path / "cache"
    outcomes = fetch(hub, cache, ["config.json", "model.safetensors"])
    assert [(o.filename, o.status) for o in outcomes] == [("config.json", "downloaded"),
                                                         ("model.safetensors", "downloaded")]
    weights = try_to_load_from_cache(REPO, "model.safetensors", cache_dir=str(cache))
    assert Path(weights).read_bytes() == WEIGHTS
    assert Path(try_to_load_from_cache(REPO, "config.json", cache_dir=str(cache))).read_bytes() == CONFIG
    # The blob is named after the ETag: sha256 for LFS, the git blob sha1 for a regular file.
    blobs = {p.name for p in (repo_folder(cache, REPO) / "blobs").iterdir()}
    assert sha256(WEIGHTS) in blobs and hub.etag(REPO, "config.json") in blobs
    entries = {(s.filename, s.state) for s in local_state(({"repo": REPO, "files": [
        "config.json", "model.safetensors"]},), cache)}
    assert entries == {("config.json", "ok"), ("model.safetensors", "ok")}

    gets_before = len([c for c in hub.calls if c["method"] == "GET"])
    again = fetch(hub, cache, ["config.json", "model.safetensors"])
    assert {o.status for o in again} == {"cached"}
    assert len([c for c in hub.calls if c["method"] == "GET"]) == gets_before  # nothing re-fetched


def test_a_connection_cut_mid_file_resumes_with_a_range_request(hub: FakeHub, tmp_path: Path):
    hub.cut_after["big.safetensors"] = 11 * 1024 * 1024
    [outcome] = fetch(hub, tmp_path / "cache", ["big.safetensors"])
    assert outcome.status == "downloaded"
    gets = hub.gets("big.safetensors")
    assert len(gets) == 2
    assert gets[0]["range"] is None
    assert gets[1]["range"] is not None and gets[1]["range"].startswith("bytes=")
    assert int(gets[1]["range"][6:].split("-")[0]) > 0
    blob = repo_folder(tmp_path / "cache", REPO) / "blobs" / sha256(BIG)
    assert blob.read_bytes() == BIG


def test_an_interrupted_run_resumes_from_its_partial_file(hub: FakeHub, tmp_path: Path):
    cache = tmp_path / "cache"
    partial = repo_folder(cache, REPO) / "blobs" / f"{sha256(WEIGHTS)}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(WEIGHTS[:100_000])  # what an earlier, killed run left behind
    [outcome] = fetch(hub, cache, ["model.safetensors"])
    assert outcome.resumed_from == 100_000
    assert [g["range"] for g in hub.gets("model.safetensors")] == ["bytes=100000-"]
    assert not partial.exists()
    assert (repo_folder(cache, REPO) / "blobs" / sha256(WEIGHTS)).read_bytes() == WEIGHTS


def test_bytes_that_do_not_match_the_etag_are_fetched_again(hub: FakeHub, tmp_path: Path):
    hub.corrupt["model.safetensors"] = 1
    [outcome] = fetch(hub, tmp_path / "cache", ["model.safetensors"])
    assert outcome.corrupt_detected and outcome.status == "downloaded"
    assert len(hub.gets("model.safetensors")) == 2
    assert (repo_folder(tmp_path / "cache", REPO) / "blobs" / sha256(WEIGHTS)).read_bytes() == WEIGHTS


def test_a_file_corrupt_every_time_is_checkpoint_corrupt(hub: FakeHub, tmp_path: Path):
    hub.corrupt["model.safetensors"] = 5
    with pytest.raises(DownloadError) as caught:
        fetch(hub, tmp_path / "cache", ["model.safetensors"])
    assert caught.value.finding_id == "checkpoint-corrupt"
    blobs = repo_folder(tmp_path / "cache", REPO) / "blobs"
    assert not any(blobs.glob("*")) if blobs.exists() else True  # no bad file left to trust


def test_a_corrupted_cached_file_is_seen_without_the_network(hub: FakeHub, tmp_path: Path):
    cache = tmp_path / "cache"
    verified = VerifiedCache(tmp_path / "state" / "verified.json")
    fetch(hub, cache, ["model.safetensors"], verified=verified)
    blob = repo_folder(cache, REPO) / "blobs" / sha256(WEIGHTS)
    damaged = bytearray(blob.read_bytes())
    damaged[1000] ^= 0x01
    blob.write_bytes(bytes(damaged))  # same size: only the hash can tell
    checkpoints = ({"repo": REPO, "files": ["model.safetensors"]},)
    [state] = local_state(checkpoints, cache, verified)
    assert state.state == "corrupt"
    [finding] = checkpoint_findings([state])
    assert (finding.id, finding.status.value) == ("checkpoint-corrupt", "fail")
    [outcome] = fetch(hub, cache, ["model.safetensors"], verified=verified)
    assert outcome.corrupt_detected and outcome.status == "downloaded"
    assert blob.read_bytes() == WEIGHTS
    assert local_state(checkpoints, cache, verified)[0].state == "ok"


@pytest.mark.parametrize("state, token, finding", [
    ("granted", None, "hf-token-missing"),               # 401 GatedRepo: no token sent
    ("not-requested", VALID_TOKEN, "hf-gated-no-access"),  # 403: valid token, no access
    ("pending", VALID_TOKEN, "hf-gated-no-access"),
    ("granted", "hf_expiredEXPIREDexpiredEXPIREDexpired00", "hf-token-invalid"),
])
def test_gated_answers_map_to_their_finding(hub: FakeHub, tmp_path: Path, state, token, finding):
    hub.repos[GATED] = state
    with pytest.raises(DownloadError) as caught:
        fetch(hub, tmp_path / "cache", ["model.safetensors"], repo=GATED, token=token)
    assert caught.value.finding_id == finding
    assert not hub.gets("model.safetensors")
    if token:
        assert token not in str(caught.value)


def test_granted_gated_repo_downloads_with_the_token(hub: FakeHub, tmp_path: Path):
    hub.repos[GATED] = "granted"
    [outcome] = fetch(hub, tmp_path / "cache", ["model.safetensors"], repo=GATED, token=VALID_TOKEN)
    assert outcome.status == "downloaded"


def test_a_missing_file_is_checkpoint_missing(hub: FakeHub, tmp_path: Path):
    with pytest.raises(DownloadError) as caught:
        fetch(hub, tmp_path / "cache", ["nope.safetensors"])
    assert caught.value.finding_id == "checkpoint-missing"


def test_disk_space_is_checked_before_any_byte(hub: FakeHub, tmp_path: Path):
    hub.declared_size["model.safetensors"] = 2 ** 60  # an exabyte: no disk has it
    with pytest.raises(DownloadError) as caught:
        fetch(hub, tmp_path / "cache", ["model.safetensors"])
    assert caught.value.finding_id == "disk-space-low"
    assert not hub.gets("model.safetensors")


def test_cdn_redirect_keeps_the_token_on_the_hub(hub: FakeHub, tmp_path: Path):
    hub.cdn = True
    hub.repos[GATED] = "granted"
    [outcome] = fetch(hub, tmp_path / "cache", ["model.safetensors"], repo=GATED, token=VALID_TOKEN)
    assert outcome.status == "downloaded"
    cdn = [c for c in hub.calls if c["path"].startswith("/cdn/") and c["method"] == "GET"]
    assert cdn and not any(c["auth"] for c in cdn)
    resolve = [c for c in hub.calls if "/resolve/" in c["path"]]
    assert resolve and all(c["auth"] for c in resolve)


# ------------------------------------------------------------------ through the command

def test_fix_downloads_repairs_a_corrupt_cache_and_then_plans_nothing(hub: FakeHub, tmp_path: Path,
                                                                      cli_env):
    recipe = write_recipe(tmp_path, [], extra=(
        "checkpoints:\n"
        f"  - {{repo: {REPO}, files: [config.json, model.safetensors]}}\n"))
    env = {**cli_env, "HF_ENDPOINT": hub.url, "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state")}
    args = ("--json", "--recipe", str(recipe), "--python", os.path.realpath(os.sys.executable))

    first = run_fix(env, "--yes", *args)
    doc = first.json()
    assert first.code == 0, first.stderr
    assert [a["kind"] for a in doc["plan"]] == ["download"]
    assert doc["plan"][0]["command"] == f"hf download {REPO} config.json model.safetensors"
    assert doc["results"][0]["status"] == "ok"
    assert set(doc["fixed"]) == {"checkpoint-missing"} and doc["remaining"] == []

    cache = Path(env["HF_HOME"]) / "hub"
    blob = repo_folder(cache, REPO) / "blobs" / sha256(WEIGHTS)
    blob.write_bytes(b"\0" * len(WEIGHTS))
    planned = run_fix(env, "--dry-run", *args).json()
    corrupt = [f for f in planned["findings"] if f["id"] == "checkpoint-corrupt" and f["status"] != "skip"]
    assert [f["status"] for f in corrupt] == ["fail"]
    assert [a["kind"] for a in planned["plan"]] == ["download"]
    assert "fetch again" in planned["plan"][0]["description"]

    repaired = run_fix(env, "--yes", *args)
    assert repaired.code == 0, repaired.stderr
    assert blob.read_bytes() == WEIGHTS
    assert "checkpoint-corrupt" in repaired.json()["fixed"]

    again = run_fix(env, "--yes", *args)
    assert again.code == 0 and again.json()["plan"] == []


def test_fix_reports_a_gated_download_with_its_finding(hub: FakeHub, tmp_path: Path, cli_env):
    hub.repos[GATED] = "rejected"
    recipe = write_recipe(tmp_path, [], extra=(
        f"checkpoints:\n  - {{repo: {GATED}, files: [model.safetensors]}}\n"))
    env = {**cli_env, "HF_ENDPOINT": hub.url, "HF_TOKEN": VALID_TOKEN,
           "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state")}
    run = run_fix(env, "--yes", "--json", "--recipe", str(recipe), "--python", os.sys.executable)
    doc = run.json()
    assert run.code == 1
    [result] = doc["results"]
    assert (result["status"], result["finding_id"]) == ("failed", "hf-gated-no-access")
    assert VALID_TOKEN not in run.stdout + run.stderr
