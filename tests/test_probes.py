"""Every probe on success, failure, timeout and garbage output.

Fake tools on PATH print real captured outputs (tests/fixtures/probes, each with
its source note); the probes run for real, in-process, through collect_facts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import PROBE_FIXTURES, cat_script

from csm_doctor.probes import PROBES, ProbeContext, collect_facts
from csm_doctor.probes.base import Probe, run_probes
from csm_doctor.recipe import load_recipe

H100_CSV = PROBE_FIXTURES / "nvidia-smi-csv/exporter-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv"
H100_TABLE = PROBE_FIXTURES / "nvidia-smi-table/gpud-8xH100-550.90.07.txt"
R610_TABLE = PROBE_FIXTURES / "nvidia-smi-table/exporter-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__idle.txt"
DRIVER_MISSING = PROBE_FIXTURES / "nvidia-smi-errors/mxochicale-driver-not-loaded.txt"
FFMPEG = PROBE_FIXTURES / "ffmpeg/debian12-bookworm-5.1.9-local-capture.txt"
NPU = PROBE_FIXTURES / "npu-smi/vllm-ascend-issue362-910B2-x8-23.0.7.txt"
GARBAGE = "\x00\xff garbage | not | a | table\n+--+\n| |\n" * 20


@pytest.fixture
def probe_env(monkeypatch: pytest.MonkeyPatch, cli_env: dict[str, str]):
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_TOKEN", "HUGGINGFACE_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def probe(name: str, scale: float = 1.0, **kw) -> dict:
    """Run one probe as collect_facts would, returning the whole facts document."""
    ctx = ProbeContext(python=kw.pop("python", sys.executable), offline=True,
                       recipe=load_recipe("csm-1b"), timeout_scale=scale, **kw)
    return collect_facts(ctx, tuple(p for p in PROBES if p.name == name))


# -- nvidia -----------------------------------------------------------------

def test_nvidia_smi_query_and_table(probe_env, fake_bin):
    fake_bin("nvidia-smi", f"""
        case "$1" in
          --query-gpu=*) {cat_script(H100_CSV)} ;;
          *) {cat_script(H100_TABLE)} ;;
        esac
    """)
    facts = probe("nvidia")
    nv = facts["nvidia"]
    assert facts["probes"]["nvidia"]["status"] == "ok"
    assert nv["source"] == "nvidia-smi"
    assert nv["driver_version"] == "590.48.01"  # from the CSV (one machine)
    assert nv["cuda_version"] == "12.4"  # from the table header
    assert nv["gpus"][0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total_mib": 81559,
                             "memory_used_mib": 0, "memory_free_mib": 81081,
                             "compute_capability": "9.0", "bus_id": "00000000:00:09.0",
                             "processes": []}


def test_nvidia_smi_old_driver_falls_back_to_table(probe_env, fake_bin):
    fake_bin("nvidia-smi", f"""
        case "$1" in
          --query-gpu=*) echo 'Field "compute_cap" is not a valid field to query.'; exit 2 ;;
          *) {cat_script(H100_TABLE)} ;;
        esac
    """)
    nv = probe("nvidia")["nvidia"]
    assert nv["driver_version"] == "550.90.07" and nv["cuda_version"] == "12.4"
    assert len(nv["gpus"]) == 8
    assert {g["name"] for g in nv["gpus"]} == {"NVIDIA H100 80GB HBM3"}
    assert nv["gpus"][7]["memory_total_mib"] == 81559


def test_nvidia_smi_r610_header(probe_env, fake_bin):
    fake_bin("nvidia-smi", f"""
        case "$1" in --query-gpu=*) exit 6 ;; *) {cat_script(R610_TABLE)} ;; esac
    """)
    nv = probe("nvidia")["nvidia"]
    assert nv["driver_version"] == "610.57.04"
    assert nv["cuda_version"] == "13.3"
    assert nv["gpus"][0]["processes"] == [{"pid": 1720, "memory_mib": 173}, {"pid": 4556, "memory_mib": 3}]


def test_nvidia_smi_driver_not_loaded(probe_env, fake_bin):
    fake_bin("nvidia-smi", cat_script(DRIVER_MISSING, exit_code=9))
    nv = probe("nvidia")["nvidia"]
    assert nv["error_id"] == "nvidia-driver-missing"
    assert "couldn't communicate" in nv["error"]
    assert nv["gpus"] == []


def test_nvidia_smi_hang_times_out(probe_env, fake_bin):
    fake_bin("nvidia-smi", "exec /bin/sleep 60\n")
    started = time.monotonic()
    facts = probe("nvidia", scale=0.1)
    assert time.monotonic() - started < 10
    assert facts["probes"]["nvidia"]["status"] in ("error", "timeout")
    assert "within" in facts["probes"]["nvidia"]["error"]


def test_nvidia_smi_garbage(probe_env, fake_bin, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text(GARBAGE, errors="replace")
    fake_bin("nvidia-smi", cat_script(junk))
    facts = probe("nvidia")
    # exit 0 with nothing readable is a probe error, not "no NVIDIA GPU" (issue 15)
    assert facts["probes"]["nvidia"]["status"] == "error"
    assert "printed nothing csm-doctor can read" in facts["probes"]["nvidia"]["error"]
    assert facts["nvidia"]["gpus"] == []


def test_no_nvidia_at_all(probe_env):
    nv = probe("nvidia")["nvidia"]
    assert nv["gpus"] == [] and nv["error_id"] is None and nv["source"] is None


# -- ffmpeg -----------------------------------------------------------------

def test_ffmpeg_found(probe_env, fake_bin):
    path = fake_bin("ffmpeg", cat_script(FFMPEG))
    ff = probe("ffmpeg")["ffmpeg"]
    assert ff == {"found": True, "path": str(path), "version": "5.1.9-0+deb12u1", "release": "5.1.9"}


def test_ffmpeg_missing(probe_env):
    assert probe("ffmpeg")["ffmpeg"]["found"] is False


def test_ffmpeg_failing(probe_env, fake_bin):
    fake_bin("ffmpeg", "echo 'error while loading shared libraries: libavdevice.so.59' >&2\nexit 127\n")
    facts = probe("ffmpeg")
    assert facts["probes"]["ffmpeg"]["status"] == "error"
    assert "libavdevice" in facts["probes"]["ffmpeg"]["error"]


def test_ffmpeg_timeout(probe_env, fake_bin):
    fake_bin("ffmpeg", "exec /bin/sleep 60\n")
    facts = probe("ffmpeg", scale=0.1)
    assert facts["probes"]["ffmpeg"]["status"] in ("error", "timeout")


def test_ffmpeg_garbage(probe_env, fake_bin, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text(GARBAGE, errors="replace")
    fake_bin("ffmpeg", cat_script(junk))
    facts = probe("ffmpeg")
    assert facts["probes"]["ffmpeg"]["status"] == "error"  # answered, but not as ffmpeg


def test_executable_in_cwd_is_never_run(probe_env, fake_bin, tmp_path, monkeypatch):
    """A relative PATH entry ('.') must not let the current directory shadow real tools."""
    planted = tmp_path / "cwd"
    planted.mkdir()
    (planted / "ffmpeg").write_text("#!/bin/sh\necho ffmpeg version 9.9.9-planted\n")
    (planted / "ffmpeg").chmod(0o755)
    monkeypatch.chdir(planted)
    monkeypatch.setenv("PATH", f".:{fake_bin.dir}")
    assert probe("ffmpeg")["ffmpeg"]["found"] is False


# -- ascend -----------------------------------------------------------------

def test_npu_smi_info(probe_env, fake_bin):
    fake_bin("npu-smi", cat_script(NPU))
    asc = probe("ascend")["ascend"]
    assert asc["npu_smi_version"] == "23.0.7"
    assert len(asc["npus"]) == 8
    assert asc["npus"][0]["name"] == "910B2"
    assert asc["npus"][0]["hbm_total_mb"] == 65536


def test_npu_smi_garbage_and_failure(probe_env, fake_bin):
    fake_bin("npu-smi", "echo 'dcmi module initialize failed. ret is -8005' ; exit 1\n")
    asc = probe("ascend")["ascend"]
    assert asc["npus"] == [] and "dcmi" in asc["error"]


def test_npu_smi_timeout(probe_env, fake_bin):
    fake_bin("npu-smi", "exec /bin/sleep 60\n")
    assert probe("ascend", scale=0.1)["probes"]["ascend"]["status"] in ("error", "timeout")


# -- target interpreter -----------------------------------------------------

def test_target_current_interpreter(probe_env):
    facts = probe("target")
    py = facts["python"]
    assert py["version"] == "%d.%d.%d" % sys.version_info[:3]
    assert py["executable"]
    assert facts["packages"]["pyyaml"]  # a dependency of csm-doctor itself
    assert "torch" not in sys.modules


def test_target_interpreter_that_fails(probe_env, fake_bin):
    python = fake_bin("python", "echo 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    facts = probe("target", python=str(python))
    assert facts["probes"]["target"]["status"] == "error"
    assert "init_fs_encoding" in facts["probes"]["target"]["error"]


def test_target_interpreter_that_hangs(probe_env, fake_bin):
    python = fake_bin("python", "exec /bin/sleep 60\n")
    started = time.monotonic()
    facts = probe("target", python=str(python), scale=0.1)
    assert time.monotonic() - started < 10
    assert facts["probes"]["target"]["status"] in ("error", "timeout")


def test_target_interpreter_garbage(probe_env, fake_bin):
    python = fake_bin("python", "echo '@@CSM_DOCTOR_JSON@@'\necho '{not json'\n")
    facts = probe("target", python=str(python))
    assert facts["probes"]["target"]["status"] == "error"
    assert "unreadable" in facts["probes"]["target"]["error"]


def test_target_missing_interpreter(probe_env, tmp_path):
    facts = probe("target", python=str(tmp_path / "nope" / "python"))
    assert facts["probes"]["target"]["status"] == "error"


# -- system and hf ------------------------------------------------------------

def test_system(probe_env):
    facts = probe("system")
    assert facts["os"]["name"] in ("linux", "darwin", "windows")
    assert facts["memory"]["total_mib"] > 0
    assert facts["disk"]["free_mib"] >= 0


def test_hf_offline_token_from_env(probe_env):
    probe_env.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz0123456789")
    hf = probe("hf")["hf"]
    assert hf["token_present"] is True and hf["token_source"] == "env:HF_TOKEN"
    assert hf["repos"]["sesame/csm-1b"]["state"] == "not-checked"
    assert "hf_abcdefghijklmnopqrstuvwxyz0123456789" not in repr(hf)


def test_hf_ignored_variable(probe_env):
    probe_env.setenv("HUGGINGFACE_TOKEN", "hf_secretsecretsecretsecretsecret12")
    hf = probe("hf")["hf"]
    assert hf["token_present"] is False
    assert hf["ignored_env"] == ["HUGGINGFACE_TOKEN"]


def test_hf_unreachable(probe_env):
    probe_env.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused at once
    ctx = ProbeContext(python=sys.executable, offline=False, recipe=load_recipe("csm-1b"))
    facts = collect_facts(ctx, tuple(p for p in PROBES if p.name == "hf"))
    assert {r["state"] for r in facts["hf"]["repos"].values()} == {"unreachable"}


# -- the runner itself ----------------------------------------------------------

def test_runner_isolates_crashes_and_hangs():
    def crash(ctx):
        raise RuntimeError("boom")

    def hang(ctx):
        time.sleep(30)
        return {}

    def fine(ctx):
        return {"ffmpeg": {"found": False}}

    ctx = ProbeContext(python=sys.executable)
    started = time.monotonic()
    outcomes = {o.name: o for o in run_probes([Probe("crash", (), crash, 5),
                                               Probe("hang", (), hang, 0.5),
                                               Probe("fine", ("ffmpeg",), fine, 5)], ctx)}
    assert time.monotonic() - started < 5
    assert outcomes["crash"].status == "error" and "RuntimeError: boom" in outcomes["crash"].error
    assert outcomes["hang"].status == "timeout"
    assert outcomes["fine"].status == "ok" and outcomes["fine"].facts == {"ffmpeg": {"found": False}}


def test_every_probe_section_is_owned_once():
    owned = [s for p in PROBES for s in p.sections]
    assert len(owned) == len(set(owned))


def _fake_cann(root: Path, layout: str) -> Path:
    """A CANN install tree as the Ascend docs describe it (version= in the install info)."""
    home = root / ("ascend-toolkit/latest" if layout == "toolkit" else "cann-8.5.0")
    (home / "x86_64-linux").mkdir(parents=True)
    (home / "x86_64-linux" / "ascend_toolkit_install.info").write_text(
        "package_name=Ascend-cann-toolkit\nversion=%s\ninnerversion=V100R001C19\narch=x86_64\nos=linux\n"
        % ("8.0.RC3" if layout == "toolkit" else "8.5.0"))
    (home.parent if layout == "toolkit" else home).joinpath("set_env.sh").write_text("# env\n")
    (root / "driver/lib64/driver").mkdir(parents=True)
    (root / "driver/lib64/driver/libascend_hal.so").write_bytes(b"\x7fELF")
    return home


@pytest.mark.parametrize("layout,version", [("toolkit", "8.0.RC3"), ("cann-8.5", "8.5.0")])
def test_cann_found_but_environment_not_sourced(probe_env, tmp_path, monkeypatch, layout, version):
    import csm_doctor.probes.ascend as ascend

    root = tmp_path / "Ascend"
    _fake_cann(root, layout)
    monkeypatch.setattr(ascend, "ASCEND_ROOT", root)
    for var in ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "LD_LIBRARY_PATH"):
        monkeypatch.delenv(var, raising=False)
    asc = probe("ascend")["ascend"]
    assert asc["cann_version"] == version
    assert asc["env_sourced"] is False
    assert asc["set_env_script"].endswith("set_env.sh")
    assert asc["hal_library"].endswith("driver/lib64/driver/libascend_hal.so")


def test_cann_environment_sourced(probe_env, tmp_path, monkeypatch):
    import csm_doctor.probes.ascend as ascend

    root = tmp_path / "Ascend"
    home = _fake_cann(root, "toolkit")
    monkeypatch.setattr(ascend, "ASCEND_ROOT", tmp_path / "elsewhere")
    monkeypatch.setenv("ASCEND_HOME_PATH", str(home))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(root / "driver/lib64/driver"))
    asc = probe("ascend")["ascend"]
    assert asc["env_sourced"] is True and asc["cann_version"] == "8.0.RC3"
    assert asc["hal_library"] is not None


def test_no_ascend_at_all(probe_env, tmp_path, monkeypatch):
    import csm_doctor.probes.ascend as ascend

    monkeypatch.setattr(ascend, "ASCEND_ROOT", tmp_path / "none")
    monkeypatch.delenv("ASCEND_HOME_PATH", raising=False)
    asc = probe("ascend")["ascend"]
    assert asc["cann_version"] is None and asc["hal_library"] is None and asc["npus"] == []


# -- apple --------------------------------------------------------------------

def test_apple_probe_reads_chip_and_unified_memory(probe_env, fake_bin):
    from csm_doctor.probes.apple import probe_apple

    # One-line answers as `sysctl -n` prints them on an M4 Max with 64 GB.
    fake_bin("sysctl", """
        case "$2" in
          machdep.cpu.brand_string) echo 'Apple M4 Max' ;;
          hw.memsize) echo '68719476736' ;;
          *) exit 1 ;;
        esac
    """)
    apple = probe_apple(ProbeContext(python=sys.executable), platform="darwin")["apple"]
    assert apple == {"chip": "Apple M4 Max", "apple_silicon": True, "unified_memory_mib": 65536}


def test_apple_probe_skips_elsewhere(probe_env):
    assert probe("apple")["probes"]["apple"]["status"] in ("skipped", "ok")
