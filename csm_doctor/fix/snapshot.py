"""Freeze the target's packages before fix changes them, and put them back (`fix --undo`).

A snapshot is every installed distribution of the target with its exact
version and, for direct-URL installs (git, local wheels, editable checkouts),
the URL and commit it came from (PEP 610 direct_url.json): a `pip freeze`
that needs no pip in the target. `pip freeze --all` is kept beside it when
the target has pip, and undo is verified against both.

Restoring uninstalls what was added and installs, with --no-deps, exactly the
versions that were removed or changed: the snapshot already lists their
dependencies, so no resolver can pick something else.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from csm_doctor.fix.actions import INSTALL, UNINSTALL, Action
from csm_doctor.fix.installer import Installer
from csm_doctor.fix.state import atomic_write_json, read_json, state_dir

SNAPSHOT_SCHEMA = "csm-doctor/fix-snapshot/1"
MARKER = "@@CSM_DOCTOR_FREEZE@@"
KEEP = 10  # snapshots kept per environment
LIST_TIMEOUT_S = 60.0

# Runs inside the target interpreter (any CPython >= 3.7, standard library only).
LIST_SCRIPT = r'''
import json, os, sys
sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
try:
    from importlib import metadata
except ImportError:
    import importlib_metadata as metadata
base = getattr(sys, "base_prefix", sys.prefix)
conda = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
dists, seen = [], set()
for dist in metadata.distributions():
    try:
        name = dist.metadata["Name"]
    except Exception:
        continue
    if not name or name.lower() in seen:
        continue
    seen.add(name.lower())
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except Exception:
        direct = None
    dists.append({"name": name, "version": dist.version, "direct_url": direct})
# What is on disk, not only what metadata says: an install killed half-way leaves a package
# folder without its dist-info, which no distribution lists (its RECORD is written last).
import sysconfig
owned, entries = set(), {}
for dist in metadata.distributions():
    try:
        for path in dist.files or ():
            owned.add(str(path).replace("\\", "/").split("/", 1)[0])
    except Exception:
        pass
for key in ("purelib", "platlib"):
    folder = sysconfig.get_paths().get(key)
    if folder and os.path.isdir(folder) and folder not in entries:
        try:
            entries[folder] = sorted(n for n in os.listdir(folder) if n != "__pycache__")
        except OSError:
            pass
print("@@CSM_DOCTOR_FREEZE@@")
print(json.dumps({"prefix": sys.prefix, "executable": sys.executable,
                  "in_venv": sys.prefix != base or conda, "distributions": dists,
                  "entries": entries, "owned": sorted(owned)}))
'''


class SnapshotError(RuntimeError):
    """The target's packages could not be listed, or a snapshot could not be saved."""


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    direct_url: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        from csm_doctor.recipe import canonical_name

        return canonical_name(self.name)

    def requirement(self) -> list[str]:
        """What reinstalls exactly this distribution (pip and uv read the same forms)."""
        info = self.direct_url or {}
        url = info.get("url")
        if not url:
            return [f"{self.name}=={self.version}"]
        if "vcs_info" in info:
            vcs = info["vcs_info"]
            commit = vcs.get("commit_id") or vcs.get("requested_revision")
            prefix = "" if url.startswith(f"{vcs.get('vcs', 'git')}+") else f"{vcs.get('vcs', 'git')}+"
            return [f"{self.name} @ {prefix}{url}" + (f"@{commit}" if commit else "")]
        if (info.get("dir_info") or {}).get("editable"):
            return ["-e", _local_path(url)]
        return [f"{self.name} @ {url}"]

    def freeze_line(self) -> str:
        return " ".join(self.requirement())


@dataclass
class Listing:
    """The target's installed distributions, read by LIST_SCRIPT, and its site folders' entries."""

    prefix: str
    executable: str
    in_venv: bool
    dists: dict[str, Dist]
    entries: dict[str, list[str]] = field(default_factory=dict)  # site folder -> names in it
    owned: frozenset[str] = frozenset()  # top-level names some distribution's RECORD lists

    def freeze(self) -> list[str]:
        return sorted((d.freeze_line() for d in self.dists.values()), key=str.lower)


@dataclass
class Snapshot:
    python: str
    prefix: str
    created: str
    distributions: list[dict[str, Any]]
    freeze: list[str]
    pip_freeze: list[str] | None = None
    entries: dict[str, list[str]] | None = None  # None: a snapshot from before entries were kept
    path: str | None = field(default=None, compare=False)

    @property
    def dists(self) -> dict[str, Dist]:
        found = [Dist(d["name"], d["version"], d.get("direct_url")) for d in self.distributions]
        return {d.key: d for d in found}

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("path", None)
        return {"schema": SNAPSHOT_SCHEMA, **doc}


def list_distributions(python: str, timeout: float = LIST_TIMEOUT_S) -> Listing:
    from csm_doctor.process import python_argv, run_command

    result = run_command(python_argv(python, "-c", LIST_SCRIPT), timeout=timeout,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8",
                              "PYTHONDONTWRITEBYTECODE": "1"})
    if result.timed_out:
        raise SnapshotError(f"{python} did not list its packages within {timeout:g} s")
    if MARKER not in result.stdout:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SnapshotError(f"cannot list the packages of {python}: {tail}")
    doc = json.loads(result.stdout.rsplit(MARKER, 1)[1])
    dists = [Dist(d["name"], d["version"], d.get("direct_url")) for d in doc["distributions"]]
    return Listing(prefix=doc["prefix"], executable=doc["executable"], in_venv=bool(doc["in_venv"]),
                   dists={d.key: d for d in dists}, entries=doc.get("entries") or {},
                   owned=frozenset(doc.get("owned") or ()))


def pip_freeze(python: str, timeout: float = LIST_TIMEOUT_S) -> list[str] | None:
    """`pip freeze --all` of the target, or None when it has no pip."""
    from csm_doctor.process import python_argv, run_command

    result = run_command(python_argv(python, "-m", "pip", "freeze", "--all"), timeout=timeout,
                         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                              "PYTHONIOENCODING": "utf-8"})
    if result.returncode != 0:
        return None
    return sorted((line for line in result.stdout.splitlines() if line.strip()), key=str.lower)


def take(python: str) -> Snapshot:
    listing = list_distributions(python)
    return Snapshot(python=python, prefix=listing.prefix,
                    created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    distributions=[asdict(d) for d in listing.dists.values()],
                    freeze=listing.freeze(), pip_freeze=pip_freeze(python), entries=listing.entries)


# ------------------------------------------------------------------ where snapshots live

def _folder(prefix: str) -> Path:
    digest = hashlib.sha256(os.path.realpath(prefix).encode()).hexdigest()[:16]
    return state_dir() / "snapshots" / digest


def save(snapshot: Snapshot) -> Path:
    folder = _folder(snapshot.prefix)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}.json"
        atomic_write_json(path, snapshot.to_json())
    except OSError as exc:
        raise SnapshotError(f"cannot save the snapshot in {folder}: {exc.strerror or exc}") from None
    for old in sorted(folder.glob("*.json"))[:-KEEP]:
        old.unlink(missing_ok=True)
    snapshot.path = str(path)
    return path


def load_last(prefix: str) -> Snapshot | None:
    files = sorted(_folder(prefix).glob("*.json"))
    for path in reversed(files):
        doc = read_json(path, {})
        if not isinstance(doc, dict) or doc.get("schema") != SNAPSHOT_SCHEMA:
            continue
        doc.pop("schema")
        return Snapshot(**{k: v for k, v in doc.items() if k in Snapshot.__dataclass_fields__},
                        path=str(path))
    return None


# ------------------------------------------------------------------ restoring

def differences(snapshot: Snapshot, listing: Listing) -> tuple[list[Dist], list[Dist]]:
    """(to uninstall: added since, to install: removed or changed since)."""
    before, now = snapshot.dists, listing.dists
    added = [d for key, d in sorted(now.items()) if key not in before]
    changed = [d for key, d in sorted(before.items())
               if key not in now or now[key].freeze_line() != d.freeze_line()]
    return added, changed


def strays(snapshot: Snapshot, listing: Listing) -> list[str]:
    """Paths in the site folders that appeared since the snapshot and no distribution owns
    (a half-extracted package, pip's ~-prefixed stash): metadata alone would miss them."""
    if snapshot.entries is None:
        return []
    found = []
    for folder, names in sorted(listing.entries.items()):
        before = set(snapshot.entries.get(folder, ()))
        found += [os.path.join(folder, name) for name in names
                  if name not in before and name not in listing.owned]
    return found


def remove_strays(paths: list[str]) -> list[str]:
    """Delete what strays() found; the paths that could not be removed."""
    import shutil

    left = []
    for path in paths:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError:
            left.append(path)
    return left


def restore_actions(snapshot: Snapshot, listing: Listing, installer: Installer) -> list[Action]:
    """The plan that turns the target back into the snapshot (empty when it already is)."""
    from csm_doctor.fix.actions import REMOVE_STRAYS

    added, changed = differences(snapshot, listing)
    actions = []
    stray = strays(snapshot, listing)
    if stray:
        actions.append(Action(
            id="undo-strays", kind=REMOVE_STRAYS,
            description="remove what an interrupted install left and no package owns: "
                        + ", ".join(os.path.basename(p) for p in stray),
            shown="(delete " + " ".join(stray) + ")", payload={"paths": stray}))
    if added:
        names = [d.name for d in added]
        actions.append(Action(
            id="undo-uninstall", kind=UNINSTALL,
            description=f"uninstall what fix added: {', '.join(f'{d.name} {d.version}' for d in added)}",
            argv=installer.uninstall(names)))
    if changed:
        requirements = [part for d in changed for part in d.requirement()]
        extra = tuple(dict.fromkeys(url for d in changed if (url := _local_build_index(d))))
        was = ", ".join(_change_label(d, listing) for d in changed)
        actions.append(Action(
            id="undo-install", kind=INSTALL, description=f"put back exactly: {was}",
            argv=installer.install(requirements, no_deps=True, extra_index_urls=extra)))
    return actions


def verify(snapshot: Snapshot, listing: Listing, pip_lines: list[str] | None) -> list[str]:
    """What still differs from the snapshot ([] when the environment is as it was)."""
    problems = [f"stray files no package owns: {path}" for path in strays(snapshot, listing)]
    now = set(listing.freeze())
    was = set(snapshot.freeze)
    problems += [f"missing: {line}" for line in sorted(was - now)]
    problems += [f"extra: {line}" for line in sorted(now - was)]
    if snapshot.pip_freeze is not None and pip_lines is not None and \
            sorted(pip_lines) != sorted(snapshot.pip_freeze):
        diff = sorted(set(pip_lines) ^ set(snapshot.pip_freeze))
        problems.append(f"pip freeze differs: {', '.join(diff[:6])}")
    return problems


def _change_label(dist: Dist, listing: Listing) -> str:
    now = listing.dists.get(dist.key)
    return f"{dist.name} {dist.version}" + (f" (now {now.version})" if now else " (removed)")


def _local_build_index(dist: Dist) -> str | None:
    """torch 2.4.0+cu124 comes from PyTorch's cu124 index: name it, or the pin cannot resolve."""
    if "+" not in dist.version or dist.direct_url:
        return None
    label = dist.version.split("+", 1)[1]
    if label == "cpu" or label.startswith(("cu", "rocm", "xpu")):
        return f"https://download.pytorch.org/whl/{label}"
    return None


def _local_path(url: str) -> str:
    if url.startswith("file://"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return url2pathname(urlparse(url).path)
    return url
