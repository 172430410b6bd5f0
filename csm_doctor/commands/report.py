"""`csm-doctor report`: a redacted support bundle (facts, findings, smoke result, Markdown summary)."""

from __future__ import annotations

import os
from typing import Any

import click

from csm_doctor.commands.common import (
    verbosity_options,
    common_probe_options,
    gather,
    guarded,
    recipe_option,
)


@click.command()
@recipe_option
@common_probe_options
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="Report on a saved facts document instead of probing this machine.")
@click.option("--smoke-result", "smoke_file", default=None, metavar="FILE",
              help="The smoke test's result JSON (default: ./csm-doctor-smoke/result.json if present).")
@click.option("--cluster-result", "cluster_file", default=None, metavar="FILE",
              help="A `csm-doctor cluster -o FILE` result to bundle as cluster-result.json.")
@click.option("-o", "--output", default=None, metavar="DIR|FILE.zip",
              help="Where to write the bundle (default: ./csm-doctor-report-<UTC time>/).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@verbosity_options()
@guarded
def report(recipe_ref: str | None, python: str | None, offline: bool, level: str,
           facts_file: str | None, smoke_file: str | None, cluster_file: str | None,
           output: str | None, as_json: bool) -> int:
    """Write a redacted support bundle to attach to an issue, with a summary to paste.

    Exit 1 when a required check failed (the bundle is written all the same).
    """
    from csm_doctor.report.redact import Redactor

    redactor = Redactor.for_this_process()
    try:
        return _report(redactor, recipe_ref, python, offline, level, facts_file, smoke_file,
                       output, as_json, cluster_file)
    except Exception as exc:  # noqa: BLE001 - every message that leaves is redacted
        if os.environ.get("CSM_DOCTOR_DEBUG"):
            raise
        raise redacted_error(exc, redactor) from None


def _report(redactor: Any, recipe_ref: str | None, python: str | None, offline: bool, level: str,
            facts_file: str | None, smoke_file: str | None, output: str | None,
            as_json: bool, cluster_file: str | None = None) -> int:
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.evaluate import evaluate
    from csm_doctor.findings import exit_code_for
    from csm_doctor.report.bundle import bundle_files, resolve_target, write_bundle
    from csm_doctor.report.collect import build_report, load_cluster_result, load_smoke_result

    target = resolve_target(output)  # bad input: exit 2 before probing
    smoke = load_smoke_result(smoke_file)
    cluster = load_cluster_result(cluster_file)
    subject = gather(recipe_ref, python, offline, level, facts_file, quiet=as_json)
    facts, recipe, reason = subject.facts, subject.recipe, subject.reason
    from csm_doctor.commands.check import with_remedies

    findings = with_remedies(evaluate(facts, recipe, shipped_catalogue()), facts, recipe, python,
                             facts_file, offline)
    code = exit_code_for(findings)
    built = build_report(facts, recipe, reason, subject.given, findings, smoke)
    if cluster is not None:
        built["cluster"] = cluster
    document = redactor.value(built)
    files, redactions = bundle_files(document, redactor)
    target, entries = write_bundle(files, target, unique=output is None)
    shown = redactor.text(str(target))
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("report", path=shown, format="zip" if target.suffix.lower() == ".zip" else "dir",
                      files=entries, recipe=document["recipe"], summary=document["summary"],
                      redactions=redactions, exit_code=code))
    else:
        failing = sorted({f["id"] for f in document["findings"] if f["status"] == "fail"})
        click.echo(f"csm-doctor: support bundle written to {shown}")
        click.echo(f"  {len(entries)} files; {'failing: ' + ', '.join(failing) if failing else 'nothing failed'}")
        click.echo("  Attach it to your issue and paste summary.md into the issue text.")
        if redactions:
            click.echo("  Redacted: " + ", ".join(f"{r['count']} × {r['kind']}" for r in redactions))
    return code


def redacted_error(exc: Exception, redactor: Any) -> Exception:
    """The same failure with its message redacted (paths under the home, tokens in a URL)."""
    from csm_doctor.errors import InputError, Problem

    if isinstance(exc, InputError):
        return InputError(redactor.text(exc.filename) if exc.filename else None,
                          [Problem(redactor.text(p.message), p.key, p.line) for p in exc.problems])
    if isinstance(exc, (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit)):
        return exc
    return RuntimeError(redactor.text(f"{type(exc).__name__}: {exc}"))
