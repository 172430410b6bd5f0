"""`csm-doctor fix` from start to end: probe → evaluate → plan → ask → apply → re-check → report.

It mirrors `check` (the same probes, recipe choice and evaluation) and adds
the plan, the safety gates and the re-check. `--undo` is its own short flow:
the last snapshot of the target, what differs now, the steps that put it back,
and a `pip freeze` comparison at the end.

Safety gates, in order: a `--facts` file is planned only; `--dry-run` prints
only; a plan that changes packages in an interpreter that is not a virtual
environment is refused without --allow-system; without --yes the user is
asked (default No), and with no terminal to ask on fix refuses (exit 2).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from csm_doctor.errors import EXIT_FAILED, EXIT_INPUT, EXIT_OK
from csm_doctor.findings import Finding, Status, exit_code_for, sort_findings
from csm_doctor.fix.actions import Action
from csm_doctor.fix.apply import (
    ActionResult,
    ApplyOptions,
    apply_plan,
    compare,
    overlay_profile,
)


@dataclass
class FixOptions:
    recipe_ref: str | None = None
    python: str | None = None
    offline: bool = False
    level: str = "2"
    facts_file: str | None = None
    as_json: bool = False
    verbose: bool = False
    yes: bool = False
    dry_run: bool = False
    installer: str = "auto"
    torch_index: str = "add"
    allow_system: bool = False
    write_profile: bool = False
    profile_file: str | None = None
    run_system: bool = False
    no_download: bool = False
    step_timeout: float = 1800.0
    smoke: str | None = None  # "full" | "tiny": end with a smoke run once nothing fails
    repo: str | None = None


def _say(message: str) -> None:
    click.echo(message, err=True)


def _note(message: str) -> None:
    """Progress, not an answer: dropped with -q."""
    from csm_doctor.render.verbosity import say

    say(message)


def _scale() -> float:
    from csm_doctor.settings import timeout_scale

    return timeout_scale()


def _target_python(python: str | None) -> str:
    return _target_choice(python).python


def _target_choice(python: str | None) -> Any:
    from csm_doctor.probes.resolve import resolve_target

    return resolve_target(python)


def _own_tool_refusal(choice: Any) -> str | None:
    """fix never changes csm-doctor's own pipx/uv-tool venv unless --python names it."""
    if not (choice.fallback and choice.own_tool):
        return None
    return (f"refusing to change csm-doctor's own {choice.own_tool} environment ({choice.python}): "
            "it is not your project's. Pass --python PATH/TO/python, activate your environment, "
            "or run from the folder that holds your .venv")


def _checkpoints(recipe: Any, facts: dict[str, Any], opts: FixOptions) -> list[Any]:
    from csm_doctor.fix.download import VerifiedCache, facts_state, local_state
    from csm_doctor.fix.state import state_dir
    from csm_doctor.probes.system import hf_cache_dir

    if opts.no_download or not recipe.checkpoints:
        return []
    if opts.facts_file:
        return facts_state(recipe.checkpoints, facts)
    return local_state(recipe.checkpoints, hf_cache_dir(), VerifiedCache(state_dir() / "verified.json"))


def _judge(facts: dict[str, Any], recipe: Any, checkpoints: list[Any]) -> list[Finding]:
    """check's evaluation, plus fix's own findings about the recipe's checkpoint files."""
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.evaluate import evaluate
    from csm_doctor.fix.download import checkpoint_findings

    findings = evaluate(facts, recipe, shipped_catalogue())
    return sort_findings(findings + checkpoint_findings(checkpoints))


def _ask(question: str) -> bool | None:
    """True/False from the user; None when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        return None
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        return False


def _confirm(opts: FixOptions, plan: list[Action], what: str) -> tuple[bool, str | None]:
    """(go ahead, refusal reason). --yes goes ahead; otherwise ask, and refuse without a terminal."""
    if opts.yes:
        return True, None
    runs = sum(1 for a in plan if a.runs)
    answer = _ask(f"{what} the {runs} step{'s' * (runs != 1)} marked to run?")
    if answer is None:
        return False, ("refusing to change this machine without --yes: there is no terminal to ask "
                       "on (--dry-run shows the plan, --yes applies it)")
    return answer, None


def run_fix(opts: FixOptions) -> int:
    from csm_doctor.subject import auto_recipe, probe_machine, validate_python
    from csm_doctor.facts import load_facts
    from csm_doctor.fix import installer as inst
    from csm_doctor.fix.inputs import downloads_mode, plan_input
    from csm_doctor.fix.plan import plan_with_remedies
    from csm_doctor.fix.profile import default_profile, read_block
    from csm_doctor.recipe import load_recipe

    given = load_recipe(opts.recipe_ref) if opts.recipe_ref else None
    choice = None
    if opts.facts_file:
        facts = load_facts(opts.facts_file)
        target = (facts.get("python") or {}).get("executable") or "python"
        installer, get_uv = inst.for_remote(target), False
    else:
        from concurrent.futures import ThreadPoolExecutor

        validate_python(opts.python)
        choice = _target_choice(opts.python)
        target = choice.python
        if not opts.as_json:
            _note("csm-doctor: probing this machine...")
        with ThreadPoolExecutor(max_workers=1) as pool:  # pip's config is read while probing
            chosen = pool.submit(inst.choose_installer, opts.installer, target, None)
            facts = probe_machine(choice, opts.offline, opts.level, given, quiet=opts.as_json)
            installer, get_uv = chosen.result()
    recipe, reason = (given, None) if given else auto_recipe(facts)
    os_name = (facts.get("os") or {}).get("name")
    profile = None
    if opts.write_profile and os_name != "windows":
        profile = Path(opts.profile_file).expanduser() if opts.profile_file else default_profile()
        overlay_profile(facts, read_block(profile))  # judged as new shells will see it
    checkpoints = _checkpoints(recipe, facts, opts)
    findings = _judge(facts, recipe, checkpoints)
    downloads = downloads_mode(facts, opts.offline, opts.no_download)
    plan = plan_with_remedies(plan_input(
        facts, recipe, findings, installer, checkpoints,
        downloads=downloads, profile=profile, run_system=opts.run_system, get_uv=get_uv,
        torch_index=opts.torch_index))
    in_venv = (facts.get("python") or {}).get("in_venv")
    report = _Report(opts, recipe, reason, facts, target, installer, plan, findings)

    if opts.facts_file or opts.dry_run or not any(a.runs for a in plan):
        mode = "facts" if opts.facts_file else ("dry-run" if opts.dry_run else "nothing-to-run")
        return report.finish(mode, exit_code_for(findings))
    own = _own_tool_refusal(choice) if choice is not None else None
    if own and any(a.changes_packages for a in plan):
        return report.refuse(own)
    if any(a.changes_packages for a in plan) and in_venv is not True and not opts.allow_system:
        prefix = (facts.get("python") or {}).get("prefix") or target
        return report.refuse(f"refusing to change the packages of {prefix}: it is not a virtual "
                             "environment (create one: python3 -m venv .venv, or pass "
                             "--allow-system to change it anyway)")
    from csm_doctor.fix.lock import EnvironmentLock, EnvironmentLocked

    try:
        with EnvironmentLock((facts.get("python") or {}).get("prefix") or target):
            return _apply_and_recheck(opts, report, given, recipe, findings, plan, installer,
                                      choice, profile)
    except EnvironmentLocked as exc:
        return report.refuse(str(exc))


def _apply_and_recheck(opts: FixOptions, report: "_Report", given: Any, recipe: Any,
                       findings: list[Finding], plan: list[Action], installer: Any, choice: Any,
                       profile: Path | None) -> int:
    """Holding the environment's lock: show, ask, apply, probe again, compare."""
    target = choice.python
    from csm_doctor.subject import probe_machine
    from csm_doctor.fix.profile import read_block

    report.show_plan()
    go, refusal = _confirm(opts, plan, "Apply")
    if refusal:
        return report.refuse(refusal)
    if not go:
        _say("csm-doctor: nothing was changed.")
        return report.finish("declined", exit_code_for(findings), shown=True)
    smoke_run = _smoke_kind(opts, recipe)  # bad --smoke/--repo: exit 2 before anything changes
    applied = apply_plan(plan, _apply_options(opts, installer))
    if not opts.as_json:
        _note("csm-doctor: checking again...")
    after_facts = probe_machine(choice, opts.offline, opts.level, given, quiet=opts.as_json)
    overlay_profile(after_facts, {**(read_block(profile) if profile else {}),
                                  **applied.profile_variables})
    after = _judge(after_facts, recipe, _checkpoints(recipe, after_facts, opts))
    outcome = compare(findings, after)
    code = EXIT_FAILED if applied.failed or outcome.remaining else EXIT_OK
    smoke = None
    if smoke_run and code == EXIT_OK:  # the last word: does CSM speak now?
        from csm_doctor.smoke.choice import run_smoke_after_check

        smoke = run_smoke_after_check(smoke_run, target, opts.repo, opts.offline, opts.as_json)
        after = sort_findings(after + smoke.findings)
        code = exit_code_for(after)
    return report.applied(applied, after, outcome, code, smoke)


def _smoke_kind(opts: FixOptions, recipe: Any) -> str | None:
    if not opts.smoke:
        return None
    from csm_doctor.smoke.choice import smoke_kind

    return smoke_kind(recipe.id, opts.smoke, opts.repo)


def _apply_options(opts: FixOptions, installer: Any, take_snapshot: bool = True) -> ApplyOptions:
    from csm_doctor.fix.render import StepView

    from csm_doctor.render.verbosity import Verbosity

    human = not opts.as_json and not Verbosity.quiet
    view = StepView(live=not opts.verbose) if human else None
    if opts.verbose:
        echo = lambda line: click.echo(f"      │ {line}", err=True)  # noqa: E731
    else:
        echo = view.line if view is not None else None
    return ApplyOptions(
        installer=installer, step_timeout=opts.step_timeout, endpoint=os.environ.get("HF_ENDPOINT") or None,
        progress=sys.stderr.isatty(), timeout_scale=_scale(), echo=echo,
        on_start=view.start if view else None, on_done=view.done if view else None,
        on_bytes=view.bytes if view else None, log=_say, take_snapshot=take_snapshot)


class _Report:
    """Everything fix prints: the human view, or the one JSON object."""

    def __init__(self, opts: FixOptions, recipe: Any, reason: str | None, facts: dict[str, Any],
                 target: str, installer: Any, plan: list[Action], findings: list[Finding]) -> None:
        self.opts, self.recipe, self.reason, self.facts = opts, recipe, reason, facts
        self.target, self.installer, self.plan, self.findings = target, installer, plan, findings
        self.plan_shown = False

    def header(self) -> list[str]:
        python = self.facts.get("python") or {}
        venv = {True: "a virtual environment", False: "NOT a virtual environment"}.get(
            python.get("in_venv"), "venv unknown")
        lines = [f"csm-doctor fix · recipe {self.recipe.id}: {self.recipe.title}"]
        if self.reason:
            lines.append(f"  chosen for this machine: {self.reason} (--recipe ID to choose another)")
        note = ((self.facts.get("doctor") or {}).get("target") or {}).get("note")
        lines.append(f"  environment under test: {self.target} ({venv}{'; ' + note if note else ''})")
        lines.append(f"  packages go in with {self.installer.describe()}")
        if self.opts.facts_file:
            lines.append(f"  planned from {self.opts.facts_file}: nothing is run (--facts plans only)")
        elif self.opts.dry_run:
            lines.append("  --dry-run: nothing is run")
        return lines

    def show_plan(self) -> None:
        if self.opts.as_json or self.plan_shown:
            return
        from csm_doctor.fix.render import render_plan

        render_plan(self.plan, self.header())
        self.plan_shown = True

    def _json(self, mode: str, code: int, **fields: Any) -> None:
        from csm_doctor.render.json_out import emit, envelope

        fields.setdefault("results", [])
        fields.setdefault("findings", [f.to_json() for f in self.findings])
        failing = [f.id for f in self.findings if f.status is Status.FAIL]
        fields.setdefault("fixed", [])
        fields.setdefault("remaining", list(dict.fromkeys(failing)))
        emit(envelope(
            "fix", mode=mode,
            recipe={"id": self.recipe.id, "title": self.recipe.title, "path": self.recipe.path,
                    "selected": "auto" if self.reason else "given", "reason": self.reason},
            target={"python": self.target, "in_venv": (self.facts.get("python") or {}).get("in_venv"),
                    "chosen": (self.facts.get("doctor") or {}).get("target"),
                    "installer": {"tool": self.installer.tool, "uv": self.installer.uv,
                                  "version": self.installer.version}},
            plan=[a.to_json() for a in self.plan], **fields, exit_code=code))

    def finish(self, mode: str, code: int, shown: bool = False) -> int:
        if self.opts.as_json:
            self._json(mode, code)
        elif not shown:
            self.show_plan()
        return code

    def refuse(self, reason: str) -> int:
        _say(f"csm-doctor: {reason}")
        if self.opts.as_json:
            self._json("refused", EXIT_INPUT, refused=reason)
        else:
            self.show_plan()
        return EXIT_INPUT

    def applied(self, applied: Any, after: list[Finding], outcome: Any, code: int,
                smoke: Any = None) -> int:
        if self.opts.as_json:
            self._json("apply", code, results=[r.to_json() for r in applied.results],
                       smoke=smoke.to_json() if smoke is not None else None,
                       snapshot=applied.snapshot, rolled_back=applied.rolled_back,
                       findings=[f.to_json() for f in after],
                       fixed=list(dict.fromkeys(f.id for f in outcome.fixed)),
                       remaining=list(dict.fromkeys(f.id for f in outcome.remaining)),
                       changes=outcome.changes)
        else:
            from csm_doctor.fix.render import render_outcome

            render_outcome(self.plan, applied.results, outcome, code, applied.rolled_back)
            if smoke is not None:
                from csm_doctor.smoke.render import figure_line

                _say(f"csm-doctor: smoke test {smoke.status}: {figure_line(smoke)}")
                for finding in smoke.findings:
                    if finding.status is not Status.PASS:
                        _say(f"  {finding.status.value}: {finding.title}"
                             + (f"  → {finding.fix}" if finding.fix else ""))
        return code


# ------------------------------------------------------------------ --undo

def run_undo(opts: FixOptions) -> int:
    from csm_doctor.subject import validate_python
    from csm_doctor.errors import InputError
    from csm_doctor.fix import actions as kinds
    from csm_doctor.fix import snapshot
    from csm_doctor.fix.installer import choose_installer
    from csm_doctor.fix.profile import read_block, written_profiles

    validate_python(opts.python)
    choice = _target_choice(opts.python)
    target = choice.python
    own = _own_tool_refusal(choice)
    if own:
        raise InputError.single(None, own, key="--python")
    try:
        listing = snapshot.list_distributions(target)
    except snapshot.SnapshotError as exc:
        raise InputError.single(None, str(exc), key="--python") from None
    snap = snapshot.load_last(listing.prefix)
    installer, get_uv = choose_installer(opts.installer, target, "pip" in listing.dists)
    plan: list[Action] = snapshot.restore_actions(snap, listing, installer) if snap else []
    if get_uv and plan:
        from csm_doctor.fix.installer import get_uv_command

        plan.insert(0, Action("get-uv", kinds.GET_UV, "install uv into csm-doctor's own environment",
                              argv=get_uv_command()))
    profiles = [p for p in written_profiles() if read_block(Path(p))]
    if profiles:
        plan.append(Action("undo-profile", kinds.PROFILE,
                           f"remove csm-doctor's block from {', '.join(profiles)}",
                           shown=f"(delete the '# >>> csm-doctor >>>' block in {', '.join(profiles)})",
                           payload={"remove": profiles}))
    undo = _Undo(opts, target, listing, snap, installer, plan)
    if snap is None and not profiles:
        return undo.finish("undo", EXIT_OK, f"nothing to undo: csm-doctor fix has not changed "
                                            f"{listing.prefix}")
    if not plan:
        return undo.verify_and_finish([])
    if any(a.changes_packages for a in plan) and not listing.in_venv and not opts.allow_system:
        return undo.finish("refused", EXIT_INPUT, f"refusing to change the packages of "
                                                  f"{listing.prefix}: it is not a virtual environment "
                                                  "(--allow-system to do it anyway)")
    undo.show()
    if opts.dry_run:
        return undo.finish("dry-run", EXIT_FAILED, None)
    from csm_doctor.fix.lock import EnvironmentLock, EnvironmentLocked

    try:
        with EnvironmentLock(listing.prefix):
            go, refusal = _confirm(opts, plan, "Undo with")
            if refusal:
                return undo.finish("refused", EXIT_INPUT, refusal)
            if not go:
                return undo.finish("declined", EXIT_FAILED, "nothing was changed")
            applied = apply_plan(plan, _apply_options(opts, installer, take_snapshot=False))
            return undo.verify_and_finish(applied.results)
    except EnvironmentLocked as exc:
        return undo.finish("refused", EXIT_INPUT, str(exc))


class _Undo:
    def __init__(self, opts: FixOptions, target: str, listing: Any, snap: Any, installer: Any,
                 plan: list[Action]) -> None:
        self.opts, self.target, self.listing, self.snap = opts, target, listing, snap
        self.installer, self.plan = installer, plan
        self.shown = False

    def show(self) -> None:
        if self.opts.as_json or self.shown:
            return
        from csm_doctor.fix.render import render_plan

        created = f" taken {self.snap.created}" if self.snap else ""
        render_plan(self.plan, [f"csm-doctor fix --undo · {self.listing.prefix}",
                                f"  back to the snapshot{created}" if self.snap else
                                "  no package snapshot; profile blocks only",
                                f"  packages go in with {self.installer.describe()}"])
        self.shown = True

    def verify_and_finish(self, results: list[ActionResult]) -> int:
        from csm_doctor.fix import snapshot

        problems: list[str] = []
        if self.snap is not None:
            problems = snapshot.verify(self.snap, snapshot.list_distributions(self.target),
                                       snapshot.pip_freeze(self.target))
        failed = any(r.status == "failed" for r in results)
        code = EXIT_FAILED if problems or failed else EXIT_OK
        message = ("the environment matches the snapshot (pip freeze compared)" if not problems
                   else "still different from the snapshot: " + "; ".join(problems))
        return self.finish("undo", code, message, results=results, differences=problems)

    def finish(self, mode: str, code: int, message: str | None, results: list[ActionResult] = (),
               differences: list[str] | None = None) -> int:
        if message:
            _say(f"csm-doctor: {message}")
        if self.opts.as_json:
            from csm_doctor.render.json_out import emit, envelope

            emit(envelope("fix", mode=mode, target={"python": self.target, "prefix": self.listing.prefix,
                                                    "in_venv": self.listing.in_venv},
                          snapshot=self.snap.path if self.snap else None,
                          plan=[a.to_json() for a in self.plan],
                          results=[r.to_json() for r in results], findings=[], fixed=[], remaining=[],
                          verified=(not differences) if mode == "undo" and self.snap else None,
                          differences=differences or [], message=message, exit_code=code))
        elif mode in ("refused", "dry-run"):
            self.show()
        return code
