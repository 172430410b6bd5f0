"""Environment variables the recipe asks for (NO_TORCH_COMPILE=1 for CSM)."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule


def export_line(os_name: str | None, name: str, value: str) -> str:
    if os_name == "windows":
        return f'set {name}={value}   (PowerShell: $env:{name}="{value}")'
    return f"export {name}={value}"


@rule("env_vars")
def env_vars(ctx: RuleContext) -> Iterable[Finding]:
    env = ctx.fact("env", {}) or {}
    entries = ctx.recipe.env_for(ctx.os_name)
    if not entries:
        yield ctx.skipped("the recipe asks for no environment variables on this OS")
        return
    for entry in entries:
        name, value = entry["name"], entry.get("value")
        have = env.get(name)
        if have is not None and (value is None or have == value):
            yield ctx.passed(f"{name}={have}", subject=name, observed=have)
            continue
        make = ctx.failed if entry.get("required") else ctx.warned
        state = "unset" if have is None else f"{have!r}"
        why = f": {entry['why']}" if entry.get("why") else ""
        yield make(f"{name} is {state}{why}", subject=name, observed=have, expected=value,
                   fix=export_line(ctx.os_name, name, value or "1"))
