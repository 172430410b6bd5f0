"""`csm-doctor smoke` end to end: a real target venv (torch 2.13.0 + transformers), real processes.

The tiny CSM is built offline from transformers' own test configuration; the
failure paths are the real ones, tripped by the documented test-only hook
CSM_DOCTOR_SMOKE_FAULT; Hub problems are a closed local port and the local
fake Hub (tests/hub_server.py). Nothing is downloaded but transformers itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import venv
import wave
from pathlib import Path

import pytest
from conftest import cannot_install
from hub_server import VALID_TOKEN, FakeHub

from csm_doctor.smoke.target_smoke import TINY_BACKBONE, TINY_CODEC, TINY_DEPTH_DECODER

# A current release with CSM (CSM arrived in 4.52.1); pinned so the suite is repeatable.
TRANSFORMERS = "transformers==5.23.0"
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


def _python_in(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _purelib(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.fixture(scope="module")
def csm_python(torch_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway target venv (no system site-packages): the session's torch 2.13.0, shared
    through a .pth file rather than unpacked a second time, plus transformers from the registry."""
    target = tmp_path_factory.mktemp("smoke-venv")
    venv.create(target, with_pip=True)
    python = _python_in(target)
    Path(_purelib(python), "csm-doctor-test-torch.pth").write_text(_purelib(torch_venv) + "\n")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", TRANSFORMERS],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        cannot_install(f"{TRANSFORMERS} is not installable here: {proc.stderr[-500:]}")
    return python


@pytest.fixture
def smoke(cli_env: dict[str, str], tmp_path: Path):
    """Run `csm-doctor smoke ARGS` as a real process."""
    prefix = [sys.executable, "-m", "csm_doctor", "smoke"]

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
        started = time.monotonic()
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, encoding="utf-8",
                              env={**cli_env, **(env or {})},
                              timeout=timeout, cwd=str(tmp_path))
        proc.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        return proc

    return run


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def by_id(doc: dict) -> dict[str, dict]:
    return {f["id"]: f for f in doc["findings"]}


# ---------------------------------------------------------------- the tiny model, for real


def test_tiny_smoke_passes_and_writes_audio_a_person_can_open(csm_python: Path, smoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = smoke("--tiny", "--json", "--python", str(csm_python), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "csm-doctor/smoke/1"
    assert (doc["status"], doc["model"], doc["device"], doc["dtype"]) == ("pass", "tiny", "cpu", "float32")
    assert doc["device_reason"].startswith("cpu: no accelerator found (torch 2.13.0")
    assert doc["sample_rate"] == 24000 and doc["frames"] == 25 and doc["audio_seconds"] == 2.0
    for key in ("load_seconds", "generate_seconds", "time_to_first_audio_seconds", "peak_memory_mib"):
        assert isinstance(doc[key], float) and doc[key] > 0, key
    assert doc["rtf"] == pytest.approx(doc["generate_seconds"] / doc["audio_seconds"], rel=1e-3)
    assert doc["peak_memory_kind"] == "rss"
    assert {f["status"] for f in doc["findings"]} == {"pass"}
    assert set(by_id(doc)) == {"audio-silent-or-invalid", "csm-empty-audio"}

    with wave.open(doc["audio_path"], "rb") as handle:  # PCM16 mono, as reported
        assert (handle.getframerate(), handle.getnchannels(), handle.getsampwidth()) == (24000, 1, 2)
        assert handle.getnframes() / handle.getframerate() == doc["audio_seconds"]
        samples = handle.readframes(handle.getnframes())
    assert max(abs(int.from_bytes(samples[i:i + 2], "little", signed=True))
               for i in range(0, len(samples), 2)) < 32767  # scaled, never clipped
    png = Path(doc["png_path"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (856, 342 + 28)
    # A warm-up, then the median of three timed generations (one sample is noise on a busy box).
    timings = doc["details"]["timings"]
    assert timings["warmup"] > 0 and len(timings["generate_runs"]) == 3
    assert doc["generate_seconds"] == pytest.approx(sorted(timings["generate_runs"])[1], rel=1e-3)
    assert Path(doc["audio_path"]).parent == out
    assert json.loads((out / "result.json").read_text()) == doc  # where `report` finds the last run
    assert "csm-doctor smoke: generating" in proc.stderr  # progress, plain lines off a terminal


def test_out_of_memory_is_named_with_its_fix(csm_python: Path, smoke) -> None:
    proc = smoke("--tiny", "--python", str(csm_python), env={"CSM_DOCTOR_SMOKE_FAULT": "oom"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "CSM did not speak" in proc.stdout
    assert "accelerator memory" in proc.stdout  # the catalogue's cuda-oom wording
    assert "free the GPU" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_nan_audio_is_judged_invalid(csm_python: Path, smoke) -> None:
    proc = smoke("--tiny", "--json", "--python", str(csm_python), env={"CSM_DOCTOR_SMOKE_FAULT": "nan"})
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    finding = by_id(doc)["audio-silent-or-invalid"]
    assert doc["status"] == "fail" and finding["status"] == "fail"
    assert "48000 of 48000 samples are NaN" in finding["title"]


def test_an_immediate_end_of_audio_is_empty_audio(csm_python: Path, smoke) -> None:
    proc = smoke("--tiny", "--json", "--python", str(csm_python), env={"CSM_DOCTOR_SMOKE_FAULT": "empty"})
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert by_id(doc)["csm-empty-audio"]["status"] == "fail"
    assert "Calculated padded input size per channel: (0)" in by_id(doc)["csm-empty-audio"]["details"][0]


def test_a_hang_is_killed_at_the_timeout(csm_python: Path, smoke, tmp_path: Path) -> None:
    import psutil

    out = tmp_path / "hang-out"
    proc = smoke("--tiny", "--json", "--python", str(csm_python), "--timeout", "15", "-o", str(out),
                 env={"CSM_DOCTOR_SMOKE_FAULT": "hang"})
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert doc["status"] == "error"
    assert by_id(doc)["probe-failed"]["status"] == "error"
    assert "no result within 15 s" in by_id(doc)["probe-failed"]["title"]
    assert proc.seconds < 15 + 20  # type: ignore[attr-defined]
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if any(str(out) in part for part in (p.info["cmdline"] or []))]
    assert leftovers == []


def test_a_device_torch_cannot_drive_is_named(csm_python: Path, smoke) -> None:
    proc = smoke("--tiny", "--json", "--device", "cuda", "--python", str(csm_python))
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert by_id(doc)["torch-cpu-build"]["status"] == "fail"
    assert "CPU build" in by_id(doc)["torch-cpu-build"]["title"]


# ---------------------------------------------------------------- real weights: the Hub, in seconds


def test_an_unreachable_hub_with_nothing_cached_fails_in_seconds(smoke) -> None:
    proc = smoke("--json", "--python", sys.executable,
                 env={"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"})
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert by_id(doc)["hf-unreachable"]["status"] == "fail"
    assert "sesame/csm-1b is not cached" in by_id(doc)["hf-unreachable"]["title"]
    assert doc["result_path"].endswith(os.path.join("csm-doctor-smoke", "result.json"))  # ./ by default
    assert proc.seconds < 10  # type: ignore[attr-defined]  # transformers alone: ~139 s


def test_offline_with_nothing_cached_is_a_missing_checkpoint(smoke) -> None:
    proc = smoke("--json", "--offline", "--python", sys.executable)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert by_id(doc)["checkpoint-missing"]["status"] == "fail"


@pytest.mark.parametrize(("token", "expected"), [(VALID_TOKEN, "hf-gated-no-access"),
                                                 (None, "hf-token-missing")])
def test_gated_access_is_named_before_any_download(smoke, token: str | None, expected: str) -> None:
    with FakeHub(repos={"sesame/csm-1b": "not-requested"}) as hub:
        env = {"HF_ENDPOINT": hub.url, **({"HF_TOKEN": token} if token else {})}
        proc = smoke("--json", "--python", sys.executable, env=env)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert by_id(doc)[expected]["status"] == "fail"
    assert VALID_TOKEN not in proc.stdout + proc.stderr


BUILD_CHECKPOINT = r"""
import json, sys
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import (CsmConfig, CsmForConditionalGeneration, CsmProcessor,
                          EncodecFeatureExtractor, PreTrainedTokenizerFast)

folder, spec = sys.argv[1], json.loads(sys.argv[2])
vocab = {"[UNK]": 0, "<|begin_of_text|>": 1, "<|pad|>": 2, "<|end_of_text|>": 3,
         "<|AUDIO|>": 57, "<|audio_eos|>": 58}
for word in ("[", "]", "0", "Hello", "from", "csm", "-", "doctor", "."):
    vocab[word] = len(vocab) + 3
tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.post_processor = processors.TemplateProcessing(
    single="<|begin_of_text|> $A <|end_of_text|>",
    special_tokens=[("<|begin_of_text|>", 1), ("<|end_of_text|>", 3)])
tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                    eos_token="<|end_of_text|>", pad_token="<|pad|>", unk_token="[UNK]")
torch.manual_seed(0)
config = CsmConfig(depth_decoder_config=spec["depth"], codec_config=spec["codec"],
                   **dict(spec["backbone"], max_position_embeddings=64))
model = CsmForConditionalGeneration(config)
for module in model.codec_model.modules():
    if type(module).__name__ == "MimiEuclideanCodebook":
        module.embed_sum.copy_(torch.randn(module.embed_sum.shape))
model.generation_config.do_sample = True
model.depth_decoder.generation_config.do_sample = True
model.save_pretrained(folder)
CsmProcessor(EncodecFeatureExtractor(feature_size=1, sampling_rate=24000), tokenizer).save_pretrained(folder)
"""


def test_cached_weights_load_offline_when_the_hub_is_unreachable(csm_python: Path, smoke,
                                                                 cli_env: dict[str, str]) -> None:
    """The default path (AutoProcessor + CsmForConditionalGeneration.from_pretrained) on a
    tiny checkpoint saved into the Hugging Face cache as sesame/csm-1b."""
    repo = Path(cli_env["HF_HOME"]) / "hub" / "models--sesame--csm-1b"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)
    spec = {"depth": TINY_DEPTH_DECODER, "codec": TINY_CODEC, "backbone": TINY_BACKBONE}
    subprocess.run([str(csm_python), "-c", BUILD_CHECKPOINT, str(repo / "snapshots" / SNAPSHOT),
                    json.dumps(spec)], check=True, capture_output=True, timeout=300)

    proc = smoke("--json", "--python", str(csm_python), "--max-frames", "10",
                 env={"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert (doc["status"], doc["model"], doc["frames"]) == ("pass", "sesame/csm-1b", 10)
    assert doc["details"]["hf_offline"] is True
    assert "weights cached, loading offline" in doc["details"]["notes"][0]
    assert proc.seconds < 120  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the official repository


def test_the_official_generator_runs_from_the_checkout(csm_python: Path, smoke, tmp_path: Path,
                                                       cli_env: dict[str, str]) -> None:
    """What can run here: the checkout on sys.path, NO_TORCH_COMPILE where triton is missing, and
    the real first failure of a venv without moshi, named."""
    checkout = tmp_path / "csm"
    checkout.mkdir()
    (checkout / "models.py").write_text("")
    (checkout / "generator.py").write_text("from moshi.models import loaders  # as generator.py does\n")
    cache = Path(cli_env["HF_HOME"]) / "hub"
    for repo, name in (("sesame/csm-1b", "config.json"), ("sesame/csm-1b", "model.safetensors"),
                       ("meta-llama/Llama-3.2-1B", "tokenizer.json"),
                       ("meta-llama/Llama-3.2-1B", "tokenizer_config.json"),
                       ("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors")):
        folder = cache / ("models--" + repo.replace("/", "--"))
        (folder / "snapshots" / SNAPSHOT).mkdir(parents=True, exist_ok=True)
        (folder / "refs").mkdir(exist_ok=True)
        (folder / "refs" / "main").write_text(SNAPSHOT)
        (folder / "snapshots" / SNAPSHOT / name).write_text("{}")

    proc = smoke("--json", "--offline", "--repo", str(checkout), "--python", str(csm_python))
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert doc["model"] == "official-repo"
    missing = by_id(doc)["package-missing"]
    assert missing["status"] == "fail" and "moshi" in missing["title"]
    has_triton = subprocess.run([str(csm_python), "-c", "import triton"], capture_output=True).returncode == 0
    assert doc["details"]["env_set"] == ({} if has_triton else {"NO_TORCH_COMPILE": "1"})


# ---------------------------------------------------------------- bad input: exit 2, named


@pytest.mark.parametrize(("args", "words"), [
    (("--tiny", "--random-weights"), "key '--random-weights': choose one of --tiny, --random-weights"),
    (("--recipe", "csm-1b"), "key '--recipe': the csm-1b recipe runs the official repository"),
    (("--recipe", "cosyvoice2-lora"), "recipe 'cosyvoice2-lora' has no smoke test"),
    (("--tiny", "--python", "/nonexistent/python"), "key '--python': no interpreter at /nonexistent/python"),
    (("--tiny", "--max-frames", "0"), "key '--max-frames'"),
    (("--tiny", "--timeout", "0"), "key '--timeout'"),
])
def test_bad_input_exits_2_naming_the_option(smoke, args: tuple[str, ...], words: str) -> None:
    proc = smoke(*args, "--json", *(() if "--python" in args else ("--python", sys.executable)))
    assert proc.returncode == 2
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["schema"] == "csm-doctor/error/1"


def test_a_checkout_without_generator_py_is_bad_input(smoke, tmp_path: Path) -> None:
    (tmp_path / "not-csm").mkdir()
    proc = smoke("--repo", str(tmp_path / "not-csm"), "--python", sys.executable)
    assert proc.returncode == 2
    assert "key '--repo': no generator.py here: not a checkout of SesameAILabs/csm" in proc.stderr


def test_check_with_smoke_tiny_merges_the_verdict(csm_python: Path, cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """`check --smoke-tiny`: the checks, then a real (tiny) generation, judged in one report."""
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", "check", "--offline", "--json",
                           "--recipe", "csm-1b-transformers", "--python", str(csm_python),
                           "--smoke-tiny"], capture_output=True, text=True, env=cli_env,
                          cwd=str(tmp_path), timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["smoke"]["status"] == "pass" and doc["smoke"]["sample_rate"] == 24000
    smoke_findings = [f for f in doc["findings"] if f["group"] == "smoke"]
    assert smoke_findings and all(f["status"] == "pass" for f in smoke_findings)
    human = subprocess.run([sys.executable, "-m", "csm_doctor", "check", "--offline",
                            "--recipe", "csm-1b-transformers", "--python", str(csm_python),
                            "--smoke-tiny"], capture_output=True, text=True, env=cli_env,
                           cwd=str(tmp_path), timeout=600)
    assert "Smoke test (speech generated end to end)" in human.stdout


def test_check_smoke_refuses_replayed_facts(run_cli) -> None:
    facts = Path(__file__).parent / "fixtures" / "facts" / "h100-driver-550-csm-ready.json"
    result = run_cli("check", "--facts", str(facts), "--smoke")
    assert result.code == 2
    assert "--smoke" in result.stderr
