"""`csm-doctor recipes list|show|validate`: the built-in recipes, or a user's own."""

from __future__ import annotations

import os

import click

from csm_doctor.commands.common import guarded, verbosity_options


@click.group()
def recipes() -> None:
    """List, show and validate recipes."""


@recipes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verbosity_options()
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
@verbosity_options()
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
@verbosity_options()
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
