"""A small declarative validator for the data csm-doctor reads from users.

Recipes, the check catalogue and facts documents are all user-visible data.
Each is described once as a *shape*; validating collects every problem with
its key path so the message can name file, line and key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from csm_doctor.yamlpos import Path, format_path


@dataclass
class ShapeProblem:
    """A value at `path` that does not fit its shape."""

    path: Path
    message: str


class Shape:
    """Base: `check` appends problems and returns the (possibly normalised) value."""

    description = "a value"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        raise NotImplementedError

    def fail(self, value: Any, path: Path, problems: list[ShapeProblem]) -> None:
        problems.append(ShapeProblem(path, f"expected {self.description}, got {_show(value)}"))


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '…' if len(text) > 60 else text}"


class Str(Shape):
    description = "a string"

    def __init__(self, pattern: str | None = None, hint: str | None = None) -> None:
        import re

        self._re = re.compile(pattern) if pattern else None
        if hint:
            self.description = hint

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if not isinstance(value, str) or (self._re is not None and not self._re.fullmatch(value)):
            self.fail(value, path, problems)
        return value


class Number(Shape):
    description = "a number"

    def __init__(self, minimum: float | None = None, integer: bool = False) -> None:
        self._min = minimum
        self._integer = integer
        if integer:
            self.description = "a whole number"
        if minimum is not None:
            self.description += f" ≥ {minimum:g}"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        allowed = (int,) if self._integer else (int, float)
        if isinstance(value, float) and not math.isfinite(value):
            # YAML's .nan / .inf: every comparison with nan is False, so it would pass
            # a minimum and then judge "below the recipe's nan GB".
            problems.append(ShapeProblem(path, f"expected {self.description}, got {value!r} "
                                               "(NaN and infinity are not usable numbers)"))
        elif isinstance(value, bool) or not isinstance(value, allowed) or (
            self._min is not None and value < self._min
        ):
            self.fail(value, path, problems)
        return value


class Bool(Shape):
    description = "true or false"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if not isinstance(value, bool):
            self.fail(value, path, problems)
        return value


class Enum(Shape):
    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.description = "one of " + ", ".join(choices)

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if value not in self.choices:
            self.fail(value, path, problems)
        return value


class Nullable(Shape):
    def __init__(self, inner: Shape) -> None:
        self.inner = inner
        self.description = f"{inner.description} or null"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        return None if value is None else self.inner.check(value, path, problems)


class ListOf(Shape):
    def __init__(self, item: Shape) -> None:
        self.item = item
        self.description = f"a list of {item.description}"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if not isinstance(value, list):
            self.fail(value, path, problems)
            return []
        return [self.item.check(v, path + (i,), problems) for i, v in enumerate(value)]


class MapOf(Shape):
    """A mapping with free-form keys (package name → version, say)."""

    def __init__(self, value: Shape, key: Shape | None = None) -> None:
        self.value = value
        self.key = key or Str()
        self.description = f"a mapping of {self.key.description} to {value.description}"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if not isinstance(value, dict):
            self.fail(value, path, problems)
            return {}
        out = {}
        for k, v in value.items():
            self.key.check(k, path + (str(k),), problems)
            out[k] = self.value.check(v, path + (str(k),), problems)
        return out


@dataclass
class Key:
    """One field of a `Record`."""

    shape: Shape
    required: bool = False
    doc: str = ""


@dataclass
class Record(Shape):
    """A mapping with known keys; unknown keys are errors unless `open`."""

    keys: dict[str, Key]
    open: bool = False
    description: str = "a mapping"
    check_all: list[Callable[[dict[str, Any], Path, list[ShapeProblem]], None]] = field(
        default_factory=list
    )

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        if not isinstance(value, dict):
            self.fail(value, path, problems)
            return {}
        out: dict[str, Any] = {}
        for name, val in value.items():
            key = self.keys.get(name)
            if key is None:
                if not self.open:
                    known = ", ".join(sorted(self.keys))
                    problems.append(ShapeProblem(path + (str(name),), f"unknown key (known: {known})"))
                else:
                    out[name] = val
                continue
            out[name] = key.shape.check(val, path + (name,), problems)
        for name, key in self.keys.items():
            if key.required and name not in value:
                problems.append(ShapeProblem(path + (name,), "required key is missing"))
        for extra in self.check_all:
            extra(out, path, problems)
        return out


class OneOf(Shape):
    """The first alternative that fits wins (a package as "name==1.0" or a mapping)."""

    def __init__(self, *options: Shape) -> None:
        self.options = options
        self.description = " or ".join(o.description for o in options)

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        attempts: list[list[ShapeProblem]] = []
        for option in self.options:
            trial: list[ShapeProblem] = []
            result = option.check(value, path, trial)
            if not trial:
                return result
            attempts.append(trial)
        # Report the alternative whose type matched: one that failed only at `path`
        # itself (wrong type) explains less than one that got inside the value.
        problems.extend(min(attempts, key=lambda t: (all(p.path == path for p in t), len(t))))
        return value


class VersionSpec(Shape):
    description = "a version specifier such as '==2.4.0' or '>=3.10,<3.13'"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        if not isinstance(value, str):
            self.fail(value, path, problems)
            return value
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            problems.append(ShapeProblem(path, f"'{value}' is not a valid version specifier "
                                               "(PEP 440, e.g. '==2.4.0' or '>=3.10,<3.13')"))
        return value


class Version(Shape):
    description = "a version such as '2.4.0'"

    def check(self, value: Any, path: Path, problems: list[ShapeProblem]) -> Any:
        from packaging.version import InvalidVersion
        from packaging.version import Version as _V

        if isinstance(value, float):
            problems.append(ShapeProblem(path, f"write versions as quoted strings ('{value}' "
                                               "is a number to YAML: 3.10 reads as 3.1)"))
            return str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(value, path, problems)
            return value
        try:
            _V(value)
        except InvalidVersion:
            problems.append(ShapeProblem(path, f"'{value}' is not a valid version"))
        return value


def describe_problems(problems: list[ShapeProblem]) -> list[tuple[Path, str]]:
    return [(p.path, p.message) for p in problems]


__all__ = [
    "Bool", "Enum", "Key", "ListOf", "MapOf", "Nullable", "Number", "OneOf", "Record", "Shape",
    "ShapeProblem", "Str", "Version", "VersionSpec", "format_path",
]
