"""`python -m torch.utils.collect_env` parser against three issue pastes (macOS
arm64 torch 1.14 nightly, Linux CUDA 11.8 NGC build, CentOS CPU-only torch 2.0
with the lscpu block) and inline torch 2.x layouts (several GPUs below the
label, Windows, ROCm).

Source-note facts outside the return shape (Python platform, CUDA runtime
version, CUDA_MODULE_LOADING, XNNPACK, the CPU block) are read only where
they decide a returned value (the platform decides os.name).
"""

from __future__ import annotations

import pytest
from conftest import load_capture

from csm_doctor.parsers.collect_env import looks_like_collect_env, parse_collect_env

FOLDER = "torch-collect-env"
MACOS = "pytorch-issue88820-macos13-arm64-applesilicon-torch1.14dev.txt"
LINUX_CUDA = "pytorch-issue91351-linux-ubuntu20.04-cuda11.8-RTXA5000.txt"
CPU_ONLY = "pytorch-issue97229-linux-centos8-torch2.0-cpu-only.txt"

EXPECTED = {
    MACOS: {
        "torch_version": "1.14.0.dev20221104", "torch_cuda": None, "torch_rocm": None, "is_debug": False,
        "os": {"name": "darwin", "pretty": "macOS 13.0 (arm64)"}, "python_version": "3.10.8",
        "cuda_available": False, "gpus": [], "driver_version": None, "cudnn_version": None,
        "pip_packages": {"condor-pytorch": "1.1.0", "numpy": "1.23.2", "torch": "1.14.0.dev20221104",
                         "torch-lr-finder": "0.2.1", "torchaudio": "0.14.0.dev20221104",
                         "torchmetrics": "0.10.0", "torchvision": "0.15.0.dev20221104"},
        "conda_packages": {"nomkl": "3.0", "numpy": "1.21.5", "numpy-base": "1.21.5", "numpydoc": "1.2",
                           "pytorch": "1.13.0.dev20220826", "torchaudio": "0.13.0.dev20220826",
                           "torchvision": "0.14.0.dev20220826"},
    },
    LINUX_CUDA: {
        "torch_version": "1.14.0a0+410ce96", "torch_cuda": "11.8", "torch_rocm": None, "is_debug": False,
        "os": {"name": "linux", "pretty": "Ubuntu 20.04.5 LTS (x86_64)"}, "python_version": "3.8.10",
        "cuda_available": True, "gpus": [{"index": 0, "name": "NVIDIA RTX A5000"}],
        "driver_version": "515.65.01", "cudnn_version": "8.7.0",  # from the "Probably one of" paths
        "pip_packages": {"k2": "1.23.2.dev20221221+cuda11.8.torch1.14.0a0", "numpy": "1.22.2",
                         "pytorch-lightning": "1.8.6", "pytorch-quantization": "2.1.2",
                         "torch": "1.14.0a0+410ce96", "torch-tensorrt": "1.3.0a0", "torchaudio": "0.14.0",
                         "torchmetrics": "0.11.0", "torchvision": "0.15.0a0"},
        "conda_packages": {},  # "[conda] Could not collect"
    },
    CPU_ONLY: {
        "torch_version": "2.0.0.dev20230228+cpu-cxx11-abi", "torch_cuda": None, "torch_rocm": None,
        "is_debug": False, "os": {"name": "linux", "pretty": "CentOS Stream 8 (x86_64)"},
        "python_version": "3.9.16", "cuda_available": False, "gpus": [], "driver_version": None,
        "cudnn_version": None,
        "pip_packages": {"intel-extension-for-pytorch": "2.0.0+git2cb04e0", "mypy-extensions": "1.0.0",
                         "numpy": "1.24.2", "torch": "2.0.0.dev20230228+cpu.cxx11.abi"},
        "conda_packages": {"intel-extension-for-pytorch": "2.0.0+git2cb04e0", "mkl-include": "2023.0.0",
                           "mkl-static": "2023.0.0", "numpy": "1.24.2",
                           "torch": "2.0.0.dev20230228+cpu.cxx11.abi"},
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_key_facts(name):
    text = load_capture(FOLDER, name)
    assert parse_collect_env(text) == EXPECTED[name]
    assert looks_like_collect_env(text)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_issue_paste_noise_changes_nothing(name):
    """As pasted into an issue: CRLF, a fence, the template's prose, a trailing cc line."""
    text = load_capture(FOLDER, name)
    pasted = ("### Versions\r\n\r\n```\r\n" + text.replace("\n", "\r\n") +
              "\r\n```\r\n\r\ncc @ezyang @gchanan\r\n")
    assert parse_collect_env(pasted) == EXPECTED[name]


TORCH_24_LINUX = """\
Collecting environment information...
PyTorch version: 2.4.0+cu124
Is debug build: False
CUDA used to build PyTorch: 12.4
ROCM used to build PyTorch: N/A

OS: Ubuntu 22.04.4 LTS (x86_64)
GCC version: (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0
Clang version: Could not collect
CMake version: version 3.22.1
Libc version: glibc-2.35

Python version: 3.10.14 (main, Mar 21 2024, 16:24:04) [GCC 11.2.0] (64-bit runtime)
Python platform: Linux-5.15.0-113-generic-x86_64-with-glibc2.35
Is CUDA available: True
CUDA runtime version: 12.4.131
CUDA_MODULE_LOADING set to: LAZY
GPU models and configuration:
GPU 0: NVIDIA H100 80GB HBM3
GPU 1: NVIDIA H100 80GB HBM3

Nvidia driver version: 550.90.07
cuDNN version: Probably one of the following:
/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0
/usr/lib/x86_64-linux-gnu/libcudnn_adv.so.9.1.0
HIP runtime version: N/A
MIOpen runtime version: N/A
Is XNNPACK available: True

CPU:
Architecture:                         x86_64
Model name:                           Intel(R) Xeon(R) Platinum 8480+
OS:                                   this is no collect_env label, just lscpu noise

Versions of relevant libraries:
[pip3] numpy==1.26.4
[pip3] nvidia-cudnn-cu12==9.1.0.70
[pip3] torch==2.4.0+cu124
[pip3] torchaudio==2.4.0+cu124
[conda] Could not collect
"""


def test_torch_24_layout_with_gpus_below_the_label():
    result = parse_collect_env(TORCH_24_LINUX)
    assert result["torch_version"] == "2.4.0+cu124" and result["torch_cuda"] == "12.4"
    assert result["gpus"] == [{"index": 0, "name": "NVIDIA H100 80GB HBM3"},
                              {"index": 1, "name": "NVIDIA H100 80GB HBM3"}]
    assert result["os"] == {"name": "linux", "pretty": "Ubuntu 22.04.4 LTS (x86_64)"}
    assert (result["python_version"], result["driver_version"], result["cudnn_version"]) == (
        "3.10.14", "550.90.07", "9.1.0")
    assert result["pip_packages"]["torchaudio"] == "2.4.0+cu124"
    assert result["pip_packages"]["nvidia-cudnn-cu12"] == "9.1.0.70"
    assert result["conda_packages"] == {}


def test_windows_layout():
    text = """PyTorch version: 2.5.1+cu121
Is debug build: False
CUDA used to build PyTorch: 12.1
ROCM used to build PyTorch: N/A

OS: Microsoft Windows 11 Pro
GCC version: Could not collect
Libc version: N/A

Python version: 3.11.9 (tags/v3.11.9:de54cf5, Apr  2 2024, 10:12:12) [MSC v.1938 64 bit (AMD64)] (64-bit runtime)
Python platform: Windows-10-10.0.22631-SP0
Is CUDA available: True
GPU models and configuration: GPU 0: NVIDIA GeForce RTX 4090
Nvidia driver version: 566.36
cuDNN version: C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v12.1\\bin\\cudnn_ops_train64_8.dll

CPU:
Architecture=9
CurrentClockSpeed=3000
Name=13th Gen Intel(R) Core(TM) i9-13900K

Versions of relevant libraries:
[pip3] torch==2.5.1+cu121
[conda] Could not collect
"""
    result = parse_collect_env(text.replace("\n", "\r\n"))
    assert result["os"] == {"name": "windows", "pretty": "Microsoft Windows 11 Pro"}
    assert (result["python_version"], result["torch_cuda"], result["cudnn_version"]) == ("3.11.9", "12.1", "8")
    assert result["gpus"] == [{"index": 0, "name": "NVIDIA GeForce RTX 4090"}]


def test_rocm_build():
    text = "PyTorch version: 2.3.1+rocm6.0\nCUDA used to build PyTorch: N/A\nROCM used to build PyTorch: 6.0.32830-d62f6a171\n" \
           "GPU models and configuration: AMD Instinct MI250X (gfx90a:sramecc+:xnack-)\n"
    result = parse_collect_env(text)
    assert (result["torch_cuda"], result["torch_rocm"], result["gpus"]) == (None, "6.0.32830", [])


@pytest.mark.parametrize("value", ["Could not collect", "N/A", "None", "No CUDA", ""])
def test_placeholders_are_none(value):
    text = (f"PyTorch version: {value}\nIs debug build: {value}\nCUDA used to build PyTorch: {value}\n"
            f"OS: {value}\nPython version: {value}\nIs CUDA available: {value}\n"
            f"Nvidia driver version: {value}\ncuDNN version: {value}\nGPU models and configuration: {value}\n")
    result = parse_collect_env(text)
    assert result["os"] == {"name": None, "pretty": None}
    assert all(result[key] is None for key in ("torch_version", "torch_cuda", "is_debug", "python_version",
                                               "cuda_available", "driver_version", "cudnn_version"))
    assert result["gpus"] == []


def test_os_from_platform_then_text_then_libc():
    assert parse_collect_env("OS: Arch Linux (x86_64)\n")["os"]["name"] == "linux"
    assert parse_collect_env("OS: Mac OSX 10.15.7 (x86_64)\n")["os"]["name"] == "darwin"
    assert parse_collect_env("OS: Some Distro\nLibc version: glibc-2.31\n")["os"]["name"] == "linux"
    assert parse_collect_env("OS: Some Distro\n")["os"]["name"] is None


def test_first_report_wins_and_not_collect_env():
    text = load_capture(FOLDER, LINUX_CUDA) + "\n" + load_capture(FOLDER, MACOS)
    assert parse_collect_env(text)["torch_version"] == "1.14.0a0+410ce96"
    assert not looks_like_collect_env("PyTorch version: 2.4.0 is what I use")
    assert not looks_like_collect_env("")
