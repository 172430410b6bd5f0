"""Helpers for the fix tests: tiny wheels written by hand, throwaway venvs, the fix command.

Wheels are written as zip files with a correct METADATA, WHEEL and RECORD
(sha256 and size of every file), which pip and uv install like any other
wheel; building one takes a millisecond. Venvs are cloned from one base venv
(with pip) per session: a copy of a venv is a working venv, because its
interpreter finds its prefix from the pyvenv.cfg beside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

from conftest import Run  # one result type for every CLI run in the tests

ROOT = Path(__file__).resolve().parent.parent



def write_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = (),
                payload: str = "") -> Path:
    """A pure-Python py3-none-any wheel of package `name` that pip and uv accept."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n{payload}",
        f"{dist_info}/METADATA": "\n".join(["Metadata-Version: 2.1", f"Name: {name}",
                                           f"Version: {version}", "Summary: csm-doctor fix test wheel",
                                           *(f"Requires-Dist: {r}" for r in requires)]) + "\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: csm-doctor-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def venv_python(prefix: Path) -> Path:
    return prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_base_venv(prefix: Path) -> Path:
    venv.create(prefix, with_pip=True, symlinks=os.name != "nt")
    return venv_python(prefix)


def clone_venv(base: Path, prefix: Path) -> Path:
    shutil.copytree(base, prefix, symlinks=True)
    return venv_python(prefix)


def offline_pip_env(wheels: Path) -> dict[str, str]:
    """pip (and, through fix, uv) see only the local wheel folder: no index, no config files."""
    return {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def pip_install(python: Path, wheels: Path, *requirements: str) -> None:
    env = {**os.environ, **offline_pip_env(wheels)}
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], env=env, check=True,
                   capture_output=True, timeout=300)


def freeze(python: Path) -> list[str]:
    out = subprocess.run([str(python), "-I", "-m", "pip", "freeze", "--all"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
                         check=True).stdout
    return sorted(line for line in out.splitlines() if line.strip())


def installed(python: Path) -> dict[str, str]:
    return dict(line.split("==", 1) for line in freeze(python) if "==" in line)


def write_recipe(folder: Path, packages: list[dict], *, extra: str = "", rid: str = "fix-test") -> Path:
    """A small recipe whose packages are the test wheels: CPU only, any OS, any Python 3."""
    lines = [f"  - {json.dumps(p)}" for p in packages]
    text = textwrap.dedent(f"""\
        schema: csm-doctor/recipe/1
        id: {rid}
        title: csm-doctor fix test recipe
        platforms: [linux, windows, darwin]
        accelerators: [cpu]
        python:
          requires: ">=3.8"
        """) + ("packages:\n" + "\n".join(lines) + "\n" if packages else "") + extra
    path = folder / f"{rid}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_fix(env: dict[str, str], *args: str, timeout: float = 300) -> Run:
    """`csm-doctor fix ARGS` as a real process with no terminal on stdin, in a scratch
    directory (a smoke run at the end writes ./csm-doctor-smoke/: never into the repo)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="csm-doctor-fix-cwd-") as scratch:
        proc = subprocess.run([sys.executable, "-m", "csm_doctor", "fix", *args],
                              capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=scratch, stdin=subprocess.DEVNULL, encoding="utf-8")
    return Run(proc.returncode, proc.stdout, proc.stderr)
