"""Parser for `python -m torch.utils.collect_env`, the report PyTorch's issue
template asks for and users paste everywhere.

The format is "Label: value" lines whose labels have been stable since torch
1.x; later releases only add lines (CUDA_MODULE_LOADING, the lscpu "CPU:"
block, XPU). Two values span lines: "GPU models and configuration" lists
"GPU N: name" lines (on the label's line or below it) and "cuDNN version" may
say "Probably one of the following:" above a list of libcudnn paths. Labels
are matched exactly, so lscpu keys in the CPU block never shadow them, and the
first value of each wins.

collect_env's own "nothing here" answers ("Could not collect", "No CUDA",
"N/A", "None") all become None.
"""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from .pip_freeze import parse_requirement_line
from .textutil import na_to_none, never_raise, text_lines, version_token

_LABELS = {
    "pytorch version": "torch_version",
    "is debug build": "is_debug",
    "cuda used to build pytorch": "torch_cuda",
    "rocm used to build pytorch": "torch_rocm",
    "os": "os",
    "python version": "python_version",
    "python platform": "python_platform",
    "libc version": "libc",
    "is cuda available": "cuda_available",
    "gpu models and configuration": "gpus",
    "nvidia driver version": "driver_version",
    "cudnn version": "cudnn_version",
}
_NOT_COLLECTED = {"could not collect", "no cuda", "unknown"}
_LABEL_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9 _()/.-]{0,60}?)\s*:(?:\s+(.*))?")
_GPU_RE = re.compile(r"\s*GPU\s+(\d{1,4})\s*:\s*(.{1,200}?)\s*")
_PACKAGE_RE = re.compile(r"\s*\[(pip\d?|conda)\]\s+(.*)")
_CONDA_RE = re.compile(r"(\S{1,200})\s+(\d\S{0,100})(?:\s.*)?")
_CUDNN_PATH_RE = re.compile(r"cudnn\S*?\.so\.(\d+(?:\.\d+){0,2})\b|cudnn\S*?64_(\d+)\.dll", re.IGNORECASE)
_PYTHON_RE = re.compile(r"\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc)\d+)?\+?")
_SNIFF_RE = re.compile(r"^\s*(?:PyTorch version|Is debug build|CUDA used to build PyTorch|Python platform)\s*:",
                       re.IGNORECASE | re.MULTILINE)
_MAX_LINE = 10_000
# OS name from "Python platform" ("Linux-5.15...", "macOS-13.0-arm64...", "Windows-10-...").
_PLATFORM_PREFIXES = (("linux", "linux"), ("macos", "darwin"), ("darwin", "darwin"), ("windows", "windows"))
# Else from words of the "OS:" description; Apple and Microsoft first ("Mac OSX", "Microsoft Windows 11").
# Most distributions say "Linux"; these are the common ones that do not.
_OS_WORDS = (("macos", "darwin"), ("mac os", "darwin"), ("windows", "windows"), ("linux", "linux"),
             ("ubuntu", "linux"), ("centos", "linux"), ("fedora", "linux"), ("suse", "linux"),
             ("pop!_os", "linux"))


def _empty() -> dict:
    return {
        "torch_version": None, "torch_cuda": None, "torch_rocm": None, "is_debug": None,
        "os": {"name": None, "pretty": None}, "python_version": None, "cuda_available": None,
        "gpus": [], "driver_version": None, "cudnn_version": None, "pip_packages": {},
        "conda_packages": {},
    }


def _value(raw: str | None) -> str | None:
    """A label's value, None for collect_env's placeholders."""
    value = na_to_none(raw)
    return None if value is None or value.lower() in _NOT_COLLECTED else value


def _boolean(raw: str | None) -> bool | None:
    value = (_value(raw) or "").lower()
    return {"true": True, "false": False}.get(value)


def _os_name(os_pretty: str | None, platform: str | None, libc: str | None) -> str | None:
    """linux / darwin / windows from the platform line, else the OS text, else a glibc libc."""
    platform, os_pretty = (platform or "").lower(), (os_pretty or "").lower()
    for prefix, name in _PLATFORM_PREFIXES:
        if platform.startswith(prefix):
            return name
    for word, name in _OS_WORDS:
        if word in os_pretty:
            return name
    return "linux" if libc and libc.lower().startswith("glibc") else None


def _python_version(raw: str | None) -> str | None:
    """"3.10.14" from "3.10.14 (main, Mar 21 2024, ...) [GCC 11.2.0] (64-bit runtime)"."""
    match = _PYTHON_RE.match(_value(raw) or "")
    return match.group().rstrip("+") if match else None


def _cudnn(values: list[str]) -> str | None:
    """A cuDNN version from the label value, else from the first libcudnn path listed under it."""
    first = _value(values[0]) if values else None
    if first and version_token(first) == first:
        return first
    for value in values:
        match = _CUDNN_PATH_RE.search(value)
        if match:
            return match.group(1) or match.group(2)
    return None


def _gpu(text: str) -> dict | None:
    match = _GPU_RE.fullmatch(text)
    if not match:
        return None
    return {"index": int(match.group(1)), "name": _value(re.sub(r"\s*\(UUID:.*", "", match.group(2)))}


def _package(kind: str, text: str) -> tuple[str, str] | None:
    """(name, version) from the text after "[pip3] " or "[conda] "."""
    if kind != "conda":
        return parse_requirement_line(text)
    match = _CONDA_RE.fullmatch(text)
    return (canonicalize_name(match.group(1)), match.group(2)) if match else None


def _collect(lines: list[str]) -> tuple[dict[str, list[str]], dict[str, dict[str, str]]]:
    """Label -> [value, continuation lines...] (first occurrence) and the package lines.

    A line that is no label continues the label above it (GPU lists, cuDNN
    paths); an unknown label ends that.
    """
    values: dict[str, list[str]] = {}
    packages: dict[str, dict[str, str]] = {"pip": {}, "conda": {}}
    current: list[str] | None = None
    for line in lines:
        package = _PACKAGE_RE.fullmatch(line)
        if package:
            found = _package(package.group(1), package.group(2))
            if found:
                packages["conda" if package.group(1) == "conda" else "pip"].setdefault(*found)
            current = None
            continue
        label = _LABEL_RE.fullmatch(line) if not _GPU_RE.fullmatch(line) else None
        if label:
            key = _LABELS.get(label.group(1).strip().lower())
            current = None
            if key and key not in values:
                current = values[key] = [label.group(2) or ""]
        elif current is not None and line.strip():
            current.append(line.strip())
    return values, packages


@never_raise(_empty)
def parse_collect_env(text: str) -> dict:
    """The facts of a collect_env report.

    Returns {"torch_version", "torch_cuda" (CUDA the build targets, None for
    CPU builds), "torch_rocm", "is_debug": bool | None, "os": {"name": "linux" |
    "darwin" | "windows" | None, "pretty"}, "python_version" ("3.10.14"),
    "cuda_available": bool | None, "gpus": [{"index", "name"}],
    "driver_version", "cudnn_version", "pip_packages": {canonical name:
    version}, "conda_packages": {canonical name: version}}.
    """
    lines = [line for line in text_lines(text) if len(line) <= _MAX_LINE]
    values, packages = _collect(lines)

    def first(key: str) -> str | None:
        return _value(values.get(key, [None])[0])

    result = _empty()
    result.update(
        torch_version=first("torch_version"),
        torch_cuda=version_token(first("torch_cuda")),
        torch_rocm=version_token(first("torch_rocm")),
        is_debug=_boolean(first("is_debug")),
        python_version=_python_version(first("python_version")),
        cuda_available=_boolean(first("cuda_available")),
        driver_version=version_token(first("driver_version")),
        cudnn_version=_cudnn(values.get("cudnn_version", [])),
        pip_packages=packages["pip"],
        conda_packages=packages["conda"],
    )
    result["os"] = {"name": _os_name(first("os"), first("python_platform"), first("libc")),
                    "pretty": first("os")}
    result["gpus"] = [gpu for gpu in map(_gpu, values.get("gpus", [])) if gpu]
    return result


@never_raise(bool)
def looks_like_collect_env(text: str) -> bool:
    """Cheap sniff: at least two of collect_env's distinctive labels."""
    return len({match.group().split(":")[0].strip().lower()
                for match in _SNIFF_RE.finditer("\n".join(text_lines(text)))}) >= 2
