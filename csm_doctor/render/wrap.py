"""Wrapping for narrow terminals: prose under its hanging indent, commands at their spaces.

A terminal that wraps a long line by itself breaks words and commands in the
middle and starts the rest at column 0, under nothing. On a terminal narrower
than a line, prose is wrapped between words under its indent, and a shell
command is split only at spaces outside quotes, each line but the last ending
in ` \\`, so the printed command still pastes and runs. Output that is not a
terminal (a log, a pipe) is never wrapped: one line per item stays greppable.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import TextIO

MIN_WIDTH = 30


def terminal_width(stream: TextIO) -> int | None:
    """The width to wrap at, or None when the stream is not a terminal."""
    if not getattr(stream, "isatty", lambda: False)():
        return None
    return max(shutil.get_terminal_size((80, 24)).columns, MIN_WIDTH)


def prose(text: str, indent: int, width: int | None, first: int | None = None) -> list[str]:
    """`text` as lines: the first starts after `first` columns of prefix (default: the indent),
    the rest are indented by `indent`; words are never broken."""
    first = indent if first is None else first
    if width is None or first + len(text) <= width:
        return [text]
    lines = textwrap.wrap(text, width=max(width - indent, 10), break_long_words=False,
                          break_on_hyphens=False, initial_indent=" " * (first - indent))
    if not lines:
        return [text]
    lines[0] = lines[0][first - indent:] if first > indent else lines[0]
    return [lines[0]] + [" " * indent + line for line in lines[1:]]


COMMAND_WORDS = ("pip ", "python ", "python3 ", "export ", "hf ", "uv ", "conda ", "source ",
                 "setx ", "csm-doctor ", "sudo ", "apt-get ", "apt ", "brew ", "winget ", "dnf ")


def looks_like_command(text: str) -> bool:
    """A fix that is one shell command (and so must be wrapped as one)."""
    return text.startswith(COMMAND_WORDS) and "; " not in text and ": " not in text


def _words(command: str) -> list[str]:
    """The command's words, split at spaces outside quotes (quotes kept as printed)."""
    words, current, quote = [], "", None
    for char in command:
        if quote:
            current += char
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            current += char
        elif char == " ":
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    if current:
        words.append(current)
    return words


def command(text: str, indent: int, width: int | None, first: int | None = None) -> list[str]:
    """A shell command as lines that paste: breaks at spaces outside quotes, ` \\` continuations,
    continuation lines indented two more than `indent`."""
    first = indent if first is None else first
    if width is None or first + len(text) <= width:
        return [text]
    lines: list[str] = []
    current, used = "", first
    for word in _words(text):
        if current and used + len(current) + 1 + len(word) + 2 > width:
            lines.append(current + " \\")
            current, used = word, indent + 2
            continue
        current = f"{current} {word}" if current else word
    lines.append(current)
    return [lines[0]] + [" " * (indent + 2) + line for line in lines[1:]]
