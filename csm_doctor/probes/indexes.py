"""Can the package indexes fix would install from be reached? One quick request each.

`check` probes them before fix needs them (skipped with --offline), and fix
asks again when an install step fails with a network error, so the result
names the host and the error instead of pip's "No matching distribution"
or "ResolutionImpossible". Any HTTP answer (even 401 or 404) means the host is
reachable; a refused connection, a DNS failure, a TLS error or silence past
the timeout means it is not. Credentials in an index URL are never sent here
and never printed: only the host is.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from csm_doctor.probes.base import ProbeContext, ProbeSkipped

REQUEST_TIMEOUT_S = 4.0
CONFIG_TIMEOUT_S = 10.0


def host_of(url: str) -> str:
    """host[:port] of an index URL, without credentials; the path for file:// URLs."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return urllib.parse.unquote(parts.path) or url
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def _without_credentials(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def probe_url(url: str, timeout: float = REQUEST_TIMEOUT_S) -> dict[str, Any]:
    """{"url", "host", "reachable", "error", "seconds"} for one index URL (HEAD request)."""
    started = time.perf_counter()
    clean = _without_credentials(url)
    result: dict[str, Any] = {"url": clean, "host": host_of(url), "reachable": True, "error": None}
    parts = urllib.parse.urlsplit(clean)
    try:
        if parts.scheme == "file":
            if not os.path.isdir(urllib.parse.unquote(parts.path)):
                result.update(reachable=False, error="no such folder")
        elif parts.scheme in ("http", "https"):
            request = urllib.request.Request(clean if clean.endswith("/") else clean + "/",
                                             method="HEAD",
                                             headers={"User-Agent": "csm-doctor (index probe)"})
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - http(s) only
                pass
        else:
            result.update(reachable=False, error=f"unsupported URL scheme {parts.scheme!r}")
    except urllib.error.HTTPError:
        pass  # the server answered: the host is reachable
    except urllib.error.URLError as exc:
        result.update(reachable=False, error=_reason(exc.reason, timeout))
    except (OSError, ValueError) as exc:
        result.update(reachable=False, error=_reason(exc, timeout))
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _reason(reason: Any, timeout: float) -> str:
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s"
    text = str(reason) or type(reason).__name__
    return text[:200]


def probe_urls(urls: list[str], timeout: float = REQUEST_TIMEOUT_S) -> list[dict[str, Any]]:
    """Every URL at once; each request is bounded by `timeout`."""
    unique = list(dict.fromkeys(u for u in urls if u))
    if not unique:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
        return list(pool.map(lambda u: probe_url(u, timeout), unique))


def fix_index_urls(ctx: ProbeContext) -> list[tuple[str, str]]:
    """(url, role) for the indexes fix would use: pip's configuration, then PyTorch's."""
    from csm_doctor.fix.installer import read_pip_config

    config = read_pip_config([ctx.python, sys.executable], timeout=ctx.timeout(CONFIG_TIMEOUT_S))
    found = [(url, "pip") for url in config.urls()]
    recipes = [ctx.recipe] if ctx.recipe is not None else ctx._recipes()
    for recipe in recipes:
        if any(p.index == "pytorch" for p in recipe.packages):
            found.append((recipe.torch_index_url.format(variant="cpu"), "pytorch"))
    seen: dict[str, str] = {}
    for url, role in found:
        seen.setdefault(url, role)
    return list(seen.items())


def probe_indexes(ctx: ProbeContext) -> dict[str, Any]:
    """The `indexes` facts section: every index fix would use, reachable or not and why."""
    if ctx.offline:
        raise ProbeSkipped("--offline: package indexes not contacted")
    pairs = fix_index_urls(ctx)
    roles = {url: role for url, role in pairs}
    results = probe_urls([url for url, _ in pairs], ctx.timeout(REQUEST_TIMEOUT_S))
    for item, (url, _) in zip(results, pairs):
        item["role"] = roles[url]
    return {"indexes": results}
