"""Run the smoke test in the target interpreter and turn what it reports into a SmokeResult.

The model runs in a subprocess of the environment under test (`--python`),
in a process group of its own with a hard timeout: a hang, a CUDA crash or
an out-of-memory kill ends that process, never the doctor. Its progress lines
are relayed as they come; its result is one JSON object after a marker line.
`run_smoke` is what `smoke`, `check --smoke` and `fix` call.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from csm_doctor.findings import SEVERITY, Finding, Status, sort_findings

MARKER = "@@CSM_DOCTOR_JSON@@"
MAX_LINE_BYTES = 64 * 1024  # one line of the target's stderr
MAX_RESULT_BYTES = 64 * 1024 * 1024  # the result (with its plot data); a target that prints more is cut
PROGRESS = "@@CSM_DOCTOR_PROGRESS@@"
TARGET_SCRIPT = Path(__file__).with_name("target_smoke.py")
DEFAULT_TIMEOUT_S = 900.0
DEFAULT_MODEL = "sesame/csm-1b"
DEFAULT_TEXT = "Hello from csm-doctor."
DEFAULT_OUTPUT_DIR = "csm-doctor-smoke"
RESULT_FILE = "result.json"  # the last run's `smoke --json` object, read by `csm-doctor report`
# Frames of 80 ms: tiny and random weights are asked for exactly this many;
# real weights may stop earlier at their end-of-audio frame.
DEFAULT_FRAMES = {"tiny": 25, "random-weights": 50, "transformers": 125, "official": 125}
KINDS = tuple(DEFAULT_FRAMES)
PLOT_IMAGE = {"width": 800, "spec_height": 160}
_SHORT_DTYPE = {"bfloat16": "bf16", "float16": "fp16"}

ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass
class SmokeOptions:
    """What to run and where; `kind` is tiny, random-weights, transformers or official."""

    python: str
    kind: str = "transformers"
    model_id: str = DEFAULT_MODEL
    repo: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    max_frames: int | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    output_dir: str | None = None
    offline: bool = False
    text: str = DEFAULT_TEXT
    speaker: int = 0
    repeats: int = 3          # timed generations after an untimed warm-up; the median is reported

    @property
    def frames(self) -> int:
        return self.max_frames or DEFAULT_FRAMES[self.kind]

    @property
    def model_label(self) -> str:
        return {"tiny": "tiny", "random-weights": "random-weights",
                "official": "official-repo"}.get(self.kind, self.model_id)


@dataclass
class SmokeResult:
    """The verdict and the figures of one smoke run (the contract's `smoke --json`)."""

    status: str
    model: str
    findings: list[Finding]
    device: str | None = None
    device_name: str | None = None
    device_reason: str | None = None
    dtype: str | None = None
    audio_path: str | None = None
    png_path: str | None = None
    sample_rate: int | None = None
    audio_seconds: float | None = None
    frames: int | None = None
    load_seconds: float | None = None
    time_to_first_audio_seconds: float | None = None
    generate_seconds: float | None = None
    rtf: float | None = None
    peak_memory_mib: float | None = None
    peak_memory_kind: str | None = None
    python: str | None = None
    elapsed_seconds: float | None = None
    result_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 CSM spoke; 1 it did not (a named failure, or one csm-doctor could not name)."""
        return 0 if self.status == "pass" else 1

    def to_json(self) -> dict[str, Any]:
        from csm_doctor.render.json_out import envelope, summary

        return envelope(
            "smoke", status=self.status, model=self.model, device=self.device,
            device_name=self.device_name, device_reason=self.device_reason, dtype=self.dtype,
            audio_path=self.audio_path, png_path=self.png_path, sample_rate=self.sample_rate,
            audio_seconds=self.audio_seconds, frames=self.frames, load_seconds=self.load_seconds,
            time_to_first_audio_seconds=self.time_to_first_audio_seconds,
            generate_seconds=self.generate_seconds, rtf=self.rtf,
            peak_memory_mib=self.peak_memory_mib, peak_memory_kind=self.peak_memory_kind,
            python=self.python, elapsed_seconds=self.elapsed_seconds, result_path=self.result_path,
            findings=[f.to_json() for f in self.findings], summary=summary(self.findings),
            details=self.details, exit_code=self.exit_code)


def validate_options(options: SmokeOptions) -> None:
    """Bad input is exit 2, named by its option, before anything runs."""
    from csm_doctor.errors import InputError

    if options.kind not in KINDS:
        raise InputError.single(None, f"unknown smoke model path '{options.kind}'", key="--model")
    if not options.python or not os.path.isfile(options.python):
        raise InputError.single(None, f"no interpreter at {options.python}", key="--python")
    if options.timeout <= 0:
        raise InputError.single(None, "must be a positive number of seconds", key="--timeout")
    if options.max_frames is not None and not 1 <= options.max_frames <= 2000:
        raise InputError.single(None, "must be between 1 and 2000 frames of 80 ms", key="--max-frames")
    if options.kind == "official":
        repo = Path(options.repo or "")
        if not options.repo or not repo.is_dir():
            raise InputError.single(None, f"no directory at {options.repo}", key="--repo")
        for needed in ("generator.py", "models.py"):
            if not (repo / needed).is_file():
                raise InputError.single(
                    str(repo), f"no {needed} here: not a checkout of SesameAILabs/csm "
                               "(git clone https://github.com/SesameAILabs/csm)", key="--repo")


def output_folder(requested: str | None) -> Path:
    """`-o DIR`, else ./csm-doctor-smoke, else (read-only cwd) a fresh temporary folder."""
    if requested:
        folder = Path(requested).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = Path.cwd() / DEFAULT_OUTPUT_DIR
    try:
        folder.mkdir(exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="csm-doctor-smoke-"))


def run_smoke(options: SmokeOptions, progress: ProgressCallback | None = None) -> SmokeResult:
    """Generate speech in the target, judge it, write the WAV and the PNG."""
    from csm_doctor.smoke import judge

    started = time.perf_counter()
    validate_options(options)
    folder = output_folder(options.output_dir)
    report = progress or (lambda record: None)
    env: dict[str, str] = {}
    notes: list[str] = []
    if options.kind in ("transformers", "official"):
        from csm_doctor.smoke.hub import (
            OFFICIAL_NEEDS,
            TRANSFORMERS_FILES,
            plan_hub_access,
        )

        report({"stage": "preflight", "message": "checking the Hugging Face cache and Hub"})
        needs = OFFICIAL_NEEDS if options.kind == "official" else \
            ((options.model_id, TRANSFORMERS_FILES),)
        plan = plan_hub_access(needs, options.offline)
        env.update(plan.env)
        notes.extend(plan.notes)
        if plan.findings:
            return _finish(options, folder, None, plan.findings, started, {"notes": notes})

    slug = options.model_label.replace("/", "--")
    wav_path = str(folder / f"smoke-{slug}.wav")
    config = {"kind": options.kind, "model_id": options.model_id, "repo": options.repo and
              str(Path(options.repo).resolve()), "device": options.device, "dtype": options.dtype,
              "max_frames": options.frames, "text": options.text, "speaker": options.speaker,
              "wav_path": wav_path, "image": PLOT_IMAGE, "seed": 0, "repeats": options.repeats}
    _remove_stale(wav_path)
    run = run_target(options.python, config, env, options.timeout, report)
    details: dict[str, Any] = {"notes": notes, "stderr_tail": run.stderr_tail[-20:]}
    where = run.device or (options.device if options.device != "auto" else "the detected device")
    payload = run.payload
    if run.timed_out:
        findings = [judge.judge_timeout(options.timeout, run.last_stage, where)]
    elif payload is None:
        findings = [judge.judge_crash(run.returncode, run.stderr_tail, where)]
    else:
        device = (payload.get("device") or {}).get("type") or where
        details.update(target_details(payload))
        if payload.get("device_error"):
            findings = [judge.judge_device_error(payload["device_error"],
                                                 (payload.get("versions") or {}).get("torch"))]
        elif payload.get("error"):
            findings = [judge.judge_error(payload["error"], hf_offline=bool(payload.get("hf_offline")),
                                          where=device)]
        else:
            wav = read_wav(wav_path)
            findings = judge.judge_audio(payload, wav)
            png = _plot(payload, folder / f"smoke-{slug}.png", details)
            return _finish(options, folder, payload, findings, started, details, wav_path, png)
    return _finish(options, folder, payload, findings, started, details)


@dataclass
class TargetRun:
    payload: dict[str, Any] | None
    returncode: int | None
    timed_out: bool
    stderr_tail: list[str]
    records: list[dict[str, Any]]

    @property
    def last_stage(self) -> str | None:
        return self.records[-1].get("stage") if self.records else None

    @property
    def device(self) -> str | None:
        """The device the target announced ("cuda: NVIDIA ..., bf16"), for a run with no result."""
        line = next((r.get("message") for r in reversed(self.records) if r.get("stage") == "device"),
                    None)
        return line.split(":", 1)[0] if line else None


def run_target(python: str, config: dict[str, Any], extra_env: dict[str, str], timeout: float,
               report: ProgressCallback) -> TargetRun:
    """Start the target script, relay its progress, wait at most `timeout`, kill its group after."""
    from csm_doctor.process import (
        ShuttingDown,
        finish,
        isolated_env,
        kill_process_tree,
        python_argv,
        spawn,
        wait,
        wait_or_kill,
    )

    argv = python_argv(python, "-u", str(TARGET_SCRIPT), json.dumps(config))
    try:
        proc = spawn(argv, env=isolated_env({"PYTHONUNBUFFERED": "1", **extra_env}))
    except (OSError, ShuttingDown) as exc:
        return TargetRun(None, None, False,
                         [f"cannot start {python}: {getattr(exc, 'strerror', None) or exc}"], [])
    out: list[bytes] = []
    tail: deque[str] = deque(maxlen=200)
    records: list[dict[str, Any]] = []
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read(MAX_RESULT_BYTES)),
                                daemon=True),
               threading.Thread(target=_relay, args=(proc.stderr, tail, records, report), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        timed_out = wait_or_kill(proc, timeout)
        for reader in readers:
            reader.join(timeout=5)
    finally:  # Ctrl-C too: the group has a session of its own and would not see it
        if proc.poll() is None:
            kill_process_tree(proc)
            wait(proc, 5)
        finish(proc)
    stdout = redact(b"".join(out).decode("utf-8", errors="replace"))
    payload = None
    if not timed_out and MARKER in stdout:
        try:
            payload = json.loads(stdout.rsplit(MARKER, 1)[1].strip())
        except json.JSONDecodeError:
            tail.append("csm-doctor: the smoke result was not valid JSON")
    return TargetRun(payload, proc.returncode, timed_out, list(tail), records)


def _relay(stream: Any, tail: deque[str], records: list[dict[str, Any]],
           report: ProgressCallback) -> None:
    """The target's stderr: progress records, download bars, and the tail kept for judging.

    Read in chunks and split on carriage returns too: a download bar (tqdm, from
    huggingface_hub inside the target) redraws its line with \r and ends it only when
    the file is done, so reading whole lines would show the bytes only at the end.
    """
    pending = b""
    last_bar = 0.0
    read = getattr(stream, "read1", None) or stream.read
    while True:
        chunk = read(65536)
        if not chunk:
            break
        pending += chunk
        *segments, pending = re.split(rb"[\r\n]", pending)
        if len(pending) > MAX_LINE_BYTES:  # a line that never ends is cut, not hoarded
            segments.append(pending[:MAX_LINE_BYTES])
            pending = b""
        for raw in segments:
            last_bar = _relay_segment(raw, tail, records, report, last_bar)
    if pending:
        _relay_segment(pending, tail, records, report, 0.0)


_BAR = re.compile(r"^(?P<name>[^|]{0,120}?):?\s*(?P<pct>\d{1,3})%\|[^|]*\|\s*(?P<done>[\d.]+\s?[kKMGT]?i?B?)"
                  r"/(?P<total>[\d.]+\s?[kKMGT]?i?B?)(?:\s*\[[^\],]*,?\s*(?P<rate>[^\]]*)\])?")
BAR_EVERY_S = 0.5


def download_line(text: str) -> str | None:
    """"model.safetensors: 2.80G of 6.22G (45%), 97.3MB/s" from a tqdm bar, else None."""
    match = _BAR.match(text.strip())
    if match is None:
        return None
    name = match.group("name").strip() or "download"
    rate = f", {match.group('rate').strip()}" if match.group("rate") and "?" not in match.group("rate") else ""
    return f"{name}: {match.group('done')} of {match.group('total')} ({match.group('pct')}%){rate}"


def _relay_segment(raw: bytes, tail: deque[str], records: list[dict[str, Any]],
                   report: ProgressCallback, last_bar: float) -> float:
    line = redact(raw.decode("utf-8", errors="replace"))
    if line.startswith(PROGRESS):
        try:
            record = json.loads(line[len(PROGRESS):])
        except json.JSONDecodeError:
            return last_bar
        records.append(record)
        _report(report, record)
        return last_bar
    bar = download_line(line)
    if bar is not None:
        now = time.monotonic()
        done = "(100%)" in bar
        if now - last_bar >= BAR_EVERY_S or done:
            _report(report, {"stage": "download", "message": f"downloading {bar}"})
            last_bar = now
        if done:
            tail.append(line.strip())
        return last_bar
    if line.strip():
        tail.append(line)
    return last_bar


def _report(report: ProgressCallback, record: dict[str, Any]) -> None:
    try:
        report(record)
    except Exception:  # noqa: BLE001 - a display problem must not stop the run
        pass


def redact(line: str) -> str:
    """The target prints what it likes (a package may dump its environment): secrets go."""
    from csm_doctor.report.redact import redact_secrets

    return redact_secrets(line)


def read_wav(path: str) -> Any:
    """The WAV header as written on disk, read with the standard library."""
    import wave

    from csm_doctor.smoke.judge import WavInfo

    try:
        with wave.open(path, "rb") as handle:
            return WavInfo(path, handle.getframerate(), handle.getnchannels(), handle.getnframes())
    except (OSError, EOFError, wave.Error):
        return None


def _plot(payload: dict[str, Any], path: Path, details: dict[str, Any]) -> str | None:
    from csm_doctor.smoke.plot import write_png

    data = payload.get("plot")
    audio = payload.get("audio") or {}
    if not data:
        return None
    try:
        rate = audio.get("sample_rate") or 24000
        seconds = (audio.get("samples") or 0) / rate
        return write_png(path, data, seconds, title=plot_title(payload, seconds))
    except Exception as exc:  # noqa: BLE001 - the picture is a courtesy, not the verdict
        details.setdefault("notes", []).append(f"could not draw {path}: {exc}")
        return None


def _remove_stale(path: str) -> None:
    """A previous run's WAV must not pass for this run's."""
    for stale in (Path(path), Path(path).with_suffix(".png")):
        try:
            stale.unlink()
        except OSError:
            pass


def plot_title(payload: dict[str, Any], seconds: float) -> list[str]:
    """The PNG's two title lines: what ran where, its speed, and what to expect from the sound."""
    device = (payload.get("device") or {}).get("type") or "?"
    kind = payload.get("kind")
    model = {"tiny": "tiny random CSM", "random-weights": "CSM-1B size, random weights",
             "official": "sesame/csm-1b (official repo)"}.get(kind, payload.get("model_id") or "CSM")
    timings = payload.get("timings") or {}
    generate = timings.get("generate")
    rtf = f"RTF {generate / seconds:.2f}" if generate and seconds else "RTF ?"
    runs = len(timings.get("generate_runs") or []) or 1
    first = f"{model} on {device}, {payload.get('dtype') or '?'}, {rtf} (median of {runs})"
    if kind in ("tiny", "random-weights"):
        second = "random weights: noise is expected, not speech"
    else:
        second = "expect clear speech; noise or silence means a problem"
    return [first, second]


def target_details(payload: dict[str, Any]) -> dict[str, Any]:
    return {"versions": payload.get("versions"), "timings": payload.get("timings"),
            "memory": payload.get("memory"), "audio": payload.get("audio"),
            "env_set": payload.get("env_set"), "hf_offline": payload.get("hf_offline"),
            "dtype_reason": payload.get("dtype_why"), "stopped_at_eos": payload.get("stopped_at_eos"),
            "samples_per_frame": payload.get("samples_per_frame"), "fault": payload.get("fault")}


def _finish(options: SmokeOptions, folder: Path, payload: dict[str, Any] | None,
            findings: list[Finding], started: float, details: dict[str, Any],
            wav_path: str | None = None, png_path: str | None = None) -> SmokeResult:
    result = _result(options, payload, findings, started, details, wav_path, png_path)
    result.result_path = str(folder / RESULT_FILE)
    try:  # where `csm-doctor report` finds the last run
        from csm_doctor.safeio import replace_file  # never through a planted link

        replace_file(folder / RESULT_FILE, json.dumps(result.to_json(), indent=2, default=str) + "\n")
    except OSError as exc:
        result.result_path = None
        result.details.setdefault("notes", []).append(f"could not write {RESULT_FILE}: {exc}")
    return result


def _result(options: SmokeOptions, payload: dict[str, Any] | None, findings: list[Finding],
            started: float, details: dict[str, Any], wav_path: str | None,
            png_path: str | None) -> SmokeResult:
    findings = sort_findings(findings)
    worst = min((f.status for f in findings), key=lambda s: SEVERITY[s], default=Status.PASS)
    status = {Status.FAIL: "fail", Status.ERROR: "error"}.get(worst, "pass")
    payload = payload or {}
    device = payload.get("device") or {}
    audio = payload.get("audio") or {}
    timings = payload.get("timings") or {}
    memory = payload.get("memory") or {}
    rate = audio.get("sample_rate")
    seconds = round(audio["samples"] / rate, 4) if rate and audio.get("samples") is not None else None
    generate = timings.get("generate")
    why = device.get("why") or device.get("name")
    return SmokeResult(
        status=status, model=options.model_label, findings=findings,
        device=device.get("type"), device_name=device.get("name"),
        device_reason=f"{device['type']}: {why}, {_SHORT_DTYPE.get(payload.get('dtype'), payload.get('dtype'))}"
        if device.get("type") else None,
        dtype=payload.get("dtype"), audio_path=wav_path, png_path=png_path, sample_rate=rate,
        audio_seconds=seconds, frames=payload.get("frames"),
        load_seconds=_round(timings.get("load")),
        time_to_first_audio_seconds=_round(timings.get("first_frame")),
        generate_seconds=_round(generate),
        rtf=_round(generate / seconds) if generate is not None and seconds else None,
        peak_memory_mib=_round(memory.get("peak_mib"), 1), peak_memory_kind=memory.get("kind"),
        python=options.python, elapsed_seconds=_round(time.perf_counter() - started),
        details=details)


def _round(value: Any, digits: int = 4) -> float | None:
    return round(float(value), digits) if isinstance(value, (int, float)) else None
