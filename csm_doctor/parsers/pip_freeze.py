"""Parser for installed-package listings: `pip freeze`, `pip list` (table and
`--format=freeze`), `uv pip freeze` and `uv pip list`.

Users paste these to show what is installed; the doctor compares them with
the recipe's pins, so names are PEP 503-normalised (`Huggingface_Hub` ->
`huggingface-hub`) exactly like the probe's facts["packages"]. Direct
references carry no version: `name @ <url>` keeps the version a wheel or sdist
file name states, otherwise it is skipped, as are `-e` editables. A made-up
"direct" placeholder would be read as a version by the pin checks.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from packaging.utils import canonicalize_name

from .textutil import never_raise, text_lines

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?"
# "name==1.2.3" (also "===" arbitrary equality); a trailing "# comment" is allowed.
_PINNED_RE = re.compile(rf"\s*({_NAME})(?:\[[^\]]{{0,200}}\])?\s*===?\s*([^\s;#,]{{1,100}})\s*(?:#.*)?")
_DIRECT_RE = re.compile(rf"\s*({_NAME})(?:\[[^\]]{{0,200}}\])?\s*@\s*(\S{{1,2000}})\s*")
# pip freeze writes "# Editable install with no version control (csm==0.1.0)" above "-e /path".
_EDITABLE_COMMENT_RE = re.compile(rf"#[^(]{{0,200}}\(\s*({_NAME})\s*==\s*([^\s)]{{1,100}})\s*\)")
_LIST_HEADER_RE = re.compile(r"\s*Package\s+Version(?:\s+\S.*)?", re.IGNORECASE)
_LIST_RULE_RE = re.compile(r"\s*-{3,}(?:\s+-{3,})+\s*")
_LIST_ROW_RE = re.compile(rf"\s*({_NAME})\s+(\d[^\s]{{0,100}})(?:\s+\S.*)?")
_VERSION_RE = re.compile(r"\d[\w.!+-]{0,100}")
_MAX_LINE = 4000


def _file_version(name: str, url: str) -> str | None:
    """Version from a wheel/sdist file name at the end of `url` ("torch-2.4.0%2Bcu124-cp310-...whl")."""
    filename = unquote(url.rstrip("/").rsplit("/", 1)[-1])
    stem = re.sub(r"\.(?:whl|tar\.gz|zip|tar\.bz2)$", "", filename)
    if stem == filename:
        return None
    parts = stem.split("-")
    if len(parts) < 2 or canonicalize_name(parts[0]) != canonicalize_name(name):
        return None
    return parts[1] if _VERSION_RE.fullmatch(parts[1]) else None


def parse_requirement_line(line: str) -> tuple[str, str] | None:
    """(canonical name, version) from one freeze-style line, else None.

    Shared with the collect_env parser, whose "[pip3] name==version" lines
    use the same syntax after the prefix.
    """
    if len(line) > _MAX_LINE:
        return None
    match = _PINNED_RE.fullmatch(line) or _EDITABLE_COMMENT_RE.fullmatch(line.strip())
    if match and _VERSION_RE.fullmatch(match.group(2)):
        return canonicalize_name(match.group(1)), match.group(2)
    match = _DIRECT_RE.fullmatch(line)
    if match:
        version = _file_version(match.group(1), match.group(2))
        if version:
            return canonicalize_name(match.group(1)), version
    return None


def is_freeze_line(line: str) -> bool:
    """A line `pip freeze` could print: a requirement, a direct reference, `-e ...` or a comment."""
    stripped = line.strip()
    if stripped.startswith(("-e ", "--editable ")):
        return True
    if stripped.startswith("#"):
        return bool(_EDITABLE_COMMENT_RE.fullmatch(stripped))
    return bool(len(line) <= _MAX_LINE and (_PINNED_RE.fullmatch(line) or _DIRECT_RE.fullmatch(line)))


def is_list_header(line: str) -> bool:
    """The "Package    Version [Editable project location]" title of `pip list` / `uv pip list`."""
    return len(line) <= _MAX_LINE and bool(_LIST_HEADER_RE.fullmatch(line))


def is_list_line(line: str) -> bool:
    """A line of a `pip list` table below its header: the dashed rule or a "name  version" row."""
    return len(line) <= _MAX_LINE and bool(_LIST_RULE_RE.fullmatch(line) or _LIST_ROW_RE.fullmatch(line))


def _list_rows(lines: list[str], start: int) -> list[tuple[str, str]]:
    """Rows of a `pip list` table whose header is lines[start]; stops at the first non-row."""
    rows: list[tuple[str, str]] = []
    for line in lines[start + 1 :]:
        if not rows and _LIST_RULE_RE.fullmatch(line):
            continue
        match = _LIST_ROW_RE.fullmatch(line) if len(line) <= _MAX_LINE else None
        if not match:
            break
        rows.append((canonicalize_name(match.group(1)), match.group(2)))
    return rows


@never_raise(dict)
def parse_pip_freeze(text: str) -> dict[str, str]:
    """{canonical name: version} from freeze lines and `pip list` tables anywhere in `text`.

    The first version seen for a name wins (a paste may repeat a listing);
    lines that are neither (warnings, prompts, prose) are ignored.
    """
    lines = text_lines(text)
    packages: dict[str, str] = {}
    for index, line in enumerate(lines):
        if is_list_header(line):
            for name, version in _list_rows(lines, index):
                packages.setdefault(name, version)
            continue
        found = parse_requirement_line(line)
        if found:
            packages.setdefault(*found)
    return packages


@never_raise(bool)
def looks_like_pip_freeze(text: str) -> bool:
    """Cheap sniff: a "name==version" line, or a `pip list` header with its dashed rule below."""
    lines = text_lines(text)
    for index, line in enumerate(lines):
        if len(line) <= _MAX_LINE and _PINNED_RE.fullmatch(line):
            return True
        if is_list_header(line) and index + 1 < len(lines) and _LIST_RULE_RE.fullmatch(lines[index + 1]):
            return True
    return False
