"""Network failures in pip's and uv's output: the line that says a host could not be reached.

pip (urllib3) retries an index it cannot reach with "WARNING: Retrying ... after
connection broken by 'NewConnectionError(...: Failed to establish a new
connection: [Errno 111] Connection refused')': /simple/torch/" and then ends
with "No matching distribution"; uv says "error sending request for url
(URL)" with "Caused by:" lines. Pure text in, never raises.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(
    r"Failed to establish a new connection|ConnectTimeoutError|NameResolutionError|"
    r"Max retries exceeded with url|ProxyError|Could not fetch URL|"
    r"error sending request for url|tcp connect error|dns error|Network is unreachable|"
    r"Temporary failure in name resolution|Name or service not known|getaddrinfo failed")
_ERRNO = re.compile(r"\[Errno [^\]]+\][^'\")\n]*|(?:os error \d+)|Connection to \S+ timed out|"
                    r"Temporary failure in name resolution|Name or service not known")
_LOOKING = re.compile(r"^Looking in (?:indexes|links): (.+)$", re.M)
_URL = re.compile(r"\b(?:https?|file)://[^\s'\"`)<>,]+")


def network_error(output: str) -> str | None:
    """The most telling network-error line of an install's output, None when there is none."""
    for line in (output or "").splitlines():
        if _MARKERS.search(line):
            return line.strip()[:400]
    return None


def error_reason(line: str) -> str:
    """"[Errno 111] Connection refused" out of a long urllib3/uv line; the line when unknown."""
    found = _ERRNO.search(line or "")
    return found.group(0).strip() if found else (line or "").strip()[:200]


def index_urls(output: str, argv: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every index an install read: its --index-url/--extra-index-url/-i options, and pip's
    "Looking in indexes:" line (the configured ones that are not on the command line)."""
    urls: list[str] = []
    words = list(argv)
    for i, word in enumerate(words[:-1]):
        if word in ("--index-url", "-i", "--extra-index-url", "--index"):
            urls.append(words[i + 1])
    for match in _LOOKING.finditer(output or ""):
        urls += [u.strip() for u in match.group(1).split(",") if u.strip()]
    return list(dict.fromkeys(u for u in urls if _URL.match(u)))


def urls_in(line: str) -> list[str]:
    return _URL.findall(line or "")
