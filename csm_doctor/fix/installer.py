"""Installing into the target interpreter: uv when there is one, pip otherwise.

Both write into the interpreter of `--python`, never into csm-doctor's own
environment: `uv pip install --python TARGET ...` or `TARGET -m pip install ...`.
uv does not read pip's configuration, so the indexes and find-links pip would
use (`pip config list`: pip.conf files and PIP_* variables) are passed to uv
explicitly; a machine whose pip only sees a company mirror sends uv there too.

Building commands is pure (`Installer`); finding uv and reading pip's
configuration are the only I/O, each bounded by a timeout.
"""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
from dataclasses import dataclass, field, replace
from pathlib import Path

AUTO, UV, PIP = "auto", "uv", "pip"
PYPI_SIMPLE = "https://pypi.org/simple"
CONFIG_TIMEOUT_S = 30.0
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class IndexConfig:
    """Where pip looks for packages, as pip's own configuration says."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()

    def uv_args(self, index_url: str | None = None,
                extra_index_urls: tuple[str, ...] = ()) -> list[str]:
        """The same sources as uv options, and pip's way of choosing among them.

        `index_url` replaces pip's (fix --torch-index only); `extra_index_urls` (PyTorch's
        index, by default) are added to pip's. uv takes a package from the first index
        that has it, pip from the best version across all: `--index-strategy
        unsafe-best-match` makes uv choose as pip does, so both install the same versions.
        """
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        primary = index_url or self.index_url
        if primary and not self.no_index:
            args += ["--index-url", primary]
        for url in (*extra_index_urls, *self.extra_index_urls):
            if not self.no_index:
                args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        for host in self.trusted_hosts:
            args += ["--allow-insecure-host", host]
        if not self.no_index:
            args += ["--index-strategy", "unsafe-best-match"]
        return args

    def urls(self, index_url: str | None = None, extra_index_urls: tuple[str, ...] = ()) -> list[str]:
        """The indexes an install with these options reads (pip's default is PyPI)."""
        if self.no_index:
            return []
        primary = index_url or self.index_url or PYPI_SIMPLE
        return list(dict.fromkeys([primary, *extra_index_urls, *self.extra_index_urls]))


def parse_pip_config(text: str) -> IndexConfig:
    """Read `pip config list` output: PIP_* variables beat the install section beat global."""
    values: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep or "." not in key:
            continue
        section, _, name = key.rpartition(".")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip().strip("'\"")
        values.setdefault(name, {})[section] = str(value)

    def pick(name: str) -> str | None:
        found = values.get(name, {})
        for section in (":env:", "install", "global"):
            if section in found:
                return found[section]
        return None

    def many(name: str) -> tuple[str, ...]:
        return tuple((pick(name) or "").split())

    no_index = (pick("no-index") or "").strip().lower() in _TRUE
    return IndexConfig(index_url=pick("index-url"), extra_index_urls=many("extra-index-url"),
                       find_links=many("find-links"), no_index=no_index, cert=pick("cert"),
                       trusted_hosts=many("trusted-host"))


def config_from_environment(env: dict[str, str] | None = None) -> IndexConfig:
    """The PIP_* variables alone: what is left when no pip can be asked."""
    env = os.environ if env is None else env
    text = "\n".join(f":env:.{name[4:].lower().replace('_', '-')}={env[name]!r}"
                     for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
                                  "PIP_NO_INDEX", "PIP_CERT", "PIP_TRUSTED_HOST") if env.get(name))
    return parse_pip_config(text)


def read_pip_config(pythons: list[str], timeout: float = CONFIG_TIMEOUT_S) -> IndexConfig:
    """Ask the first pip that answers (the target's, then csm-doctor's) for its configuration."""
    from csm_doctor.process import python_argv, run_command

    for python in pythons:
        result = run_command(python_argv(python, "-m", "pip", "config", "list"), timeout=timeout,
                             env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        if result.returncode == 0:
            return parse_pip_config(result.stdout)
    return config_from_environment()


@dataclass(frozen=True)
class Installer:
    """Commands that change the packages of one target interpreter."""

    tool: str                     # "uv" or "pip"
    python: str                   # the target interpreter (absolute)
    uv: str | None = None         # the uv executable when tool is "uv"
    index: IndexConfig = field(default_factory=IndexConfig)
    version: str | None = None

    def install(self, requirements: list[str], *, index_url: str | None = None,
                extra_index_urls: tuple[str, ...] = (), no_deps: bool = False,
                extra_args: tuple[str, ...] = ()) -> tuple[str, ...]:
        flags = ["--no-deps"] if no_deps else []
        if self.tool == UV:
            return (self.uv or "uv", "pip", "install", "--python", self.python, *flags,
                    *self.index.uv_args(index_url, extra_index_urls), *extra_args, *requirements)
        sources: list[str] = []
        if index_url:
            sources += ["--index-url", index_url]
        for url in extra_index_urls:
            sources += ["--extra-index-url", url]
        return (self.python, "-I", "-m", "pip", "install", *flags, *sources, *extra_args, *requirements)

    def uninstall(self, names: list[str]) -> tuple[str, ...]:
        if self.tool == UV:
            return (self.uv or "uv", "pip", "uninstall", "--python", self.python, *names)
        return (self.python, "-I", "-m", "pip", "uninstall", "-y", *names)

    def freeze(self) -> tuple[str, ...]:
        if self.tool == UV:
            return (self.uv or "uv", "pip", "freeze", "--python", self.python)
        return (self.python, "-I", "-m", "pip", "freeze", "--all")

    def environment(self) -> dict[str, str]:
        """Variables for the installer's process: uv gets pip's certificate bundle too."""
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONIOENCODING": "utf-8"}
        if self.tool == UV:
            env.setdefault("UV_NO_PROGRESS", "1")
            if self.index.cert and not env.get("SSL_CERT_FILE"):
                env["SSL_CERT_FILE"] = self.index.cert
        return env

    def describe(self) -> str:
        name = f"uv {self.version}" if self.tool == UV and self.version else self.tool
        return f"{name} into {self.python}"


def find_uv() -> str | None:
    """uv on PATH, else the uv package installed in csm-doctor's own environment."""
    from csm_doctor.probes.command import find_executable

    found = find_executable("uv")
    if found:
        return found
    own = own_uv_path()
    return str(own) if own.is_file() else None


def own_uv_path() -> Path:
    """Where `pip install uv` into csm-doctor's own environment puts the executable."""
    scripts = Path(sysconfig.get_path("scripts"))
    return scripts / ("uv.exe" if sys.platform == "win32" else "uv")


def get_uv_command() -> tuple[str, ...]:
    """Installs uv into csm-doctor's own environment (never into the target)."""
    return (sys.executable, "-I", "-m", "pip", "install", "--disable-pip-version-check", "uv")


def uv_version(uv: str) -> str | None:
    from csm_doctor.process import run_command

    result = run_command([uv, "--version"], timeout=10)
    words = result.stdout.split()
    return words[1] if result.returncode == 0 and len(words) >= 2 else None


def choose_installer(requested: str, python: str, target_has_pip: bool | None,
                     config_pythons: list[str] | None = None) -> tuple[Installer, bool]:
    """The installer for this run, and whether uv must first be installed (get-uv action).

    auto: uv when it is on PATH or in csm-doctor's environment, else pip. uv: the same,
    installing uv into csm-doctor's own environment when it is nowhere. pip: pip.
    """
    uv = find_uv() if requested in (AUTO, UV) else None
    needs_uv = requested == UV and uv is None
    if uv is None and not needs_uv:
        return Installer(PIP, python), False
    uv_path = uv or str(own_uv_path())
    pythons = config_pythons if config_pythons is not None else \
        ([python] if target_has_pip is not False else []) + [sys.executable]
    installer = Installer(UV, python, uv=uv_path, index=read_pip_config(pythons),
                          version=uv_version(uv_path) if uv else None)
    return installer, needs_uv


def for_remote(python: str) -> Installer:
    """A plan for another machine's facts (--facts): pip, as that machine's user would run it."""
    return Installer(PIP, python)


def with_python(installer: Installer, python: str) -> Installer:
    return replace(installer, python=python)
