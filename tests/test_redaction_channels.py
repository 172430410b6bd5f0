"""No planted secret reaches stdout, stderr, JSON, Markdown or any file of a bundle.

Secrets go in through every input channel a real session has: the environment
(and the Hugging Face token file), a pasted log, a facts file, a recipe's path,
a smoke result. Every output is collected (the bundle unzipped) and searched
for each secret and for the home directory's path.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from test_redaction import fresh

READY = FIXTURES / "facts" / "h100-driver-550-csm-ready.json"


@pytest.fixture
def planted(tmp_path: Path, home: Path) -> dict:
    """Secrets, and an environment, inputs and a home directory that carry them."""
    s = fresh()
    env = {
        "HF_TOKEN": s["hf"], "WANDB_API_KEY": s["wandb"], "AWS_ACCESS_KEY_ID": s["aws_id"],
        "AWS_SECRET_ACCESS_KEY": s["aws_secret"], "MY_SERVICE_PASSWORD": s["password"],
        "HF_ENDPOINT": f"https://alice:{s['url_pass']}@127.0.0.1:9",
        "HTTPS_PROXY": f"http://bob:{s['url_pass']}@127.0.0.1:3",
    }
    token_file = home / ".cache" / "huggingface" / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("hf_" + fresh()["hf"][3:])
    s["token_file"] = token_file.read_text()

    secret_dir = home / f"work-{s['hf']}"
    secret_dir.mkdir()
    recipe = secret_dir / "recipe.yaml"
    shutil.copy(ROOT / "recipes" / "csm-1b.yaml", recipe)

    facts = json.loads(READY.read_text())
    facts["python"]["executable"] = str(home / ".venv" / "bin" / "python")
    facts["env"] = {"HF_TOKEN": s["hf"], "NO_TORCH_COMPILE": "1", "HF_ENDPOINT": env["HF_ENDPOINT"]}
    facts["nvidia"]["gpus"][0]["uuid"] = s["gpu_uuid"]
    facts["nvidia"]["gpus"][0]["serial"] = s["serial"]
    facts["torch"]["import_error"] = f"OSError: request failed: Authorization: Bearer {s['bearer']}"
    facts_file = secret_dir / "facts.json"
    facts_file.write_text(json.dumps(facts))

    smoke = {"schema": "csm-doctor/smoke/1", "status": "fail", "device": "cuda",
             "audio_path": str(home / "csm" / "out.wav"), "rtf": None,
             "findings": [{"id": "audio-silent-or-invalid", "status": "fail",
                           "title": f"upload to https://x.example/u?sig={s['query']} failed",
                           "fix": None, "details": [f"WANDB_API_KEY={s['wandb']}", s["gpu_uuid"],
                                                    f"aws {s['aws_id']} {s['gh']} {s['sk']}"]}]}
    smoke_file = secret_dir / "result.json"
    smoke_file.write_text(json.dumps(smoke))

    paste = secret_dir / "issue.md"
    paste.write_text(
        f"$ export HF_TOKEN={s['hf']}\n"
        f"$ git clone https://{s['gh']}@github.com/me/csm\n"
        f"GPU 0: NVIDIA GeForce RTX 4090 (UUID: {s['gpu_uuid']})\n"
        f"    Serial Number                         : {s['serial']}\n"
        f"requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: "
        f"https://alice:{s['url_pass']}@huggingface.co/sesame/csm-1b/resolve/main/config.json?token={s['query']}\n"
        f"Access to model sesame/csm-1b is restricted and you are not in the authorized list.\n"
        f'  File "{home}/csm/generator.py", line 172, in load_csm_1b\n'
        f"curl -H 'Authorization: Bearer {s['bearer']}' {s['aws_id']} {s['sk']} {s['password']}\n"
        f"wandb: W&B API key {s['wandb']}\n")
    return {"s": s, "env": env, "recipe": recipe, "facts": facts_file, "smoke": smoke_file,
            "paste": paste, "home": home}


def leaks(planted: dict, texts: dict[str, str]) -> list[str]:
    """(where, what) for every secret or home path found in any output."""
    found = []
    needles = dict(planted["s"])
    needles["home"] = str(planted["home"])
    for where, text in texts.items():
        for name, value in needles.items():
            if value and value in text:
                found.append(f"{name} in {where}")
    return found


def bundle_texts(path: Path) -> dict[str, str]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    return {p.name: p.read_text(encoding="utf-8") for p in path.iterdir()}


def test_report_from_planted_inputs(run_cli, planted: dict, tmp_path: Path):
    out = tmp_path / "bundle.zip"
    runs = {}
    for flag in ("--json", None):
        target = out if flag else tmp_path / "bundle-dir"
        args = ["report", "--facts", str(planted["facts"]), "--recipe", str(planted["recipe"]),
                "--smoke-result", str(planted["smoke"]), "-o", str(target)] + ([flag] if flag else [])
        result = run_cli(*args, env=planted["env"])
        assert result.code in (0, 1), result.stderr
        runs[f"stdout {flag}"], runs[f"stderr {flag}"] = result.stdout, result.stderr
        runs.update({f"{target.name}/{k}": v for k, v in bundle_texts(target).items()})
    assert len(runs) > 10
    assert leaks(planted, runs) == []
    summary = runs["bundle-dir/summary.md"]
    assert "value of a secret environment variable" in summary and "home directory" in summary
    kinds = {r["kind"] for r in json.loads(runs["bundle-dir/redactions.json"])["redactions"]}
    assert {"GPU UUID", "serial number", "bearer token", "credentials in a URL", "home directory",
            "token in a URL query", "value of a secret environment variable"} <= kinds


def test_report_probing_this_machine_with_planted_environment(run_cli, planted: dict, tmp_path: Path):
    target = tmp_path / "b"
    result = run_cli("report", "--offline", "--recipe", str(planted["recipe"]),
                     "--smoke-result", str(planted["smoke"]), "-o", str(target), "--json",
                     env=planted["env"], timeout=180)
    assert result.code in (0, 1), result.stderr
    texts = {"stdout": result.stdout, "stderr": result.stderr, **bundle_texts(target)}
    assert leaks(planted, texts) == []
    facts = json.loads(texts["facts.json"])
    assert facts["hf"]["token_present"] is True  # the token file was seen, never copied


def test_triage_of_a_planted_paste(run_cli, planted: dict):
    texts = {}
    for flag in ("--json", None):
        result = run_cli(*(["triage", str(planted["paste"])] + ([flag] if flag else [])),
                         env=planted["env"])
        assert result.code == 1, result.stderr
        texts[f"stdout {flag}"], texts[f"stderr {flag}"] = result.stdout, result.stderr
    assert leaks(planted, texts) == []
    doc = json.loads(texts["stdout --json"])
    assert doc["findings"][0]["id"] == "hf-gated-no-access"
    assert doc["source"] == "~/work-<redacted>/issue.md"
    evidence = json.dumps(doc["findings"])
    assert "https://alice:<redacted>@huggingface.co" in evidence and "token=<redacted>" in evidence


def test_error_messages_are_redacted_too(run_cli, planted: dict, tmp_path: Path):
    missing = planted["smoke"].parent / "nowhere.json"
    result = run_cli("report", "--facts", str(planted["facts"]), "--smoke-result", str(missing),
                     "-o", str(tmp_path / "b"), env=planted["env"])
    assert result.code == 2
    assert leaks(planted, {"stderr": result.stderr, "stdout": result.stdout}) == []
    assert "~/work-<redacted>/nowhere.json" in result.stderr
    bad_facts = run_cli("report", "--facts", str(planted["paste"]), "-o", str(tmp_path / "c"),
                        env=planted["env"])
    assert bad_facts.code == 2
    assert leaks(planted, {"stderr": bad_facts.stderr}) == []
