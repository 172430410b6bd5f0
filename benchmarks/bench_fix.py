#!/usr/bin/env python3
"""Time the same `csm-doctor fix` plan applied with uv and with pip into fresh venvs.

`fix` installs with uv when it can because installs are most of its wall time.
This measures the claim: one recipe, one plan (install every pinned package
into an empty venv), applied by `csm-doctor fix --yes --installer uv` and
`--installer pip`, each into a fresh copy of the same base venv, interleaved
round-robin so machine noise weighs on both alike. Two figures per installer:

- the install step alone (its `seconds` in fix's JSON results): uv against pip
  doing the same work, the ratio the target is set on (uv <= 0.3 x pip);
- the whole command (probe, plan, snapshot, install, re-check): what a user waits.

Package sets (`--set`):

- `local` (default, hermetic): N tiny wheels written by this script (half of them
  pinned by the recipe, each pulling one dependency), served from a folder with
  no index: no network, nothing but the installers' own speed;
- `registry`: a realistic set of real packages (numpy, tokenizers, huggingface_hub,
  requests, ...) resolved through pip's own configuration (your index or mirror;
  uv is handed the same sources). The first repetitions fill both installers'
  caches; they are discarded as warm-up.

Usage::

    python benchmarks/bench_fix.py [--set local|registry] [--packages N] [--repeat N]
                                   [--warmup K] [--uv PATH] [--doctor-python PATH] [--json]

Exit codes: 0 the target is met, 1 missed, 2 cannot measure (no uv, no
csm-doctor), 3 a run failed. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

SCHEMA = "csm-doctor/bench-fix/1"
TARGET_RATIO = 0.3
TIMEOUT_S = 900.0
EXIT_OK, EXIT_MISSED, EXIT_ENV, EXIT_FAILED = 0, 1, 2, 3
REGISTRY_SET = ("numpy", "tokenizers", "huggingface_hub", "safetensors", "requests", "pyyaml",
                "tqdm", "jinja2", "regex", "soundfile", "packaging", "filelock", "fsspec")


def write_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    """A pure-Python wheel with a correct RECORD; a few KB of code so unpacking is not free."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(200))
    files = {f"{module}/__init__.py": body, f"{module}/extra.py": body,
             f"{info}/METADATA": "Metadata-Version: 2.1\n" f"Name: {name}\nVersion: {version}\n"
             + "".join(f"Requires-Dist: {r}\n" for r in requires),
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(t.encode())}" for p, t in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


def local_set(work: Path, count: int) -> tuple[list[str], dict[str, str]]:
    wheels = work / "wheels"
    wheels.mkdir()
    roots = max(count // 2, 1)
    for i in range(roots):
        write_wheel(wheels, f"benchpkg{i}", "1.0", requires=(f"benchdep{i}>=1.0",))
        write_wheel(wheels, f"benchdep{i}", "1.0")
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    return [f'{{name: benchpkg{i}, spec: "==1.0"}}' for i in range(roots)], env


def write_recipe(work: Path, entries: list[str]) -> Path:
    path = work / "bench.yaml"
    path.write_text("schema: csm-doctor/recipe/1\nid: bench-fix\ntitle: bench\naccelerators: [cpu]\n"
                    "python: {requires: '>=3.8'}\npackages:\n"
                    + "".join(f"  - {e}\n" for e in entries), encoding="utf-8")
    return path


def find_uv(given: str | None) -> str | None:
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("uv")


def run_once(tool: str, args: argparse.Namespace, base: Path, work: Path, recipe: Path,
             env: dict[str, str], n: int) -> dict[str, Any]:
    target = work / f"venv-{tool}-{n}"
    shutil.copytree(base, target, symlinks=True)  # a fresh copy of the same venv, not timed
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    argv = [args.doctor_python, "-m", "csm_doctor", "fix", "--yes", "--json", "--offline", "--no-download",
            "--recipe", str(recipe), "--python", str(python), "--installer", tool]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT_S,
                          cwd=tempfile.gettempdir(), stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    shutil.rmtree(target, ignore_errors=True)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(f"{tool}: fix printed no JSON (exit {proc.returncode}): "
                           f"{proc.stderr[-400:]}") from None
    steps = [r for r in doc["results"] if r["status"] != "skipped"]
    if proc.returncode != 0 or not steps or any(r["status"] != "ok" for r in steps):
        raise RuntimeError(f"{tool}: fix exited {proc.returncode}: "
                           f"{[r['message'] for r in steps] or proc.stderr[-400:]}")
    return {"wall": wall, "install": sum(r["seconds"] for r in steps),
            "argv0": doc["plan"][0]["argv"][0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=("local", "registry"), default="local")
    parser.add_argument("--packages", type=int, default=40, help="wheels in the local set")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--uv", default=None, help="uv executable (default: uv on PATH)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter the fresh venvs are made from")
    parser.add_argument("--doctor-python", default=sys.executable,
                        help="interpreter with csm-doctor installed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    uv = find_uv(args.uv)
    if uv is None:
        print("bench_fix: no uv (pass --uv PATH, or: python -m pip install uv)", file=sys.stderr)
        return EXIT_ENV
    probe = subprocess.run([args.doctor_python, "-c", "import csm_doctor.commands.fix"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        print(f"bench_fix: {args.doctor_python} cannot import csm-doctor's fix command",
              file=sys.stderr)
        return EXIT_ENV
    with tempfile.TemporaryDirectory(prefix="bench-fix-") as tmp:
        work = Path(tmp)
        if args.set == "local":
            entries, pip_env = local_set(work, args.packages)
        else:
            entries, pip_env = [f"{{name: {name}}}" for name in REGISTRY_SET], {}
        recipe = write_recipe(work, entries)
        base = work / "base"
        subprocess.run([args.python, "-m", "venv", str(base)], check=True, timeout=300)
        fake_bin = work / "bin"
        fake_bin.mkdir()
        (fake_bin / ("uv.exe" if os.name == "nt" else "uv")).symlink_to(uv)
        env = {**os.environ, **pip_env, "CSM_DOCTOR_STATE_DIR": str(work / "state"),
               "PATH": str(fake_bin) + os.pathsep + os.environ.get("PATH", ""),
               "NO_COLOR": "1", "CSM_DOCTOR_NVML": "0"}
        env.pop("VIRTUAL_ENV", None)
        samples: dict[str, list[dict[str, Any]]] = {"uv": [], "pip": []}
        tools = ["uv", "pip"]
        try:
            for n in range(args.warmup + args.repeat):
                for tool in tools[n % 2:] + tools[:n % 2]:  # rotate which goes first
                    sample = run_once(tool, args, base, work, recipe, env, n)
                    if n >= args.warmup:
                        samples[tool].append(sample)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"bench_fix: {exc}", file=sys.stderr)
            return EXIT_FAILED
    return report(args, samples, len(entries))


def report(args: argparse.Namespace, samples: dict[str, list[dict[str, Any]]], pinned: int) -> int:
    med = {t: {k: statistics.median(s[k] for s in samples[t]) for k in ("wall", "install")}
           for t in samples}
    ratio_install = med["uv"]["install"] / med["pip"]["install"]
    ratio_wall = med["uv"]["wall"] / med["pip"]["wall"]
    met = ratio_install <= TARGET_RATIO
    packages = args.packages if args.set == "local" else len(REGISTRY_SET)
    machine = (f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
               f"set {args.set} ({packages} packages, {pinned} pinned), {args.repeat} measured runs "
               f"each, {args.warmup} warm-up discarded")
    if args.json:
        print(json.dumps({"schema": SCHEMA, "set": args.set, "machine": machine, "median": med,
                          "ratio_install": ratio_install, "ratio_wall": ratio_wall,
                          "target": TARGET_RATIO, "met": met, "samples": samples}, indent=2))
    else:
        print(f"{'installer':<10} {'install step s':>15} {'whole fix s':>12}")
        for tool in ("pip", "uv"):
            print(f"{tool:<10} {med[tool]['install']:>15.3f} {med[tool]['wall']:>12.3f}")
        print(f"\nuv / pip: install step {ratio_install:.2f}x (target <= {TARGET_RATIO}x: "
              f"{'pass' if met else 'MISSED'}), whole command {ratio_wall:.2f}x")
        print(f"machine: {machine}")
    return EXIT_OK if met else EXIT_MISSED


if __name__ == "__main__":
    sys.exit(main())
