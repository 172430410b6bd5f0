"""Verdicts CosyVoice's lint and `check` share, from versions and platform facts alone.

Kept apart from lint/cosyvoice.py (which reads checkouts and imports the catalogue through
lint/checks.py) so rules/lint.py can use them without an import cycle
(catalogue -> rules -> lint -> catalogue).
"""

from __future__ import annotations

# torch releases without ProcessGroup.options: removed in 2.5 (pytorch/pytorch#132931,
# #135653; vllm-project/vllm#14870 "ProcessGroup.Options was removed in torch 2.5")
PROCESSGROUP_OPTIONS_REMOVED_IN = (2, 5)

# pynini 2.1.5's PyPI wheels (checked with `pip install --dry-run --only-binary :all:` on
# 2026-11-22): manylinux x86_64 for CPython 3.10 and 3.11 (and older); none for 3.12+,
# Windows, macOS or aarch64, where pip builds OpenFst from source and fails.
PYNINI_WHEEL_PYTHONS = ((3, 6), (3, 11))


def processgroup_verdict(torch_version: str | None) -> bool | None:
    """True when this torch's ProcessGroup has no `options` (>= 2.5), None if unknown."""
    from csm_doctor.knowledge import parse_version

    version = parse_version(torch_version)
    if version is None:
        return None
    return version.release[:2] >= PROCESSGROUP_OPTIONS_REMOVED_IN


def pynini_verdict(os_name: str | None, arch: str | None, python: str | None,
                   packages: dict[str, str] | None) -> tuple[str, str] | None:
    """('ok'|'no-wheel', why) for installing pynini on this platform; None if unknown."""
    from csm_doctor.knowledge import parse_version

    if packages and "pynini" in packages:
        return "ok", f"pynini {packages['pynini']} is installed"
    version = parse_version(python)
    if os_name is None or version is None:
        return None
    py = tuple(version.release[:2])
    where = f"{os_name} {arch or ''} Python {py[0]}.{py[1]}".replace("  ", " ")
    if os_name == "windows":
        return "no-wheel", f"pynini has no Windows wheels ({where})"
    if os_name != "linux" or (arch or "x86_64") not in ("x86_64", "amd64"):
        return "no-wheel", f"pynini 2.1.5 has no wheel for {where}"
    if not PYNINI_WHEEL_PYTHONS[0] <= py <= PYNINI_WHEEL_PYTHONS[1]:
        return "no-wheel", f"pynini 2.1.5 has no wheel for Python {py[0]}.{py[1]} (3.10 or 3.11 have)"
    return "ok", f"pip can install pynini 2.1.5's manylinux wheel ({where})"
