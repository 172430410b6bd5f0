"""The two ways csm-doctor refuses to go on, each with its exit code.

Bad input (a recipe, a facts file, a flag) is the user's to fix, so its message
names the file, the line and the key, and the CLI exits 2 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


@dataclass
class Problem:
    """One thing wrong with an input file: where it is and what is wrong."""

    message: str
    key: str | None = None
    line: int | None = None

    def render(self, filename: str | None) -> str:
        where = filename or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f": key '{self.key}'"
        return f"{where}: {self.message}"


@dataclass
class InputError(Exception):
    """A user-supplied file or option is not valid; exit code 2."""

    filename: str | None
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def single(cls, filename: str | None, message: str, *, key: str | None = None,
               line: int | None = None) -> "InputError":
        return cls(filename, [Problem(message, key, line)])

    def __str__(self) -> str:
        return "\n".join(p.render(self.filename) for p in self.problems)
