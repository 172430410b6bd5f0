"""The shape of every knowledge table (knowledge/*.yaml), checked when the table is read.

A table that does not fit is bad input with file:line:key (exit 2), not a silent "unknown":
before this, a mistyped key or a string where a list belongs made every verdict that read it
`None`, and `check` reported skips instead of the failure the table was written to catch.
"""

from __future__ import annotations

from csm_doctor.shapes import Bool, Key, ListOf, MapOf, Nullable, Number, Record, Str

_VERSION = Str(r"\d+(\.\d+)*", hint="a version such as '12.4' (quoted)")
_CC = Str(r"\d+\.\d+", hint="a compute capability such as '8.6' (quoted)")
_SM = Str(r"(sm|compute)_\d+[af]?", hint="an architecture such as 'sm_86'")
_PTX = Str(r"(sm_|compute_)?\d+(\.\d+)?[af]?", hint="a PTX target such as '3.7' or 'compute_90'")
_VARIANT = Str(r"cu\d+|cpu|rocm[\d.]+", hint="a build variant such as 'cu124' or 'cpu'")
_PY_RANGE = Record({"min": Key(_VERSION, True), "max": Key(_VERSION, True),
                    "max_windows": Key(_VERSION), "max_macos": Key(_VERSION)})


def _table(**keys: Key) -> Record:
    """Every table has its title, sources, the month it is current to and notes."""
    common = {"title": Key(Str(), True), "current_to": Key(Str(r"\d{4}-\d{2}", hint="'YYYY-MM'"), True),
              "sources": Key(ListOf(Str()), True), "notes": Key(Str())}
    return Record({**common, **keys})


SHAPES: dict[str, Record] = {
    "cuda-drivers": _table(
        windows_na_policy=Key(Str(r"branch|none")),
        releases=Key(ListOf(Record({
            "cuda": Key(_VERSION, True), "update": Key(Number(integer=True, minimum=0), True),
            "label": Key(Str()), "linux": Key(Nullable(_VERSION), True),
            "windows": Key(Nullable(_VERSION), True)})), True),
        minor_version_compatibility=Key(ListOf(Record({
            "major": Key(Number(integer=True, minimum=0), True), "linux_min": Key(_VERSION, True),
            "windows_min": Key(Nullable(_VERSION), True), "max_exclusive": Key(Nullable(_VERSION)),
            "table2": Key(Str())}))),
        minor_version_caveat=Key(Str())),
    "torch-releases": _table(
        numpy2_abi_from=Key(_VERSION, True),
        platform_last_release=Key(MapOf(_VERSION, Str(r"macos_x86_64|linux_x86_64|linux_aarch64|windows",
                                                      hint="a platform such as macos_x86_64"))),
        releases=Key(ListOf(Record({
        "torch": Key(_VERSION, True), "released": Key(Str()), "python": Key(_PY_RANGE),
        "pypi_default": Key(MapOf(Str(), Str(r"linux_x86_64|linux_aarch64|windows|macos",
                                             hint="linux_x86_64, linux_aarch64, windows or macos"))),
        "notes": Key(Str()), "rocm": Key(ListOf(Str())),
        "variants": Key(ListOf(Record({
            "name": Key(_VARIANT, True), "status": Key(Str()), "archs": Key(ListOf(_SM)),
            "windows_archs": Key(ListOf(_SM)), "ptx": Key(ListOf(_PTX)),
            "windows_ptx": Key(ListOf(_PTX)), "archs_verified": Key(Bool())})), True)})), True)),
    "triton-windows": _table(
        gpu_support=Key(ListOf(Record({
            "min_cc": Key(_CC, True), "max_cc": Key(_CC, True), "min_triton": Key(_VERSION),
            "max_triton": Key(_VERSION), "supported": Key(Bool()), "note": Key(Str())})), True),
        bundled_cuda=Key(ListOf(Record({"triton": Key(_VERSION, True), "cuda": Key(_VERSION, True)}))),
        rows=Key(ListOf(Record({
            "torch": Key(_VERSION, True), "triton_minor": Key(Nullable(_VERSION)),
            "source": Key(Str()), "windows_spec": Key(Nullable(Str())),
            "linux_triton": Key(MapOf(Str(), _VERSION))})), True)),
    "torch-npu": _table(
        releases=Key(ListOf(Record({
            "cann": Key(Str(), True), "torch": Key(_VERSION, True), "torch_npu": Key(Str(), True),
            "branch": Key(Str()), "extension": Key(Str(), True), "python": Key(_PY_RANGE)})), True),
        compatibility=Key(ListOf(Record({"extension": Key(Str(), True),
                                         "cann": Key(ListOf(Str()), True)})))),
    "transformers-csm": _table(
        first_release=Key(_VERSION, True), first_release_including_yanked=Key(_VERSION, True),
        yanked=Key(ListOf(_VERSION)), preview_tag=Key(Str()), classes=Key(ListOf(Str())),
        pitfalls=Key(ListOf(Record({
            "id": Key(Str(), True), "applies_to": Key(Str()), "summary": Key(Str(), True),
            "fix": Key(Str()), "sources": Key(ListOf(Str()))})))),
    "gpu-architectures": _table(
        architectures=Key(ListOf(Record({
            "compute_capability": Key(_CC, True), "sm": Key(_SM), "architecture": Key(Str(), True),
            "family": Key(Str()), "cuda_min": Key(_VERSION), "cuda_max_exclusive": Key(_VERSION),
            "examples": Key(Str())})), True),
        name_patterns=Key(ListOf(Record({"pattern": Key(Str(), True),
                                         "compute_capability": Key(_CC, True)})), True)),
}
