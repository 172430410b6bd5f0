"""Reading the user's training files: YAML configs with their lines, bounded text, shell scripts.

Every reader here turns an unreadable or malformed input into an InputError that names the
file and line (exit 2), never a traceback. Training configs are often HyperPyYAML
(CosyVoice's `!new:`, `!name:`, `!ref <x>` tags), which a plain safe loader refuses; those
tags are kept as their text, and their names recorded, instead.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError
from csm_doctor.lint.model import Where
from csm_doctor.yamlpos import LineMap, format_path, line_for, load_yaml
from csm_doctor.yamlpos import Path as KeyPath

MAX_TEXT_BYTES = 16 * 1024 * 1024


def read_text(path: Path, display: str | None = None) -> str:
    """A text file's contents; InputError if it is missing, huge, binary, not UTF-8 or not a file."""
    from csm_doctor.safeio import decode_text, read_input

    name = display or str(path)
    data = read_input(path, MAX_TEXT_BYTES, shown=name)  # a FIFO or a device: exit 2, not a hang
    if b"\x00" in data:
        raise InputError.single(name, "not a text file (it holds NUL bytes)")
    return decode_text(data, name)


@dataclass
class ConfigDoc:
    """A parsed YAML config: its data, the line of every key, and any HyperPyYAML tags."""

    file: str
    path: Path
    data: Any
    lines: LineMap
    tags: dict[KeyPath, str] = field(default_factory=dict)

    def where(self, key: KeyPath) -> Where:
        return Where(self.file, line_for(self.lines, key), format_path(key) or None)

    def leaves(self) -> list[tuple[KeyPath, Any]]:
        """Every (key path, value) below the root whose value is not a mapping or a list."""
        out: list[tuple[KeyPath, Any]] = []
        stack: list[tuple[KeyPath, Any]] = [((), self.data)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, dict):
                stack.extend((path + (k,), v) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(node))))
                if path:
                    out.append((path, node))
            elif path:
                out.append((path, node))
        return out


def load_config(path: Path, display: str | None = None) -> ConfigDoc:
    """Parse a YAML config (plain or HyperPyYAML); InputError with file:line when malformed."""
    name = display or str(path)
    text = read_text(path, name)
    try:
        data, lines = load_yaml(text, name)
        return ConfigDoc(name, path, data, lines)
    except InputError as plain_error:
        tagged = _load_tagged(text, name)
        if tagged is None:
            raise plain_error from None
        data, lines, tags = tagged
        return ConfigDoc(name, path, data, lines, tags)


def _load_tagged(text: str, name: str) -> tuple[Any, LineMap, dict[KeyPath, str]] | None:
    """The HyperPyYAML reading: custom tags kept as text; None if the text is not YAML at all."""
    from csm_doctor.yamlpos import _Builder, compose

    class _TagKeeper(_Builder):
        def __init__(self) -> None:
            self.lines: LineMap = {}
            super().__init__(name, self.lines)
            self.tags: dict[KeyPath, str] = {}

        def build(self, node: Any, path: KeyPath) -> Any:
            if isinstance(node.tag, str) and node.tag.startswith("!"):
                self.tags[path] = node.tag
            return super().build(node, path)

        def _scalar(self, node: Any, path: KeyPath) -> Any:
            if isinstance(node.tag, str) and node.tag.startswith("!"):
                return node.value  # `!ref <sample_rate>` stays "<sample_rate>"
            return super()._scalar(node, path)

    try:  # the same composer (and alias-bomb guard) as every other YAML input
        node = compose(text, name)
    except InputError:
        return None
    keeper = _TagKeeper()
    if node is None:
        return None, keeper.lines, {}
    return keeper.build(node, ()), keeper.lines, keeper.tags


def norm_key(key: Any) -> str:
    """`--Muq-Codebook-Size` and `muq_codebook_size` compare equal."""
    return str(key).strip().lstrip("-").replace("-", "_").lower()


# ---------------------------------------------------------------------------- shell scripts

_OPERATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class ShellCommand:
    """One simple command of a shell script: its words, each word's line, and its environment."""

    words: list[str]
    lines: list[int]
    env: dict[str, tuple[str, int]]  # NAME → (value, line): exported earlier or prefixed

    @property
    def line(self) -> int:
        return self.lines[0] if self.lines else 1


def parse_shell(text: str, name: str, include: Path | None = None) -> list[ShellCommand]:
    """The simple commands of a POSIX shell script, with `export`/`VAR=x cmd` environments.

    `source FILE` / `. FILE` of a file beside the script is followed once, for its exports
    (the SongBloom fork's `source set_env.sh`). Unbalanced quotes are an InputError.
    """
    return _parse_shell(text, name, include)[0]


def _parse_shell(text: str, name: str, include: Path | None
                 ) -> tuple[list[ShellCommand], dict[str, tuple[str, int]]]:
    commands: list[ShellCommand] = []
    exported: dict[str, tuple[str, int]] = {}
    for words, lines in _logical_commands(text, name):
        env: dict[str, tuple[str, int]] = {}
        while words and _ASSIGN.match(words[0]):
            key, _, value = words[0].partition("=")
            env[key] = (value, lines[0])
            words, lines = words[1:], lines[1:]
        if not words:
            exported.update(env)  # a bare assignment: the rest of the script sees it
        elif words[0] == "export":
            for word, line in zip(words[1:], lines[1:], strict=True):
                key, eq, value = word.partition("=")
                if eq:
                    exported[key] = (value, line)
        elif words[0] in ("source", ".") and len(words) > 1:
            if include is not None:  # its variables, placed at the `source` line
                exported.update({k: (v, lines[0]) for k, (v, _) in
                                 _sourced_exports(include / words[1]).items()})
        else:
            commands.append(ShellCommand(words, lines, {**exported, **env}))
    return commands, exported


def _sourced_exports(path: Path) -> dict[str, tuple[str, int]]:
    """The variables a sourced helper script sets (not followed further)."""
    try:
        if not path.is_file() or path.stat().st_size > 1024 * 1024:
            return {}
        return _parse_shell(read_text(path), str(path), None)[1]
    except (InputError, OSError):
        return {}


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _logical_commands(text: str, name: str) -> list[tuple[list[str], list[int]]]:
    """Split a script into simple commands, joining `\\` continuations, keeping word lines.

    Here-document bodies (`cat <<EOF ... EOF`) are data, not commands, and are skipped.
    """
    out: list[tuple[list[str], list[int]]] = []
    pending: list[tuple[int, str]] = []  # physical lines of one logical line
    heredoc: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        stripped = raw.rstrip()
        continued = stripped.endswith("\\") and not stripped.endswith("\\\\")
        pending.append((number, stripped[:-1] if continued else stripped))
        marker = _HEREDOC.search(stripped) if "<<<" not in stripped else None
        if marker:
            heredoc = marker.group(2)
        if continued and not marker:
            continue
        out.extend(_commands(_tokens(pending, name)))
        pending = []
    if pending:  # a continuation at the very end of the file
        out.extend(_commands(_tokens(pending, name)))
    return out


def _commands(tokens: list[tuple[str, int]]) -> list[tuple[list[str], list[int]]]:
    """Cut one logical line's words at the shell's operators (;, &&, |, ...)."""
    out: list[tuple[list[str], list[int]]] = []
    words: list[str] = []
    lines: list[int] = []
    for word, line in tokens:
        if word in _OPERATORS:
            if words:
                out.append((words, lines))
            words, lines = [], []
        else:
            words.append(word)
            lines.append(line)
    if words:
        out.append((words, lines))
    return out


def _tokens(pending: list[tuple[int, str]], name: str) -> list[tuple[str, int]]:
    """Words of one logical line with the physical line each came from."""
    try:
        return [(w, n) for n, part in pending for w in _split(part)]
    except ValueError:
        pass  # a quote spanning physical lines: split the joined line, all on its first line
    joined = " ".join(part for _, part in pending)
    try:
        return [(w, pending[0][0]) for w in _split(joined)]
    except ValueError as exc:
        raise InputError.single(name, f"cannot read this shell line: {exc}",
                                line=pending[0][0]) from None


def _split(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def subdirs(path: Path) -> list[Path]:
    """Visible sub-folders, sorted (dataset languages and conversations); [] if unreadable."""
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    except OSError:
        return []


def plain_files(path: Path) -> list[Path]:
    """Plain files of a folder (scandir: no stat per entry, which matters at 100k clips)."""
    try:
        with os.scandir(path) as entries:
            return [Path(e.path) for e in entries if e.is_file()]
    except OSError:
        return []
