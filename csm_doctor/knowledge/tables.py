"""Typed questions over the dated compatibility tables in the shipped `knowledge/` directory.

The tables are data (YAML, each with its sources and the month it is current to) so that a
new driver or torch release is a data change with a test, not a code change. This module only
reads them and answers the questions the rules ask: which driver a CUDA release needs, which
torch build fits a driver and a GPU, which triton a torch pins, which torch_npu goes with a CANN.

Every question here answers "don't know" (None, or an empty list) for inputs it cannot read or
that the tables do not cover, and never raises on them: a doctor that crashes on an unusual
driver string diagnoses nothing. A table that is itself broken is different: it is an
InputError with file:line at load (`read_table`, `validate_tables`).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Sequence

from csm_doctor.knowledge import base_release, parse_version, variant_cuda

TABLES = ("cuda-drivers", "torch-releases", "triton-windows", "torch-npu",
          "transformers-csm", "gpu-architectures")


# ---------------------------------------------------------------------------- loading

def knowledge_dir() -> Path:
    """Where the tables live: installed `csm_doctor/data/knowledge`, or the clone's `knowledge/`."""
    from csm_doctor.resources import data_dir
    return data_dir("knowledge")


def read_table(path: Path, name: str) -> dict[str, Any]:
    """One table file, validated against its shape (knowledge/schema.py).

    Raises InputError with file:line:key for a table that is missing, not YAML, or not the
    shape the questions below rely on: a broken table must stop the run, not turn verdicts
    into "unknown". yaml is imported here, not at module import, so `--help` stays instant.
    """
    from csm_doctor.errors import InputError, Problem
    from csm_doctor.knowledge.schema import SHAPES
    from csm_doctor.shapes import ShapeProblem
    from csm_doctor.yamlpos import format_path, line_for, load_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single(str(path), f"cannot read the knowledge table: {exc}") from None
    data, lines = load_yaml(text, str(path))
    problems: list[ShapeProblem] = []
    checked = SHAPES[name].check(data, (), problems)
    if problems:
        raise InputError(str(path), [Problem(p.message, format_path(p.path) or None,
                                             line_for(lines, p.path)) for p in problems])
    return checked


def validate_tables(directory: Path | None = None) -> None:
    """Read every table in `directory` (default: the shipped one); InputError on the first broken one.

    The catalogue calls this when it loads, so a broken table is exit 2 before any rule runs
    (inside a rule the evaluator would turn the error into one `error` finding).
    """
    for name in TABLES:
        if directory is None:
            _load(name)
        else:
            read_table(Path(directory) / f"{name}.yaml", name)


@functools.lru_cache(maxsize=16)
def _load(name: str) -> dict[str, Any]:
    """One shipped table, validated and parsed once per process."""
    return read_table(knowledge_dir() / f"{name}.yaml", name)


def load_table(name: str) -> dict[str, Any]:
    """A deep copy of one table (callers may modify it without touching the cache)."""
    return copy.deepcopy(_load(name))


# ---------------------------------------------------------------------------- small helpers

def _os(os_name: str | None) -> str | None:
    """'linux' / 'windows' / 'macos' from the spellings platform and users use; None otherwise."""
    name = (os_name or "").strip().lower()
    if name.startswith("linux"):
        return "linux"
    if name.startswith("win"):
        return "windows"
    if name in ("darwin", "macos", "mac", "osx", "macosx"):
        return "macos"
    return None


def _minor(version: str | None) -> str | None:
    """'2.4.0+cu124' → '2.4' (the torch minor release a row is keyed by)."""
    parsed = parse_version(base_release(str(version)) if version else None)
    if parsed is None:
        return None
    return f"{parsed.release[0]}.{parsed.release[1] if len(parsed.release) > 1 else 0}"


def _cc(compute_capability: str | None) -> tuple[int, int] | None:
    """(12, 0) from '12.0', '12', 'sm_120' or '12.0a'; None if unreadable."""
    text = str(compute_capability or "").strip().lower()
    match = re.fullmatch(r"sm_?(\d+)(\d)[af]?", text)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?[af]?", text)
    if match:
        return int(match.group(1)), int(match.group(2) or 0)
    return None


def _arch(arch: str) -> tuple[int, int, bool] | None:
    """('sm_86') → (8, 6, False); the flag marks arch-specific 'a' cubins that run on one CC only."""
    match = re.fullmatch(r"sm_(\d+)(\d)(a?)", str(arch).strip().lower())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), bool(match.group(3))




# ---------------------------------------------------------------------------- CUDA and drivers

def _driver_rows(cuda: str) -> list[dict[str, Any]]:
    """Table 3 rows of one CUDA minor release ('12.4'), lowest update first."""
    key = _minor(cuda)
    rows = [r for r in _load("cuda-drivers").get("releases") or [] if str(r.get("cuda")) == key]
    return sorted(rows, key=lambda r: int(r.get("update") or 0))


def _release_row(cuda: str) -> dict[str, Any] | None:
    """The Table 3 row for '12.4' (GA) or '12.4.1' (Update 1: the highest update ≤ the patch)."""
    rows = _driver_rows(cuda)
    if not rows:
        return None
    parsed = parse_version(cuda)
    patch = parsed.release[2] if parsed is not None and len(parsed.release) > 2 else 0
    chosen = rows[0]
    for row in rows:
        if int(row.get("update") or 0) <= patch:
            chosen = row
    return chosen


def driver_minimum(cuda: str, os_name: str) -> str | None:
    """The driver NVIDIA lists for a CUDA toolkit release (Table 3), or None.

    '12.4' gives the GA minimum, '12.4.1' the Update 1 minimum. Windows 13.x has no number
    (NVIDIA lists N/A since the toolkit stopped bundling the Windows driver): None.
    """
    system = _os(os_name)
    row = _release_row(cuda) if system in ("linux", "windows") else None
    value = row.get(system) if row else None
    return str(value) if value else None


def _meets_release(driver: Any, row: dict[str, Any], system: str) -> bool:
    """Whether a parsed driver meets one Table 3 row on this OS.

    Windows 13.x rows are N/A: the driver's branch (first number) is compared with the Linux
    minimum's branch instead (`windows_na_policy: branch` in the table).
    """
    value = row.get(system)
    if value:
        needed = parse_version(str(value))
        return needed is not None and driver >= needed
    if system == "windows" and _load("cuda-drivers").get("windows_na_policy") == "branch":
        linux = parse_version(str(row.get("linux") or ""))
        return linux is not None and driver.release[0] >= linux.release[0]
    return False


def _minor_compat_rule(cuda: str) -> dict[str, Any] | None:
    parsed = parse_version(cuda)
    if parsed is None:
        return None
    for rule in _load("cuda-drivers").get("minor_version_compatibility") or []:
        if int(rule.get("major", -1)) == parsed.release[0]:
            return rule
    return None


def driver_supports_cuda(driver: str, cuda: str, os_name: str) -> str | None:
    """'yes', 'minor-compat' or 'no': can this driver run binaries built with this CUDA?

    'yes' means the driver meets the release's own Table 3 minimum; 'minor-compat' means only
    CUDA minor-version compatibility covers it (it starts, but PTX JIT and the release's new
    features may fail). None when the driver, the CUDA version or the OS is unreadable, or the
    CUDA major is one the table does not know.
    """
    system = _os(os_name)
    parsed = parse_version(driver)
    if system not in ("linux", "windows") or parsed is None or parse_version(cuda) is None:
        return None
    row = _release_row(cuda)
    if row is not None and _meets_release(parsed, row, system):
        return "yes"
    rule = _minor_compat_rule(cuda)
    if rule is None:
        return None if row is None else "no"
    floor = parse_version(str(rule.get(f"{system}_min") or ""))
    ceiling = parse_version(str(rule.get("max_exclusive") or "")) if rule.get("max_exclusive") else None
    if floor is not None and parsed >= floor and (ceiling is None or parsed < ceiling):
        return "minor-compat"
    return "no"


# ---------------------------------------------------------------------------- torch releases

def _torch_row(version: str | None) -> dict[str, Any] | None:
    key = _minor(version)
    for row in _load("torch-releases").get("releases") or []:
        if str(row.get("torch")) == key:
            return row
    return None


def _variant(version: str, variant: str) -> dict[str, Any] | None:
    row = _torch_row(version)
    name = str(variant or "").strip().lower()
    for entry in (row or {}).get("variants") or []:
        if str(entry.get("name")).lower() == name:
            return entry
    return None


def torch_variants(torch_version: str) -> list[str]:
    """CUDA variants of a torch release on download.pytorch.org, newest CUDA first ([] if unknown)."""
    row = _torch_row(torch_version)
    names = [str(v.get("name")) for v in (row or {}).get("variants") or []]
    return sorted(names, key=lambda n: parse_version(variant_cuda(n)) or parse_version("0"),
                  reverse=True)




def _archs_cover(archs: list[str], ptx: list[str], cc: tuple[int, int]) -> bool:
    """CUDA's rule: a cubin for X.Y runs on X.Z when Z ≥ Y; PTX for C is JIT-compiled on ≥ C."""
    for arch in archs:
        parsed = _arch(arch)
        if parsed is None:
            continue
        major, minor, specific = parsed
        if major == cc[0] and (minor == cc[1] if specific else minor <= cc[1]):
            return True
    return any((p := _cc(x)) is not None and p <= cc for x in ptx)


def torch_supports_gpu(torch_version: str, variant: str, compute_capability: str) -> bool | None:
    """Whether torch_version+variant carries kernels this GPU can run; None when unknown.

    Same-major cubins count (sm_86 runs on 8.9), PTX only where the table says the wheel ships it.
    """
    entry = _variant(torch_version, variant)
    cc = _cc(compute_capability)
    if entry is None or cc is None or not entry.get("archs"):
        return None
    return _archs_cover(list(entry.get("archs")), list(entry.get("ptx") or []), cc)


def _kernels_cover(arch_list: list[str], cc: tuple[int, int]) -> bool:
    """torch.cuda.get_arch_list() entries ('sm_86', 'compute_90') against a capability."""
    cubins = [a for a in arch_list if str(a).strip().lower().startswith("sm_")]
    ptx = [str(a).strip().lower().replace("compute_", "sm_") for a in arch_list
           if str(a).strip().lower().startswith("compute_")]
    return _archs_cover(cubins, ptx, cc)


@dataclass(frozen=True)
class GpuVerdict:
    """The answer to "does torch X (build Y) run on GPU Z", with what it was judged from.

    `runs` is True / False / None (unknown); `kernels` the sm_XY list consulted (empty when
    none was known); `source` says where that list came from; `driver` is driver_supports_cuda's
    answer for the build's CUDA ('yes', 'minor-compat', 'no', None when not asked or unknown).
    """

    runs: bool | None
    arch: str | None
    kernels: tuple[str, ...] = ()
    source: str = "the torch build table"
    driver: str | None = None


def torch_runs_on_gpu(torch_version: str | None, build: str | Sequence[str] | None,
                      compute_capability: str | None, *, arch_list: Sequence[str] | None = None,
                      driver: str | None = None, os_name: str | None = None) -> GpuVerdict:
    """The one answer to "does torch X (build Y) run on GPU Z": kernels for its architecture,
    and (when `driver` is given) whether the driver runs the build's CUDA.

    `build` is one variant ('cu124': an installed build), a sequence of variants (a recipe's
    choices: True when any of them runs, False when none does), or None (the installed build is
    not known, as with a plain '2.4.0' from pip freeze: every CUDA variant of the release must
    agree). `arch_list` (torch.cuda.get_arch_list() of the installed build) wins over the table.
    Rules, recipe selection and triage all ask this; never raises.
    """
    cc = _cc(compute_capability)
    arch = f"sm_{cc[0]}{cc[1]}" if cc else None
    if cc is None:
        return GpuVerdict(None, arch)
    if arch_list:
        kernels = tuple(str(a) for a in arch_list)
        return GpuVerdict(_kernels_cover(list(kernels), cc), arch, kernels,
                          "torch's arch list", _driver_for(build, driver, os_name))
    if not torch_version:
        return GpuVerdict(None, arch)
    if isinstance(build, str):
        entry = _variant(torch_version, build)
        kernels = tuple(entry.get("archs") or ()) if entry else ()
        return GpuVerdict(torch_supports_gpu(torch_version, build, compute_capability), arch,
                          kernels, driver=_driver_for(build, driver, os_name))
    choices = list(build) if build is not None else \
        [n for n in torch_variants(torch_version) if n.startswith("cu")]
    answers = [torch_supports_gpu(torch_version, v, compute_capability) for v in choices]
    if build is None:
        runs = answers[0] if answers and len(set(answers)) == 1 else None
    elif any(a is True for a in answers):
        runs = True
    else:
        runs = False if answers and all(a is False for a in answers) else None
    return GpuVerdict(runs, arch)


def _driver_for(build: Any, driver: str | None, os_name: str | None) -> str | None:
    cuda = variant_cuda(build) if isinstance(build, str) else None
    if not (driver and cuda):
        return None
    return driver_supports_cuda(driver, cuda, os_name or "linux")




def minimum_torch_for_gpu(compute_capability: str) -> tuple[str, str] | None:
    """The oldest (torch minor, variant) whose Linux wheel runs on this GPU, e.g. ('2.7', 'cu128')."""
    cc = _cc(compute_capability)
    if cc is None:
        return None
    rows = sorted(_load("torch-releases").get("releases") or [],
                  key=lambda r: parse_version(str(r.get("torch"))) or parse_version("0"))
    for row in rows:
        variants = sorted(row.get("variants") or [],
                          key=lambda v: parse_version(variant_cuda(str(v.get("name"))) or "0"))
        for entry in variants:
            if entry.get("archs") and _archs_cover(list(entry["archs"]), list(entry.get("ptx") or []), cc):
                return str(row.get("torch")), str(entry.get("name"))
    return None


def torch_needs_numpy1(torch_version: str | None) -> bool | None:
    """Whether this torch's wheels were built against NumPy 1.x (they fail under NumPy 2).

    True before the table's `numpy2_abi_from` (2.3), False from it; None if unreadable.
    """
    have = parse_version(_minor(torch_version))
    first = parse_version(str(_load("torch-releases").get("numpy2_abi_from") or ""))
    if have is None or first is None:
        return None
    return have < first


def platform_key(os_name: str | None, machine: str | None) -> str | None:
    """'macos_x86_64', 'linux_aarch64', 'windows', ... from facts' os.name and os.arch."""
    system = _os(os_name)
    arch = (machine or "").strip().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    if system is None or not arch:
        return None
    return "windows" if system == "windows" else f"{system}_{arch}"


def platform_last_torch(os_name: str | None, machine: str | None) -> str | None:
    """The last torch minor PyTorch built for this platform ('2.2' on an Intel Mac), or None."""
    last = (_load("torch-releases").get("platform_last_release") or {}).get(
        platform_key(os_name, machine) or "")
    return str(last) if last else None


def torch_spec_installable(spec: str, os_name: str | None, machine: str | None) -> bool | None:
    """Whether any torch release with wheels for this platform satisfies `spec` ('>=2.7.0').

    False only where the table says PyTorch stopped building for the platform (Intel Macs:
    2.2.x was the last) and the spec needs something newer; None when it does not know.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    last = platform_last_torch(os_name, machine)
    if not last:
        return None
    try:
        wanted = SpecifierSet(spec or "")
    except InvalidSpecifier:
        return None
    minors = [str(r.get("torch")) for r in _load("torch-releases").get("releases") or []]
    ceiling = parse_version(str(last))
    ok = [m for m in minors if (v := parse_version(m)) is not None and ceiling is not None
          and v <= ceiling]
    # a minor's patch releases: x.y.0 .. x.y.9 stand in for them (2.2.2 was the last)
    return any(wanted.contains(f"{m}.{patch}", prereleases=False) for m in ok for patch in range(10))


def python_supported(torch_version: str, python_version: str, os_name: str | None = None) -> bool | None:
    """Whether PyPI has wheels of this torch release for this Python (major.minor); None if unknown.

    os_name narrows it where one OS lagged (torch 2.5 had Python 3.13 wheels on Linux only).
    """
    row = _torch_row(torch_version)
    wanted = parse_version(python_version)
    python = (row or {}).get("python") or {}
    if wanted is None or not python:
        return None
    system = _os(os_name)
    low = parse_version(str(python.get("min")))
    high = parse_version(str(python.get(f"max_{system}") or python.get("max")))
    if low is None or high is None:
        return None
    key = parse_version(".".join(str(p) for p in (wanted.release + (0,))[:2]))
    return low <= key <= high


def pypi_default_variant(torch_version: str, os_name: str, machine: str = "x86_64") -> str | None:
    """What `pip install torch` from PyPI gets: 'cu121', 'cpu', ... or None if unknown."""
    row = _torch_row(torch_version)
    defaults = (row or {}).get("pypi_default") or {}
    system = _os(os_name)
    if system == "linux":
        key = "linux_aarch64" if str(machine).lower() in ("aarch64", "arm64") else "linux_x86_64"
    else:
        key = system or ""
    value = defaults.get(key)
    return str(value) if value else None


# ---------------------------------------------------------------------------- triton

def _triton_row(torch_version: str) -> dict[str, Any] | None:
    key = _minor(torch_version)
    for row in _load("triton-windows").get("rows") or []:
        if str(row.get("torch")) == key:
            return row
    return None


def triton_windows_spec(torch_version: str) -> str | None:
    """The pip spec of the triton-windows minor this torch needs, e.g. 'triton-windows>=3.1,<3.2'."""
    row = _triton_row(torch_version)
    spec = (row or {}).get("windows_spec")
    return str(spec) if spec else None


def linux_triton_for_torch(torch_version: str) -> str | None:
    """The triton requirement torch's Linux wheel declares, e.g. 'triton==3.0.0' for 2.4.0.

    Exact release ('2.4.0') or a minor ('2.4', its newest listed patch); None for patches the
    table does not list. The environment markers are in the table (`linux_triton`).
    """
    row = _triton_row(torch_version)
    pins = (row or {}).get("linux_triton") or {}
    if not pins:
        return None
    base = base_release(str(torch_version)) or ""
    line = pins.get(base)
    if line is None and re.fullmatch(r"\s*\d+\.\d+\s*", base):
        line = pins[max(pins, key=lambda v: parse_version(v) or parse_version("0"))]
    if line is None:
        return None
    return str(line).split(";", 1)[0].strip()


def _triton_gpu_rule(cc: tuple[int, int]) -> dict[str, Any] | None:
    for rule in _load("triton-windows").get("gpu_support") or []:
        low, high = _cc(rule.get("min_cc")), _cc(rule.get("max_cc"))
        if low is not None and high is not None and low <= cc <= high:
            return rule
    return None


def triton_windows_gpu_note(compute_capability: str) -> str | None:
    """The README's line on this GPU generation ('RTX 50xx / Blackwell consumer: Triton >= 3.3, ...')."""
    cc = _cc(compute_capability)
    rule = _triton_gpu_rule(cc) if cc else None
    return str(rule["note"]) if rule and rule.get("note") else None


def triton_windows_supports_gpu(triton_version: str, compute_capability: str) -> bool | None:
    """Whether this triton-windows version supports the GPU (sm_120 needs ≥3.3, Turing ≤3.2)."""
    cc = _cc(compute_capability)
    triton = parse_version(triton_version)
    if cc is None or triton is None:
        return None
    minor = parse_version(".".join(str(p) for p in (triton.release + (0,))[:2]))
    for rule in [r for r in [_triton_gpu_rule(cc)] if r]:
        if rule.get("supported") is False:
            return False
        if rule.get("min_triton") and minor < parse_version(str(rule["min_triton"])):
            return False
        return not (rule.get("max_triton") and minor > parse_version(str(rule["max_triton"])))
    return None


# ---------------------------------------------------------------------------- Ascend

def _cann_key(version: str) -> str:
    return re.sub(r"^cann\s*", "", str(version or "").strip().lower())


def cann_supports(cann_version: str, torch_npu_version: str) -> bool | None:
    """Whether this torch_npu runs on this CANN, per Ascend's pairing and compatibility tables.

    True for the CANN it was released with or one its line lists as compatible ('8.5.X' entries
    match any 8.5 patch); False when the line's compatibility list is known and leaves this CANN
    out; None when the torch_npu version or its compatibility is unknown.
    """
    cann = _cann_key(cann_version)
    wanted = str(torch_npu_version or "").strip().split("+", 1)[0]
    if not cann or not wanted:
        return None
    table = _load("torch-npu")
    rows = [r for r in table.get("releases") or [] if str(r.get("torch_npu")) == wanted]
    if not rows:
        return None
    if any(_cann_key(str(r.get("cann"))) == cann for r in rows):
        return True
    lines = {".".join(str(r.get("extension")).split(".")[:2]) for r in rows}
    known = False
    for compat in table.get("compatibility") or []:
        if ".".join(str(compat.get("extension")).split(".")[:2]) not in lines:
            continue
        known = True
        for entry in compat.get("cann") or []:
            key = _cann_key(str(entry))
            if key == cann or (key.endswith(".x") and cann.startswith(key[:-1])):
                return True
    return False if known else None


# ---------------------------------------------------------------------------- GPU names

@functools.lru_cache(maxsize=1)
def _name_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for entry in _load("gpu-architectures").get("name_patterns") or []:
        try:
            compiled.append((re.compile(str(entry["pattern"]), re.IGNORECASE),
                             str(entry["compute_capability"])))
        except (KeyError, re.error):
            continue
    return tuple(compiled)


def compute_capability_for_name(gpu_name: str) -> str | None:
    """'NVIDIA GeForce RTX 5090' → '12.0', for nvidia-smi tables that name the GPU only."""
    name = " ".join(str(gpu_name or "").split())
    if not name:
        return None
    for pattern, capability in _name_patterns():
        if pattern.search(name):
            return capability
    return None


def architecture_name(compute_capability: str) -> str | None:
    """'8.9' → 'Ada Lovelace', '12.0' → 'Blackwell'; None for a capability the table lacks.

    No guessing from the major number: 8.x is Ampere or Ada and 7.x Volta or Turing.
    """
    cc = _cc(compute_capability)
    if cc is None:
        return None
    for row in _load("gpu-architectures").get("architectures") or []:
        if _cc(row.get("compute_capability")) == cc:
            return str(row.get("architecture"))
    return None
