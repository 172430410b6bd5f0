"""Running a plan: snapshot first, each step bounded, a failed package step rolled back.

Package steps share one rule: the environment is either changed the way the
plan says, or left as it was. Before the first one the target is frozen
(snapshot.py); when one fails, the rest are skipped and the target is put back
to the snapshot (pip usually fails before changing anything, but an uninstall
that ran before a failing install is undone too). Downloads, the profile block
and system packages are independent and run regardless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from csm_doctor.findings import Finding, Status
from csm_doctor.fix import actions as kinds
from csm_doctor.fix.actions import Action, redact
from csm_doctor.fix.installer import Installer
from csm_doctor.fix.plan import key
from csm_doctor.fix.runner import Echo, UnsafeCommand, failure_summary, run_step
from csm_doctor.process import Interrupted

GET_UV_TIMEOUT_S = 300.0
SYSTEM_TIMEOUT_S = 1800.0


@dataclass
class ActionResult:
    id: str
    status: str  # ok | failed | skipped
    seconds: float = 0.0
    message: str = ""
    finding_id: str | None = None  # the diagnosis that explains a failure (downloads)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "seconds": round(self.seconds, 2),
                "message": redact(self.message), "finding_id": self.finding_id}


@dataclass
class ApplyOptions:
    installer: Installer
    step_timeout: float = 1800.0
    cache_dir: Path | None = None
    endpoint: str | None = None
    progress: bool = False
    timeout_scale: float = 1.0
    echo: Echo | None = None                       # the output of running commands, line by line
    on_start: Callable[[Action, int, int], None] | None = None
    on_done: Callable[[Action, ActionResult], None] | None = None
    on_bytes: Callable[[int, int | None], None] | None = None  # a download's bytes so far, size
    log: Callable[[str], None] | None = None
    take_snapshot: bool = True                     # False for --undo: it restores one


@dataclass
class ApplyReport:
    results: list[ActionResult] = field(default_factory=list)
    snapshot: str | None = None
    rolled_back: bool | None = None              # None: nothing needed rolling back
    profile_variables: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(r.status == "failed" for r in self.results)


def apply_plan(plan: list[Action], options: ApplyOptions) -> ApplyReport:
    from csm_doctor.fix import snapshot

    report = ApplyReport()
    runnable = [a for a in plan if a.runs]
    snap = None
    if options.take_snapshot and any(a.changes_packages for a in runnable):
        try:
            snap = snapshot.take(options.installer.python)
            report.snapshot = str(snapshot.save(snap))
        except snapshot.SnapshotError as exc:
            for action in plan:
                status = "failed" if action.runs else "skipped"
                report.results.append(ActionResult(action.id, status, 0.0, f"nothing was changed: {exc}"
                                                   if action.runs else "advice: not run"))
            return report
    blocked: str | None = None
    done = 0
    try:
        for action in plan:
            if not action.runs:
                report.results.append(ActionResult(action.id, "skipped", 0.0,
                                                   "advice: printed, not run"))
                continue
            done += 1
            if blocked and (action.changes_packages or action.kind == kinds.GET_UV):
                result = ActionResult(action.id, "skipped", 0.0, blocked)
            else:
                if options.on_start:
                    options.on_start(action, done, len(runnable))
                result = _run(action, options, report)
                if result.status == "failed" and (action.changes_packages
                                                  or action.kind == kinds.GET_UV):
                    blocked = f"skipped: step {action.id} failed"
            report.results.append(result)
            if options.on_done:
                options.on_done(action, result)
    except (KeyboardInterrupt, Interrupted):
        _after_interrupt(snap, options)
        raise
    if blocked and snap is not None:
        report.rolled_back = _roll_back(snap, options, report)
    return report


def _after_interrupt(snap: Any, options: ApplyOptions) -> None:
    """Ctrl-C or SIGTERM mid-plan: stop the step's whole process tree *before* anything else
    (a pip left running would go on changing the environment), then put the snapshot back."""
    from csm_doctor.process import stop_all

    say = options.log or (lambda text: None)
    stop_all()  # the step's own frame killed its tree on the way out; anything else goes too
    say("csm-doctor: interrupted; stopped the running step")
    if snap is None:
        if not options.take_snapshot:  # --undo itself was interrupted
            say("csm-doctor: the undo did not finish: run `csm-doctor fix --undo` again")
        return
    say("csm-doctor: putting the environment back as it was (Ctrl-C again to stop that too)...")
    try:
        ok, text = restore_snapshot(snap, options)
    except (KeyboardInterrupt, Interrupted):
        stop_all()
        say("csm-doctor: the rollback was interrupted: the environment may differ from the "
            "snapshot; run `csm-doctor fix --undo` to finish it")
        raise
    say(f"csm-doctor: {text}" + ("" if ok else "; run `csm-doctor fix --undo` to try again"))


def _run(action: Action, options: ApplyOptions, report: ApplyReport) -> ActionResult:
    started = time.perf_counter()
    try:
        if action.kind == kinds.DOWNLOAD:
            status, message, finding = _download(action, options)
        elif action.kind == kinds.PROFILE:
            status, message, finding = _profile(action, report)
        elif action.kind == kinds.REMOVE_STRAYS:
            status, message, finding = _remove_strays(action)
        else:
            status, message, finding = _command(action, options)
    except UnsafeCommand as exc:
        status, message, finding = "failed", str(exc), None
    return ActionResult(action.id, status, time.perf_counter() - started, message, finding)


def _command(action: Action, options: ApplyOptions) -> tuple[str, str, str | None]:
    if action.kind == kinds.GET_UV:
        timeout, env = GET_UV_TIMEOUT_S, None
    elif action.kind == kinds.SYSTEM:
        timeout, env = SYSTEM_TIMEOUT_S, None
    else:
        timeout, env = options.step_timeout, options.installer.environment()
    timeout *= options.timeout_scale
    result = run_step(action.argv, timeout, env=env, echo=options.echo)
    if result.timed_out:
        return "failed", f"did not finish within {timeout:g} s and was stopped", None
    if result.returncode != 0:
        why = result.stderr if result.returncode is None else failure_summary(result.stdout)
        unreachable = unreachable_index(result.stdout, action.argv, options.installer, timeout=5.0)
        if unreachable:
            return "failed", f"{unreachable} (exit {result.returncode}: {why})", "index-unreachable"
        return "failed", f"exit {result.returncode}: {why}", None
    return "ok", "done", None


def unreachable_index(output: str, argv: Any, installer: Installer, timeout: float) -> str | None:
    """"cannot reach HOST: ERROR" when a failed install could not reach an index, else None.

    pip hides the connection error unless it retries (and then shows only a path), and
    ends with "No matching distribution": so after any failed install the indexes the
    step read are asked again (probes/indexes.py), and the host that does not answer is
    named. A network error in the output with every index answering now still counts.
    """
    from csm_doctor.fix.installer import PYPI_SIMPLE
    from csm_doctor.parsers.netfail import error_reason, index_urls, network_error, urls_in
    from csm_doctor.probes.indexes import host_of, probe_urls

    words = [str(w) for w in (argv or ())]
    if "install" not in words:
        return None
    urls = index_urls(output, words)
    if installer.tool == "uv":
        urls += installer.index.urls()
    elif not any(line.startswith("Looking in indexes:") for line in output.splitlines()) \
            and "--index-url" not in words and "-i" not in words and "--no-index" not in words:
        urls.append(PYPI_SIMPLE)  # pip names its index only when it is not PyPI alone
    down = [r for r in probe_urls(urls, timeout) if not r["reachable"]]
    if down:
        return "; ".join(f"cannot reach {r['host']}: {r['error']}" for r in down)
    line = network_error(output)
    if line is None:
        return None
    hosts = [host_of(u) for u in urls_in(line)]
    return f"cannot reach {hosts[0] if hosts else 'a package index'}: {error_reason(line)}"


def _download(action: Action, options: ApplyOptions) -> tuple[str, str, str | None]:
    from csm_doctor.fix.download import DownloadError, VerifiedCache, fetch_files
    from csm_doctor.fix.state import state_dir
    from csm_doctor.probes.hf import token_source
    from csm_doctor.probes.system import hf_cache_dir

    repo, files = action.payload["repo"], list(action.payload["files"])
    try:
        outcomes = fetch_files(repo, files, cache_dir=options.cache_dir or hf_cache_dir(),
                               endpoint=options.endpoint, token=token_source()[0],
                               progress=options.progress,
                               verified=VerifiedCache(state_dir() / "verified.json"),
                               timeout_scale=options.timeout_scale, log=options.log,
                               on_bytes=options.on_bytes)
    except DownloadError as exc:
        return "failed", str(exc), exc.finding_id
    parts = []
    for o in outcomes:
        extra = [f"resumed at byte {o.resumed_from}" if o.resumed_from else "",
                 "a corrupt copy was replaced" if o.corrupt_detected else ""]
        extra_text = ", ".join(x for x in extra if x)
        parts.append(f"{o.filename}: {o.status}" + (f" ({extra_text})" if extra_text else ""))
    return "ok", "; ".join(parts) + "; verified", None


def _remove_strays(action: Action) -> tuple[str, str, str | None]:
    from csm_doctor.fix.snapshot import remove_strays

    left = remove_strays(list(action.payload["paths"]))
    if left:
        return "failed", "cannot remove " + ", ".join(left), None
    return "ok", f"removed {len(action.payload['paths'])} stray path(s)", None


def _profile(action: Action, report: ApplyReport) -> tuple[str, str, str | None]:
    from csm_doctor.fix.profile import (
        forget_written,
        remember_written,
        remove_block,
        write_block,
    )

    if "remove" in action.payload:
        try:
            removed = [p for p in action.payload["remove"] if remove_block(Path(p))]
        except OSError as exc:
            return "failed", f"cannot edit the profile: {exc.strerror or exc}", None
        forget_written()
        return "ok", f"removed csm-doctor's block from {', '.join(removed) or 'nothing'}", None
    path = Path(action.payload["path"])
    variables = dict(action.payload["variables"])
    try:
        changed = write_block(path, variables)
        remember_written(path)
    except OSError as exc:
        return "failed", f"cannot write {path}: {exc.strerror or exc}", None
    report.profile_variables.update(variables)
    verb = "written to" if changed else "already in"
    return "ok", f"{verb} {path}; new shells get it (this one: source {path})", None


def _roll_back(snap: Any, options: ApplyOptions, report: ApplyReport) -> bool:
    """Put the target back to the snapshot after a failed package step; True when verified."""
    ok, text = restore_snapshot(snap, options)
    _note_rollback(report, text)
    return ok


def restore_snapshot(snap: Any, options: ApplyOptions) -> tuple[bool, str]:
    """Put the target back to `snap` and verify it: (verified, what happened in words)."""
    from csm_doctor.fix import snapshot

    try:
        listing = snapshot.list_distributions(options.installer.python)
        steps = snapshot.restore_actions(snap, listing, options.installer)
        for step in steps:
            if step.kind == kinds.REMOVE_STRAYS:
                status, message, _ = _remove_strays(step)
                if status != "ok":
                    return False, f"rolling back failed: {message}"
                continue
            result = run_step(step.argv, options.step_timeout * options.timeout_scale,
                              env=options.installer.environment())
            if result.returncode != 0:
                return False, f"rolling back failed: {failure_summary(result.stdout)}"
        problems = snapshot.verify(snap, snapshot.list_distributions(options.installer.python),
                                   snapshot.pip_freeze(options.installer.python))
    except (snapshot.SnapshotError, UnsafeCommand, OSError) as exc:
        return False, f"rolling back failed: {exc}"
    if problems:
        return False, "after rolling back: " + "; ".join(problems)
    return True, ("the environment is as it was before (rolled back)" if steps
                  else "the environment was left as it was")


def _note_rollback(report: ApplyReport, text: str) -> None:
    for result in report.results:
        if result.status == "failed":
            result.message = f"{result.message} — {text}"
            return


# ------------------------------------------------------------------ before → after

@dataclass
class Outcome:
    fixed: list[Finding]
    remaining: list[Finding]
    new: list[Finding]
    changes: list[dict[str, Any]]


def compare(before: list[Finding], after: list[Finding]) -> Outcome:
    """Per failing finding: what it is now. Keys are (id, check, subject)."""
    now = {key(f): f for f in after}
    was = {key(f): f for f in before}
    fixed, changes = [], []
    for f in before:
        if f.status is not Status.FAIL:
            continue
        later = now.get(key(f))
        after_status = later.status.value if later else "gone"
        if later is None or later.status is not Status.FAIL:
            fixed.append(f)
        changes.append({"id": f.id, "subject": f.subject, "check": f.check, "before": "fail",
                        "after": after_status, "observed_before": f.observed,
                        "observed_after": later.observed if later else None,
                        "title": later.title if later else f.title})
    remaining = [f for f in after if f.status is Status.FAIL]
    new = [f for f in remaining if key(f) not in was or was[key(f)].status is not Status.FAIL]
    for f in new:
        changes.append({"id": f.id, "subject": f.subject, "check": f.check,
                        "before": was[key(f)].status.value if key(f) in was else "absent",
                        "after": "fail", "observed_before": None, "observed_after": f.observed,
                        "title": f.title})
    return Outcome(fixed, remaining, new, changes)


def overlay_profile(facts: dict[str, Any], variables: dict[str, str]) -> None:
    """The re-check judges the environment new shells will have: the profile's variables set."""
    if variables:
        env = facts.get("env")
        facts["env"] = {**(env if isinstance(env, dict) else {}), **variables}

