"""What every command shares: exit-code guarding, options, probing, recipe choice.

Only click is imported at module level: `csm-doctor --help` imports every
command module, and must stay instant.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from csm_doctor.render.verbosity import Verbosity  # click only: --help stays instant
from csm_doctor.subject import (  # noqa: F401 - the commands' shared probing and recipe choice
    Subject,
    auto_recipe,
    gather,
    probe_machine,
    still_working,
    validate_python,
)

LEVELS = {
    "1": "static: read torch from its metadata, never import it",
    "2": "default: import torch in the target only when an accelerator is present",
    "3": "import torch in the target always",
}


def fail_input(exc: Exception, as_json: bool) -> None:
    """Bad input: say file:line: key on stderr (and one JSON object on stdout)."""
    from csm_doctor.errors import EXIT_INPUT

    click.echo(f"csm-doctor: {exc}", err=True)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        problems = [{"file": exc.filename, "line": p.line, "key": p.key, "message": p.message}
                    for p in getattr(exc, "problems", [])]
        emit(envelope("error", error=str(exc), problems=problems, exit_code=EXIT_INPUT))
    exit_now(EXIT_INPUT)


def guarded(func: Callable[..., int]) -> Callable[..., None]:
    """Map InputError to exit 2 and any unexpected crash to exit 3, without a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from csm_doctor.errors import EXIT_INTERNAL, InputError

        from csm_doctor.process import Interrupted

        try:
            from csm_doctor.settings import check_environment

            check_environment()  # a bad CSM_DOCTOR_* knob is bad input: exit 2, naming it
            code = func(*args, **kwargs)
        except InputError as exc:
            fail_input(exc, kwargs.get("as_json", False))
        except (KeyboardInterrupt, Interrupted) as exc:
            interrupted(exc)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("CSM_DOCTOR_DEBUG"):
                raise
            click.echo(f"csm-doctor: internal error: {type(exc).__name__}: {exc}\n"
                       "  (set CSM_DOCTOR_DEBUG=1 for the traceback, and please report it)",
                       err=True)
            exit_now(EXIT_INTERNAL)
        exit_now(code)
    return wrapper


def interrupted(exc: BaseException) -> None:
    """Ctrl-C or SIGTERM: stop every child process tree, say so, exit 130 / 143."""
    from csm_doctor.process import interrupt_exit_code, shutdown

    stopped = shutdown()
    code = interrupt_exit_code(exc)
    what = "interrupted" if code == 130 else f"stopped by signal {code - 128}"
    extra = f"; stopped {stopped} running child process{'es' if stopped != 1 else ''}" \
        if stopped else ""
    try:
        click.echo(f"csm-doctor: {what}{extra}", err=True)
    except (OSError, ValueError):
        pass
    exit_now(code)


def exit_now(code: int) -> None:
    """Exit once the answer is out: a worker thread still waiting on the network (a proxy that
    never answers) must not hold the process for minutes after the result was printed."""
    import threading

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    stragglers = [t for t in threading.enumerate()
                  if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if stragglers:
        from csm_doctor.process import shutdown

        shutdown()
        os._exit(code)
    sys.exit(code)


def verbosity_options(verbose_help: str | None = None) -> Callable[[Callable], Callable]:
    """Add -v/--verbose and -q/--quiet to a command.

    -q leaves stdout as it is (the results, or the one JSON object) and drops
    the progress, spinners and notes on stderr; errors are always printed.
    With `verbose_help` the command reads `verbose` itself; without it -v is
    accepted (every command takes it) and recorded in `Verbosity.verbose`.
    """
    import functools

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, quiet: bool = False, **kwargs: Any) -> Any:
            Verbosity.quiet = quiet
            if verbose_help is None:
                Verbosity.verbose = kwargs.pop("verbose", False)
            else:
                Verbosity.verbose = kwargs.get("verbose", False)
            return func(*args, **kwargs)

        wrapper = click.option("-q", "--quiet", is_flag=True,
                               help="Results only: no progress or notes on stderr.")(wrapper)
        return click.option("-v", "--verbose", is_flag=True,
                            help=verbose_help or "Say more on stderr.")(wrapper)
    return decorate


def complete_recipes(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """Shell completion for --recipe: the built-in ids (a path completes as a file)."""
    from csm_doctor.recipe import builtin_recipe_paths

    return [rid for rid in sorted(builtin_recipe_paths()) if rid.startswith(incomplete)]


def recipe_option(func: Callable) -> Callable:
    return click.option("--recipe", "recipe_ref", default=None, metavar="ID|PATH",
                        shell_complete=complete_recipes,
                        help="Recipe to judge against (built-in id or a .yaml path; default: "
                             "the one that fits this machine, said why).")(func)


def common_probe_options(func: Callable) -> Callable:
    for option in reversed([
        click.option("--python", "python", default=None, metavar="PATH",
                     help="Interpreter of the environment under test (default: the activated "
                          "environment, else uv's project environment or a .venv here or "
                          "above, else csm-doctor's own)."),
        click.option("--offline", is_flag=True,
                     help="Do not contact the Hugging Face Hub or the package indexes."),
        click.option("--level", type=click.Choice(sorted(LEVELS)), default="2",
                     help="How deep to probe torch: " + "; ".join(f"{k} = {v}"
                                                                 for k, v in LEVELS.items())),
    ]):
        func = option(func)
    return func


def smoke_options(func: Callable) -> Callable:
    """--smoke / --smoke-tiny / --repo, for the commands that can end with the smoke test."""
    for option in reversed([
        click.option("--smoke", "smoke_model", flag_value="full", default=None,
                     help="End with the smoke test: generate speech with the full model."),
        click.option("--smoke-tiny", "smoke_model", flag_value="tiny",
                     help="End with the smoke test on a tiny random CSM (no download)."),
        click.option("--repo", default=None, metavar="PATH",
                     help="With --smoke and the csm-1b recipe: the SesameAILabs/csm checkout."),
    ]):
        func = option(func)
    return func
