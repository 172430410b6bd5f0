"""`csm-doctor triage PATH|-`: the known problems a pasted log shows, and the facts in it."""

from __future__ import annotations

import click

from csm_doctor.commands.common import guarded, verbosity_options

MAX_TRIAGE_BYTES = 32 * 1024 * 1024


def read_pasted(source: str) -> str:
    """Text from a file or stdin, whatever the console that wrote it (UTF-16 from PowerShell)."""
    from csm_doctor.report.redact import Redactor
    from csm_doctor.safeio import read_input

    shown = Redactor.for_this_process().text(source)  # the path may hold a user name
    # A regular file or stdin only: a FIFO or a device is exit 2, never a hang.
    data = read_input(source, MAX_TRIAGE_BYTES, shown=shown,
                      too_large="paste the part around the error")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return data.decode("utf-16-le", errors="replace")  # `> file` in PowerShell 5, no BOM
    return data.decode("utf-8-sig", errors="replace")


@click.command()
@click.argument("source", metavar="PATH|-")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@verbosity_options()
@guarded
def triage(source: str, as_json: bool) -> int:
    """Name the known problems in a pasted log, issue body or tool output, root cause first.

    Exit 1 when a known problem is found (a "fail" finding), 0 otherwise.
    Tokens, keys, home directories and GPU serials are redacted from the output.
    """
    from csm_doctor.report.redact import Redactor
    from csm_doctor.triage.extract import extract_facts
    from csm_doctor.triage.gaps import what_is_missing
    from csm_doctor.triage.match import match_text

    text = read_pasted(source)
    facts, sources = extract_facts(text)
    findings = match_text(text, facts, sources)
    gaps = what_is_missing(text, facts, sources, findings)
    code = 1 if any(f["status"] == "fail" for f in findings) else 0
    redactor = Redactor.for_this_process()
    origin = "standard input" if source == "-" else redactor.text(source)
    facts, findings = redactor.value(facts), redactor.value(findings)
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        counts = {status: sum(1 for f in findings if f["status"] == status) for status in ("fail", "warn")}
        emit(envelope("triage", source=origin, facts=facts, sources=sources, findings=findings,
                      summary=counts, unrecognised=gaps, redactions=redactor.summary(),
                      exit_code=code))
    else:
        from csm_doctor.render.triage import render_triage

        render_triage(facts, sources, origin, findings=findings, redactions=redactor.summary(),
                      gaps=gaps)
    return code
