"""System tools the recipe needs (ffmpeg), with the install command for this OS."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule

INSTALL = {
    ("ffmpeg", "linux"): "sudo apt install ffmpeg   (Fedora: sudo dnf install ffmpeg; conda: "
                         "conda install -c conda-forge ffmpeg)",
    ("ffmpeg", "darwin"): "brew install ffmpeg",
    ("ffmpeg", "windows"): "winget install --id Gyan.FFmpeg -e   (then open a new terminal)",
    ("sox", "linux"): "sudo apt install sox libsox-dev   (conda: conda install -c conda-forge sox)",
    ("sox", "darwin"): "brew install sox",
    ("sox", "windows"): "winget install --id ChrisBagwell.SoX -e",
}


def _tool_state(ctx: RuleContext, name: str) -> tuple[bool, str | None]:
    """(found, description): ffmpeg has its own probe; other tools are looked up on PATH."""
    if name == "ffmpeg":
        found = ctx.need("ffmpeg.found")
        return found, f"{ctx.fact('ffmpeg.version') or ''} at {ctx.fact('ffmpeg.path')}"
    path = ctx.need("tools").get(name)
    return path is not None, f"at {path}"


@rule("system_tools")
def system_tools(ctx: RuleContext) -> Iterable[Finding]:
    tools = ctx.recipe.system_tools_for(ctx.os_name)
    if not tools:
        yield ctx.skipped("the recipe needs no system tools on this OS")
        return
    for tool in tools:
        name = tool["name"]
        found, where = _tool_state(ctx, name)
        missing_id = "ffmpeg-missing" if name == "ffmpeg" else "package-missing"
        if found:
            yield ctx.passed(f"{name} {where}", id=missing_id, subject=name)
            continue
        make = ctx.warned if tool.get("optional") else ctx.failed
        why = f" ({tool['why']})" if tool.get("why") else ""
        yield make(f"{name} is not on PATH{why}", id=missing_id, subject=name, observed=None,
                   expected=f"{name} on PATH",
                   fix=_install_hint(ctx, name))


def _install_hint(ctx: RuleContext, name: str) -> str:
    """The command fix would print for this machine (its package manager's path, sudo only when
    not root); the generic line when the OS has no manager csm-doctor knows."""
    from csm_doctor.fix.system import printed_install
    from csm_doctor.remedy import shell_for

    printed = printed_install(name, ctx.fact("os") or {}, ctx.fact("tools"), shell_for(ctx.os_name))
    return printed or INSTALL.get((name, ctx.os_name or ""), f"install {name} and put it on PATH")


@rule("torchaudio_backend")
def torchaudio_backend(ctx: RuleContext) -> Iterable[Finding]:
    backends = ctx.fact("torch.torchaudio_backends")
    if ctx.fact("torch.torchaudio_error"):
        yield ctx.failed(f"import torchaudio fails: {ctx.fact('torch.torchaudio_error')}",
                         fix="install the torchaudio release matching torch (see PyTorch findings)")
    elif backends is None:
        yield ctx.skipped("torchaudio's backends were not listed (not imported, or torchaudio "
                          "≥ 2.9 decodes through torchcodec)")
    elif backends:
        yield ctx.passed(f"torchaudio backends: {', '.join(backends)}", observed=backends)
    else:
        yield ctx.failed("torchaudio has no audio I/O backend: it cannot load prompt audio",
                         observed=[])
