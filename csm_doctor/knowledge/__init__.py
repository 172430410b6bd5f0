"""Compatibility knowledge the rules share (CUDA variants, version arithmetic).

Small and factual for now; the recipes issue grows it into dated tables
(driver minimum per CUDA release, torch → variants → architectures).
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version


def parse_version(text: str | None) -> Version | None:
    """A comparable version from '550.90.07', '12.4' or '2.4.0+cu124'; None if unreadable."""
    if not text:
        return None
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text))
    if not match:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def variant_cuda(variant: str) -> str | None:
    """'cu124' → '12.4', 'cu118' → '11.8'; None for cpu/rocm."""
    match = re.fullmatch(r"cu(\d+)(\d)", variant)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def base_release(version: str | None) -> str | None:
    """'2.4.0+cu124' → '2.4.0' (the public release, local label dropped)."""
    return version.split("+", 1)[0] if version else None


def pick_variant(variants: tuple[str, ...], driver_cuda: str | None) -> str | None:
    """The first (best) recipe variant whose CUDA the driver supports."""
    driver = parse_version(driver_cuda)
    for variant in variants:
        needed = parse_version(variant_cuda(variant))
        if needed is not None and (driver is None or needed <= driver):
            return variant
    return None


def capability_arch(capability: str | None) -> str | None:
    """'12.0' → 'sm_120', '9.0' → 'sm_90'."""
    match = re.fullmatch(r"(\d+)\.(\d+)", capability or "")
    return f"sm_{match.group(1)}{match.group(2)}" if match else None
