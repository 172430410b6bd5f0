"""ffmpeg on PATH: torchaudio decodes prompt audio through it."""

from __future__ import annotations

from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.probes.command import find_executable
from csm_doctor.process import run_command


class FfmpegProbeError(RuntimeError):
    """ffmpeg exists but did not answer `-version` sensibly."""


def probe_ffmpeg(ctx: ProbeContext) -> dict[str, Any]:
    from csm_doctor.parsers.ffmpeg import parse_ffmpeg_version

    path = find_executable("ffmpeg")
    if path is None:
        return {"ffmpeg": {"found": False, "path": None, "version": None, "release": None}}
    result = run_command([path, "-hide_banner", "-version"], timeout=ctx.timeout(10))
    if result.timed_out:
        raise TimeoutError(f"{path} -version did not answer within {ctx.timeout(10):g} s")
    parsed = parse_ffmpeg_version(result.stdout)
    if result.returncode != 0 or not parsed.get("version"):
        tail = (result.output.strip().splitlines() or ["no output"])[-1][:200]
        raise FfmpegProbeError(f"{path} -version exited {result.returncode}: {tail}")
    return {"ffmpeg": {"found": True, "path": path, "version": parsed["version"],
                       "release": parsed.get("release")}}
