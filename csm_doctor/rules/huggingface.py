"""Token presence, the ignored-variable trap, token validity and gated access."""

from __future__ import annotations

from typing import Any, Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule

SETTINGS = "https://huggingface.co/settings/tokens"
GATED_SETTINGS = "https://huggingface.co/settings/gated-repos"
# Access states that mean "valid token, no access", each with what to tell the user.
NO_ACCESS = {
    "not-requested": "access was never requested",
    "pending": "the access request is awaiting the authors' review",
    "rejected": "the access request was rejected by the repo's authors",
    "no-access": "this account has no access",
    "not-found": "the repo is not visible to this account",
}


def _repos(ctx: RuleContext) -> dict[str, dict[str, Any]]:
    """The Hub's answers for the gated repos this recipe uses (facts hold every recipe's)."""
    found = ctx.fact("hf.repos", {}) or {}
    return {repo: found[repo] for repo in ctx.recipe.gated_repos if repo in found}


def _login(ctx: RuleContext) -> str:
    """The login command of the CLI the target's huggingface_hub ships (hf from 0.34)."""
    from csm_doctor.remedy import hub_cli, hub_login

    return " ".join(hub_login(hub_cli((ctx.fact("packages") or {}).get("huggingface-hub"))))


@rule("hf_token")
def hf_token(ctx: RuleContext) -> Iterable[Finding]:
    if not ctx.recipe.gated_repos:
        yield ctx.skipped("the recipe needs no gated repos")
        return
    if ctx.need("hf.token_present"):
        source = ctx.fact("hf.token_source") or "saved token"
        where = source.replace("env:", "environment variable ") if source != "file" else "saved token file"
        yield ctx.passed(f"token found ({where})", observed=source)
    elif ctx.fact("hf.ignored_env"):
        yield ctx.skipped("a token is set, in a variable huggingface_hub ignores (see below)")
    else:
        yield ctx.failed("no Hugging Face token: the gated repos "
                         f"{', '.join(ctx.recipe.gated_repos)} cannot be downloaded",
                         fix=f"create a read token at {SETTINGS}, then `{_login(ctx)}` "
                             "(or set HF_TOKEN)")


@rule("hf_token_ignored_env")
def hf_token_ignored_env(ctx: RuleContext) -> Iterable[Finding]:
    ignored = ctx.fact("hf.ignored_env", [])
    names = ", ".join(ignored)
    if not ignored:
        yield ctx.passed("no token in variables huggingface_hub ignores")
    elif ctx.fact("hf.token_present"):
        yield ctx.warned(f"{names} is set but huggingface_hub never reads it; another token is "
                         "used", observed=ignored, fix="unset it, or export its value as HF_TOKEN")
    else:
        yield ctx.failed(f"{names} is set but huggingface_hub only reads HF_TOKEN", observed=ignored,
                         fix=f"export HF_TOKEN=\"${ignored[0]}\"  (Windows: setx HF_TOKEN ...)")


@rule("hf_token_valid")
def hf_token_valid(ctx: RuleContext) -> Iterable[Finding]:
    states = {r: v.get("state") for r, v in _repos(ctx).items()}
    if not ctx.fact("hf.token_present"):
        yield ctx.skipped("no token to validate")
    elif any(s == "token-invalid" for s in states.values()):
        yield ctx.failed("the Hub rejects the token (expired, revoked or mistyped)",
                         fix=f"create a new read token at {SETTINGS} and `{_login(ctx)}` again")
    elif any(s in ("granted", "not-found") or s in NO_ACCESS for s in states.values()):
        yield ctx.passed("the Hub accepts the token")
    else:
        yield ctx.skipped("the token was not checked (offline or Hub unreachable)")


@rule("hf_gated_access")
def hf_gated_access(ctx: RuleContext) -> Iterable[Finding]:
    repos = _repos(ctx)
    if not ctx.recipe.gated_repos:
        yield ctx.skipped("the recipe needs no gated repos")
        return
    for repo in ctx.recipe.gated_repos:
        info = repos.get(repo) or {"state": "not-checked"}
        state = info.get("state")
        page = f"https://huggingface.co/{repo}"
        if state == "granted":
            yield ctx.passed(f"{repo}: access granted", subject=repo, observed=state)
        elif state in NO_ACCESS:
            yield ctx.failed(f"{repo}: {NO_ACCESS[state]}", subject=repo, observed=state,
                             fix=_access_fix(repo, state, page))
        elif state == "error":
            yield ctx.warned(f"{repo}: access could not be checked: {info.get('detail')}",
                             subject=repo, observed=state, fix=None)
        else:
            why = {"no-token": "no token", "token-invalid": "the token is rejected",
                   "unreachable": "the Hub is unreachable", "offline": "offline"}.get(
                state or "", "offline (--offline)" if ctx.fact("hf.offline") else "not checked")
            yield ctx.skipped(f"{repo}: not checked ({why})", subject=repo, observed=state)


@rule("hf_reachable")
def hf_reachable(ctx: RuleContext) -> Iterable[Finding]:
    repos = _repos(ctx)
    unreachable = {r: v for r, v in repos.items() if v.get("state") == "unreachable"}
    if ctx.fact("hf.offline"):
        yield ctx.skipped("offline: the Hub was not contacted")
    elif unreachable:
        cached = [r for r, v in unreachable.items() if v.get("cached")]
        missing = [r for r in unreachable if r not in cached]
        details = [f"cached locally: {', '.join(cached) or 'none'}",
                   f"not cached: {', '.join(missing) or 'none'}"]
        yield ctx.warned(f"the Hub ({ctx.fact('hf.endpoint')}) cannot be reached",
                         observed=next(iter(unreachable.values())).get("detail"),
                         details=details)
    elif repos:
        yield ctx.passed(f"{ctx.fact('hf.endpoint')} answered")
    else:
        yield ctx.skipped("no Hub request was needed")


def _access_fix(repo: str, state: str, page: str) -> str:
    if state == "pending":
        return f"wait for the authors' approval ({GATED_SETTINGS} shows the state)"
    if state == "rejected" and repo.startswith("meta-llama/"):
        return (f"the tokenizer is also published ungated as unsloth/{repo.split('/', 1)[1]}: "
                "point the loader there (csm issue #99)")
    if state == "rejected":
        return f"contact the authors of {repo}, or use a recipe that does not need it"
    return f"request access at {page} (log in, accept the terms), then wait for approval"
