"""`csm-doctor fix`: plan the fixes for what `check` finds, apply them on --yes, check again; --undo."""

from __future__ import annotations

import click

from csm_doctor.commands.common import (
    verbosity_options,
    common_probe_options,
    guarded,
    recipe_option,
    smoke_options,
)


@click.command()
@recipe_option
@common_probe_options
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="Plan for a saved facts document (another machine); nothing is run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (csm-doctor/fix/1).")
@verbosity_options("Stream the output of every command run.")
@click.option("-y", "--yes", is_flag=True, help="Apply the plan without asking.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--undo", is_flag=True,
              help="Put the target's packages back as the last fix found them (and remove the "
                   "profile block fix wrote).")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto",
              show_default=True,
              help="auto: uv when it is on PATH or in csm-doctor's environment, else pip; uv: "
                   "install uv into csm-doctor's environment if needed.")
@click.option("--torch-index", type=click.Choice(["add", "only"]), default="add", show_default=True,
              help="add: PyTorch's index is added to the indexes pip is configured with (a mirror "
                   "that carries torch wheels still counts); only: torch comes from PyTorch's "
                   "index alone.")
@click.option("--allow-system", is_flag=True,
              help="Allow package changes in an interpreter that is not a virtual environment.")
@click.option("--write-profile", is_flag=True,
              help="Write the recipe's environment variables to your shell profile (a marked "
                   "block; --undo removes it).")
@click.option("--profile-file", default=None, metavar="PATH",
              help="The profile --write-profile writes (default: from $SHELL, e.g. ~/.bashrc).")
@click.option("--run-system", is_flag=True,
              help="Run the OS package manager for ffmpeg/sox when it needs no root (never sudo).")
@click.option("--no-download", is_flag=True, help="Leave the recipe's checkpoints alone.")
@click.option("--step-timeout", type=click.FloatRange(min=1), default=1800.0, show_default=True,
              metavar="SECONDS", help="Longest one install step may take.")
@smoke_options
@guarded
def fix(recipe_ref: str | None, python: str | None, offline: bool, level: str,
        facts_file: str | None, as_json: bool, verbose: bool, yes: bool, dry_run: bool,
        undo: bool, installer: str, torch_index: str, allow_system: bool, write_profile: bool,
        profile_file: str | None, run_system: bool, no_download: bool, step_timeout: float,
        smoke_model: str | None, repo: str | None) -> int:
    """Fix what `check` finds: show the plan, apply it (--yes, or when you say yes), check again.

    Exit codes: 0 every step ran and nothing fails any more; 1 failures remain (or a step
    failed, or you said no); 2 bad input, or fix refused (no terminal to ask on and no
    --yes; a system interpreter without --allow-system); 3 csm-doctor itself failed.
    """
    from csm_doctor.fix.flow import FixOptions, run_fix, run_undo

    opts = FixOptions(recipe_ref=recipe_ref, python=python, offline=offline, level=level,
                      facts_file=facts_file, as_json=as_json, verbose=verbose, yes=yes,
                      dry_run=dry_run, installer=installer, torch_index=torch_index,
                      allow_system=allow_system,
                      write_profile=write_profile, profile_file=profile_file,
                      run_system=run_system, no_download=no_download, step_timeout=step_timeout,
                      smoke=smoke_model, repo=repo)
    return run_undo(opts) if undo else run_fix(opts)
