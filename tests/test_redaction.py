"""The redactor: each kind of secret and personal detail, and what it must leave alone.

Secrets are generated per run (nothing token-shaped is committed to the repository).
"""

from __future__ import annotations

import json
import random
import string
import uuid

import pytest
from conftest import FIXTURES

from csm_doctor.report.redact import (
    REDACTED,
    Redactor,
    is_secret_env_name,
    is_secret_name,
)

RNG = random.Random()


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


def fresh() -> dict[str, str]:
    return {
        "hf": "hf_" + rand(ALNUM, 34),
        "gh": "ghp_" + rand(ALNUM, 36),
        "sk": "sk-" + rand(ALNUM, 40),
        "wandb": rand("0123456789abcdef", 40),
        "aws_id": "AKIA" + rand(string.ascii_uppercase + string.digits, 16),
        "aws_secret": rand(ALNUM + "/+", 40),
        "bearer": rand(ALNUM, 32),
        "url_pass": rand(ALNUM, 24),
        "query": rand(ALNUM, 24),
        "password": rand(ALNUM, 20),
        "gpu_uuid": f"GPU-{uuid.uuid4()}",
        "serial": "1652" + rand(string.digits, 9),
    }


@pytest.fixture
def s() -> dict[str, str]:
    return fresh()


def redact(text: str, **kwargs) -> tuple[str, dict[str, int]]:
    redactor = Redactor(**kwargs)
    out = redactor.text(text)
    return out, dict(redactor.counts)


@pytest.mark.parametrize("template,kind", [
    ("Token: {hf}", "Hugging Face token"),
    ("git clone https://{gh}@github.com/me/x", "credentials in a URL"),
    ("GITHUB_PAT {gh} in prose", "GitHub token"),
    ("OPENAI key {sk}", "API key (sk-…)"),
    ("wandb login {wandb}", "40-hex key (W&B)"),
    ("the key {password} leaked", "secret variable value"),
    ("{aws_id}", "AWS access key"),
    ("aws_secret_access_key = {aws_secret}", "AWS secret key"),
    ("Authorization: Bearer {bearer}", "bearer token"),
    ("proxy https://alice:{url_pass}@proxy.example.com:3128", "credentials in a URL"),
    ("GET https://cdn.example.com/w.bin?token={query}&x=1", "token in a URL query"),
    ("export MY_SERVICE_PASSWORD={password}", "secret variable value"),
    ('{{"HF_TOKEN": "{password}"}}', "secret variable value"),
    ("python train.py --api_key {password}", "secret variable value"),
    ("GPU 0: NVIDIA H100 (UUID: {gpu_uuid})", "GPU UUID"),
    ("    Serial Number                         : {serial}", "serial number"),
    ("<serial>{serial}</serial>", "serial number"),
])
def test_each_kind(template: str, kind: str, s: dict[str, str]):
    text = template.format(**s)
    out, counts = redact(text)
    assert counts.get(kind), (out, counts)
    for value in s.values():
        if value in text and value not in ("proxy", "x"):
            assert value not in out, (kind, out)


def test_home_directories_become_tilde():
    text = ('File "/home/alice/csm/generator.py", line 5\n'
            r'  File "C:\Users\Даниил\Downloads\app.py"' + "\n"
            r"'C:\\Users\\bob\\AppData\\Local\\Temp\\torchinductor_bob'" + "\n"
            "/Users/carol/Library/Caches and /srv/me/home (not a home)\n"
            "/opt/me/really/home/x")
    out, counts = redact(text, home="/opt/me/really")
    assert "alice" not in out and "Даниил" not in out and "\\\\bob" not in out and "carol" not in out
    assert "~/csm/generator.py" in out and r"~\Downloads" in out and "~/home/x" in out
    assert "/srv/me/home" in out
    assert counts["home directory"] == 5


def test_secret_values_of_this_process_are_removed_anywhere(s: dict[str, str]):
    environ = {"MY_API_KEY": s["password"], "PATH": "/usr/bin", "NO_TORCH_COMPILE": "1", "KEYLEN": "1"}
    out, counts = redact(f"connecting with {s['password']}-suffix to /usr/bin", environ=environ)
    assert s["password"] not in out and "/usr/bin" in out
    assert counts == {"value of a secret environment variable": 1}


def test_what_must_stay():
    keep = ("tokenizer_model=./model/Qwen2-Audio --max_new_tokens 512 token_present=True\n"
            "https://huggingface.co/x/resolve/8cde5ca8380496c9a6cc7ef3a8b46a0372a1d920/.gitattributes\n"
            "token=None hf_token=os.getenv(\"HF_TOKEN\") Token is valid (permission: fineGrained).\n"
            "    Serial Number                         : N/A\n"
            "git+https://github.com/SesameAILabs/silentcipher@master\n"
            "sha256 3f4a9b8c1d2e3f4a9b8c1d2e3f4a9b8c1d2e3f4a9b8c1d2e3f4a9b8c1d2e3f4a\n"
            "KMD Version : 590.48.01, Driver Version: 550.90.07, CUDA Version: 12.4")
    out, counts = redact(keep)
    assert out == keep, counts


def test_redacting_twice_changes_nothing(s: dict[str, str]):
    redactor = Redactor(home="/home/me")
    once = redactor.text(f"HF_TOKEN={s['hf']} at /home/me/x {s['gpu_uuid']}")
    before = dict(redactor.counts)
    assert redactor.text(once) == once and dict(redactor.counts) == before


def test_values_keep_their_types_and_facts_stay_loadable(tmp_path, s: dict[str, str]):
    from csm_doctor.facts import load_facts

    facts = json.loads((FIXTURES / "facts" / "h100-driver-550-csm-ready.json").read_text())
    facts["env"] = {"HF_TOKEN": s["hf"], "NO_TORCH_COMPILE": "1", "MyToken": s["password"],
                    "HF_ENDPOINT": f"https://u:{s['url_pass']}@mirror.example.com"}
    facts["nvidia"]["gpus"][0]["uuid"] = s["gpu_uuid"]
    facts["hf"] = {"token_present": True, "token_source": "env:HF_TOKEN"}
    redactor = Redactor()
    clean = redactor.value(facts)
    text = json.dumps(clean)
    assert s["hf"] not in text and s["url_pass"] not in text and s["gpu_uuid"] not in text
    assert s["password"] not in text
    assert clean["env"]["HF_TOKEN"] == clean["env"]["MyToken"] == REDACTED
    assert clean["env"]["NO_TORCH_COMPILE"] == "1"
    assert clean["hf"] == {"token_present": True, "token_source": "env:HF_TOKEN"}
    assert clean["nvidia"]["gpus"][0]["memory_total_mib"] == facts["nvidia"]["gpus"][0]["memory_total_mib"]
    path = tmp_path / "facts.json"
    path.write_text(text)
    load_facts(str(path))


def test_environment_keeps_names_drops_values(s: dict[str, str]):
    redactor = Redactor()
    shown = redactor.environment({"HF_TOKEN": s["hf"], "aws_secret_access_key": "x",
                                  "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"})
    assert shown == {"HF_TOKEN": REDACTED, "aws_secret_access_key": REDACTED,
                     "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}


def test_summary_names_kinds_and_counts_never_values(s: dict[str, str]):
    redactor = Redactor()
    redactor.text(f"{s['hf']} {s['hf']} {s['aws_id']}")
    summary = redactor.summary()
    assert summary == [{"kind": "AWS access key", "count": 1}, {"kind": "Hugging Face token", "count": 2}]
    assert s["hf"] not in json.dumps(summary)


@pytest.mark.parametrize("name,secret", [("HF_TOKEN", True), ("WANDB_API_KEY", True),
                                         ("aws_secret_access_key", True), ("db_password", True),
                                         ("MyToken", False), ("tokenizer_model", False),
                                         ("token_present", False), ("max_new_tokens", False)])
def test_secret_names(name: str, secret: bool):
    assert is_secret_name(name) is secret


def test_secret_environment_names_are_any_case_substrings():
    assert is_secret_env_name("MyToken") and is_secret_env_name("KEYRING_BACKEND")
    assert not is_secret_env_name("PATH")


@pytest.mark.parametrize("public", [True, False])
def test_prose_after_a_secret_word_is_left_alone(public: bool):
    text = "✗ no Hugging Face token: the gated repos sesame/csm-1b cannot be downloaded"
    assert Redactor(public=public).text(text) == text


def test_the_terminal_keeps_paths_and_commit_hashes_but_not_secrets(monkeypatch: pytest.MonkeyPatch,
                                                                     s: dict[str, str]):
    from csm_doctor.report.redact import redact_secrets

    monkeypatch.setenv("PIP_INDEX_URL", f"https://ci:{s['url_pass']}@pypi.corp.example/simple")
    monkeypatch.setenv("WANDB_API_KEY", s["wandb"])
    line = (f"pip install x @ git+https://github.com/a/b@{'ab12' * 10} from /home/me/.venv "
            f"password {s['url_pass']} key {s['wandb']}")
    out = redact_secrets(line)
    assert "ab12" * 10 in out and "/home/me/.venv" in out
    assert s["url_pass"] not in out and s["wandb"] not in out
