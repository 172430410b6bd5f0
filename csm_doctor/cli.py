"""The command line. Only click is imported at start-up: `--help` must be instant.

Every command's heavy lifting is imported inside the command, and every
failure path ends in the contract's exit codes: 0 ok, 1 a required check
failed, 2 bad input (file:line: key), 3 csm-doctor itself could not run.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from csm_doctor import __version__

LEVELS = {
    "1": "static: read torch from its metadata, never import it",
    "2": "default: import torch in the target only when an accelerator is present",
    "3": "import torch in the target always",
}


def _fail_input(exc: Exception, as_json: bool) -> None:
    """Bad input: say file:line: key on stderr (and one JSON object on stdout)."""
    from csm_doctor.errors import EXIT_INPUT

    click.echo(f"csm-doctor: {exc}", err=True)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        problems = [{"file": exc.filename, "line": p.line, "key": p.key, "message": p.message}
                    for p in getattr(exc, "problems", [])]
        emit(envelope("error", error=str(exc), problems=problems, exit_code=EXIT_INPUT))
    sys.exit(EXIT_INPUT)


def guarded(func: Callable[..., int]) -> Callable[..., None]:
    """Map InputError to exit 2 and any unexpected crash to exit 3, without a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from csm_doctor.errors import EXIT_INTERNAL, InputError

        try:
            code = func(*args, **kwargs)
        except InputError as exc:
            _fail_input(exc, kwargs.get("as_json", False))
        except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("CSM_DOCTOR_DEBUG"):
                raise
            click.echo(f"csm-doctor: internal error: {type(exc).__name__}: {exc}\n"
                       "  (set CSM_DOCTOR_DEBUG=1 for the traceback, and please report it)",
                       err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(code)
    return wrapper


def recipe_option(func: Callable) -> Callable:
    return click.option("--recipe", "recipe_ref", default=None, metavar="ID|PATH",
                        help="Recipe to judge against (built-in id or a .yaml path; default: "
                             "the one that fits this machine, said why).")(func)


def auto_recipe(facts: dict[str, Any]) -> tuple[Any, str]:
    """The built-in recipe that fits these facts, and why (no --recipe given)."""
    from csm_doctor.recipe import builtin_recipe_paths, load_recipe
    from csm_doctor.select import select_recipe

    choice = select_recipe(facts, set(builtin_recipe_paths()))
    return load_recipe(choice.recipe_id), choice.reason


def common_probe_options(func: Callable) -> Callable:
    for option in reversed([
        click.option("--python", "python", default=None, metavar="PATH",
                     help="Interpreter of the environment under test (default: the active "
                          "virtual environment, else this one)."),
        click.option("--offline", is_flag=True, help="Do not contact the Hugging Face Hub."),
        click.option("--level", type=click.Choice(sorted(LEVELS)), default="2",
                     help="How deep to probe torch: " + "; ".join(f"{k} = {v}"
                                                                 for k, v in LEVELS.items())),
    ]):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csm-doctor")
def main() -> None:
    """Diagnose (and fix) a machine for Sesame CSM-1B.

    Start with `csm-doctor check`. Exit codes: 0 ok, 1 a required check
    failed, 2 bad input, 3 csm-doctor itself could not run.
    """


def _probe(python: str | None, offline: bool, level: str, recipe: Any | None) -> dict[str, Any]:
    from csm_doctor.probes import ProbeContext, collect_facts
    from csm_doctor.probes.target import default_python

    scale = float(os.environ.get("CSM_DOCTOR_TIMEOUT_SCALE", "1") or 1)
    ctx = ProbeContext(python=os.path.abspath(python) if python else default_python(),
                       offline=offline, level=int(level), recipe=recipe, timeout_scale=scale)
    return collect_facts(ctx)


def _validate_python(python: str | None) -> None:
    from csm_doctor.errors import InputError

    if python and not os.path.isfile(python):
        raise InputError.single(None, f"no interpreter at {python}", key="--python")


@main.command()
@recipe_option
@common_probe_options
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="Evaluate a saved facts document instead of probing this machine.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@click.option("-v", "--verbose", is_flag=True, help="Show every check, details and timings.")
@guarded
def check(recipe_ref: str | None, python: str | None, offline: bool, level: str,
          facts_file: str | None, as_json: bool, verbose: bool) -> int:
    """Probe this machine and judge it against a recipe."""
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.evaluate import evaluate
    from csm_doctor.facts import load_facts
    from csm_doctor.findings import exit_code_for
    from csm_doctor.recipe import load_recipe

    given = load_recipe(recipe_ref) if recipe_ref else None  # bad --recipe: exit 2 before probing
    catalogue = shipped_catalogue()
    if facts_file:
        facts = load_facts(facts_file)
    else:
        _validate_python(python)
        if not as_json:
            click.echo("csm-doctor: probing this machine...", err=True)
        facts = _probe(python, offline, level, given)
    recipe, reason = (given, None) if given else auto_recipe(facts)
    findings = evaluate(facts, recipe, catalogue)
    code = exit_code_for(findings)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope, summary

        emit(envelope("check", recipe={"id": recipe.id, "title": recipe.title, "path": recipe.path,
                                       "selected": "given" if given else "auto", "reason": reason},
                      facts=facts, findings=[f.to_json() for f in findings],
                      summary=summary(findings), exit_code=code))
    else:
        from csm_doctor.render.human import render_check

        why = f"chosen for this machine: {reason} (--recipe ID to choose another)" if reason else None
        render_check(findings, facts, recipe, catalogue, verbose=verbose, recipe_reason=why)
    return code


@main.command()
@recipe_option
@common_probe_options
@click.option("-o", "--output", default=None, metavar="FILE", help="Write the document to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON (the default).")
@guarded
def facts(recipe_ref: str | None, python: str | None, offline: bool, level: str,
          output: str | None, as_json: bool) -> int:
    """Print or save the raw facts document; nothing is evaluated."""
    from csm_doctor.errors import InputError
    from csm_doctor.facts import dump_facts
    from csm_doctor.recipe import load_recipe

    _validate_python(python)
    recipe = load_recipe(recipe_ref) if recipe_ref else None  # None: every built-in's needs
    document = _probe(python, offline, level, recipe)
    text = dump_facts(document)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise InputError.single(output, f"cannot write: {exc.strerror or exc}") from None
        click.echo(f"csm-doctor: facts written to {output}", err=True)
    else:
        click.echo(text, nl=False)
    return 0


MAX_TRIAGE_BYTES = 32 * 1024 * 1024


def read_pasted(source: str) -> str:
    """Text from a file or stdin, whatever the console that wrote it (UTF-16 from PowerShell)."""
    from csm_doctor.errors import InputError

    try:
        data = sys.stdin.buffer.read(MAX_TRIAGE_BYTES + 1) if source == "-" else \
            open(source, "rb").read(MAX_TRIAGE_BYTES + 1)
    except OSError as exc:
        raise InputError.single(source, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_TRIAGE_BYTES:
        raise InputError.single(source, f"larger than {MAX_TRIAGE_BYTES // 2**20} MiB; "
                                        "paste the part around the error")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return data.decode("utf-16-le", errors="replace")  # `> file` in PowerShell 5, no BOM
    return data.decode("utf-8-sig", errors="replace")


@main.command()
@click.argument("source", metavar="PATH|-")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@guarded
def triage(source: str, as_json: bool) -> int:
    """Read a pasted log, issue body or tool output and say what it shows."""
    from csm_doctor.triage.extract import extract_facts

    text = read_pasted(source)
    facts, sources = extract_facts(text)
    origin = "standard input" if source == "-" else source
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("triage", source=origin, facts=facts, sources=sources, findings=[],
                      exit_code=0))
    else:
        from csm_doctor.render.triage import render_triage

        render_triage(facts, sources, origin)
    return 0


@main.group()
def recipes() -> None:
    """List, show and validate recipes."""


@recipes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@guarded
def recipes_list(as_json: bool) -> int:
    """The built-in recipes."""
    from csm_doctor.recipe import list_recipes

    found = list_recipes()
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("recipes", recipes=[{"id": r.id, "title": r.title, "path": r.path}
                                          for r in found]))
    else:
        for r in found:
            click.echo(f"{r.id:<24} {r.title}")
    return 0


@recipes.command("show")
@click.argument("ref", metavar="ID|PATH")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@guarded
def recipes_show(ref: str, as_json: bool) -> int:
    """Print a recipe (resolved, with what it extends merged in)."""
    from csm_doctor.recipe import load_recipe

    recipe = load_recipe(ref)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("recipe", recipe=recipe.raw, path=recipe.path))
    else:
        import yaml

        click.echo(f"# {recipe.path}")
        click.echo(yaml.safe_dump(recipe.raw, sort_keys=False, allow_unicode=True), nl=False)
    return 0


@recipes.command("validate")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@guarded
def recipes_validate(paths: tuple[str, ...], as_json: bool) -> int:
    """Check recipe files; exit 2 naming file:line: key on the first invalid one."""
    from csm_doctor.recipe import load_recipe

    loaded = [load_recipe(p if p.endswith((".yaml", ".yml")) or os.sep in p else p) for p in paths]
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("validate", valid=[r.path for r in loaded]))
    else:
        for r in loaded:
            click.echo(f"{r.path}: valid ({r.id})")
    return 0


if __name__ == "__main__":
    main()
