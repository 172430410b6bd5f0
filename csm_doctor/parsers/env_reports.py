"""Parsers for the environment reports issue templates ask for.

`transformers env`, `accelerate env`, `hf env` / `huggingface-cli env` print
"- Key: value" lines (bullets and backticks lost when pasted, often); `pip
check` prints one line per broken requirement; `conda list` prints a
"# packages in environment at ..." header and a name/version/build/channel
table. Triage reads them as tool outputs so their facts (torch build, GPU,
Python, OS, package versions) feed its verdicts like collect_env does.

Tested on real captured outputs (tests/fixtures/env-reports/, and the
public ones in tests/fixtures/logs/healthy/, each with its source note).
"""

from __future__ import annotations

import re
from typing import Any

from packaging.utils import canonicalize_name

from .textutil import never_raise, text_lines

_MAX_LINE = 4000
# "- `Accelerate` version: 0.34.2", "Python version: 3.9.16", "	- use_cpu: True"
_KEY_VALUE_RE = re.compile(r"\s*(?:[-*\u2022]\s+)?([^:\n]{1,80}?)\s*:(?:\s+(.*?))?\s*$")
_TORCH_VALUE_RE = re.compile(r"(\d[\w.+]{0,60})(?:\s*\(\s*([^)\s]{1,20})\s*\))?")
_VERSION_RE = re.compile(r"\d[\w.!+-]{0,60}")
# Each tool's first line (its banner precedes it); the key names the tool.
REPORT_STARTS = {
    "transformers-env": re.compile(r"\s*(?:[-*]\s+)?`?transformers`? version\s*:", re.IGNORECASE),
    # backticked: `transformers env` has an un-backticked "Accelerate version:" line of its own
    "accelerate-env": re.compile(r"\s*(?:[-*]\s+)?`accelerate` version\s*:", re.IGNORECASE),
    "hf-env": re.compile(r"\s*(?:[-*]\s+)?huggingface_hub version\s*:", re.IGNORECASE),
}
BANNER_RE = re.compile(r"\s*Copy-and-paste the text below in your GitHub issue")
# Which package a "<name> version" key reports.
_VERSION_KEYS = {
    "transformers version": "transformers", "accelerate version": "accelerate",
    "huggingface_hub version": "huggingface-hub", "safetensors version": "safetensors",
    "numpy version": "numpy", "deepspeed version": "deepspeed", "tokenizers version": "tokenizers",
    "jinja2": "jinja2", "gradio": "gradio", "hf_xet": "hf-xet", "hf_transfer": "hf-transfer",
    "tensorflow": "tensorflow", "fastai": "fastai", "pillow": "pillow",
}
_OS_PREFIXES = (("linux", "linux"), ("macos", "darwin"), ("darwin", "darwin"), ("windows", "windows"))


def _key(raw: str) -> str:
    return re.sub(r"\s+", " ", raw.replace("`", "").strip()).lower()


def _version(value: str | None) -> str | None:
    if not value:
        return None
    match = _VERSION_RE.match(value.strip())
    return match.group(0).rstrip(".") if match else None


def os_from_platform(platform: str | None) -> str | None:
    """'Linux-5.15.0-52-generic-x86_64-with-glibc2.35' → 'linux'; Windows-10-…, macOS-14.5-… likewise."""
    lowered = (platform or "").strip().lower()
    return next((name for prefix, name in _OS_PREFIXES if lowered.startswith(prefix)), None)


def is_report_line(line: str) -> bool:
    """A "Key: value" line, an indented config line, or a bare "Not found" under a key."""
    if len(line) > _MAX_LINE:
        return False
    return bool(_KEY_VALUE_RE.fullmatch(line)) or line.strip().lower() in ("not found", "none")


@never_raise(dict)
def parse_env_report(text: str) -> dict[str, Any]:
    """One env report as {"tool", "platform", "os", "python", "packages": {name: version},
    "torch": {"version", "gpu": "True"/"False"/"NA"/"CUDA"... or None}, "gpu_type",
    "accelerator", "token_saved": bool | None, "offline": bool | None}; {} when it is none.

    `tool` is "transformers-env", "accelerate-env" or "hf-env", from the first key.
    """
    report: dict[str, Any] = {"tool": None, "platform": None, "os": None, "python": None,
                              "packages": {}, "torch": {"version": None, "gpu": None},
                              "gpu_type": None, "accelerator": None, "token_saved": None,
                              "offline": None}
    for line in text_lines(text):
        if report["tool"] is None:
            report["tool"] = next((tool for tool, start in REPORT_STARTS.items()
                                   if start.match(line)), None)
        match = _KEY_VALUE_RE.fullmatch(line) if len(line) <= _MAX_LINE else None
        if not match:
            continue
        key, value = _key(match.group(1)), (match.group(2) or "").strip()
        _read_key(report, key, value)
    if report["tool"] is None:
        return {}
    return report


def _read_key(report: dict[str, Any], key: str, value: str) -> None:
    if key in _VERSION_KEYS:
        version = _version(value)
        if version:
            report["packages"][canonicalize_name(_VERSION_KEYS[key])] = version
    elif key == "platform":
        report["platform"] = value or None
        report["os"] = os_from_platform(value)
    elif key == "python version":
        report["python"] = _version(value)
    elif key.startswith("pytorch version") or key == "torch":
        torch = _TORCH_VALUE_RE.match(value)
        if torch and report["torch"]["version"] is None:
            report["torch"] = {"version": torch.group(1), "gpu": torch.group(2)}
            report["packages"]["torch"] = torch.group(1)
    elif key == "gpu type":
        report["gpu_type"] = value or None
    elif key == "pytorch accelerator":
        report["accelerator"] = None if value.upper() in ("", "N/A", "NA") else value
    elif key == "has saved token ?":
        report["token_saved"] = {"true": True, "false": False}.get(value.lower())
    elif key == "hf_hub_offline":
        report["offline"] = {"true": True, "false": False, "1": True, "0": False}.get(value.lower())


# --------------------------------------------------------------------------- #
# pip check
# --------------------------------------------------------------------------- #

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}"
_MISSING_RE = re.compile(rf"\s*({_NAME}) (\S{{1,60}}) requires ({_NAME}), which is not installed\.?\s*")
_CONFLICT_RE = re.compile(rf"\s*({_NAME}) (\S{{1,60}}) has requirement (.{{1,300}}?), but you have "
                          rf"({_NAME}) (\S{{1,60}}?)\.?\s*")
_CLEAN_RE = re.compile(r"\s*No broken requirements found\.?\s*")


def is_pip_check_line(line: str) -> bool:
    if len(line) > _MAX_LINE:
        return False
    return bool(_MISSING_RE.fullmatch(line) or _CONFLICT_RE.fullmatch(line) or _CLEAN_RE.fullmatch(line))


@never_raise(dict)
def parse_pip_check(text: str) -> dict[str, Any]:
    """{"ok": bool, "missing": [{"package", "version", "requires"}], "conflicts": [{"package",
    "version", "requirement", "installed", "installed_version"}]}; {} when no pip check line."""
    missing, conflicts, clean = [], [], False
    for line in text_lines(text):
        if len(line) > _MAX_LINE:
            continue
        if match := _MISSING_RE.fullmatch(line):
            missing.append({"package": canonicalize_name(match.group(1)), "version": match.group(2),
                            "requires": canonicalize_name(match.group(3))})
        elif match := _CONFLICT_RE.fullmatch(line):
            conflicts.append({"package": canonicalize_name(match.group(1)), "version": match.group(2),
                              "requirement": match.group(3),
                              "installed": canonicalize_name(match.group(4)),
                              "installed_version": match.group(5)})
        elif _CLEAN_RE.fullmatch(line):
            clean = True
    if not (missing or conflicts or clean):
        return {}
    return {"ok": not (missing or conflicts), "missing": missing, "conflicts": conflicts}


def pip_check_packages(parsed: dict[str, Any]) -> dict[str, str]:
    """The installed versions a pip check names (the complaining packages and the ones they got)."""
    packages = {row["package"]: row["version"] for row in parsed.get("missing", [])}
    for row in parsed.get("conflicts", []):
        packages[row["package"]] = row["version"]
        packages[row["installed"]] = row["installed_version"]
    return {name: version for name, version in packages.items() if _VERSION_RE.fullmatch(version)}


# --------------------------------------------------------------------------- #
# conda list
# --------------------------------------------------------------------------- #

CONDA_HEADER_RE = re.compile(r"\s*# packages in environment at (.{1,1000}?):?\s*$")
CONDA_COLUMNS_RE = re.compile(r"\s*#\s*Name\s+Version\s+Build(?:\s+Channel)?\s*$")
CONDA_COMMAND_RE = re.compile(r".{0,200}\bconda list\b")
_CONDA_ROW_RE = re.compile(r"\s*([A-Za-z0-9_][\w.+-]{0,100})\s+(\d[\w.!+]{0,60})\s+(\S{1,100})(?:\s+(\S{1,200}))?\s*")
_CUDA_BUILD_RE = re.compile(r"cuda(\d{1,2})\.(\d)|cuda_?(\d{2,3})")


def is_conda_row(line: str) -> bool:
    return len(line) <= _MAX_LINE and bool(_CONDA_ROW_RE.fullmatch(line) or line.strip() == "#")


def _torch_variant_from_build(build: str, packages: dict[str, str]) -> str | None:
    """'py3.8_cuda11.3_cudnn8.2.0_0' → 'cu113', 'cuda120_py311h…' → 'cu120', 'py38_cpu' → 'cpu'."""
    lowered = build.lower()
    if "cpu" in lowered:
        return "cpu"
    match = _CUDA_BUILD_RE.search(lowered)
    if match:
        digits = f"{match.group(1)}{match.group(2)}" if match.group(1) else match.group(3)
        return "cu" + digits
    cuda = packages.get("pytorch-cuda")
    return "cu" + cuda.replace(".", "")[:3] if cuda else None


@never_raise(dict)
def parse_conda_list(text: str) -> dict[str, Any]:
    """{"prefix", "os", "packages": {name: version}, "torch": {"version", "variant", "channel"}}; {} if none."""
    prefix, rows = None, []
    for line in text_lines(text):
        if match := CONDA_HEADER_RE.fullmatch(line):
            prefix = prefix or match.group(1).strip()
        elif (row := _CONDA_ROW_RE.fullmatch(line)) and len(line) <= _MAX_LINE:
            rows.append(row.groups())
    if not rows:
        return {}
    packages = {canonicalize_name(name): version for name, version, _build, _channel in rows}
    torch: dict[str, Any] = {"version": None, "variant": None, "channel": None}
    for name, version, build, channel in rows:
        if name in ("pytorch", "torch"):
            torch = {"version": version, "variant": _torch_variant_from_build(build, packages),
                     "channel": channel}
            packages["torch"] = version
    os_name = None
    if prefix:
        os_name = "windows" if re.match(r"[A-Za-z]:\\", prefix) else "linux" if prefix.startswith(
            ("/home/", "/opt/", "/root/", "/usr/")) else None
    return {"prefix": prefix, "os": os_name, "packages": packages, "torch": torch}
