"""The red team's machine: planted code, interrupts, a second fix, a proxy that never answers,
a target that prints its secrets. Each test is a real process doing the harmful thing.

Every case here failed before csm-doctor ran its children isolated (`-I`, a private working
folder), stopped their process trees on SIGINT/SIGTERM, locked the environment, exited once
its answer was out, and sent everything through one redactor (docs/security.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from fix_support import (
    clone_venv,
    freeze,
    offline_pip_env,
    run_fix,
    write_recipe,
    write_wheel,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and process groups")

MARKER_CODE = "import os, pathlib; pathlib.Path(os.environ['CSM_TEST_MARKERS'], '{name}').touch()\n"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-wheels")
    write_wheel(folder, "fixa", "0.9")
    write_wheel(folder, "fixa", "1.0")
    return folder


@pytest.fixture
def env(cli_env: dict[str, str], wheels: Path, tmp_path: Path) -> dict[str, str]:
    markers = tmp_path / "markers"
    markers.mkdir()
    return {**cli_env, **offline_pip_env(wheels), "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state"),
            "CSM_TEST_MARKERS": str(markers)}


def plant(folder: Path) -> None:
    """What an attacker leaves in a shared or downloaded folder: modules Python would import
    from the working directory, a pip that is not pip, a sitecustomize, a uv.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for module in ("json", "platform", "re", "sitecustomize", "usercustomize", "runpy"):
        (folder / f"{module}.py").write_text(MARKER_CODE.format(name=module))
    pip = folder / "pip"
    pip.mkdir(exist_ok=True)
    (pip / "__init__.py").write_text(MARKER_CODE.format(name="pip"))
    (pip / "__main__.py").write_text(MARKER_CODE.format(name="pip-main"))
    (folder / "uv.toml").write_text('index-url = "http://127.0.0.1:9/evil"\n')


def markers(env: dict[str, str]) -> list[str]:
    return sorted(p.name for p in Path(env["CSM_TEST_MARKERS"]).iterdir())


def cli(env: dict[str, str], cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """csm-doctor as its console script starts it: the working folder is not on sys.path."""
    return subprocess.run([sys.executable, "-I", "-m", "csm_doctor", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL, encoding="utf-8")


# ------------------------------------------------------------------ no code from writable folders

def test_nothing_planted_in_the_working_or_temp_folder_runs(target, env, tmp_path, fake_bin):
    trap = tmp_path / "downloaded-repo"
    plant(trap)
    plant(tmp_path / "tmp")
    env = {**env, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": ""}
    recipe = write_recipe(tmp_path, [{"name": "fixa", "spec": "==1.0"}])
    fake_bin("uv", "exit 3\n")  # uv on PATH: fix reads pip's configuration to hand it over

    check = cli(env, trap, "check", "--offline", "--json", "--recipe", str(recipe),
                "--python", str(target))
    assert json.loads(check.stdout)["exit_code"] == check.returncode == 1, check.stderr
    dry = cli(env, trap, "fix", "--dry-run", "--json", "--offline", "--recipe", str(recipe),
              "--python", str(target))
    assert json.loads(dry.stdout)["exit_code"] == dry.returncode == 1, dry.stderr
    assert "evil" not in dry.stdout
    applied = cli(env, trap, "fix", "--yes", "--json", "--offline", "--installer", "pip",
                  "--recipe", str(recipe), "--python", str(target))
    assert applied.returncode == 0, applied.stderr
    assert "fixa==1.0" in freeze(target)
    assert markers(env) == []


def test_children_run_in_a_private_folder_that_is_removed(tmp_path):
    from csm_doctor import process

    result = process.run_command(["/bin/sh", "-c", "pwd; ls -a"], timeout=10)
    cwd = result.stdout.splitlines()[0]
    assert cwd != os.getcwd()
    assert oct(os.stat(cwd).st_mode & 0o777) == "0o700"
    assert result.stdout.split()[1:] == [".", ".."]


# ------------------------------------------------------------------ bounded children

def test_endless_output_is_cut_and_the_tool_stopped():
    from csm_doctor import process

    started = time.monotonic()
    result = process.run_command(["/bin/sh", "-c", "yes csm-doctor"], timeout=60,
                                 max_bytes=2 * 1024 * 1024)
    assert result.truncated and time.monotonic() - started < 30
    assert len(result.stdout) < 3 * 1024 * 1024 and "output cut" in result.stdout


def test_a_timeout_kills_the_grandchildren_too(tmp_path):
    from csm_doctor import process

    pidfile = tmp_path / "child.pid"
    result = process.run_command(["/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"],
                                 timeout=1)
    assert result.timed_out
    _wait_for(lambda: not _alive(int(pidfile.read_text())), 5)


# ------------------------------------------------------------------ signals

@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_hung_probe_stops_every_tool(signum, code, cli_env, fake_bin, tmp_path):
    pids = tmp_path / "pids"
    fake_bin("nvidia-smi", f"""
        echo $$ >> {pids}
        /bin/sleep 300 &
        echo $! >> {pids}
        wait
        """)
    proc = subprocess.Popen([sys.executable, "-m", "csm_doctor", "check", "--offline"],
                            env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: pids.exists() and len(pids.read_text().split()) >= 2, 60)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "stopped" in err
    _wait_for(lambda: [p for p in map(int, pids.read_text().split()) if _alive(p)] == [], 5)


class _StallingIndex(ThreadingHTTPServer):
    """A PEP 503 index whose one wheel download starts and never finishes (bounded to 60 s)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.downloading = threading.Event()
        super().__init__(("127.0.0.1", 0), _StallHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/simple"


class _StallHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        server: _StallingIndex = self.server  # type: ignore[assignment]
        if self.path.rstrip("/") == "/simple/slowpkg":
            body = b'<a href="/files/slowpkg-1.0-py3-none-any.whl">slowpkg-1.0-py3-none-any.whl</a>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/files/"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"PK")
            self.wfile.flush()
            server.downloading.set()
            server.stop.wait(60)
        else:
            self.send_error(404)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_fix_stops_pip_and_leaves_the_environment_as_it_was(
        signum, code, target, env, wheels, tmp_path):
    recipe = write_recipe(tmp_path, [{"name": "fixa", "spec": "==1.0"},
                                     {"name": "slowpkg", "spec": "==1.0"}])
    before = freeze(target)
    index = _StallingIndex()
    threading.Thread(target=index.serve_forever, daemon=True).start()
    env = {**env, "PIP_NO_INDEX": "", "PIP_INDEX_URL": index.url, "PIP_FIND_LINKS": str(wheels)}
    env.pop("PIP_NO_INDEX")
    proc = subprocess.Popen([sys.executable, "-m", "csm_doctor", "fix", "--yes", "--offline",
                             "--installer", "pip", "--recipe", str(recipe), "--python", str(target)],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert index.downloading.wait(120), "pip never reached the stalling download"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        index.stop.set()
        if proc.poll() is None:
            proc.kill()
        index.shutdown()
    assert proc.returncode == code, err
    assert "stopped the running step" in err
    assert _processes_using(target) == []
    assert freeze(target) == before
    undo = run_fix(env, "--undo", "--yes", "--python", str(target))
    assert "matches the snapshot" in undo.stderr, undo.stderr


@pytest.mark.slow
def test_undo_finds_files_no_package_owns(target, env, tmp_path):
    """An install killed mid-way leaves a package folder without its dist-info: metadata
    alone says "as before"; undo compares the files and removes what no package owns."""
    recipe = write_recipe(tmp_path, [{"name": "fixa", "spec": "==1.0"}])
    applied = run_fix(env, "--yes", "--offline", "--installer", "pip", "--recipe", str(recipe),
                      "--python", str(target))
    assert applied.code == 0, applied.stderr
    site = next(Path(target).parent.parent.glob("lib/python*/site-packages"))
    stray = site / "sympy"
    (stray / "core").mkdir(parents=True)
    (stray / "core" / "basic.py").write_text("# half extracted\n")
    undo = run_fix(env, "--undo", "--yes", "--json", "--python", str(target))
    doc = undo.json()
    assert undo.code == 0, undo.stderr
    assert any(step["id"] == "undo-strays" for step in doc["plan"])
    assert not stray.exists()
    assert doc["verified"] is True


# ------------------------------------------------------------------ one fix at a time

def test_a_second_fix_on_the_same_environment_is_refused(target, env, tmp_path):
    recipe = write_recipe(tmp_path, [{"name": "fixa", "spec": "==1.0"}])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from csm_doctor.fix.lock import EnvironmentLock\n"
         "with EnvironmentLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)\n",
         str(target.parent.parent)],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = run_fix(env, "--yes", "--json", "--offline", "--installer", "pip",
                         "--recipe", str(recipe), "--python", str(target))
    finally:
        holder.kill()
        holder.wait()
    assert second.code == 2, second.stderr
    assert f"pid {holder.pid}" in second.stderr and "another csm-doctor fix" in second.stderr
    assert "fixa==0.9" in freeze(target)
    after = run_fix(env, "--yes", "--offline", "--installer", "pip", "--recipe", str(recipe),
                    "--python", str(target))  # the holder died: the kernel released its lock
    assert after.code == 0, after.stderr


# ------------------------------------------------------------------ the answer, then exit

@pytest.mark.slow
def test_a_proxy_that_never_answers_does_not_hold_the_process(cli_env, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never answer
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    env = {**cli_env, "HF_ENDPOINT": f"http://127.0.0.1:{listener.getsockname()[1]}",
           "HF_TOKEN": "hf_" + "x" * 34, "CSM_DOCTOR_TIMEOUT_SCALE": "0.3"}
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "csm_doctor", "check", "--json"], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        for conn in accepted:
            conn.close()
        listener.close()
    elapsed = time.monotonic() - started
    doc = json.loads(proc.stdout)
    assert doc["exit_code"] == proc.returncode
    assert elapsed < 40, f"the process lived {elapsed:.0f} s after its answer"
    assert accepted, "the Hub probe never reached the black hole"


# ------------------------------------------------------------------ secrets from the target

SECRETS = {
    "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
    "OPENAI_API_KEY": "sk-proj-" + "A1b2C3d4E5" * 4,
    "AWS_ACCESS_KEY_ID": "AKIA" + "Q" * 16,
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN": "ghp_" + "Z9y8X7w6V5" * 4,
    "PIP_INDEX_URL": "https://build:idx-pass-123456@pypi.corp.example/simple",
    "HF_ENDPOINT": "https://mirror-user:hf_" + "M" * 34 + "@hf-mirror.example",
}
SECRET_VALUES = ["0123456789abcdef0123456789abcdef01234567", "A1b2C3d4E5" * 4, "Q" * 16,
                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Z9y8X7w6V5" * 4, "idx-pass-123456",
                 "M" * 34]


def test_a_target_that_prints_its_environment_leaks_nothing(base_venv, cli_env, tmp_path):
    python = clone_venv(base_venv, tmp_path / "chatty")
    site = next((tmp_path / "chatty").glob("lib/python*/site-packages"))
    (site / "sitecustomize.py").write_text(
        "import os, sys\n"
        "for k, v in sorted(os.environ.items()):\n"
        "    print(f'{k}={v}', file=sys.stderr); print(f'{k}={v}')\n")
    env = {**cli_env, **SECRETS}
    out = tmp_path / "smoke-out"
    smoke = cli(env, tmp_path, "smoke", "--tiny", "--json", "--python", str(python),
                "--output-dir", str(out))
    facts_file = tmp_path / "facts.json"
    facts = cli(env, tmp_path, "facts", "--offline", "--python", str(python), "-o", str(facts_file))
    check = cli(env, tmp_path, "check", "--offline", "--json", "-v", "--python", str(python))
    texts = {"smoke stdout": smoke.stdout, "smoke stderr": smoke.stderr,
             "facts stderr": facts.stderr, "facts file": facts_file.read_text(),
             "check stdout": check.stdout, "check stderr": check.stderr}
    texts.update({f"smoke file {p.name}": p.read_text(errors="replace")
                  for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".txt", ".md")})
    assert any("WANDB_API_KEY=" in t for t in texts.values()), "the target's output was not shown"
    leaked = {name: value for name, text in texts.items() for value in SECRET_VALUES if value in text}
    assert leaked == {}


def test_a_bare_aws_secret_in_a_smoke_result_stays_out_of_the_bundle(cli_env, tmp_path):
    result = tmp_path / "result.json"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    result.write_text(json.dumps({"schema": "csm-doctor/smoke/1", "status": "fail",
                                  "stderr_tail": [f"boto said {secret} was wrong"]}))
    bundle = tmp_path / "bundle"
    proc = cli(cli_env, tmp_path, "report", "--offline", "--smoke-result", str(result),
               "--output", str(bundle))
    assert proc.returncode in (0, 1), proc.stderr
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert files and not [p for p in files if secret in p.read_text(errors="replace")]


# ------------------------------------------------------------------ helpers

def _alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _processes_using(python: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(python) in " ".join(proc.info["cmdline"] or []) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(" ".join(proc.info["cmdline"]))
        except psutil.Error:
            continue
    return found

