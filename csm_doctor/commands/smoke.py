"""`csm-doctor smoke`: generate speech with CSM on the best device here and judge the audio."""

from __future__ import annotations

import click

from csm_doctor.commands.common import guarded, verbosity_options



@click.command()
@click.option("--python", "python", default=None, metavar="PATH",
              help="Interpreter of the environment under test (default: the active virtual "
                   "environment, else this one).")
@click.option("--tiny", is_flag=True,
              help="A tiny randomly initialised CSM built offline: checks the stack in seconds.")
@click.option("--random-weights", "random_weights", is_flag=True,
              help="CSM-1B's full size with random weights: what this hardware can do, no download.")
@click.option("--repo", default=None, metavar="PATH",
              help="A checkout of SesameAILabs/csm: run its load_csm_1b (the csm-1b recipe).")
@click.option("--recipe", "recipe_ref", default=None, metavar="ID",
              help="A recipe with a smoke test (its `smoke` key): the official one needs --repo.")
@click.option("--model", "model_id", default="sesame/csm-1b", show_default=True, metavar="REPO",
              help="Transformers-format checkpoint on the Hub.")
@click.option("--device", type=click.Choice(["auto", "cuda", "npu", "mps", "cpu"]), default="auto",
              show_default=True, help="auto: cuda, then npu, then mps, then cpu.")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
              default="auto", show_default=True,
              help="auto: bf16 on cuda (where native) and npu, float32 on mps and cpu.")
@click.option("--max-frames", "max_frames", type=int, default=None, metavar="N",
              help="Frames of 80 ms to generate at most (default 125; --tiny 25; "
                   "--random-weights 50).")
@click.option("--text", default="Hello from csm-doctor.", show_default=True,
              help="What CSM says (speaker 0).")
@click.option("--repeats", type=click.IntRange(1, 20), default=3, show_default=True, metavar="N",
              help="Timed generations after an untimed warm-up; the median one's RTF is reported.")
@click.option("--timeout", type=float, default=900.0, show_default=True, metavar="SECONDS",
              help="Kill the run after this long (a download counts).")
@click.option("-o", "--output", "--output-dir", "output_dir", default=None, metavar="DIR",
              help="Where the WAV and the PNG go (default ./csm-doctor-smoke).")
@click.option("--offline", is_flag=True, help="Do not contact the Hugging Face Hub.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@verbosity_options("Show every verdict and the target's log tail.")
@guarded
def smoke(python: str | None, tiny: bool, random_weights: bool, repo: str | None,
          recipe_ref: str | None, model_id: str, device: str, dtype: str, max_frames: int | None,
          text: str, repeats: int, timeout: float, output_dir: str | None, offline: bool, as_json: bool,
          verbose: bool) -> int:
    """Generate speech with CSM on the best device here and judge the audio."""
    import os

    from csm_doctor.probes.target import default_python
    from csm_doctor.smoke.choice import choose_kind
    from csm_doctor.smoke.render import ProgressView, render_smoke
    from csm_doctor.smoke.runner import SmokeOptions, run_smoke

    options = SmokeOptions(
        python=os.path.abspath(python) if python else default_python(),
        kind=choose_kind(tiny, random_weights, repo, recipe_ref), model_id=model_id, repo=repo,
        device=device, dtype=dtype, max_frames=max_frames, timeout=timeout, output_dir=output_dir,
        offline=offline, text=text, repeats=repeats)
    from csm_doctor.commands.common import Verbosity

    with ProgressView(quiet=Verbosity.quiet) as progress:
        result = run_smoke(options, progress)
    if as_json:
        from csm_doctor.render.json_out import emit

        emit(result.to_json())
    else:
        render_smoke(result, options, verbose=verbose)
    return result.exit_code


