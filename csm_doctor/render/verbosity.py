"""-v / -q of the running command, readable by every module that prints progress.

The commands set it (commands/common.py `verbosity_options`); fix, smoke and the
probe notes read it, so no domain module needs to import the command layer.
"""

from __future__ import annotations

import click


class Verbosity:
    """-v / -q of the running command (every command takes both: the contract)."""

    verbose = False
    quiet = False


def say(message: str) -> None:
    """A progress note on stderr, unless -q."""
    if not Verbosity.quiet:
        click.echo(message, err=True)
