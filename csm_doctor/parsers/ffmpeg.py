"""Parser for `ffmpeg -version` / `ffprobe -version` output.

The doctor needs the release (torchaudio and torchcodec support only some
FFmpeg majors), the library sonames (they decide which shared libraries a
wheel can load) and the configure flags (e.g. whether libopus/libmp3lame are
in). Distro, Homebrew, gyan.dev and git builds all print the same block, only
the version token differs.
"""

from __future__ import annotations

import re
import shlex

from .textutil import never_raise, text_lines

_VERSION_RE = re.compile(r"\b(?:ffmpeg|ffprobe|ffplay)\s+version\s+(\S+)", re.IGNORECASE)
# "5.1.9-0+deb12u1" -> 5.1.9, "n7.0.1" -> 7.0.1, "7.1-full_build-..." -> 7.1;
# "N-113000-g..." and "2024-01-01-git-..." are git snapshots with no release.
_RELEASE_RE = re.compile(r"n?(\d+\.\d+(?:\.\d+)?)(?![\d.]*\d)")
_BUILT_WITH_RE = re.compile(r"\bbuilt\s+with\s+(.+)", re.IGNORECASE)
_CONFIGURATION_RE = re.compile(r"\bconfiguration:\s*(.*)", re.IGNORECASE)
_LIBRARY_RE = re.compile(r"\b(lib(?:av|sw|post)[a-z]+)\s+(\d+)\.\s*(\d+)\.\s*(\d+)")


def _empty() -> dict:
    return {"version": None, "release": None, "built_with": None, "configuration": [], "libraries": {}}


def _release(version: str) -> str | None:
    """Numeric X.Y[.Z] release inside a version token, None for git snapshots."""
    match = _RELEASE_RE.match(version)
    return match.group(1) if match else None


def _configure_flags(value: str) -> list[str]:
    """The "--flag[=value]" items of a configuration line, honouring shell quotes."""
    try:
        tokens = shlex.split(value)
    except ValueError:  # unbalanced quote in a truncated paste
        tokens = value.split()
    return [token for token in tokens if token.startswith("--")]


@never_raise(_empty)
def parse_ffmpeg_version(text: str) -> dict:
    """Version, release, compiler, configure flags and library versions.

    Returns {"version", "release", "built_with", "configuration": [flags],
    "libraries": {"libavutil": "57.28.100", ...}}. Reads from the first
    "ffmpeg version" line on, so log lines before it are ignored, and takes the
    first value of each field (a paste may hold two runs).
    """
    result = _empty()
    started = False
    for line in text_lines(text):
        version = _VERSION_RE.search(line)
        if version and not started:
            started = True
            result["version"] = version.group(1)
            result["release"] = _release(version.group(1))
            continue
        if started:
            _read_line(result, line)
    return result


def _read_line(result: dict, line: str) -> None:
    """Fill whichever field `line` carries, keeping the first value seen."""
    built_with = _BUILT_WITH_RE.search(line)
    if built_with and result["built_with"] is None:
        result["built_with"] = built_with.group(1).strip()
        return
    configuration = _CONFIGURATION_RE.search(line)
    if configuration and not result["configuration"]:
        result["configuration"] = _configure_flags(configuration.group(1))
        return
    library = _LIBRARY_RE.search(line)
    if library:
        name, major, minor, micro = library.groups()
        result["libraries"].setdefault(name, f"{major}.{minor}.{micro}")


@never_raise(bool)
def looks_like_ffmpeg_version(text: str) -> bool:
    """Cheap sniff: is there an "ffmpeg version X" (or ffprobe) line?"""
    return any(_VERSION_RE.search(line) for line in text_lines(text))
