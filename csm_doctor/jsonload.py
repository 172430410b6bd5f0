"""JSON from users (facts documents, smoke results), with its depth and numbers bounded.

`json.loads` on hostile text fails in ways that are not `JSONDecodeError`: 100 000 nested
brackets raise RecursionError, a 5000-digit integer trips Python's int/str conversion
limit (ValueError), and NaN / Infinity / 1e999 parse into numbers no fact can hold. Each
of those is the user's input to fix (exit 2 with the line), not csm-doctor crashing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from csm_doctor.errors import InputError

MAX_DEPTH = 64  # a facts document is about 6 deep
MAX_DIGITS = 64  # no fact needs more; Python refuses int(str) past 4300 anyway


class _BadNumber(ValueError):
    def __init__(self, token: str, why: str) -> None:
        super().__init__(why)
        self.token = token
        self.why = why


def _int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_DIGITS:
        raise _BadNumber(token, f"a number with {len(token.lstrip('-'))} digits "
                                f"(at most {MAX_DIGITS} are read)")
    return int(token)


def _float(token: str) -> float:
    if len(token) > MAX_DIGITS * 2:
        raise _BadNumber(token, f"a number {len(token)} characters long")
    value = float(token)
    if not math.isfinite(value):
        raise _BadNumber(token, f"{token[:20]} is too large to be a finite number")
    return value


def _constant(token: str) -> Any:
    raise _BadNumber(token, f"{token} is not a number (NaN and Infinity are not valid JSON)")


def parse_json(text: str, filename: str | None, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value in `text`; InputError (file:line) for anything that is not sane JSON."""
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InputError.single(filename, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    except _BadNumber as exc:
        raise InputError.single(filename, f"not a usable number: {exc.why}",
                                line=_line_of(text, exc.token)) from None
    except RecursionError:
        raise InputError.single(filename, f"not valid JSON here: nested deeper than {max_depth} "
                                          "levels") from None
    except ValueError as exc:  # anything else json refuses that is not a JSONDecodeError
        raise InputError.single(filename, f"not valid JSON: {exc}".splitlines()[0]) from None
    if _depth_exceeds(value, max_depth):
        raise InputError.single(filename, f"not valid JSON here: nested deeper than {max_depth} "
                                          "levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether any list/object is nested deeper than `limit` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _line_of(text: str, token: str) -> int | None:
    """The line of the first `token` that stands as a bare value (not inside a string)."""
    match = re.search(r"(?<![\w.\"])" + re.escape(token) + r"(?![\w.\"])", text)
    return text.count("\n", 0, match.start()) + 1 if match else None
