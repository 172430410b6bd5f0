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
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VALID_TOKEN = "hf_validTESTtokenABCDEFGHIJKLMNOPQRSTUV"

MESSAGES = {
    "anonymous": "Access to model {repo} is restricted. You must have access to it and be "
                 "authenticated to access it. Please log in.",
    "not-requested": "Access to model {repo} is restricted and you are not in the authorized list. "
                     "Visit https://huggingface.co/{repo} to ask for access.",
    "pending": "Your request to access model {repo} is awaiting a review from the repo authors.",
    "rejected": "Your request to access model {repo} has been rejected by the repo's authors.",
}


@dataclass
class FakeHub:
    """Per-repo access state for the valid token: granted, not-requested, pending, rejected."""

    repos: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

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
                else:
                    self._send(404, "RepoNotFound", "Repository not found")

            def _auth_check(self, repo: str) -> None:
                state = hub.repos.get(repo)
                if state is None:
                    return self._send(404, "RepoNotFound", "Repository not found")
                auth = self.headers.get("Authorization", "")
                if not auth:
                    return self._send(401, "GatedRepo", MESSAGES["anonymous"].format(repo=repo))
                if auth != f"Bearer {VALID_TOKEN}":
                    return self._send(401, None, "Invalid credentials in Authorization header")
                if state == "granted":
                    return self._send(200, None, None)
                self._send(403, "GatedRepo", MESSAGES[state].format(repo=repo))

            def _send(self, status: int, code: str | None, message: str | None) -> None:
                body = json.dumps({"error": message} if message else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if code:
                    self.send_header("X-Error-Code", code)
                if message:
                    self.send_header("X-Error-Message", message)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
