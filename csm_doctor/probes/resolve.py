"""Which environment is under test, chosen the way pip, uv and poetry users expect.

Order: `--python`; else the activated environment (`VIRTUAL_ENV`, then
`CONDA_PREFIX`); else uv's project environment (`UV_PROJECT_ENVIRONMENT`,
relative to the project root) or a `.venv` in the current folder or one above
it (what `uv pip` finds); else the interpreter csm-doctor runs on. That last
one is csm-doctor's *own* environment: when it is a pipx or `uv tool` install
it is never the user's project, so check says so and fix refuses to change it.

Standard library only, no subprocess: this runs before every probe.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

# Files pipx and `uv tool install` write at the root of the venvs they manage.
_TOOL_MARKERS = (("pipx_metadata.json", "pipx"), ("uv-receipt.toml", "uv tool"))


@dataclass(frozen=True)
class TargetChoice:
    """The interpreter under test, where it came from, and whether it is csm-doctor's tool venv."""

    python: str
    source: str                 # "--python", "VIRTUAL_ENV", "CONDA_PREFIX", "UV_PROJECT_ENVIRONMENT",
    #                             "./.venv", or "csm-doctor's own environment"
    own_tool: str | None = None  # "pipx" / "uv tool" when python is csm-doctor's own tool venv

    @property
    def fallback(self) -> bool:
        """True when nothing pointed at an environment and csm-doctor's own one is used."""
        return self.source == OWN

    def describe(self) -> str:
        """One line for the header: how this environment was chosen."""
        if self.own_tool and self.fallback:
            return (f"csm-doctor's own {self.own_tool} environment, not a project's: pass "
                    "--python PATH/TO/python, activate your environment, or run from the "
                    "folder that holds your .venv")
        return f"from {self.source}"


OWN = "csm-doctor's own environment"


def env_python(prefix: str | os.PathLike[str]) -> str | None:
    """The interpreter inside an environment folder (venv or conda, POSIX or Windows)."""
    root = Path(prefix)
    for candidate in (root / "bin" / "python", root / "Scripts" / "python.exe",
                      root / "python.exe", root / "bin" / "python3"):
        if candidate.is_file():
            return str(candidate)
    return None


def own_tool_install(prefix: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """"pipx" or "uv tool" when csm-doctor runs from a venv one of those tools manages."""
    root = Path(prefix or sys.prefix)
    environ = os.environ if environ is None else environ
    for marker, tool in _TOOL_MARKERS:
        if (root / marker).is_file():
            return tool
    parts = [p.lower() for p in root.resolve().parts] if root.exists() else []
    pipx_home, uv_tools = environ.get("PIPX_HOME"), environ.get("UV_TOOL_DIR")
    if (pipx_home and _under(root, Path(pipx_home) / "venvs")) or _sequence(parts, "pipx", "venvs"):
        return "pipx"
    if (uv_tools and _under(root, Path(uv_tools))) or _sequence(parts, "uv", "tools"):
        return "uv tool"
    return None


def resolve_target(python: str | None = None, cwd: str | None = None,
                   environ: Mapping[str, str] | None = None) -> TargetChoice:
    """The environment under test, in the order the module docstring gives."""
    environ = os.environ if environ is None else environ
    if python:
        return TargetChoice(os.path.abspath(python), "--python")
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        found = env_python(environ[variable]) if environ.get(variable) else None
        if found:
            return TargetChoice(found, variable)
    here = Path(cwd or os.getcwd()).resolve()
    project = _project_venv(here, environ)
    if project:
        return project
    for folder in (here, *here.parents):
        found = env_python(folder / ".venv")
        if found:
            label = "./.venv" if folder == here else str(folder / ".venv")
            return TargetChoice(found, label)
    return TargetChoice(sys.executable, OWN, own_tool=own_tool_install(environ=environ))


def _project_venv(here: Path, environ: Mapping[str, str]) -> TargetChoice | None:
    """uv's UV_PROJECT_ENVIRONMENT: absolute, or relative to the project root (pyproject.toml)."""
    value = environ.get("UV_PROJECT_ENVIRONMENT")
    if not value:
        return None
    root = next((d for d in (here, *here.parents) if (d / "pyproject.toml").is_file()), here)
    path = Path(value) if os.path.isabs(value) else root / value
    found = env_python(path)
    return TargetChoice(found, "UV_PROJECT_ENVIRONMENT") if found else None


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _sequence(parts: list[str], first: str, second: str) -> bool:
    return any(a == first and b == second for a, b in zip(parts, parts[1:]))
