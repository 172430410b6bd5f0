"""Small text helpers shared by the tool-output parsers.

The same parsers read live command output and text pasted into issues, so every
input goes through `normalize_text` first: that is where colour codes, Windows
line endings and non-str inputs are dealt with once instead of in each parser.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, TypeVar

T = TypeVar("T")

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks) and
# two-byte escapes: terminals and CI logs wrap tool output in all three.
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
)
# Control characters other than tab/newline only ever come from binary noise.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Values tools print instead of a number. Anything fully in brackets is an
# nvidia-smi status marker ("[N/A]", "[Not Supported]", "[Unknown Error]",
# "[Requested functionality has been deprecated]", "[GPU is lost]", ...).
_MISSING = {"", "n/a", "na", "-", "--", "err!", "not supported", "unknown error", "none"}

_INT_RE = re.compile(r"[+-]?\d+")
_SIZE_RE = re.compile(r"(\d{1,18}(?:\.\d{1,6})?)\s*([KMGT]i?B)?", re.IGNORECASE)
_UNIT_TO_MIB = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
_VERSION_RE = re.compile(r"\d+(?:\.\d+)*")


def normalize_text(text: object) -> str:
    """Return `text` as a plain str with LF newlines and no ANSI/control codes.

    Accepts bytes and None too, because callers feed raw subprocess output and
    missing captures straight in and must never get an exception back.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        return ""
    text = _ANSI_RE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text)


def text_lines(text: object) -> list[str]:
    """Normalised lines, trailing whitespace removed (pastes often add some)."""
    return [line.rstrip() for line in normalize_text(text).split("\n")]


def na_to_none(value: str | None) -> str | None:
    """Strip `value`; return None when it is a tool's "no value" marker."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() in _MISSING:
        return None
    if value.startswith("[") and value.endswith("]"):
        return None
    return value


def to_int(digits: str | None) -> int | None:
    """int() of a digit string, None when absurdly long.

    Python refuses int() on strings over 4300 digits and float() turns them
    into inf; no real figure in tool output has more than 18 digits.
    """
    if not digits or len(digits.lstrip("+-")) > 18:
        return None
    try:
        return int(digits)
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    """Int from a cell like " 0 " or "3 %"; None for markers and junk."""
    value = na_to_none(value)
    if value is None:
        return None
    match = _INT_RE.match(value)
    return to_int(match.group()) if match else None


def parse_mib(value: str | None) -> int | None:
    """MiB from "81559MiB", "81559 MiB", "81559" (nounits) or "80 GiB"; else None."""
    value = na_to_none(value)
    if value is None:
        return None
    match = _SIZE_RE.fullmatch(value)
    if not match:
        return None
    unit = (match.group(2) or "M")[0].lower()
    return int(round(float(match.group(1)) * _UNIT_TO_MIB[unit]))


def version_token(value: str | None) -> str | None:
    """The leading dotted number of `value` ("13.3" from "13.3 "), or None.

    Used to refuse placeholders such as 'Deprecated, see "KMD version" instead'
    that newer drivers print where a version used to be.
    """
    value = na_to_none(value)
    if value is None:
        return None
    match = _VERSION_RE.match(value)
    return match.group() if match else None


def table_cells(line: str) -> list[str]:
    """Cells of a boxed-table row ("| a | b |" -> ["a", "b"]), or [] if not a row.

    Anything before the first "|" is dropped so quoted ("> | ...") or indented
    pastes still parse.
    """
    start = line.find("|")
    if start < 0:
        return []
    body = line[start + 1 :].rstrip()
    if body.endswith("|"):
        body = body[:-1]
    return [cell.strip() for cell in body.split("|")]


def never_raise(default: Callable[[], T]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a parser so an unforeseen input yields `default()`, not a crash.

    A doctor that crashes on a strange paste is worse than one that says "could
    not read this". The undecorated function stays reachable as `__wrapped__`,
    which the fuzz tests exercise so that this net never hides a real bug.
    """

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(func)
        def wrapper(*args: object, **kwargs: object) -> T:
            try:
                return func(*args, **kwargs)
            except Exception:  # noqa: BLE001 - the whole point is to never raise
                return default()

        return wrapper

    return decorate
