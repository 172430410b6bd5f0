"""The command line: the `csm-doctor` group and its commands (csm_doctor/commands/).

Only click and the command modules (which import only click) load at
start-up: `--help` must be instant. Exit codes are the contract's: 0 ok, 1 a
required check failed, 2 bad input (file:line: key), 3 csm-doctor itself
could not run.
"""

from __future__ import annotations

import click

from csm_doctor import __version__
from csm_doctor.commands.check import check
from csm_doctor.commands.cluster import cluster
from csm_doctor.commands.facts import facts
from csm_doctor.commands.fix import fix
from csm_doctor.commands.lint import lint
from csm_doctor.commands.recipes import recipes
from csm_doctor.commands.report import report
from csm_doctor.commands.smoke import smoke
from csm_doctor.commands.triage import triage


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csm-doctor")
def main() -> None:
    """Diagnose (and fix) a machine for Sesame CSM-1B.

    Start with `csm-doctor check`. Exit codes: 0 ok, 1 a required check
    failed, 2 bad input, 3 csm-doctor itself could not run, 130/143
    interrupted (every child process stopped).
    """
    from csm_doctor.process import install_signal_handlers
    from csm_doctor.report.redact import install_redacting_streams

    install_signal_handlers()    # SIGTERM/SIGHUP end like Ctrl-C: children stopped, 143
    install_redacting_streams()  # no secret leaves through stdout or stderr, whoever prints it


for command in (check, fix, smoke, facts, triage, report, lint, recipes, cluster):
    main.add_command(command)


if __name__ == "__main__":
    main()
