"""Hostile input is exit 2, quickly, in bounded memory (issue 15, item 4).

Each case is a red-team reproduction run for real: FIFOs made with os.mkfifo, /dev/zero,
a 342-byte YAML alias bomb, JSON nested 100 000 deep, bad CSM_DOCTOR_* knobs, and a fake
nvidia-smi on PATH. The CLI runs as a subprocess under an address-space limit, so the old
behaviour (reading /dev/zero or expanding the bomb until memory ran out) shows as exit 3
or a timeout, never as a pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Run

from csm_doctor import settings
from csm_doctor.errors import InputError
from csm_doctor.safeio import read_input
from csm_doctor.yamlpos import load_yaml

READY = FIXTURES / "facts" / "h100-driver-550-csm-ready.json"
MEMORY_LIMIT = 2 * 1024**3  # far above what csm-doctor needs, far below what the bombs took
QUICK = 30  # seconds; every case here answers in well under 2

# The red team's 342 bytes: nine levels of nine aliases, 9**9 strings once expanded.
_LOLS = ",".join(['"lol"'] * 9)
BOMB = "\n".join(
    [f"a: &a [{_LOLS}]"] +
    [f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]" for prev, cur in zip("abcdefgh", "bcdefghi")]
) + "\n"


pytestmark = pytest.mark.skipif(os.name == "nt", reason="FIFOs, /dev/zero and rlimits are POSIX")


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture
def hostile_cli(cli_env: dict[str, str], tmp_path: Path):
    """The CLI as a real process, memory-capped, with optional stdin, failing on a hang."""
    scratch = tmp_path / "cwd"
    scratch.mkdir(exist_ok=True)

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = QUICK) -> Run:
        handle = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.run([sys.executable, "-m", "csm_doctor", *args], capture_output=True,
                                  stdin=handle, env={**cli_env, **(env or {})}, timeout=timeout,
                                  cwd=str(scratch), preexec_fn=_limit_memory)
        finally:
            if stdin:
                handle.close()
        return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                   proc.stderr.decode("utf-8", "replace"))

    return run


def assert_input_error(result: Run, *needles: str) -> None:
    assert result.code == 2, (result.code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# -- file types: regular files or stdin only ----------------------------------------------

@pytest.mark.parametrize("args", [
    ("check", "--facts", "{fifo}"),
    ("triage", "{fifo}"),
    ("lint", "{fifo}"),
    ("lint", "{fifo_yaml}"),
    ("check", "--recipe", "{fifo_yaml}", "--facts", str(READY)),
    ("recipes", "validate", "{fifo_yaml}"),
    ("report", "--facts", str(READY), "--smoke-result", "{fifo}", "-o", "{out}"),
    ("lint", str(FIXTURES / "lint" / "unsloth" / "finetune_param_defaults.yaml"), "--facts",
     "{fifo}"),
], ids=["check-facts", "triage", "lint", "lint-yaml", "recipe", "recipes-validate",
        "report-smoke-result", "lint-facts"])
def test_a_fifo_is_exit_2_at_once(hostile_cli, fifo: Path, tmp_path: Path, args):
    fifo_yaml = tmp_path / "config.yaml"
    os.mkfifo(fifo_yaml)
    filled = [a.format(fifo=fifo, fifo_yaml=fifo_yaml, out=tmp_path / "bundle") for a in args]
    started = time.monotonic()
    result = hostile_cli(*filled)
    assert_input_error(result, "FIFO (named pipe), not a regular file")
    assert time.monotonic() - started < 10
    assert not (tmp_path / "bundle").exists()


@pytest.mark.parametrize("args", [("check", "--facts", "/dev/zero"), ("triage", "/dev/zero"),
                                  ("lint", "/dev/zero"), ("report", "--facts", "/dev/zero")])
def test_a_device_is_refused_without_reading_it(hostile_cli, args):
    # Before: `check --facts /dev/zero` read until it held 5.2 GB (here: MemoryError, exit 3).
    assert_input_error(hostile_cli(*args), "/dev/zero", "character device")


def test_a_directory_is_named_as_one(hostile_cli, tmp_path: Path):
    assert_input_error(hostile_cli("check", "--facts", str(tmp_path)), "is a directory")
    assert_input_error(hostile_cli("triage", str(tmp_path)), "is a directory")


def test_stdin_is_read_under_the_cap(hostile_cli):
    # '-' is allowed, but endless stdin is still bounded: the cap, then exit 2.
    assert_input_error(hostile_cli("triage", "-", stdin="/dev/zero"), "larger than 32 MiB")
    assert_input_error(hostile_cli("check", "--facts", "-", stdin="/dev/zero"), "larger than 16 MiB")


def test_stdin_facts_still_work(hostile_cli):
    result = hostile_cli("check", "--facts", "-", "--recipe", "csm-1b", "--json", stdin=str(READY))
    assert result.code in (0, 1), result.stderr
    assert json.loads(result.stdout)["schema"] == "csm-doctor/check/1"


def test_a_large_regular_file_is_refused_not_read_whole(hostile_cli, tmp_path: Path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:  # sparse: 17 MiB on paper, nothing on disk
        handle.truncate(17 * 1024 * 1024)
    assert_input_error(hostile_cli("check", "--facts", str(big)), "larger than 16 MiB")
    recipe = tmp_path / "big.yaml"
    with open(recipe, "wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    assert_input_error(hostile_cli("recipes", "validate", str(recipe)), "larger than 1 MiB")


def test_a_link_to_a_regular_file_is_still_read(hostile_cli, tmp_path: Path):
    link = tmp_path / "facts-link.json"
    link.symlink_to(READY)
    assert hostile_cli("check", "--facts", str(link), "--recipe", "csm-1b").code in (0, 1)


def test_songbloom_project_with_a_fifo_script_does_not_hang(hostile_cli, tmp_path: Path):
    # The project scan read every *.sh under 1 MiB, and a FIFO's size is 0.
    project = tmp_path / "songbloom"
    (project / "SongBloom").mkdir(parents=True)
    os.mkfifo(project / "train.sh")
    result = hostile_cli("lint", str(project), "--json")
    assert result.code in (0, 1, 2) and "Traceback" not in result.stderr


def test_a_fifo_clip_in_a_dataset_is_a_bad_clip_not_a_hang(tmp_path: Path):
    from csm_doctor.lint.audio import WavError, read_wav_info

    clip = tmp_path / "001_speaker1.wav"
    os.mkfifo(clip)
    with pytest.raises(WavError, match="FIFO"):
        read_wav_info(clip)


def test_read_input_refuses_before_opening(tmp_path: Path, fifo: Path):
    # No writer ever opens this FIFO: a plain open() would block here for good.
    with pytest.raises(InputError, match="FIFO"):
        read_input(fifo, 1024)
    data = tmp_path / "ok.txt"
    data.write_bytes(b"x" * 1024)
    assert read_input(data, 1024) == b"x" * 1024  # exactly the cap is fine
    with pytest.raises(InputError, match="larger than 1023 bytes"):
        read_input(data, 1023)


# -- YAML aliases -------------------------------------------------------------------------

def test_the_bomb_is_342_bytes():
    assert len(BOMB.encode()) == 342


@pytest.mark.parametrize("how", ["recipe", "recipes-validate", "lint"])
def test_an_alias_bomb_is_refused_before_it_expands(hostile_cli, tmp_path: Path, how: str):
    bomb = tmp_path / "train.yaml"
    bomb.write_text(BOMB)
    args = {"recipe": ("check", "--recipe", str(bomb), "--facts", str(READY)),
            "recipes-validate": ("recipes", "validate", str(bomb)),
            "lint": ("lint", str(bomb))}[how]
    started = time.monotonic()
    result = hostile_cli(*args)
    # Before: the builder expanded 9**9 values and passed 5 GB (here: exit 3 or a timeout).
    assert_input_error(result, f"{bomb}:", "alias bomb")
    assert re.search(r"train\.yaml:\d+:", result.stderr)
    assert time.monotonic() - started < 10


def test_aliases_that_stay_small_still_load():
    data, lines = load_yaml("base: &b {x: 1}\nboth: [*b, *b]\n", "ok.yaml")
    assert data == {"base": {"x": 1}, "both": [{"x": 1}, {"x": 1}]}
    assert lines[("both", 1, "x")] == 1


def test_a_self_referring_alias_is_refused():
    with pytest.raises(InputError, match="refers to a value that contains it"):
        load_yaml("a: &a [1, *a]\n", "loop.yaml")


def test_a_large_document_without_aliases_is_not_a_bomb():
    text = "".join(f"k{i}: [{', '.join(str(j) for j in range(20))}]\n" for i in range(10_000))
    data, _ = load_yaml(text, "big.yaml")  # 210 000 values written out: allowed
    assert len(data) == 10_000


# -- JSON depth and numbers ---------------------------------------------------------------

@pytest.mark.parametrize("text, needle", [
    ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
    ('{"schema": ' + "[" * 70 + "]" * 70 + "}", "nested deeper than 64"),
    ('{\n"schema": "csm-doctor/facts/1",\n"memory": {"total_mib": ' + "9" * 5000 + "}}",
     "5000 digits"),
    ('{\n"schema": "csm-doctor/facts/1",\n"memory": {"total_mib": NaN}}', "NaN"),
    ('{\n"schema": "csm-doctor/facts/1",\n"memory": {"total_mib": 1e999}}', "finite"),
    ('{\n"schema": "csm-doctor/facts/1",\n"memory": {"total_mib": -Infinity}}', "Infinity"),
], ids=["deep-100000", "deep-70", "5000-digits", "nan", "1e999", "infinity"])
def test_hostile_facts_json_is_exit_2(hostile_cli, tmp_path: Path, text: str, needle: str):
    # Before: RecursionError or ValueError (int/str digits limit) escaped as exit 3.
    path = tmp_path / "facts.json"
    path.write_text(text)
    result = hostile_cli("check", "--facts", str(path))
    assert_input_error(result, needle)
    if "total_mib" in text:
        assert f"{path}:3:" in result.stderr  # the line of the bad number


def test_hostile_smoke_result_json_is_exit_2(hostile_cli, tmp_path: Path):
    path = tmp_path / "result.json"
    path.write_text('{"rtf": ' + "1" * 5000 + "}")
    result = hostile_cli("report", "--facts", str(READY), "--smoke-result", str(path),
                         "-o", str(tmp_path / "b"))
    assert_input_error(result, "--smoke-result", "5000 digits")


# -- NaN and infinity in recipes ----------------------------------------------------------

@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_nan_in_a_recipe_fails_validation_with_file_line_key(hostile_cli, tmp_path: Path,
                                                             value: str):
    text = (ROOT / "recipes" / "csm-1b.yaml").read_text()
    text = re.sub(r"^id: .*$", "id: nan-test", text, flags=re.M)
    text, count = re.subn(r"^(\s*ram_min_gb:) .*$", rf"\1 {value}", text, flags=re.M)
    assert count == 1
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith("ram_min_gb:"))
    recipe = tmp_path / "nan.yaml"
    recipe.write_text(text)
    # Before: it validated, then judged "below the recipe's nan GB".
    for args in (("recipes", "validate", str(recipe)),
                 ("check", "--recipe", str(recipe), "--facts", str(READY))):
        assert_input_error(hostile_cli(*args), f"{recipe}:{line}: key 'hardware.ram_min_gb'",
                           "NaN and infinity")


# -- CSM_DOCTOR_* knobs -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e9"])
def test_a_bad_timeout_scale_is_exit_2_naming_the_variable(hostile_cli, value: str):
    # Before: abc was exit 3; 0, -1 and nan timed every probe out and check still said 0.
    for args in (("check", "--facts", str(READY)), ("facts", "--offline", "--level", "1"),
                 ("triage", str(READY))):
        assert_input_error(hostile_cli(*args, env={"CSM_DOCTOR_TIMEOUT_SCALE": value}),
                           "CSM_DOCTOR_TIMEOUT_SCALE", repr(value))


@pytest.mark.parametrize("name, value", [("CSM_DOCTOR_NVML", "yes"),
                                         ("CSM_DOCTOR_STATE_DIR", "relative/state"),
                                         ("CSM_DOCTOR_SMOKE_FAULT", "explode")])
def test_other_bad_knobs_are_exit_2(hostile_cli, name: str, value: str):
    assert_input_error(hostile_cli("check", "--facts", str(READY), env={name: value}), name)


def test_good_knobs_still_run(hostile_cli):
    result = hostile_cli("check", "--facts", str(READY), "--recipe", "csm-1b",
                         env={"CSM_DOCTOR_TIMEOUT_SCALE": "2.5", "CSM_DOCTOR_NVML": "0"})
    assert result.code in (0, 1), result.stderr


def test_every_knob_the_code_reads_is_checked_in_settings():
    """A CSM_DOCTOR_* variable read anywhere must be listed (and so checked) in settings.py."""
    markers = {"CSM_DOCTOR_JSON", "CSM_DOCTOR_PROGRESS", "CSM_DOCTOR_FREEZE"}  # stdout markers
    found = set()
    for path in (ROOT / "csm_doctor").rglob("*.py"):
        found |= set(re.findall(r"CSM_DOCTOR_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
    assert found - markers - set(settings.KNOBS) == set()
    scale_readers = [p.name for p in (ROOT / "csm_doctor").rglob("*.py")
                     if p.name != "settings.py" and "CSM_DOCTOR_TIMEOUT_SCALE\"" in p.read_text()]
    assert scale_readers == []  # one parser for the number, the one that validates it


# -- nvidia-smi that answers garbage ------------------------------------------------------

def test_nvidia_smi_garbage_is_a_probe_error_not_no_gpu(hostile_cli, fake_bin):
    fake_bin("nvidia-smi", r"""
        printf '\377\000 Segmentation fault in libnvidia-ml\n| | |\n'
        exit 0
    """)
    result = hostile_cli("check", "--offline", "--level", "1", "--json")
    doc = json.loads(result.stdout)
    assert doc["facts"]["probes"]["nvidia"]["status"] == "error"
    failed = [f for f in doc["findings"] if f["id"] == "probe-failed" and "nvidia" in f["title"]]
    assert failed and failed[0]["status"] == "error"
    # Before: the gpu-missing check said "no NVIDIA GPU found" from the empty parse.
    gpu = [f for f in doc["findings"] if f["id"] == "gpu-missing"]
    assert all(f["status"] == "skip" for f in gpu)
    assert "no NVIDIA GPU found" not in result.stdout
