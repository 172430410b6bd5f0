"""`csm-doctor report`: the bundle's files, manifest, Markdown, smoke result and exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES

READY = FIXTURES / "facts" / "h100-driver-550-csm-ready.json"
SMOKE = {"schema": "csm-doctor/smoke/1", "status": "pass", "device": "cuda",
         "audio_path": "csm-doctor-smoke/smoke.wav", "sample_rate": 24000, "audio_seconds": 3.2,
         "load_seconds": 11.5, "generate_seconds": 2.1, "rtf": 0.66, "peak_memory_mib": 5210,
         "findings": []}


def verify_manifest(files: dict[str, bytes]) -> None:
    """SHA256SUMS lists every other file with its SHA-256, in `sha256sum -c` format."""
    listed = {}
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == set(files) - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name


def read_dir(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_bundle_from_a_facts_file(run_cli, tmp_path: Path):
    out = tmp_path / "bundle"
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", str(out), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "csm-doctor/report/1" and doc["format"] == "dir"
    files = read_dir(out)
    assert set(files) == {"summary.md", "report.json", "facts.json", "findings.json",
                          "redactions.json", "report.html", "SHA256SUMS"}
    assert {f["name"] for f in doc["files"]} == set(files)
    verify_manifest(files)
    report = json.loads(files["report.json"])
    assert report["schema"] == "csm-doctor/report-bundle/1"
    assert report["recipe"]["id"] == "csm-1b" and report["recipe"]["selected"] == "given"
    assert report["versions"]["packages"]["torch"] == "2.4.0+cu124"
    assert report["smoke"] is None


def test_summary_markdown_puts_the_key_table_first(run_cli, tmp_path: Path):
    out = tmp_path / "bundle"
    run_cli("report", "--facts", str(READY), "--recipe", "csm-1b-transformers", "-o", str(out))
    summary = (out / "summary.md").read_text(encoding="utf-8")
    table = summary.split("<details>", 1)[0]
    for row in ("| OS | linux", "| Python | 3.10", "| GPU | 1 × NVIDIA H100 80GB HBM3",
                "| Driver / CUDA | 550.90.07 / CUDA ≤ 12.4", "| torch | 2.4.0+cu124 (CUDA 12.4)",
                "| Recipe | `csm-1b-transformers` (given)", "| Failing |", "| Smoke test | not run"):
        assert row in table, row
    assert summary.count("<details>") == summary.count("</details>") >= 4
    sums = dict(reversed(line.split()) for line in summary.split("sha256sum -c SHA256SUMS`)")[1]
                .splitlines() if re.match(r"\s+[0-9a-f]{64}  ", line))
    for name in ("facts.json", "report.json"):
        assert sums[name] == hashlib.sha256((out / name).read_bytes()).hexdigest()


def test_failing_findings_are_exit_1_and_listed(run_cli, tmp_path: Path):
    out = tmp_path / "b"
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b-ascend", "-o", str(out))
    assert result.code == 1, result.stderr
    summary = (out / "summary.md").read_text(encoding="utf-8")
    failing = re.search(r"\| Failing \| (.*) \|", summary).group(1)
    assert "`" in failing and failing != "none"
    assert "support bundle written to" in result.stdout


def test_facts_json_replays_with_check(run_cli, tmp_path: Path):
    out = tmp_path / "b"
    run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", str(out))
    replay = run_cli("check", "--facts", str(out / "facts.json"), "--recipe", "csm-1b", "--json")
    assert replay.code == 0, replay.stderr
    assert replay.json()["facts"]["nvidia"]["driver_version"] == "550.90.07"


def test_zip_bundle(run_cli, tmp_path: Path):
    target = tmp_path / "for-issue-42.zip"
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", str(target), "--json")
    assert result.code == 0 and result.json()["format"] == "zip"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert all(name.startswith("for-issue-42/") for name in names)
        files = {name.split("/", 1)[1]: archive.read(name) for name in names}
    verify_manifest(files)
    assert b"| OS |" in files["summary.md"]


def test_default_folder_is_timestamped_in_the_current_directory(run_cli, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", cwd=str(work))
    assert result.code == 0, result.stderr
    made = [p.name for p in work.iterdir()]
    assert len(made) == 1 and re.fullmatch(r"csm-doctor-report-\d{8}T\d{6}Z", made[0])
    assert made[0] in result.stdout


def test_existing_output_is_refused(run_cli, tmp_path: Path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = run_cli("report", "--facts", str(READY), "-o", str(tmp_path / "full"))
    assert result.code == 2 and "not an empty folder" in result.stderr
    (tmp_path / "old.zip").write_bytes(b"PK")
    assert run_cli("report", "--facts", str(READY), "-o", str(tmp_path / "old.zip")).code == 2
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_smoke_result_option(run_cli, tmp_path: Path):
    smoke = tmp_path / "result.json"
    smoke.write_text(json.dumps(SMOKE))
    out = tmp_path / "b"
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "--smoke-result",
                     str(smoke), "-o", str(out))
    assert result.code == 0, result.stderr
    assert json.loads((out / "smoke-result.json").read_text())["rtf"] == 0.66
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Smoke test | pass, cuda, RTF 0.66 |" in summary
    assert "- peak_memory_mib: `5210`" in summary


def test_smoke_result_found_by_convention(run_cli, tmp_path: Path):
    (tmp_path / "csm-doctor-smoke").mkdir()
    (tmp_path / "csm-doctor-smoke" / "result.json").write_text(json.dumps(SMOKE))
    result = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", "b", "--json",
                     cwd=str(tmp_path))
    assert result.code == 0, result.stderr
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["smoke"]["found_by"] == "convention" and report["smoke"]["result"]["status"] == "pass"


def test_unreadable_smoke_result(run_cli, tmp_path: Path):
    bad = tmp_path / "result.json"
    bad.write_text("{not json")
    given = run_cli("report", "--facts", str(READY), "--smoke-result", str(bad), "-o", str(tmp_path / "x"))
    assert given.code == 2 and "--smoke-result" in given.stderr and "Traceback" not in given.stderr
    assert not (tmp_path / "x").exists()
    (tmp_path / "csm-doctor-smoke").mkdir()
    (tmp_path / "csm-doctor-smoke" / "result.json").write_text("[1, 2]")
    found = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", "y", cwd=str(tmp_path))
    assert found.code == 0
    assert "unreadable result" in (tmp_path / "y" / "summary.md").read_text(encoding="utf-8")


def test_bad_facts_file_is_exit_2(run_cli, tmp_path: Path):
    bad = tmp_path / "facts.json"
    bad.write_text('{"schema": "csm-doctor/facts/1", "nvidia": {"gpus": "many"}}')
    result = run_cli("report", "--facts", str(bad), "-o", str(tmp_path / "b"))
    assert result.code == 2 and "nvidia.gpus" in result.stderr


def test_report_on_this_machine(run_cli, tmp_path: Path):
    """The real probes (offline, no GPU tools on PATH), the same evaluation as check."""
    result = run_cli("report", "--offline", "-o", str(tmp_path / "b"), "--json", timeout=180)
    assert result.code in (0, 1), result.stderr
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["facts"]["probes"] and report["versions"]["csm_doctor"]
    check = run_cli("check", "--facts", str(tmp_path / "b" / "facts.json"), "--json")
    assert check.code == result.code
    assert [f["id"] for f in check.json()["findings"] if f["status"] == "fail"] == \
        [f["id"] for f in report["findings"] if f["status"] == "fail"]


# -- safe writes (issue 15, item 6) ---------------------------------------------------------

posix_only = pytest.mark.skipif(os.name == "nt", reason="symbolic links and FIFOs as a user")

def _victim(tmp_path: Path) -> Path:
    """A file outside the bundle that a planted link points at; it must never change."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return victim


def _planting_nvidia_smi(fake_bin, script: str) -> None:
    """A hostile machine: its nvidia-smi plants links while report probes, then says no driver."""
    fake_bin("nvidia-smi", script + "\necho 'NVIDIA-SMI has failed because it couldn't "
                                    "communicate with the NVIDIA driver.'\nexit 9\n")


def test_three_default_name_reports_in_one_second_get_three_folders(cli_env, tmp_path: Path):
    import datetime
    import subprocess
    import sys

    work = tmp_path / "work"
    work.mkdir()
    now = datetime.datetime.now(datetime.timezone.utc)
    taken = []
    for second in range(-1, 90):  # an earlier run already took every name these runs can pick
        stamp = (now + datetime.timedelta(seconds=second)).strftime("%Y%m%dT%H%M%SZ")
        folder = work / f"csm-doctor-report-{stamp}"
        folder.mkdir()
        (folder / "report.json").write_text("an earlier run's\n")
        taken.append(folder)
    procs = [subprocess.Popen([sys.executable, "-m", "csm_doctor", "report", "--facts", str(READY),
                               "--recipe", "csm-1b", "--json"], cwd=work, env=cli_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], [err for _, err in outputs]
    paths = {json.loads(out)["path"] for out, _ in outputs}
    assert len(paths) == 3  # before: one folder, three runs writing into it, each "written"
    for path in paths:
        assert re.fullmatch(r"csm-doctor-report-\d{8}T\d{6}Z-\d+", path), path
        verify_manifest(read_dir(work / path))
    assert all((folder / "report.json").read_text() == "an earlier run's\n" for folder in taken)


@posix_only
def test_an_output_that_is_a_link_is_refused(run_cli, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "bundle"
    link.symlink_to(elsewhere)
    result = run_cli("report", "--facts", str(READY), "-o", str(link))
    assert result.code == 2 and "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_an_empty_folder_is_still_accepted(run_cli, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("report", "--facts", str(READY), "--recipe", "csm-1b", "-o", str(empty)).code == 0
    verify_manifest(read_dir(empty))


@posix_only
def test_links_planted_while_probing_are_not_written_through(run_cli, fake_bin, tmp_path: Path):
    # The red team's race: -o names an empty folder, links appear in it during probing.
    victim = _victim(tmp_path)
    out = tmp_path / "bundle"
    out.mkdir()
    _planting_nvidia_smi(fake_bin, f"/bin/ln -s '{victim}' '{out}/summary.md'\n"
                                   f"/bin/ln -s '{victim}' '{tmp_path}/b.zip'")
    result = run_cli("report", "--offline", "--level", "1", "-o", str(out))
    assert result.code == 2 and "cannot write" in result.stderr, result.stderr
    assert victim.read_text() == "precious\n"  # before: overwritten with the summary
    assert sorted(p.name for p in out.iterdir()) == ["summary.md"]  # this run's files removed
    zipped = run_cli("report", "--offline", "--level", "1", "-o", str(tmp_path / "b.zip"))
    assert zipped.code == 2 and victim.read_text() == "precious\n"


@posix_only
def test_a_default_folder_planted_while_probing_is_not_used(run_cli, fake_bin, tmp_path: Path):
    victim = _victim(tmp_path)
    work = tmp_path / "cwd"  # run_cli's working directory
    work.mkdir(exist_ok=True)
    # report picked its name before probing, so the planter covers the seconds before it.
    plant = "now=$(/bin/date +%s)\n" + "\n".join(
        f"d=\"{work}/csm-doctor-report-$(/bin/date -u -d @$((now + {s})) +%Y%m%dT%H%M%SZ)\"; "
        f"/bin/mkdir -p \"$d\"; /bin/ln -sf '{victim}' \"$d/report.json\""
        for s in range(-30, 2))
    _planting_nvidia_smi(fake_bin, plant)
    result = run_cli("report", "--offline", "--level", "1", "--json", timeout=180)
    assert result.code in (0, 1), result.stderr
    made = work / result.json()["path"]
    assert made.name.endswith("-2") and not made.is_symlink()
    verify_manifest(read_dir(made))
    assert victim.read_text() == "precious\n"


@posix_only
def test_facts_output_replaces_a_planted_link_instead_of_following_it(run_cli, tmp_path: Path):
    victim = _victim(tmp_path)
    link = tmp_path / "facts.json"
    link.symlink_to(victim)
    result = run_cli("facts", "--offline", "--level", "1", "-o", str(link))
    assert result.code == 0, result.stderr
    assert victim.read_text() == "precious\n"  # before: the facts went into the victim
    assert not link.is_symlink() and json.loads(link.read_text())["schema"] == "csm-doctor/facts/1"


@posix_only
def test_facts_output_to_a_fifo_is_refused_at_once(run_cli, tmp_path: Path):
    fifo = tmp_path / "facts.json"
    os.mkfifo(fifo)
    result = run_cli("facts", "--offline", "--level", "1", "-o", str(fifo), timeout=60)
    assert result.code == 2 and "FIFO" in result.stderr


@posix_only
def test_smoke_plot_replaces_a_planted_link(tmp_path: Path):
    from csm_doctor.smoke.plot import write_png

    victim = _victim(tmp_path)
    png = tmp_path / "smoke.png"
    png.symlink_to(victim)
    write_png(png, {"columns": 10, "envelope": [[-0.1, 0.1]] * 10, "spec_height": 0,
                    "spectrogram_b64": None}, 1.0)
    assert victim.read_text() == "precious\n"
    assert png.read_bytes().startswith(b"\x89PNG") and not png.is_symlink()
