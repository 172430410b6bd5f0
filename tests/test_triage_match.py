"""Known-problem matching on the corpus: real logs from public issues, each with its diagnosis.

tests/fixtures/logs/<id>/<name>.txt is a log as users paste it (Windows paths,
CRLF, Jupyter and Colab frames, colour codes, cut lines, prose in other
languages); its .source.txt names the issue and says what triage must answer
(EXPECTED: first id, confidence, and ids that must or must not be reported).
tests/fixtures/logs/healthy/ and the probe captures are healthy outputs: no
"fail" finding allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, PROBE_FIXTURES

from csm_doctor.triage.extract import extract_facts
from csm_doctor.triage.match import match_text, paste_lines

LOGS = FIXTURES / "logs"
SPLIT = FIXTURES / "triage-corpus"
ALL_CASES = sorted(p for p in LOGS.rglob("*.txt") if not p.name.endswith(".source.txt"))


def split_cases(name: str) -> list[Path]:
    """The cases tests/fixtures/triage-corpus/<name> lists (written once, before any tuning)."""
    return [LOGS / line.split("\t")[0] for line in (SPLIT / name).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


# Only the development set is tested here: the held-out set is what
# benchmarks/bench_triage_accuracy.py measures, and no signature is written
# against it.
CORPUS = sorted(split_cases("dev.txt"))
CAPTURES = sorted(p for p in PROBE_FIXTURES.rglob("*") if p.is_file()
                  and not p.name.endswith(".source.txt") and p.parent.name != "nvidia-smi-errors")


def expected(path: Path) -> dict[str, str]:
    source = (path.parent / (path.name + ".source.txt")).read_text(encoding="utf-8")
    block = source.split("EXPECTED\n", 1)[1]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


def triage(text: str) -> list[dict]:
    facts, sources = extract_facts(text)
    return match_text(text, facts, sources)


def corpus_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_the_corpus_is_split_once_into_dev_and_heldout():
    """Every case is on exactly one side; every thread's excerpts are on the same side."""
    dev, held = split_cases("dev.txt"), split_cases("heldout.txt")
    assert sorted(dev + held) == ALL_CASES and not set(dev) & set(held)
    assert len(held) >= 40 and len([p for p in held if p.parent.name == "healthy"]) >= 5
    side = {}
    for name in ("dev.txt", "heldout.txt"):
        for line in (SPLIT / name).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                url = line.split("\t")[2]
                assert side.setdefault(url, name) == name, f"{url} is on both sides"


def test_the_corpus_is_real_and_sourced():
    assert len(ALL_CASES) >= 230 and len([p for p in ALL_CASES if p.parent.name == "healthy"]) >= 30
    for path in ALL_CASES:
        source = (path.parent / (path.name + ".source.txt")).read_text(encoding="utf-8")
        assert "url: https://github.com/" in source or "Captured on" in source, path
        assert "EXPECTED" in source, path


@pytest.mark.parametrize("path", [p for p in CORPUS if p.parent.name != "healthy"], ids=corpus_id)
def test_corpus_diagnosis(path: Path):
    want = expected(path)
    findings = triage(path.read_text(encoding="utf-8"))
    assert findings, f"nothing recognised in {path.name}"
    first = findings[0]
    assert (first["id"], first["confidence"]) == (want["first"], want["confidence"]), \
        [(f["id"], f["confidence"]) for f in findings]
    assert first["status"] == "fail" and first["evidence"] and first["fix"]
    if "also" in want:
        assert want["also"] in [f["id"] for f in findings[1:]], "the consequence comes after the root"
    if "not" in want:
        assert not [f for f in findings if f["id"] == want["not"] and f["status"] == "fail"]
    if "subject" in want:
        assert first["subject"] == want["subject"]


@pytest.mark.parametrize("path", [p for p in CORPUS if p.parent.name == "healthy"] + CAPTURES,
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_healthy_output_is_not_diagnosed(path: Path):
    assert [f for f in triage(path.read_text(encoding="utf-8")) if f["status"] == "fail"] == []


def test_nvidia_smi_error_capture_is_the_missing_driver():
    text = (PROBE_FIXTURES / "nvidia-smi-errors" / "mxochicale-driver-not-loaded.txt").read_text()
    assert [f["id"] for f in triage(text)] == ["nvidia-driver-missing"]


def test_every_recognisable_id_has_a_corpus_log():
    """Each id the catalogue can recognise in a log is exercised by at least one real log."""
    from csm_doctor.catalogue import shipped_catalogue

    recognisable = {d.id for d in shipped_catalogue().diagnoses.values()
                    if any("context" not in s.split(")")[0] for s in d.signatures)}
    covered = {p.parent.name for p in CORPUS} | {"nvidia-driver-missing"}  # + the probe capture
    # No public log of these was found; their signatures are exercised in the tests below.
    allowed_without = {"checkpoint-missing"}
    assert recognisable - covered == allowed_without


def test_evidence_points_at_the_real_lines():
    """Evidence line N is the paste's line N (colour codes removed), as an editor numbers it."""
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        lines = paste_lines(text)
        assert len(lines) == len(text.split("\n"))
        for finding in triage(text):
            for evidence in finding["evidence"]:
                line = lines[evidence["line"] - 1].strip()
                shown = evidence["text"].strip("…")
                assert shown in line or line in shown, (path.name, evidence)


# --------------------------------------------------------------------------- #
# Pasted the way users paste
# --------------------------------------------------------------------------- #


def _variants(text: str) -> dict[str, str]:
    return {
        "crlf": text.replace("\n", "\r\n"),
        "colour": "\n".join(f"\x1b[0;31m{line}\x1b[0m" for line in text.split("\n")),
        "quoted": "\n".join("> " + line for line in text.split("\n")),
        "fenced-in-prose": "Das passiert bei mir / 我这里报错:\n```\n" + text + "\n```\nAny idea?",
        "utf8-bom": "\ufeff" + text,
    }


@pytest.mark.parametrize("name", ["triton-version-mismatch/pytorch-issue127271-inductor-triton-key",
                                  "hf-gated-no-access/csm-issue148-ec2-config",
                                  "cuda-oom/touchnet-issue100-npu-oom",
                                  "windows-long-path/tensorrt-pr4288-winerror-206"])
def test_the_same_log_pasted_differently(name: str):
    path = LOGS / f"{name}.txt"
    want = expected(path)
    for variant, text in _variants(path.read_text(encoding="utf-8")).items():
        findings = triage(text)
        assert findings and findings[0]["id"] == want["first"], variant


def test_truncated_lines_still_match():
    """Terminals and GitHub titles cut lines; signatures match the message's opening words."""
    cut = ("RuntimeError: CUDA error: no kernel image is available for execution on the dev\n"
           "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a tot")
    assert {f["id"] for f in triage(cut)} == {"cuda-arch-unsupported", "cuda-oom"}


def test_several_errors_in_one_paste_are_each_reported():
    paste = "\n\n".join((LOGS / name).read_text(encoding="utf-8") for name in (
        "disk-space-low/diffusers-issue4957-jupyter-errno28.txt",
        "audio-not-mono/csm-issue102-stereo-prompt-after-config-error.txt",
        "mps-op-unsupported/invokeai-pr232-old-wording.txt"))
    assert {f["id"] for f in triage(paste)} == {"disk-space-low", "audio-not-mono", "mps-op-unsupported"}


def test_repeated_error_is_one_finding_with_a_count():
    line = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB"
    findings = triage("\n".join([line] * 500))
    assert len(findings) == 1 and findings[0]["occurrences"] >= 200
    assert len(findings[0]["evidence"]) <= 5


# --------------------------------------------------------------------------- #
# Root cause first (the entries' `explains`)
# --------------------------------------------------------------------------- #

TYPE_ERROR = (LOGS / "hf-gated-no-access" / "csm-issue148-ec2-config.txt").read_text(encoding="utf-8")
FORBIDDEN = (LOGS / "hf-gated-no-access" / "ai-virtual-agent-issue200-403-restricted.txt").read_text(
    encoding="utf-8")
UNAUTHORIZED = (LOGS / "hf-token-missing" / "neosapiens-issue3-gated-401.txt").read_text(encoding="utf-8")
OFFLINE = (LOGS / "hf-unreachable" / "humangaussian-issue4-network-unreachable.txt").read_text(
    encoding="utf-8")


def test_gated_403_before_the_typeerror_it_causes():
    """The 403 and the TypeError name one cause: one certain finding, the 403 cited first."""
    findings = triage(FORBIDDEN + "\n" + TYPE_ERROR)
    assert [(f["id"], f["status"], f["confidence"]) for f in findings] == \
        [("hf-gated-no-access", "fail", "certain")]
    texts = [e["text"] for e in findings[0]["evidence"]]
    assert "403 Client Error" in texts[0] and "missing 1 required positional argument" in texts[-1]


def test_typeerror_alone_is_a_likely_gated_repo():
    findings = triage(TYPE_ERROR)
    assert [(f["id"], f["confidence"]) for f in findings] == [("hf-gated-no-access", "likely")]


@pytest.mark.parametrize("root_text,root_id", [(UNAUTHORIZED, "hf-token-missing"),
                                               (OFFLINE, "hf-unreachable")])
def test_a_known_cause_of_the_typeerror_comes_first(root_text: str, root_id: str):
    """Even pasted after the TypeError, the cause it names leads; the TypeError is its consequence."""
    findings = triage(TYPE_ERROR + "\n\n" + root_text)
    assert [f["id"] for f in findings] == [root_id, "hf-gated-no-access"]
    assert findings[0]["status"] == "fail"
    assert findings[1]["status"] == "warn" and findings[1]["explained_by"] == [root_id]


def test_a_line_matching_root_and_consequence_belongs_to_the_root():
    findings = triage("ModuleNotFoundError: No module named 'matcha'")
    assert [f["id"] for f in findings] == ["git-submodule-missing"]


def test_windows_context_settles_the_triton_message():
    moshi = "import error: No module named 'triton'"
    assert triage(moshi)[0]["confidence"] == "likely"
    windows = moshi + '\n  File "C:\\Users\\me\\csm\\generator.py", line 12, in <module>'
    assert triage(windows)[0]["confidence"] == "certain"


def test_npu_context_is_needed_for_the_transformers_mismatch():
    assert [f["id"] for f in triage("AssertionError: Torch not compiled with CUDA enabled")] == \
        ["torch-cpu-build"]
    on_npu = "import torch_npu\nAssertionError: Torch not compiled with CUDA enabled"
    assert [f["id"] for f in triage(on_npu)] == ["npu-transformers-mismatch"]


# --------------------------------------------------------------------------- #
# Facts settle likely causes (knowledge tables)
# --------------------------------------------------------------------------- #

RTX5090 = (LOGS / "cuda-arch-unsupported" / "gminer-issue938-rtx5090-smi.txt").read_text(encoding="utf-8")
NO_KERNEL = "RuntimeError: CUDA error: no kernel image is available for execution on the device"


def test_no_kernel_image_on_an_rtx5090_with_torch_24_is_certain():
    findings = triage(RTX5090 + "\n" + NO_KERNEL + "\n\n$ pip freeze\ntorch==2.4.0+cu124\n")
    arch = findings[0]
    assert (arch["id"], arch["confidence"]) == ("cuda-arch-unsupported", "certain")
    assert any("compute capability 12.0" in d and "torch 2.4.0+cu124" in d for d in arch["details"])


def test_no_kernel_image_without_facts_is_likely_and_says_so():
    arch = triage(NO_KERNEL)[0]
    assert (arch["id"], arch["confidence"]) == ("cuda-arch-unsupported", "likely")
    assert any(d.startswith("likely:") for d in arch["details"])


def test_facts_that_contradict_keep_it_likely_with_the_reason():
    arch = triage(RTX5090 + "\n" + NO_KERNEL + "\ntorch==2.7.0+cu128\n")[0]
    assert arch["confidence"] == "likely"
    assert any("CUDA extension" in d for d in arch["details"])


def test_facts_alone_warn_about_a_gpu_the_torch_build_cannot_drive():
    findings = triage(RTX5090.split("nvidia-smi:", 1)[1] + "\ntorch==2.4.0\n")
    assert [(f["id"], f["status"], f["confidence"]) for f in findings] == \
        [("cuda-arch-unsupported", "warn", "likely")]
    assert findings[0]["evidence"], "facts-only findings cite the tool output they come from"


def test_cpu_build_is_settled_by_collect_env():
    """A CPU-only torch next to the NVIDIA GPU collect_env lists is the CPU-build problem."""
    text = (PROBE_FIXTURES / "torch-collect-env" /
            "pytorch-issue97229-linux-centos8-torch2.0-cpu-only.txt").read_text()
    text = text.replace("GPU models and configuration: No CUDA",
                        "GPU models and configuration: GPU 0: NVIDIA GeForce RTX 3090")
    text = text.replace("Nvidia driver version: No CUDA", "Nvidia driver version: 535.161.08")
    finding = triage(text + "\nAssertionError: Torch not compiled with CUDA enabled\n")[0]
    assert (finding["id"], finding["confidence"]) == ("torch-cpu-build", "certain")


def test_collect_env_without_any_gpu_is_a_missing_gpu_not_a_cpu_build():
    """collect_env prints "No CUDA" for the GPU and driver only when nvidia-smi found no GPU: the
    machine has none, so "Torch not compiled with CUDA" is no reinstall-torch problem (issue 12)."""
    text = (PROBE_FIXTURES / "torch-collect-env" /
            "pytorch-issue97229-linux-centos8-torch2.0-cpu-only.txt").read_text()
    findings = triage(text + "\nAssertionError: Torch not compiled with CUDA enabled\n")
    assert (findings[0]["id"], findings[0]["confidence"]) == ("gpu-missing", "certain")
    assert not [f for f in findings if f["id"] == "torch-cpu-build" and f["status"] == "fail"]


# --------------------------------------------------------------------------- #
# The contract's finding objects
# --------------------------------------------------------------------------- #


def test_finding_objects_follow_the_contract():
    for path in CORPUS:
        for finding in triage(path.read_text(encoding="utf-8")):
            assert finding["status"] in ("fail", "warn")
            assert finding["confidence"] in ("certain", "likely")
            assert isinstance(finding["title"], str) and finding["title"]
            assert set(finding) >= {"id", "status", "title", "fix", "evidence", "confidence",
                                    "explained_by", "occurrences"}
            assert all(set(e) == {"line", "text"} and isinstance(e["line"], int)
                       for e in finding["evidence"])
            json.dumps(finding)


# --------------------------------------------------------------------------- #
# Issue 12: new causes, and ids that were wrong where the paste is clear
# --------------------------------------------------------------------------- #

NEW_IDS = ("torch-dll-load-failed-windows", "torch-extension-abi-mismatch", "onnxruntime-cuda-mismatch",
           "numpy-abi-mismatch", "source-tree-shadows-package")


@pytest.mark.parametrize("diagnosis", NEW_IDS)
def test_each_new_cause_has_a_remedy_and_real_logs(diagnosis: str):
    from csm_doctor.catalogue import shipped_catalogue

    catalogue = shipped_catalogue()
    assert catalogue.diagnoses[diagnosis].fix and "`" in catalogue.diagnoses[diagnosis].fix  # a command
    logs = [p for p in ALL_CASES if p.parent.name == diagnosis]
    assert len(logs) >= 2 and len([p for p in CORPUS if p.parent.name == diagnosis]) >= 2


def test_triton_common_on_linux_is_a_triton_version_mismatch():
    text = ("  File \"/opt/conda/lib/python3.10/site-packages/unsloth/__init__.py\", line 80\n"
            "ModuleNotFoundError: No module named 'triton.common'\n"
            "Python platform: Linux-5.15.0-91-generic-x86_64-with-glibc2.35\n")
    findings = triage(text)
    assert findings[0]["id"] == "triton-version-mismatch"
    assert not [f for f in findings if f["id"] == "package-missing" and f["status"] == "fail"]


def test_no_gpu_at_all_is_not_a_cpu_build():
    mac = "I run it on my MacBook.\nAssertionError: Torch not compiled with CUDA enabled\n"
    assert [(f["id"], f["status"]) for f in triage(mac)][:1] == [("gpu-missing", "fail")]
    with_gpu = ("| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: 12.4 |\n"
                "AssertionError: Torch not compiled with CUDA enabled\n")
    assert triage(with_gpu)[0]["id"] == "torch-cpu-build"


def test_a_plain_pypi_version_is_not_called_a_cpu_build():
    from csm_doctor.render.triage import fact_lines

    facts, _ = extract_facts("torch==2.4.0\n")
    line = next(x for x in fact_lines(facts) if x.startswith("torch "))
    assert "CPU" not in line.split(":")[0] and "build not shown" in line
    facts, _ = extract_facts("torch==2.4.0+cpu\n")
    assert "a CPU-only build" in next(x for x in fact_lines(facts) if x.startswith("torch "))


def test_prose_facts_settle_a_pin_without_wheels_for_this_python():
    text = ("I am using Python version 3.11.\n"
            "ERROR: No matching distribution found for torch==1.8.2+cu111\n")
    first = triage(text)[0]
    assert (first["id"], first["confidence"]) == ("python-version-unsupported", "certain")
    assert "Python 3.11" in " ".join(first["details"])


def test_prose_gpu_name_settles_the_arch():
    from csm_doctor.parsers.prose import parse_prose

    assert parse_prose("I have a rtx5090, the version torch is 2.0.1 on windows 11") == {
        "torch": "2.0.1", "gpus": ["NVIDIA GeForce RTX 5090"], "os": "windows"}
    first = triage("I have an RTX 5090 and torch 2.4.0.\nCUDA error: no kernel image is available "
                   "for execution on the device\n")[0]
    assert (first["id"], first["confidence"]) == ("cuda-arch-unsupported", "certain")


CUT_CSM_LOAD = ('Traceback (most recent call last):\n  File "run.py", line 5, in <module>\n'
                '    generator = load_csm_1b(device="cuda")\n  File "generator.py", line 172, in load_csm_1b\n'
                '    model = Model.from_pretrained("sesame/csm-1b")\n')


def test_traceback_cut_before_its_message_loading_csm_is_a_likely_gated_repo():
    assert [(f["id"], f["confidence"]) for f in triage(CUT_CSM_LOAD)] == [("hf-gated-no-access", "likely")]


def test_the_csm_loading_frames_are_no_guess_when_the_paste_has_a_real_error():
    findings = triage(CUT_CSM_LOAD + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    assert [f["id"] for f in findings] == ["cuda-oom"]


@pytest.mark.parametrize("paste,want", [
    ("$ curl -L https://huggingface.co/sesame/csm-1b/resolve/main/ckpt.pt\nHTTP/2 403\n", "hf-gated-no-access"),
    ("wget https://huggingface.co/sesame/csm-1b/resolve/main/ckpt.pt\n"
     "HTTP request sent, awaiting response... 401 Unauthorized\n", "hf-token-missing"),
    ("fatal: Authentication failed for 'https://huggingface.co/sesame/csm-1b/'\n", "hf-token-invalid"),
    ("Cannot access gated repo for url https://huggingface.co/sesame/csm-1b/resolve/main/ckpt.pt.\n",
     "hf-gated-no-access"),
], ids=["curl-403", "wget-401", "git-auth", "gated-message-cut"])
def test_hub_refusals_from_non_python_clients_and_cut_messages(paste: str, want: str):
    first = triage(paste)[0]
    assert (first["id"], first["status"]) == (want, "fail")


def test_a_403_elsewhere_is_not_the_hub():
    assert triage("$ curl https://example.com/x\nHTTP/1.1 403 Forbidden\n") == []


@pytest.mark.parametrize("paste,want", [
    ("  × No solution found when resolving dependencies:\n  ╰─▶ Because torch==2.4.0 has no wheels with a "
     "matching Python ABI tag (e.g., `cp313`), we can conclude that torch==2.4.0 cannot be used.\n",
     "python-version-unsupported"),
    ("  ╰─▶ Because the current Python version (3.13.1) does not satisfy Python>=3.9,<3.13 and csm depends "
     "on Python>=3.9,<3.13, we can conclude that csm cannot be used.\n", "python-version-unsupported"),
    ("PyTorch warns that my GPU (`sm_120`) is not supported by the current installation\n",
     "cuda-arch-unsupported"),
], ids=["uv-no-wheel-for-abi", "uv-python-range", "sm120-paraphrased"])
def test_resolver_and_paraphrased_messages(paste: str, want: str):
    assert triage(paste)[0]["id"] == want


def test_numpy_2_under_an_old_torch_is_found_from_a_pasted_pip_freeze():
    """numpy-abi-mismatch from the paste's packages alone (torch < 2.3 beside numpy >= 2), and the
    NumPy message settled by them; numpy 1.x refutes it."""
    freeze = "$ pip freeze\nnumpy==2.0.1\ntorch==2.1.2\n"
    findings = triage(freeze)
    assert [(f["id"], f["status"], f["confidence"]) for f in findings] == \
        [("numpy-abi-mismatch", "warn", "likely")]
    assert findings[0]["evidence"]
    message = "ImportError: numpy.core.multiarray failed to import\n"
    settled = triage(message + freeze)[0]
    assert (settled["id"], settled["confidence"]) == ("numpy-abi-mismatch", "certain")
    assert triage("$ pip freeze\nnumpy==1.26.4\ntorch==2.1.2\n") == []
    assert triage("$ pip freeze\nnumpy==2.0.1\ntorch==2.4.0\n") == []
