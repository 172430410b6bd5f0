"""Hugging Face token and gated-repo access, without ever holding the token in facts.

The token is looked up the way huggingface_hub documents it (environment,
then the token file), without importing it; facts
record only whether one exists and where it came from. Access to every gated
repo of the built-in recipes (and of a user recipe) is asked with `auth_check`
unless offline, so the facts serve any recipe on replay; the Hub's wording
separates never-requested, pending and rejected requests. An unreachable Hub
is a state, not a crash.
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


def hf_home() -> Path:
    """HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (huggingface_hub's rule)."""
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def token_file() -> Path:
    """Where `hf auth login` stores the token: HF_TOKEN_PATH, else HF_HOME/token."""
    path = os.environ.get("HF_TOKEN_PATH")
    return Path(path).expanduser() if path else hf_home() / "token"


def token_source() -> tuple[str | None, str | None]:
    """(token, where it came from), read as huggingface_hub documents it, without importing it.

    HF_TOKEN, then HUGGING_FACE_HUB_TOKEN (empty counts as unset), then the token file.
    Importing huggingface_hub costs ~75 ms, a quarter of an offline check. The token
    stays in this process's memory only.
    """
    for var in READ_TOKEN_VARS:
        value = (os.environ.get(var) or "").strip()
        if value:
            return value, f"env:{var}"
    try:
        value = token_file().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, None
    return (value, "file") if value else (None, None)


def repo_cached(repo: str, cache: Path | None = None) -> bool:
    folder = (cache or hf_cache_dir()) / ("models--" + repo.replace("/", "--")) / "snapshots"
    return folder.is_dir() and any(folder.iterdir())


# The Hub's 403 GatedRepo wording tells the request states apart (auth-check and resolve).
GATED_WORDING = (("awaiting a review", "pending"), ("has been rejected", "rejected"),
                 ("not in the authorized list", "not-requested"))


def classify_access_error(exc: BaseException) -> tuple[str, str]:
    """Map a huggingface_hub/requests/httpx exception to an access state."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(getattr(exc, "response", None), "status_code", None)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = (lines[-1] if lines else type(exc).__name__)[:200]
    if "GatedRepoError" in names:
        if status == 401:
            return "no-token", text
        lowered = str(exc).lower()
        state = next((s for phrase, s in GATED_WORDING if phrase in lowered), "no-access")
        return state, text
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


def check_repo(repo: str, token: str | None, endpoint: str) -> tuple[str, str | None]:
    """One `auth-check` request; the endpoint is passed explicitly because
    huggingface_hub reads HF_ENDPOINT only once, at import."""
    from huggingface_hub import HfApi

    try:
        HfApi(endpoint=endpoint).auth_check(repo, token=token or False)
    except Exception as exc:  # noqa: BLE001 - every failure is a state to report
        return classify_access_error(exc)
    return "granted", None


def check_repos(repos: tuple[str, ...], token: str | None, endpoint: str) -> dict[str, tuple]:
    """Ask about every repo at once: the probe's time is one round trip, not N.

    Daemon threads, not an executor: behind a proxy that accepts and never
    answers, an executor's workers are joined at exit and hold the process for
    minutes after the report; these are abandoned with the probe at its deadline.
    """
    import threading

    answers: dict[str, tuple] = {}

    def ask(repo: str) -> None:
        answers[repo] = check_repo(repo, token, endpoint)

    threads = [threading.Thread(target=ask, args=(repo,), daemon=True, name=f"hub-{repo}")
               for repo in repos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {repo: answers.get(repo, ("error", "no answer")) for repo in repos}


def probe_hf(ctx: ProbeContext) -> dict[str, Any]:
    token, source = token_source()
    offline = ctx.offline or _truthy(os.environ.get("HF_HUB_OFFLINE"))
    endpoint = (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    gated = ctx.gated_repos
    answers = {} if offline else check_repos(gated, token, endpoint)
    repos = {repo: {"state": answers.get(repo, ("not-checked", "offline"))[0],
                    "detail": answers.get(repo, ("not-checked", "offline"))[1],
                    "cached": repo_cached(repo)} for repo in gated}
    return {"hf": {
        "token_present": token is not None,
        "token_source": source,
        "ignored_env": [v for v in IGNORED_TOKEN_VARS if os.environ.get(v)],
        "offline": offline,
        "endpoint": endpoint,
        "repos": repos,
    }}
