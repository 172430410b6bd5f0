"""Facts stated in prose around a paste: "Python 3.11", "torch 2.0.1", "RTX 5090", "Windows 11".

Issue reports say what the tools would show in words ("I have an RTX 5090",
"the version torch is 2.0.1", "I am on windows 11"). Triage reads these as
the weakest source: they only fill what no tool output in the paste states
(extract.py merges them last), and they never cite evidence of their own.

Every pattern starts with literal text or a word boundary and has bounded
runs only, so a 1 MB paste is one linear pass per pattern.
"""

from __future__ import annotations

import re
from typing import Any

from csm_doctor.parsers.textutil import never_raise

_PYTHON_RE = re.compile(r"[Pp]ython(?:[ \t]+version)?[ \t]*[:=]?[ \t]*v?(3\.\d{1,2}(?:\.\d{1,2})?)\b")
_TORCH_RE = re.compile(r"[Tt]orch(?:[ \t]+version)?(?:[ \t]+is)?[ \t]*[:=]?[ \t]*v?"
                       r"(\d\.\d{1,2}(?:\.\d{1,2})?(?:\+[a-z]{2,5}\d{0,3})?)\b(?!\.?\d)")
_GPU_RE = re.compile(r"((?:RTX|GTX|rtx|gtx|Rtx|Gtx)[ \t]?\d{3,4}(?:[ \t]?(?:Ti|ti|TI|SUPER|Super|super|D))?"
                     r"(?:[ \t]Laptop GPU)?)\b")
_OS_WORDS = (
    (re.compile(r"Windows\b|(?:windows|[Ww]in)[ \t]?(?:1[01]|7|8)\b"), "windows"),
    (re.compile(r"(?:macOS|MacOS|macos|MacBook|Macbook|macbook|mac laptop|Mac laptop|Apple M[1-4])\b"), "darwin"),
    (re.compile(r"(?:Ubuntu|Debian|CentOS|Rocky Linux|Fedora|Arch Linux|WSL2?)\b"), "linux"),
)


def _gpu_name(raw: str) -> str:
    """'rtx5090' → 'NVIDIA GeForce RTX 5090': the spelling compute_capability_for_name knows."""
    match = re.match(r"(?i)(rtx|gtx)[ \t]?(\d{3,4})(.*)", raw.strip())
    if not match:
        return raw
    family, number, rest = match.group(1).upper(), match.group(2), match.group(3).strip()
    suffix = {"ti": " Ti", "super": " SUPER", "d": " D"}.get(rest.split()[0].lower(), "") if rest else ""
    laptop = " Laptop GPU" if "laptop" in rest.lower() else ""
    return f"NVIDIA GeForce {family} {number}{suffix}{laptop}"


@never_raise(dict)
def parse_prose(text: str) -> dict[str, Any]:
    """{"python": "3.11", "torch": "2.0.1", "gpus": ["NVIDIA GeForce RTX 5090"], "os": "windows"}.

    Each key only when the text states it; the first mention wins (the one
    nearest the top of an issue body, usually its environment section).
    """
    found: dict[str, Any] = {}
    if match := _PYTHON_RE.search(text):
        found["python"] = match.group(1)
    if match := _TORCH_RE.search(text):
        found["torch"] = match.group(1)
    gpus = []
    for match in _GPU_RE.finditer(text):
        name = _gpu_name(match.group(1))
        if name not in gpus:
            gpus.append(name)
        if len(gpus) >= 8:
            break
    if gpus:
        found["gpus"] = gpus
    for pattern, name in _OS_WORDS:
        if pattern.search(text):
            found["os"] = name
            break
    return found
