"""Hugging Face token and gated-repo access, without ever holding the token in facts.

The token is looked up the way huggingface_hub does (`get_token`); facts
record only whether one exists and where it came from. Access to each gated
repo the recipe names is asked with `auth_check` unless offline; an
unreachable Hub is a state, not a crash.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from csm_doctor.probes.base import ProbeContext
from csm_doctor.probes.system import hf_cache_dir

# Variables people set (the CSM setup guide says HUGGINGFACE_TOKEN) that huggingface_hub ignores.
IGNORED_TOKEN_VARS = ("HUGGINGFACE_TOKEN", "HUGGINGFACEHUB_API_TOKEN", "HF_API_TOKEN",
                      "HUGGINGFACE_HUB_TOKEN")
READ_TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
DEFAULT_ENDPOINT = "https://huggingface.co"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def token_source() -> tuple[str | None, str | None]:
    """(token, where it came from); the token stays in this process's memory only."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        return None, None
    for var in READ_TOKEN_VARS:
        if os.environ.get(var, "").strip() == token:
            return token, f"env:{var}"
    return token, "file"


def repo_cached(repo: str, cache: Path | None = None) -> bool:
    folder = (cache or hf_cache_dir()) / ("models--" + repo.replace("/", "--")) / "snapshots"
    return folder.is_dir() and any(folder.iterdir())


def classify_access_error(exc: BaseException) -> tuple[str, str]:
    """Map a huggingface_hub/requests/httpx exception to an access state."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(getattr(exc, "response", None), "status_code", None)
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if "GatedRepoError" in names:
        return ("no-token" if status == 401 else "no-access"), text
    if "RepositoryNotFoundError" in names:
        return ("token-invalid" if status == 401 else "not-found"), text
    if "OfflineModeIsEnabled" in names:
        return "offline", text
    if status == 401:
        return "token-invalid", text
    if names & {"ConnectError", "ConnectionError", "ConnectTimeout", "Timeout", "TimeoutException",
                "ReadTimeout", "NetworkError", "ProxyError", "SSLError", "TransportError"}:
        return "unreachable", text
    return "error", text


def check_repo(repo: str, token: str | None) -> tuple[str, str | None]:
    from huggingface_hub import auth_check

    try:
        auth_check(repo, token=token or False)
    except Exception as exc:  # noqa: BLE001 - every failure is a state to report
        return classify_access_error(exc)
    return "granted", None


def probe_hf(ctx: ProbeContext) -> dict[str, Any]:
    token, source = token_source()
    offline = ctx.offline or _truthy(os.environ.get("HF_HUB_OFFLINE"))
    repos: dict[str, dict[str, Any]] = {}
    gated = ctx.recipe.gated_repos if ctx.recipe else ()
    for repo in gated:
        if offline:
            state, detail = "not-checked", "offline"
        else:
            state, detail = check_repo(repo, token)
        repos[repo] = {"state": state, "detail": detail, "cached": repo_cached(repo)}
    return {"hf": {
        "token_present": token is not None,
        "token_source": source,
        "ignored_env": [v for v in IGNORED_TOKEN_VARS if os.environ.get(v)],
        "offline": offline,
        "endpoint": os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT,
        "repos": repos,
    }}
