"""`csm-doctor lint PATH`: a training config, dataset or checkout, checked before the first step."""

from __future__ import annotations

import click

from csm_doctor.commands.common import guarded, verbosity_options, recipe_option, validate_python


@click.command()
@click.argument("path", metavar="PATH")
@recipe_option
@click.option("--python", "python", default=None, metavar="PATH",
              help="Interpreter of the training environment (its torch and packages are read, "
                   "never imported).")
@click.option("--facts", "facts_file", default=None, metavar="FILE",
              help="A facts document saved on the training machine (csm-doctor facts -o FILE).")
@click.option("--vram-gb", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="GIB", help="GPU memory of the training GPU in GiB as nvidia-smi shows it "
                                  "(a 16 GB T4 is 15).")
@click.option("--min-audio-seconds", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="preprocess_dataset.py's --min_audio_seconds (Unsloth datasets).")
@click.option("--max-audio-seconds", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True,
              help="preprocess_dataset.py's --max_audio_seconds (Unsloth datasets).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (csm-doctor/lint/1).")
@verbosity_options("Show the checks that passed or were skipped.")
@guarded
def lint(path: str, recipe_ref: str | None, python: str | None, facts_file: str | None,
         vram_gb: float | None, min_audio_seconds: float, max_audio_seconds: float,
         as_json: bool, verbose: bool) -> int:
    """Check a training config, dataset folder or checkout before training on it.

    PATH is a CosyVoice2 training YAML, a SongBloom config or launch script, an Unsloth CSM
    train.py YAML or dataset folder, or a CosyVoice / SongBloom / Unsloth project folder;
    what it is, and so the recipe it is judged against, is detected unless --recipe says.
    Exit codes: 0 nothing failed, 1 a problem that wastes the run, 2 PATH unreadable.
    """
    from csm_doctor.lint import LintOptions, lint_path

    validate_python(python)
    report = lint_path(path, recipe_ref, LintOptions(
        python=python, facts_file=facts_file, vram_gb=vram_gb,
        min_audio_seconds=min_audio_seconds, max_audio_seconds=max_audio_seconds))
    code = report.exit_code()
    if as_json:
        from csm_doctor.render.json_out import emit, envelope, summary

        findings = report.sorted_findings()
        doc = envelope("lint", target=report.target)
        doc.update(kind=report.kind, detected=report.detected,
                   recipe={"id": report.recipe_id, "title": report.recipe_title,
                           "selected": report.recipe_selected},
                   files=report.files, machine=report.machine,
                   findings=[f.to_json() for f in findings],
                   summary=summary([f.finding for f in findings]), exit_code=code)
        emit(doc)
    else:
        from csm_doctor.lint.render import render_lint

        render_lint(report, verbose=verbose)
    return code
