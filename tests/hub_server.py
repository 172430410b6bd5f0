"""A local HTTP server speaking the parts of the Hugging Face Hub protocol csm-doctor uses.

Tests point `HF_ENDPOINT` at it. Gated-access answers use the Hub's real status
codes, `X-Error-Code` headers and wording (as seen in public logs of
`auth-check` and `resolve` requests):

- anonymous on a gated repo: 401 GatedRepo "… Please log in."
- invalid token: 401 "Invalid credentials in Authorization header"
- logged in, never requested: 403 GatedRepo "… not in the authorized list …"
- logged in, pending: 403 GatedRepo "… awaiting a review from the repo authors."
- logged in, rejected: 403 GatedRepo "… has been rejected by the repo's authors."
- unknown repo: 404 RepoNotFound

Files (`add_file`) are served the way `hf_hub_download` reads them:
`HEAD`/`GET {endpoint}/{repo}/resolve/{revision}/{filename}` answer `X-Repo-Commit`,
an `ETag` (the git blob sha1 for regular files; for LFS files the sha256, also as
`X-Linked-Etag` with `X-Linked-Size`), `Content-Length` and `Accept-Ranges`; a
`Range: bytes=N-` GET answers 206 with `Content-Range`. Gated repos (those in
`repos`) need the valid token there too; other repos with files are public. With
`cdn=True`, LFS files redirect (302) to another origin (`localhost` instead of
`127.0.0.1`), as the Hub sends them to its CDN, where they are served without
authentication. Faults for tests: `cut_after[filename] = N` (the next full GET
sends N bytes, then drops the connection), `corrupt[filename] = K` (the next K
GETs serve flipped bytes under the right ETag), `declared_size[filename] = N`
(X-Linked-Size lies). `calls` records every request's method, path, Range and
whether it carried a token.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

VALID_TOKEN = "hf_validTESTtokenABCDEFGHIJKLMNOPQRSTUV"
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".model")

MESSAGES = {
    "anonymous": "Access to model {repo} is restricted. You must have access to it and be "
                 "authenticated to access it. Please log in.",
    "not-requested": "Access to model {repo} is restricted and you are not in the authorized list. "
                     "Visit https://huggingface.co/{repo} to ask for access.",
    "pending": "Your request to access model {repo} is awaiting a review from the repo authors.",
    "rejected": "Your request to access model {repo} has been rejected by the repo's authors.",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection cut on purpose (cut_after) is not an error worth a traceback


@dataclass
class FakeHub:
    """Per-repo access state for the valid token: granted, not-requested, pending, rejected."""

    repos: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    lfs: set[tuple[str, str]] = field(default_factory=set)
    cut_after: dict[str, int] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    declared_size: dict[str, int] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)
    cdn: bool = False
    _server: ThreadingHTTPServer | None = None

    def add_file(self, repo: str, filename: str, content: bytes, lfs: bool | None = None) -> None:
        self.files.setdefault(repo, {})[filename] = content
        if lfs if lfs is not None else (filename.endswith(LFS_SUFFIXES) or len(content) > 1 << 20):
            self.lfs.add((repo, filename))

    @staticmethod
    def commit(repo: str) -> str:
        return hashlib.sha1(f"commit {repo}".encode()).hexdigest()

    def etag(self, repo: str, filename: str) -> str:
        content = self.files[repo][filename]
        if (repo, filename) in self.lfs:
            return hashlib.sha256(content).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    def gets(self, filename: str) -> list[dict]:
        """The GET requests that fetched this file's bytes (resolve or CDN)."""
        return [c for c in self.calls if c["method"] == "GET" and c.get("file") == filename]

    def __enter__(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hub.requests.append(self.path)
                prefix, suffix = "/api/models/", "/auth-check"
                if self.path.startswith(prefix) and self.path.endswith(suffix):
                    self._auth_check(self.path[len(prefix):-len(suffix)])
                elif "/resolve/" in self.path or self.path.startswith("/cdn/"):
                    self._file(head=False)
                else:
                    self._send(404, "RepoNotFound", "Repository not found")

            def do_HEAD(self) -> None:  # noqa: N802
                hub.requests.append(self.path)
                self._file(head=True)

            def _auth_check(self, repo: str) -> None:
                if repo not in hub.repos:
                    return self._send(404, "RepoNotFound", "Repository not found")
                denied = self._denied(repo)
                if denied:
                    return self._send(*denied)
                self._send(200, None, None)

            def _denied(self, repo: str) -> tuple[int, str | None, str] | None:
                """The gated-repo answer for this request's token, None when it may read."""
                state = hub.repos.get(repo)
                if state is None:
                    return None if repo in hub.files else (404, "RepoNotFound", "Repository not found")
                auth = self.headers.get("Authorization", "")
                if not auth:
                    return 401, "GatedRepo", MESSAGES["anonymous"].format(repo=repo)
                if auth != f"Bearer {VALID_TOKEN}":
                    return 401, None, "Invalid credentials in Authorization header"
                if state == "granted":
                    return None
                return 403, "GatedRepo", MESSAGES[state].format(repo=repo)

            def _file(self, head: bool) -> None:
                path = unquote(self.path.split("?", 1)[0])
                call = {"method": "HEAD" if head else "GET", "path": path,
                        "range": self.headers.get("Range"),
                        "auth": bool(self.headers.get("Authorization"))}
                hub.calls.append(call)
                if path.startswith("/cdn/"):
                    found = self._by_cdn_path(path)
                    if found is None:
                        return self._send(404, None, "no such object")
                    repo, filename = found
                else:
                    repo, _, rest = path.lstrip("/").partition("/resolve/")
                    _revision, _, filename = rest.partition("/")
                    denied = self._denied(repo)
                    if denied:
                        return self._send(*denied, head=head)
                    if filename not in hub.files.get(repo, {}):
                        return self._send(404, "EntryNotFound", f"{filename} does not exist",
                                          head=head, commit=hub.commit(repo))
                    if hub.cdn and (repo, filename) in hub.lfs:
                        return self._redirect(repo, filename)
                call["file"] = filename
                self._content(repo, filename, head)

            def _by_cdn_path(self, path: str) -> tuple[str, str] | None:
                for repo, files in hub.files.items():
                    for filename in files:
                        if path == f"/cdn/{hub.etag(repo, filename)}":
                            return repo, filename
                return None

            def _lfs_headers(self, repo: str, filename: str) -> None:
                size = hub.declared_size.get(filename, len(hub.files[repo][filename]))
                self.send_header("X-Linked-Etag", f'"{hub.etag(repo, filename)}"')
                self.send_header("X-Linked-Size", str(size))

            def _redirect(self, repo: str, filename: str) -> None:
                port = self.server.server_address[1]
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/cdn/{hub.etag(repo, filename)}")
                self.send_header("X-Repo-Commit", hub.commit(repo))
                self.send_header("ETag", f'"{hub.etag(repo, filename)}"')
                self._lfs_headers(repo, filename)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _content(self, repo: str, filename: str, head: bool) -> None:
                content = hub.files[repo][filename]
                start = 0
                wanted = self.headers.get("Range", "")
                if wanted.startswith("bytes=") and wanted[6:].split("-")[0].isdigit():
                    start = int(wanted[6:].split("-")[0])
                body = content[start:]
                if not head and hub.corrupt.get(filename, 0) > 0:
                    hub.corrupt[filename] -= 1
                    body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", hub.commit(repo))
                self.send_header("ETag", f'"{hub.etag(repo, filename)}"')
                self.send_header("Accept-Ranges", "bytes")
                if (repo, filename) in hub.lfs:
                    self._lfs_headers(repo, filename)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                cut = hub.cut_after.pop(filename, None) if not start else None
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def _send(self, status: int, code: str | None, message: str | None, head: bool = False,
                      commit: str | None = None) -> None:
                body = json.dumps({"error": message} if message else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if code:
                    self.send_header("X-Error-Code", code)
                if message:
                    self.send_header("X-Error-Message", message)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
