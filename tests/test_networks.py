"""Networks as they are: real indexes on 127.0.0.1, a closed port, a black hole.

- A "simple" index is a folder served by http.server (its directory listing is
  the link page pip and uv read), holding wheels the test writes.
- A closed port is a port that was bound and released; a black hole is a
  listening socket that never answers (the connection opens, no reply comes).
- uv and pip get the same plan against the same two indexes and must install
  the same versions (uv's first-index strategy would pick the older one).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from fix_support import clone_venv, installed, make_base_venv, run_fix, write_recipe, write_wheel

from csm_doctor.parsers.netfail import error_reason, index_urls, network_error
from csm_doctor.probes.indexes import host_of, probe_url

ROOT_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "logs" / "index-unreachable"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """http://127.0.0.1:PORT serving `folder` (a PEP 503 index when it holds simple/NAME/)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A port that accepts connections into its backlog and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def index_folder(root: Path, wheels: dict[str, list[tuple[str, tuple[str, ...]]]]) -> Path:
    for name, versions in wheels.items():
        for version, requires in versions:
            write_wheel(root / "simple" / name, name, version, requires=requires)
    return root


# ------------------------------------------------------------------ the probe

def test_probe_tells_reachable_closed_and_silent_hosts_apart(tmp_path: Path):
    (tmp_path / "simple").mkdir()
    with serve(tmp_path) as url:
        ok = probe_url(url + "/simple")
        missing = probe_url(url + "/nothing-here")  # a 404 is an answer: reachable
    assert ok["reachable"] and missing["reachable"]
    port = closed_port()
    refused = probe_url(f"http://127.0.0.1:{port}/simple", timeout=2)
    assert refused["reachable"] is False and "refused" in refused["error"].lower()
    assert refused["host"] == f"127.0.0.1:{port}"
    with black_hole() as hole:
        started = time.perf_counter()
        silent = probe_url(f"http://127.0.0.1:{hole}/simple", timeout=1)
        took = time.perf_counter() - started
    assert silent["reachable"] is False and silent["error"] == "no answer within 1 s"
    assert took < 5  # bounded: never hangs on a host that does not answer


def test_credentials_in_an_index_url_are_neither_sent_nor_shown():
    port = closed_port()
    result = probe_url(f"https://user:s3cret@127.0.0.1:{port}/simple", timeout=2)
    assert "s3cret" not in repr(result) and result["host"] == f"127.0.0.1:{port}"
    assert host_of("file:///opt/pypi/simple") == "/opt/pypi/simple"


def test_real_pip_logs_name_the_failure_and_the_indexes():
    text = (ROOT_FIXTURES / "kohya-ss-issue249-connect-timeout.txt").read_text(encoding="utf-8")
    line = network_error(text)
    assert line and "ConnectTimeoutError" in line
    assert error_reason(line) == "Connection to download.pytorch.org timed out"
    assert index_urls(text) == ["https://pypi.org/simple", "https://download.pytorch.org/whl/cu116"]
    dns = (ROOT_FIXTURES / "pytorch-issue51723-name-resolution.txt").read_text(encoding="utf-8")
    assert error_reason(network_error(dns) or "") == "[Errno -3] Temporary failure in name resolution"
    assert network_error("ERROR: No matching distribution found for torch==9.9") is None


# ------------------------------------------------------------------ check and fix

TORCH_RECIPE = """\
torch:
  version: "2.13.0"
  index_url: http://127.0.0.1:{port}/whl/{{variant}}
"""


@pytest.fixture
def net_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    cli_env = {k: v for k, v in cli_env.items() if not k.startswith("PIP_")}
    return {**cli_env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_RETRIES": "0", "PIP_TIMEOUT": "5", "HF_HUB_OFFLINE": "1",
            "CSM_DOCTOR_STATE_DIR": str(tmp_path / "state")}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_base_venv(tmp_path_factory.mktemp("net-base") / "venv").parent.parent


def test_check_names_the_unreachable_torch_index(run_cli, net_env, tmp_path):
    port = closed_port()
    recipe = write_recipe(tmp_path, [{"name": "torch", "spec": "==2.13.0", "index": "pytorch"}],
                          extra=TORCH_RECIPE.format(port=port))
    with serve(index_folder(tmp_path / "idx", {"fixa": [("1.0", ())]})) as url:
        run = run_cli("check", "--json", "--recipe", str(recipe),
                      env={**net_env, "PIP_INDEX_URL": url + "/simple"})
    doc = run.json()
    [found] = [f for f in doc["findings"] if f["id"] == "index-unreachable" and f["status"] != "pass"]
    assert found["subject"] == f"127.0.0.1:{port}"
    assert "PyTorch's index" in found["title"] and "refused" in found["title"].lower()
    offline = run_cli("check", "--json", "--offline", "--recipe", str(recipe), env=net_env).json()
    assert offline["facts"]["probes"]["indexes"]["status"] == "skipped"


def test_fix_step_names_the_host_not_pips_resolver(net_env, tmp_path, base):
    port = closed_port()
    target = clone_venv(base, tmp_path / "target")
    recipe = write_recipe(tmp_path, [{"name": "torch", "spec": "==2.13.0", "index": "pytorch"}],
                          extra=TORCH_RECIPE.format(port=port))
    with serve(index_folder(tmp_path / "idx", {"fixa": [("1.0", ())]})) as url:
        run = run_fix({**net_env, "PIP_INDEX_URL": url + "/simple"}, "--yes", "--json", "--offline",
                      "--installer", "pip", "--recipe", str(recipe), "--python", str(target))
    doc = run.json()
    assert run.code == 1, run.stderr
    [step] = [s for s in doc["plan"] if s["runs"]]
    assert f"--extra-index-url http://127.0.0.1:{port}/whl/cpu" in step["command"]  # added, not substituted
    assert "--index-url" not in step["command"].replace("--extra-index-url", "")
    [result] = doc["results"]
    assert result["status"] == "failed" and result["finding_id"] == "index-unreachable"
    assert result["message"].startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert "refused" in result["message"].lower()


# ------------------------------------------------------------------ uv and pip agree

@pytest.mark.slow
def test_uv_and_pip_install_the_same_versions_for_the_same_plan(net_env, tmp_path, base, uv_exe,
                                                                fake_bin):
    # The primary index has the newer releases; the extra one (a stale mirror) older ones.
    primary = index_folder(tmp_path / "primary", {
        "fixformers": [("5.25.0", ("fixhub>=2",)), ("5.17.0", ("fixhub>=1",))],
        "fixhub": [("2.4.0", ()), ("1.33.0", ())]})
    stale = index_folder(tmp_path / "stale", {
        "fixformers": [("5.17.0", ("fixhub>=1",))], "fixhub": [("1.33.0", ())]})
    recipe = write_recipe(tmp_path, [{"name": "fixformers", "spec": ">=5"}])
    fake_bin("uv", f'exec "{uv_exe}" "$@"\n')
    versions = {}
    with serve(primary) as first, serve(stale) as second:
        env = {**net_env, "PIP_INDEX_URL": first + "/simple", "PIP_EXTRA_INDEX_URL": second + "/simple"}
        for tool in ("pip", "uv"):
            target = clone_venv(base, tmp_path / f"target-{tool}")
            run = run_fix(env, "--yes", "--json", "--offline", "--installer", tool, "--recipe",
                          str(recipe), "--python", str(target))
            assert run.code == 0, run.stderr
            argv = run.json()["plan"][0]["argv"]
            now = installed(target)
            versions[tool] = (now["fixformers"], now["fixhub"])
    assert versions["pip"] == ("5.25.0", "2.4.0")
    assert versions["uv"] == versions["pip"]
    assert argv[argv.index("--index-strategy") + 1] == "unsafe-best-match"  # uv's, last run
