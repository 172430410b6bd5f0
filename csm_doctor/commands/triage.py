"""`csm-doctor triage PATH|-`: what a pasted log, issue body or tool output shows."""

from __future__ import annotations

import sys

import click

from csm_doctor.commands.common import guarded

MAX_TRIAGE_BYTES = 32 * 1024 * 1024


def read_pasted(source: str) -> str:
    """Text from a file or stdin, whatever the console that wrote it (UTF-16 from PowerShell)."""
    from csm_doctor.errors import InputError

    try:
        data = sys.stdin.buffer.read(MAX_TRIAGE_BYTES + 1) if source == "-" else \
            open(source, "rb").read(MAX_TRIAGE_BYTES + 1)
    except OSError as exc:
        raise InputError.single(source, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_TRIAGE_BYTES:
        raise InputError.single(source, f"larger than {MAX_TRIAGE_BYTES // 2**20} MiB; "
                                        "paste the part around the error")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return data.decode("utf-16-le", errors="replace")  # `> file` in PowerShell 5, no BOM
    return data.decode("utf-8-sig", errors="replace")


@click.command()
@click.argument("source", metavar="PATH|-")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@guarded
def triage(source: str, as_json: bool) -> int:
    """Read a pasted log, issue body or tool output and say what it shows."""
    from csm_doctor.triage.extract import extract_facts

    text = read_pasted(source)
    facts, sources = extract_facts(text)
    origin = "standard input" if source == "-" else source
    if as_json:
        from csm_doctor.render.json_out import emit, envelope

        emit(envelope("triage", source=origin, facts=facts, sources=sources, findings=[],
                      exit_code=0))
    else:
        from csm_doctor.render.triage import render_triage

        render_triage(facts, sources, origin)
    return 0
