"""Verdicts on a smoke run: the audio as a listener would judge it, and every failure named.

Pure functions of what the target reported (and of the WAV header read back
from disk): no I/O, so each verdict is testable on captured results. A
failure whose cause is known gets its diagnosis id and status `fail`; one we
cannot name is an `error` (`probe-failed`) with the message and traceback
tail, never a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from csm_doctor.findings import Finding, Status, make_finding

GROUP = "smoke"
SAMPLE_RATE = 24000
SILENCE_DBFS = -60.0          # RMS below this is silence (speech sits around -30 to -15 dBFS)
CLIPPED_FRACTION = 0.005      # more than 0.5 % of samples at the peak is a flat, clipped signal
FRAME_TOLERANCE = 1           # the decoded length may differ from frames x 1920 by one frame



@dataclass
class WavInfo:
    """What the WAV on disk says, read back with the standard library."""

    path: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def dbfs(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def finding(diagnosis: str, status: Status, title: str, check: str, *, fix: str | None = None,
            details: list[str] | None = None, observed: Any = None, expected: Any = None,
            subject: str | None = None) -> Finding:
    from csm_doctor.catalogue import entry_fix

    return make_finding(diagnosis, status, title, group=GROUP, check=check,
                        fix=fix if fix is not None else entry_fix(diagnosis), details=details or (),
                        observed=observed, expected=expected, subject=subject)


OFFLINE_MARK = "outgoing traffic has been disabled"


def classify(texts: list[str], hf_offline: bool = False) -> tuple[str, str, str] | None:
    """(id, what happened, the matching line) for the root-cause failure in these texts.

    The catalogue's log signatures (the same ones `triage` reads) name it, so
    a message recognised in a pasted log is recognised here too.
    """
    from csm_doctor.triage.match import match_text

    joined = "\n".join(t for t in texts if t)
    found = match_text(joined)
    failing = [f for f in found if f["status"] == "fail"] or found
    if not failing:
        return None
    top = failing[0]
    diagnosis, summary = top["id"], top["title"]
    # Offline by choice: transformers still says "couldn't connect", the Hub client says why.
    if diagnosis == "hf-unreachable" and (hf_offline or OFFLINE_MARK in joined):
        diagnosis, summary = "checkpoint-missing", "a checkpoint file is not in the cache (offline)"
    evidence = top.get("evidence") or [{}]
    return diagnosis, summary, str(evidence[0].get("text", ""))


def _line_around(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start:end if end >= 0 else len(text)].strip()[:300]


def judge_error(error: dict[str, Any], *, hf_offline: bool, where: str) -> Finding:
    """A failure the target reported: named when we know it, an `error` when we do not."""
    texts = [f"{c.get('type')}: {c.get('message')}" for c in error.get("chain") or []]
    texts.append(error.get("traceback") or "")
    stage = error.get("stage") or "?"
    known = classify(texts, hf_offline)
    head = f"{error.get('type')}: {_first_line(error.get('message'))}"
    if known:
        diagnosis, summary, line = known
        details = [line or head]
        if diagnosis == "package-missing":
            details.append("is --python the environment you meant? (default: the active virtual "
                           "environment, else csm-doctor's own interpreter)")
        return finding(diagnosis, Status.FAIL, f"{summary} ({_while(stage, where)})", "smoke-run",
                       details=details, observed=head)
    tail = [line for line in (error.get("traceback") or "").strip().splitlines()[-6:]]
    types = {str(c.get("type")) for c in error.get("chain") or []} | {str(error.get("type"))}
    if types & {"ImportError", "ModuleNotFoundError"}:  # an environment problem, not csm-doctor's
        return finding("package-dependency-broken", Status.FAIL,
                       f"a package cannot be imported ({_while(stage, where)}): {head}"[:300],
                       "smoke-run", details=tail + ["csm-doctor check names the broken requirement "
                                                    "(packages-dependencies); csm-doctor fix "
                                                    "reinstalls the pair"], observed=head)
    return finding("probe-failed", Status.ERROR, f"smoke failed {_while(stage, where)}: {head}"[:300],
                   "smoke-run", details=tail, observed=head)


def _while(stage: str, where: str) -> str:
    """"while generating on cuda"; no device before one was chosen."""
    words = _STAGE_WORDS.get(stage, stage)
    return f"while {words}" if stage in ("start", "import", "device") else f"while {words} on {where}"


_STAGE_WORDS = {"import": "importing torch/transformers", "device": "choosing the device",
                "load": "loading the model", "generate": "generating", "write": "writing the audio",
                "start": "starting"}


def judge_device_error(device_error: dict[str, Any], torch_version: str | None) -> Finding:
    """The device asked for with --device is not usable: say which problem keeps it away."""
    requested, why = device_error.get("requested"), device_error.get("why") or ""
    known = classify([why])
    if known:
        diagnosis = known[0]
    elif requested == "cuda" and "CPU build" in why:
        diagnosis = "torch-cpu-build"
    elif requested == "npu" and "not installed" in why:
        diagnosis = "package-missing"
    elif requested == "npu":
        diagnosis = "npu-driver-missing"
    else:
        diagnosis = "gpu-missing"
    return finding(diagnosis, Status.FAIL, f"--device {requested} cannot be used: {why}"[:300],
                   "smoke-device", observed=torch_version, expected=requested)


def judge_audio(payload: dict[str, Any], wav: WavInfo | None) -> list[Finding]:
    """Finite, audible, not clipped flat, 24 kHz, as long as the frames say: what a listener checks."""
    audio = payload.get("audio") or {}
    frames = int(payload.get("frames") or 0)
    per_frame = float(payload.get("samples_per_frame") or 1920.0)
    samples = int(audio.get("samples") or 0)
    rate = int(audio.get("sample_rate") or 0)
    findings: list[Finding] = []

    if frames == 0 or samples == 0:
        findings.append(finding("csm-empty-audio", Status.FAIL,
                                f"generation produced no audio ({frames} frames, {samples} samples)",
                                "smoke-frames", observed={"frames": frames, "samples": samples}))
        return findings
    findings.append(finding("csm-empty-audio", Status.PASS,
                            f"generation produced {frames} frames", "smoke-frames",
                            observed={"frames": frames}))

    problems = audio_problems(audio, frames, per_frame, wav)
    rms_db = dbfs(float(audio.get("rms") or 0.0) * float(audio.get("gain") or 1.0))
    seconds = samples / rate if rate else 0.0
    observed = {"sample_rate": rate, "seconds": round(seconds, 3), "rms_dbfs": _round_db(rms_db),
                "nonfinite": audio.get("nonfinite"), "clipped_fraction": audio.get("clipped_fraction")}
    if problems:
        findings.append(finding("audio-silent-or-invalid", Status.FAIL,
                                "the audio is not speech a person could hear: " + problems[0],
                                "smoke-audio", details=problems[1:], observed=observed,
                                expected={"sample_rate": SAMPLE_RATE, "rms_dbfs": f"> {SILENCE_DBFS:g}",
                                          "nonfinite": 0,
                                          "clipped_fraction": f"<= {CLIPPED_FRACTION:g}"}))
    else:
        findings.append(finding("audio-silent-or-invalid", Status.PASS,
                                f"{seconds:.2f} s of audible audio at {rate // 1000} kHz: "
                                f"{rms_db:.0f} dBFS RMS, no NaN, not clipped", "smoke-audio",
                                observed=observed))
    return findings


def audio_problems(audio: dict[str, Any], frames: int, per_frame: float,
                   wav: WavInfo | None) -> list[str]:
    """Every way the audio fails a listener, most telling first."""
    problems = []
    samples, rate = int(audio.get("samples") or 0), int(audio.get("sample_rate") or 0)
    nonfinite = int(audio.get("nonfinite") or 0)
    if nonfinite:
        problems.append(f"{nonfinite} of {samples} samples are NaN or infinite")
    rms_db = dbfs(float(audio.get("rms") or 0.0) * float(audio.get("gain") or 1.0))
    if nonfinite < samples and rms_db <= SILENCE_DBFS:
        problems.append(f"silent: RMS {_round_db(rms_db)} dBFS (floor {SILENCE_DBFS:g} dBFS)")
    clipped = float(audio.get("clipped_fraction") or 0.0)
    if clipped > CLIPPED_FRACTION and rms_db > SILENCE_DBFS:
        problems.append(f"clipped flat: {clipped:.1%} of samples sit at the peak")
    if rate != SAMPLE_RATE:
        problems.append(f"sample rate {rate} Hz, CSM speaks at {SAMPLE_RATE} Hz")
    expected = frames * per_frame
    if abs(samples - expected) > FRAME_TOLERANCE * per_frame:
        problems.append(f"{samples} samples for {frames} frames; expected about {expected:.0f} "
                        f"({per_frame:.0f} per frame)")
    if wav is None:
        problems.append("the WAV file could not be read back")
    elif (wav.sample_rate, wav.channels, wav.frames) != (rate, 1, samples):
        problems.append(f"the WAV on disk holds {wav.frames} samples at {wav.sample_rate} Hz in "
                        f"{wav.channels} channel(s); {samples} mono samples at {rate} Hz were written")
    return problems


def _round_db(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 1)


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0][:200] if lines else ""


def judge_timeout(timeout: float, stage: str | None, where: str) -> Finding:
    return finding("probe-failed", Status.ERROR,
                   f"no result within {timeout:g} s (last stage: {_STAGE_WORDS.get(stage or '', stage or 'starting')} "
                   f"on {where}); the process was killed", "smoke-run",
                   fix="rerun with a longer --timeout; if it hangs at the same stage, "
                       "report it with `csm-doctor report`",
                   observed={"timeout_s": timeout, "stage": stage})


def judge_crash(returncode: int | None, stderr_tail: list[str], where: str) -> Finding:
    """The target died without a result: a native crash, the OOM killer, or a bad interpreter."""
    known = classify(stderr_tail)
    if known:
        diagnosis, summary, line = known
        return finding(diagnosis, Status.FAIL, f"{summary} (the process died on {where})",
                       "smoke-run", details=[line], observed={"returncode": returncode})
    hint = []
    if returncode is not None and returncode in (-9, 137):
        hint = ["killed with SIGKILL: often the kernel's out-of-memory killer (not enough RAM)"]
    elif returncode is not None and returncode in (-11, 139):
        hint = ["segmentation fault in native code (driver, torch or a compiled extension)"]
    return finding("probe-failed", Status.ERROR,
                   f"the smoke process exited {returncode} without a result ({where})",
                   "smoke-run", details=hint + stderr_tail[-8:], observed={"returncode": returncode})
