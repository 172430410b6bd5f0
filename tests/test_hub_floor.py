"""csm-doctor against the oldest huggingface_hub its pyproject allows, installed for real.

The floor must have everything the code calls: `HfApi.auth_check` (gated access,
probes/hf.py) first shipped in 0.25 (0.24.7 lacks it), and the download path's
`get_hf_file_metadata`, `hf_hub_url`, `build_hf_headers` and `hf_hub_download`.
A venv gets exactly the floor version from the package registry (skipped, saying
why, when it cannot), then runs the access check and a resumable, verified
download against tests/hub_server.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest
from conftest import ROOT

SCRIPT = textwrap.dedent("""
    import hashlib, os, sys, tempfile
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], os.path.join(sys.argv[1], "tests")]
    from hub_server import FakeHub, VALID_TOKEN
    import huggingface_hub
    from csm_doctor.probes.hf import check_repo
    from csm_doctor.fix.download import fetch_files, repo_folder
    data = bytes(range(256)) * 8192 + b"tail"
    with FakeHub() as hub, tempfile.TemporaryDirectory() as cache:
        hub.add_file("sesame/csm-1b", "model.safetensors", data)
        hub.repos = {"sesame/csm-1b": "pending"}
        print("version", huggingface_hub.__version__)
        print("anonymous", check_repo("sesame/csm-1b", None, hub.url)[0])
        print("pending", check_repo("sesame/csm-1b", VALID_TOKEN, hub.url)[0])
        hub.repos = {"sesame/csm-1b": "granted"}
        hub.cut_after["model.safetensors"] = 1000000
        [out] = fetch_files("sesame/csm-1b", ["model.safetensors"], cache_dir=Path(cache),
                            endpoint=hub.url, token=VALID_TOKEN)
        blob = repo_folder(Path(cache), "sesame/csm-1b") / "blobs" / hashlib.sha256(data).hexdigest()
        print("download", out.status, blob.read_bytes() == data)
        ranges = [g["range"] for g in hub.gets("model.safetensors")]
        print("resumed", ranges[0] is None and ranges[1].startswith("bytes=1"))
""")


def floor() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'"huggingface_hub>=([0-9.]+)"', text).group(1)


@pytest.mark.slow
def test_the_lowest_allowed_huggingface_hub_does_everything_the_code_asks(tmp_path: Path):
    version = floor()
    assert tuple(int(x) for x in version.split(".")) >= (0, 25)  # auth_check
    prefix = tmp_path / "venv"
    venv.create(prefix, with_pip=True)
    python = prefix / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    got = subprocess.run([str(python), "-m", "pip", "install", "-q", f"huggingface_hub=={version}"],
                         capture_output=True, text=True, timeout=600)
    if got.returncode != 0:
        pytest.skip(f"huggingface_hub=={version} is not installable here: {got.stderr[-300:]}")
    run = subprocess.run([str(python), "-c", SCRIPT, str(ROOT)], capture_output=True, text=True,
                         timeout=300, env={"PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf")})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    from packaging.version import Version

    assert Version(lines["version"]) == Version(version)
    assert lines["anonymous"] == "no-token" and lines["pending"] == "pending"
    assert lines["download"] == "downloaded True" and lines["resumed"] == "True"
