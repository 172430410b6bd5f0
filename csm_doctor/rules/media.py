"""System tools the recipe needs (ffmpeg), with the install command for this OS."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules import RuleContext, rule

INSTALL = {
    "linux": "sudo apt install ffmpeg   (Fedora: sudo dnf install ffmpeg; conda: conda install -c conda-forge ffmpeg)",
    "darwin": "brew install ffmpeg",
    "windows": "winget install --id Gyan.FFmpeg -e   (then open a new terminal)",
}


@rule("system_tools")
def system_tools(ctx: RuleContext) -> Iterable[Finding]:
    tools = [t for t in ctx.recipe.system_tools if t["name"] == "ffmpeg"]
    if not tools:
        yield ctx.skipped("the recipe needs no ffmpeg")
        return
    tool = tools[0]
    if ctx.need("ffmpeg.found"):
        yield ctx.passed(f"ffmpeg {ctx.fact('ffmpeg.version') or ''} at {ctx.fact('ffmpeg.path')}",
                         observed=ctx.fact("ffmpeg.version"))
        return
    make = ctx.warned if tool.get("optional") else ctx.failed
    why = f" ({tool['why']})" if tool.get("why") else ""
    yield make(f"ffmpeg is not on PATH{why}", observed=None, expected="ffmpeg on PATH",
               fix=INSTALL.get(ctx.os_name or "", "install ffmpeg and put it on PATH"))


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
                         observed=[], fix="pip install soundfile   (and/or install ffmpeg)")
