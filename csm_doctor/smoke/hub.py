"""Before loading real weights: are they cached, and can the Hub be reached? Answered in seconds.

Left alone, transformers retries an unreachable Hub for about 23 s per file
and 139 s for CSM's processor before saying why. So the doctor looks first:
every needed file cached and the Hub unreachable (or `--offline`) means the
target runs with `HF_HUB_OFFLINE=1`; a file missing means one `auth-check`
per repo, bounded by a deadline, whose answer names the cause (unreachable,
no token, no access to the gated repo) before any model code starts.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from csm_doctor.catalogue import hub_state_diagnosis
from csm_doctor.findings import Finding, Status
from csm_doctor.smoke.judge import finding

# Each need is (repo, groups of alternatives: one file of each group must be cached).
TRANSFORMERS_FILES: tuple[tuple[str, ...], ...] = (
    ("config.json",), ("model.safetensors", "model.safetensors.index.json"),
    ("tokenizer_config.json",), ("tokenizer.json",),
)
# The official generator: CSM weights, the Llama-3.2 tokenizer, moshi's Mimi
# (moshi.models.loaders DEFAULT_REPO / MIMI_NAME).
OFFICIAL_NEEDS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("sesame/csm-1b", (("config.json",), ("model.safetensors",))),
    ("meta-llama/Llama-3.2-1B", (("tokenizer.json",), ("tokenizer_config.json",))),
    ("kyutai/moshiko-pytorch-bf16", (("tokenizer-e351c8d8-checkpoint125.safetensors",),)),
)
DEADLINE_S = 8.0

_STATE_WORDS = {"no-token": "is gated and no Hugging Face token is available",
                "token-invalid": "rejects the Hugging Face token (expired, revoked or malformed)",
                "not-requested": "is gated: this account never requested access",
                "pending": "is gated: the access request is still pending",
                "rejected": "is gated: the access request was rejected",
                "no-access": "is gated: this account has no access",
                "not-found": "does not exist on the Hub"}


@dataclass
class HubPlan:
    """What the target's environment needs, and any problem that stops the run before it starts."""

    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def missing_files(repo: str, groups: tuple[tuple[str, ...], ...]) -> list[str]:
    """The groups with no file in the local cache (the cache the target will read)."""
    from huggingface_hub import try_to_load_from_cache

    from csm_doctor.probes.system import hf_cache_dir

    cache = str(hf_cache_dir())
    missing = []
    for alternatives in groups:
        if not any(isinstance(try_to_load_from_cache(repo, name, cache_dir=cache), str)
                   for name in alternatives):
            missing.append(" or ".join(alternatives))
    return missing


def ask_hub(repos: list[str], endpoint: str, deadline: float = DEADLINE_S) -> dict[str, tuple[str, str | None]]:
    """One auth-check per repo, all at once, none waited on past the deadline (a black-holed
    network would otherwise hold the doctor); daemon threads cannot keep the process alive."""
    from csm_doctor.probes.hf import check_repo, token_source

    token, _ = token_source()
    answers: dict[str, tuple[str, str | None]] = {}

    def ask(repo: str) -> None:
        answers[repo] = check_repo(repo, token, endpoint)

    threads = [threading.Thread(target=ask, args=(repo,), daemon=True) for repo in repos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline))
    for repo in repos:
        answers.setdefault(repo, ("unreachable", f"no answer within {deadline:g} s"))
    return answers


def plan_hub_access(needs: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...],
                    offline: bool, deadline: float = DEADLINE_S) -> HubPlan:
    plan = HubPlan()
    endpoint = (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    offline = offline or truthy(os.environ.get("HF_HUB_OFFLINE"))
    missing = {repo: files for repo, groups in needs if (files := missing_files(repo, groups))}
    if not missing:
        if offline:
            plan.env["HF_HUB_OFFLINE"] = "1"
            plan.notes.append("weights cached; loading offline")
            return plan
        first = needs[0][0]
        state, _ = ask_hub([first], endpoint, deadline)[first]
        if state != "granted":  # what is on disk is enough; a refusing Hub would stop the load
            plan.env["HF_HUB_OFFLINE"] = "1"
            why = "cannot be reached" if state == "unreachable" else f"answers {state} for {first}"
            plan.notes.append(f"{endpoint} {why}; weights cached, loading offline")
        return plan
    if offline:
        for repo, files in missing.items():
            plan.findings.append(finding(
                "checkpoint-missing", Status.FAIL,
                f"{repo} is not in the Hugging Face cache and downloads are off (offline)",
                "smoke-checkpoint", subject=repo, details=[f"missing: {f}" for f in files],
                fix=f"download it while online (`hf download {repo}`), or run without --offline / "
                    "HF_HUB_OFFLINE"))
        return plan
    answers = ask_hub(list(missing), endpoint, deadline)
    for repo, (state, detail) in answers.items():
        if state not in _STATE_WORDS and state != "unreachable":
            continue  # granted, or an answer we cannot read: let the download try
        diagnosis = hub_state_diagnosis(state, "checkpoint-missing")
        if state == "unreachable":
            title = f"the Hugging Face Hub ({endpoint}) cannot be reached and {repo} is not cached"
        else:
            title = f"{repo} {_STATE_WORDS[state]}"
        plan.findings.append(finding(diagnosis, Status.FAIL, title, "smoke-checkpoint",
                                     subject=repo, observed=state,
                                     details=[d for d in (detail,) if d] +
                                     [f"not cached: {f}" for f in missing[repo]]))
    if not plan.findings:
        plan.notes.append("downloading " + ", ".join(missing) + " (about 6 GB for CSM-1B)")
    return plan
