"""The smoke verdicts, on real captured failures and on the audio figures the target reports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from csm_doctor.findings import Status
from csm_doctor.smoke import judge
from csm_doctor.smoke.judge import WavInfo, classify, judge_audio, judge_error

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Problems a model run itself raises, whose real logs (tests/fixtures/logs/<id>/, each with its
# source) the smoke verdict must name. Install-time ids (package versions, pip's resolver) are
# triage's to read, not the smoke test's.
SMOKE_IDS = {"cuda-oom", "csm-empty-audio", "cuda-arch-unsupported", "nvidia-driver-too-old",
             "nvidia-driver-missing", "mps-float64-unsupported", "mps-op-unsupported",
             "torch-npu-not-loaded", "hf-token-invalid", "hf-token-missing", "hf-gated-no-access",
             "hf-unreachable", "checkpoint-format-mismatch"}


def real_logs() -> list[tuple[str, Path]]:
    """Real logs of the problems the smoke test names."""
    root = FIXTURES / "logs"
    if not root.is_dir():
        return []
    return [(folder.name, log) for folder in sorted(root.iterdir()) if folder.name in SMOKE_IDS
            for log in sorted(folder.glob("*.txt")) if not log.name.endswith(".source.txt")]


@pytest.mark.parametrize(("expected", "log"), real_logs(), ids=lambda v: getattr(v, "name", v))
def test_real_logs_are_named_by_their_cause(expected: str, log: Path) -> None:
    found = classify([log.read_text(encoding="utf-8", errors="replace")])
    assert found is not None and found[0] == expected


def test_transformers_offline_with_an_empty_cache_is_a_missing_checkpoint() -> None:
    text = (FIXTURES / "smoke" / "transformers-5.23-processor-hf-hub-offline-empty-cache.txt").read_text()
    assert classify([text])[0] == "checkpoint-missing"


def test_transformers_against_a_closed_port_is_an_unreachable_hub() -> None:
    text = (FIXTURES / "smoke" / "transformers-5.23-model-endpoint-connection-refused.txt").read_text()
    assert classify([text])[0] == "hf-unreachable"
    # the same words under HF_HUB_OFFLINE=1 mean the file is simply not cached
    assert classify([text], hf_offline=True)[0] == "checkpoint-missing"


def test_a_named_error_is_a_fail_with_the_catalogue_fix() -> None:
    error = {"type": "OutOfMemoryError", "stage": "generate", "message": "CUDA out of memory. Tried",
             "chain": [{"type": "OutOfMemoryError", "message": "CUDA out of memory. Tried"}],
             "traceback": "Traceback ...\ntorch.OutOfMemoryError: CUDA out of memory. Tried"}
    finding = judge_error(error, hf_offline=False, where="cuda")
    assert (finding.id, finding.status, finding.group) == ("cuda-oom", Status.FAIL, "smoke")
    assert "free the GPU" in finding.fix
    assert "while generating on cuda" in finding.title


def test_an_unknown_error_is_an_error_not_a_guess() -> None:
    error = {"type": "KeyError", "stage": "load", "message": "'frobnicate'",
             "chain": [{"type": "KeyError", "message": "'frobnicate'"}],
             "traceback": "Traceback (most recent call last):\n  File x\nKeyError: 'frobnicate'"}
    finding = judge_error(error, hf_offline=False, where="cpu")
    assert (finding.id, finding.status) == ("probe-failed", Status.ERROR)
    assert "loading the model" in finding.title and "KeyError" in finding.title
    assert finding.details[-1] == "KeyError: 'frobnicate'"


def test_missing_packages_are_named() -> None:
    found = classify(["ModuleNotFoundError: No module named 'moshi.models'"])
    assert found[0] == "package-missing" and "moshi" in found[1]
    assert classify(["ImportError: cannot import name 'CsmForConditionalGeneration' from "
                     "'transformers'"])[0] == "package-version-mismatch"


@pytest.mark.parametrize(("requested", "why", "expected"), [
    ("cuda", "torch 2.13.0+cpu is a CPU build (torch.version.cuda is None)", "torch-cpu-build"),
    ("cuda", "RuntimeError: Found no NVIDIA driver on your system.", "nvidia-driver-missing"),
    ("cuda", "torch.cuda.is_available() is False: no GPU visible", "gpu-missing"),
    ("npu", "torch_npu is not installed in this environment", "package-missing"),
    ("npu", "torch_npu: ImportError: libascend_hal.so: cannot open shared object", "npu-driver-missing"),
    ("mps", "torch.backends.mps.is_available() is False", "gpu-missing"),
])
def test_an_unusable_device_names_what_keeps_it_away(requested: str, why: str, expected: str) -> None:
    finding = judge.judge_device_error({"requested": requested, "why": why}, "2.13.0+cpu")
    assert (finding.id, finding.status) == (expected, Status.FAIL)


def audio(**overrides: float) -> dict:
    base = {"samples": 48000, "sample_rate": 24000, "nonfinite": 0, "rms": 0.1, "peak": 0.6,
            "clipped_fraction": 0.00002, "dc": 0.0, "gain": 1.0}
    return {**base, **overrides}


def payload(frames: int = 25, **overrides: float) -> dict:
    return {"frames": frames, "samples_per_frame": 1920.0, "audio": audio(**overrides)}


def wav(frames: int = 48000, rate: int = 24000) -> WavInfo:
    return WavInfo("x.wav", rate, 1, frames)


def verdict(findings: list) -> dict:
    return {f.id: f for f in findings}


def test_good_audio_passes_with_its_figures() -> None:
    found = verdict(judge_audio(payload(), wav()))
    assert found["audio-silent-or-invalid"].status is Status.PASS
    assert found["csm-empty-audio"].status is Status.PASS
    assert "2.00 s" in found["audio-silent-or-invalid"].title
    assert found["audio-silent-or-invalid"].observed["rms_dbfs"] == -20.0


@pytest.mark.parametrize(("overrides", "wav_info", "words"), [
    ({"nonfinite": 48000, "rms": 0.0, "peak": 0.0}, None, "NaN"),
    ({"rms": 0.0005, "peak": 0.002}, wav(), "silent"),
    ({"clipped_fraction": 0.4}, wav(), "clipped flat"),
    ({"sample_rate": 16000}, wav(rate=16000), "sample rate 16000"),
    ({"samples": 20000}, wav(frames=20000), "20000 samples for 25 frames"),
    ({}, wav(frames=47000), "WAV on disk holds 47000"),
    ({}, None, "could not be read back"),
])
def test_audio_a_listener_would_reject_fails(overrides: dict, wav_info: WavInfo | None, words: str) -> None:
    found = verdict(judge_audio(payload(**overrides), wav_info))["audio-silent-or-invalid"]
    assert found.status is Status.FAIL
    assert words in " ".join([found.title, *found.details])


def test_loud_audio_is_judged_after_the_gain_that_keeps_it_from_clipping() -> None:
    # A raw peak of 9 is scaled by 0.111 on writing: the file is at -7 dBFS, not +19.
    found = verdict(judge_audio(payload(rms=2.0, peak=9.0, gain=0.111), wav()))
    assert found["audio-silent-or-invalid"].status is Status.PASS
    assert math.isclose(found["audio-silent-or-invalid"].observed["rms_dbfs"], -13.1, abs_tol=0.1)


def test_no_frames_is_empty_audio() -> None:
    found = verdict(judge_audio(payload(frames=0, samples=0), None))
    assert found["csm-empty-audio"].status is Status.FAIL
    assert "audio-silent-or-invalid" not in found


def test_a_timeout_and_a_crash_are_errors_with_hints() -> None:
    timeout = judge.judge_timeout(30, "generate", "cuda")
    assert (timeout.id, timeout.status) == ("probe-failed", Status.ERROR)
    assert "30 s" in timeout.title and "generating" in timeout.title
    killed = judge.judge_crash(-9, ["Loading checkpoint shards"], "cpu")
    assert killed.status is Status.ERROR and "out-of-memory killer" in killed.details[0]
    named = judge.judge_crash(-6, ["CUDA error: no kernel image is available for execution on the device"],
                              "cuda")
    assert (named.id, named.status) == ("cuda-arch-unsupported", Status.FAIL)


def test_every_runtime_id_has_a_signature() -> None:
    """smoke classifies through the catalogue's log signatures (the ones triage reads)."""
    from csm_doctor.catalogue import shipped_catalogue

    assert SMOKE_IDS <= {d.id for d in shipped_catalogue().diagnoses.values() if d.signatures}
