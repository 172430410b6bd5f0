"""Checkpoints into the Hugging Face cache: disk checked first, resumable, verified, token never shown.

huggingface_hub's public API does the Hub's side: the metadata
(`get_hf_file_metadata`: X-Repo-Commit, the ETag, X-Linked-Size), the request
headers with the token (`build_hf_headers`) and the cache layout
(`hf_hub_download` links the snapshot once the blob is in place). The bytes
come over plain HTTP with a Range request, so a dropped connection resumes
where it stopped. What csm-doctor adds:

- the partial file is `blobs/<etag>.incomplete`, kept when a run is interrupted,
  so the next run resumes it with a Range request instead of starting over
  (huggingface_hub >= 1.0 discards its own partial files);
- every file is verified before it counts: its size against X-Linked-Size and its
  hash against the ETag (sha256 for LFS files, the git blob sha1 otherwise); a
  mismatch is `checkpoint-corrupt`, and the file is fetched again once;
- free disk is compared with what is left to download before any byte is fetched;
- Hub errors become the finding that names them (401 → hf-token-missing,
  403 → hf-gated-no-access, ...).

Reading what is already cached (`local_state`) needs no network: a cached blob is
named after its ETag, so it is checked against its own name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from csm_doctor.findings import Finding, Status, make_finding

REVISION = "main"
GROUP = "checkpoints"
CHECK = "checkpoint-files"
METADATA_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 60.0      # no byte for this long: the connection is dropped and resumed
RESUME_ATTEMPTS = 5
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")
_CHUNK = 8 * 1024 * 1024



class DownloadError(RuntimeError):
    """A download that cannot go on, with the diagnosis id that says why."""

    def __init__(self, finding_id: str, message: str) -> None:
        super().__init__(message)
        self.finding_id = finding_id


@dataclass(frozen=True)
class FileState:
    """One checkpoint file as the local cache has it: ok, missing, corrupt or unknown."""

    repo: str
    filename: str
    state: str
    hub: str = "huggingface"
    detail: str | None = None

    @property
    def subject(self) -> str:
        return f"{self.repo}/{self.filename}"


@dataclass
class FileOutcome:
    filename: str
    status: str  # cached | downloaded
    size: int | None = None
    resumed_from: int = 0
    corrupt_detected: bool = False


# ------------------------------------------------------------------ what is cached

def repo_folder(cache_dir: Path, repo: str) -> Path:
    return cache_dir / ("models--" + repo.replace("/", "--"))


def local_state(checkpoints: tuple[dict[str, Any], ...], cache_dir: Path,
                verified: VerifiedCache | None = None) -> list[FileState]:
    """Every recipe checkpoint file against the local cache, hashes checked (no network)."""
    states = []
    for entry in checkpoints:
        hub = entry.get("hub") or "huggingface"
        for filename in entry.get("files", ()):
            if hub != "huggingface":
                states.append(FileState(entry["repo"], filename, "unknown", hub,
                                        f"{hub} is not read by csm-doctor"))
            else:
                states.append(_cached_file_state(entry["repo"], filename, cache_dir, verified))
    return states


def _cached_file_state(repo: str, filename: str, cache_dir: Path,
                       verified: VerifiedCache | None) -> FileState:
    folder = repo_folder(cache_dir, repo)
    try:
        commit = (folder / "refs" / REVISION).read_text(encoding="utf-8").strip()
    except OSError:
        return FileState(repo, filename, "missing")
    pointer = folder / "snapshots" / commit / filename
    if not pointer.exists():
        return FileState(repo, filename, "missing")
    etag = os.path.basename(os.readlink(pointer)) if pointer.is_symlink() else None
    problem = verify_file(pointer, etag, None, verified)
    return FileState(repo, filename, "corrupt" if problem else "ok", detail=problem)


def facts_state(checkpoints: tuple[dict[str, Any], ...], facts: dict[str, Any]) -> list[FileState]:
    """Another machine's cache, as far as its facts say (hf.repos[...].cached)."""
    repos = ((facts.get("hf") or {}).get("repos") or {})
    states = []
    for entry in checkpoints:
        cached = (repos.get(entry["repo"]) or {}).get("cached")
        state = {True: "ok", False: "missing"}.get(cached, "unknown")
        for filename in entry.get("files", ()):
            states.append(FileState(entry["repo"], filename, state, entry.get("hub") or "huggingface",
                                    None if state != "unknown" else "the facts do not say"))
    return states


def checkpoint_findings(states: list[FileState]) -> list[Finding]:
    """fix's own findings about the recipe's checkpoints (check does not read the cache)."""
    out = []
    for s in states:
        common: dict[str, Any] = dict(group=GROUP, check=CHECK, subject=s.subject)
        if s.state == "ok":
            out.append(make_finding("checkpoint-missing", Status.PASS, f"{s.subject} is cached", **common))
        elif s.state == "missing":  # the remedy (the planned download) is attached like any other
            out.append(make_finding("checkpoint-missing", Status.FAIL,
                                    f"{s.subject} is not in the Hugging Face cache",
                                    expected=s.filename, **common))
        elif s.state == "corrupt":
            out.append(make_finding("checkpoint-corrupt", Status.FAIL,
                                    f"{s.subject} in the cache is corrupt: {s.detail}",
                                    observed=s.detail, **common))
        else:
            out.append(make_finding("checkpoint-missing", Status.SKIP,
                                    f"{s.subject}: not checked ({s.detail})", **common))
    return out


# ------------------------------------------------------------------ verification

class VerifiedCache:
    """Files already hashed, by path, size and mtime: a 6 GB checkpoint is hashed once, not every run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, list[Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def _key(self, file: Path) -> tuple[str, list[Any]] | None:
        try:
            stat = file.stat()
        except OSError:
            return None
        return os.path.realpath(file), [stat.st_size, stat.st_mtime_ns]

    def known_good(self, file: Path, etag: str) -> bool:
        key = self._key(file)
        return key is not None and self.entries.get(key[0]) == key[1] + [etag]

    def remember(self, file: Path, etag: str) -> None:
        key = self._key(file)
        if key is None:
            return
        self.entries[key[0]] = key[1] + [etag]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache of verdicts: losing it costs one more hash


def verify_file(path: Path, etag: str | None, size: int | None,
                verified: VerifiedCache | None = None) -> str | None:
    """None when the file matches the Hub's size and hash, else what is wrong."""
    try:
        actual_size = path.stat().st_size
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if size is not None and actual_size != size:
        return f"{actual_size} bytes, the Hub says {size}"
    if not etag or not (_SHA256.fullmatch(etag) or _GIT_SHA1.fullmatch(etag)):
        return None  # no content hash to compare with: the size is all the Hub gives
    if verified is not None and verified.known_good(path, etag):
        return None
    digest = _sha256(path) if _SHA256.fullmatch(etag) else _git_blob_sha1(path, actual_size)
    if digest != etag:
        kind = "sha256" if _SHA256.fullmatch(etag) else "git sha1"
        return f"{kind} {digest[:12]}…, the Hub's ETag is {etag[:12]}…"
    if verified is not None:
        verified.remember(path, etag)
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_blob_sha1(path: Path, size: int) -> str:
    digest = hashlib.sha1(f"blob {size}\0".encode())  # noqa: S324 - git's object id, not security
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ fetching

@dataclass
class _Remote:
    repo: str
    filename: str
    location: str
    same_origin: bool
    etag: str
    size: int | None
    commit: str
    blob: Path
    pointer: Path

    @property
    def partial(self) -> Path:
        return self.blob.with_name(self.blob.name + ".incomplete")

    def remaining(self) -> int:
        if self.size is None or self._usable_cached():
            return 0
        have = self.partial.stat().st_size if self.partial.is_file() else 0
        return max(self.size - have, 0)

    def _usable_cached(self) -> bool:
        return self.blob.is_file() or self.pointer.is_file()


def fetch_files(repo: str, files: list[str], *, cache_dir: Path, endpoint: str | None,
                token: str | None, progress: bool = False, revision: str = REVISION,
                verified: VerifiedCache | None = None, timeout_scale: float = 1.0,
                log: Callable[[str], None] | None = None,
                on_bytes: Callable[[int, int | None], None] | None = None) -> list[FileOutcome]:
    """Download (or confirm) these files of one repo into the cache; DownloadError says why not."""
    _progress_bars(progress)
    remotes = [_metadata(repo, f, cache_dir, endpoint, token, revision, timeout_scale) for f in files]
    needed = sum(r.remaining() for r in remotes)
    free = disk_free(cache_dir)
    if free is not None and needed > free:
        raise DownloadError("disk-space-low", f"{_size(needed)} left to download for {repo}, only "
                                              f"{_size(free)} free at {_existing(cache_dir)}")
    return [_fetch_one(r, cache_dir, endpoint, token, revision, verified, log, on_bytes)
            for r in remotes]


def _metadata(repo: str, filename: str, cache_dir: Path, endpoint: str | None, token: str | None,
              revision: str, timeout_scale: float) -> _Remote:
    from urllib.parse import urlparse

    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(repo, filename, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, token=token, timeout=METADATA_TIMEOUT_S * timeout_scale)
    except Exception as exc:  # noqa: BLE001 - every Hub failure is a finding
        raise _as_download_error(exc, repo, filename) from None
    if not meta.commit_hash or not meta.etag:
        raise DownloadError("hf-unreachable", f"{endpoint or 'the Hub'} answered {filename} without "
                                              "X-Repo-Commit/ETag: HF_ENDPOINT is not a Hub mirror")
    folder = repo_folder(cache_dir, repo)
    location = meta.location or url
    same = (urlparse(location).scheme, urlparse(location).netloc) == \
        (urlparse(url).scheme, urlparse(url).netloc)
    return _Remote(repo, filename, location, same, meta.etag, meta.size, meta.commit_hash,
                   folder / "blobs" / meta.etag, folder / "snapshots" / meta.commit_hash / filename)


def _fetch_one(remote: _Remote, cache_dir: Path, endpoint: str | None, token: str | None,
               revision: str, verified: VerifiedCache | None,
               log: Callable[[str], None] | None,
               on_bytes: Callable[[int, int | None], None] | None = None) -> FileOutcome:
    corrupt = False
    cached = remote.pointer if remote.pointer.exists() else (remote.blob if remote.blob.exists() else None)
    if cached is not None:
        problem = verify_file(cached, remote.etag, remote.size, verified)
        if problem is None:
            _link(remote, cache_dir, endpoint, token, revision)
            return FileOutcome(remote.filename, "cached", remote.size)
        corrupt = True
        if log:
            log(f"{remote.repo}/{remote.filename}: the cached copy is corrupt ({problem}); fetching it again")
        for stale in (remote.pointer, remote.blob):
            if stale.is_symlink() or stale.exists():
                stale.unlink()
    resumed_from = 0
    for attempt in (1, 2):
        have = _resume_point(remote)
        resumed_from = resumed_from or have
        _http_download(remote, have, token, on_bytes)
        problem = verify_file(remote.partial, remote.etag, remote.size)
        if problem is None:
            os.replace(remote.partial, remote.blob)
            if verified is not None:
                verify_file(remote.blob, remote.etag, remote.size, verified)  # remembers it
            break
        remote.partial.unlink(missing_ok=True)
        corrupt = True
        if log:
            log(f"{remote.repo}/{remote.filename}: downloaded bytes do not match the Hub ({problem})"
                + ("; fetching it again" if attempt == 1 else ""))
        if attempt == 2:
            raise DownloadError("checkpoint-corrupt", f"{remote.repo}/{remote.filename}: the "
                                                      f"download does not match the Hub twice: {problem}")
    _link(remote, cache_dir, endpoint, token, revision)
    return FileOutcome(remote.filename, "downloaded", remote.size, resumed_from, corrupt)


def _resume_point(remote: _Remote) -> int:
    """Bytes of an earlier, interrupted download to keep (0 when there are none or too many)."""
    partial = remote.partial
    if not partial.is_file():
        return 0
    have = partial.stat().st_size
    if remote.size is not None and have > remote.size:
        partial.unlink()
        return 0
    return have


def _http_download(remote: _Remote, have: int, token: str | None,
                   on_bytes: Callable[[int, int | None], None] | None = None) -> None:
    """GET the file into its partial, from byte `have` on, resuming a dropped connection.

    Plain HTTP with a Range header (the Hub and its CDN honour it): huggingface_hub's
    public `hf_hub_download` no longer resumes a partial file, and its `http_get` is
    not public. The token goes to the Hub only, never to a CDN it redirects to.
    """
    from huggingface_hub.utils import build_hf_headers

    headers = dict(build_hf_headers(token=token))
    if not remote.same_origin:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    remote.partial.parent.mkdir(parents=True, exist_ok=True)
    problem = ""
    for _ in range(RESUME_ATTEMPTS):
        try:
            have = _get_range(remote, have, headers, on_bytes)
            return
        except DownloadError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped connection: resume from what we have
            problem = f"{type(exc).__name__}: {exc}"
            have = remote.partial.stat().st_size if remote.partial.is_file() else 0
    raise DownloadError("hf-unreachable", f"{remote.repo}/{remote.filename}: the connection kept "
                                          f"dropping ({_size(have)} kept for the next run): {problem}")


def _get_range(remote: _Remote, have: int, headers: dict[str, str],
               on_bytes: Callable[[int, int | None], None] | None) -> int:
    """One GET from byte `have`; appends to the partial file and returns its final size."""
    request = urllib.request.Request(remote.location, headers={
        **headers, "Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})})
    opener = urllib.request.build_opener(_SameOriginAuth())
    try:
        response = opener.open(request, timeout=READ_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and remote.size is not None and have >= remote.size:
            return have  # already complete: verification decides
        finding = {401: "hf-token-missing", 403: "hf-gated-no-access", 404: "checkpoint-missing"}
        raise DownloadError(finding.get(exc.code, "hf-unreachable"),
                            f"{remote.repo}/{remote.filename}: HTTP {exc.code} {exc.reason}") from None
    with response, remote.partial.open("r+b" if remote.partial.exists() else "wb") as handle:
        if have and response.status != 206:
            have = 0  # the server ignored the Range: start over
        handle.seek(have)
        handle.truncate()
        done = have
        for block in iter(lambda: response.read(_CHUNK // 8), b""):
            handle.write(block)
            done += len(block)
            if on_bytes is not None:
                on_bytes(done, remote.size)
    if remote.size is not None and done < remote.size:
        raise ConnectionError(f"the server closed the connection after {done} of {remote.size} bytes")
    return done


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follow redirects, dropping the Authorization header when the origin changes."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        from urllib.parse import urlsplit

        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl)[:2] != urlsplit(req.full_url)[:2]:
            for name in list(new.headers):
                if name.lower() == "authorization":
                    del new.headers[name]
        return new


def _link(remote: _Remote, cache_dir: Path, endpoint: str | None, token: str | None,
          revision: str) -> None:
    """Let huggingface_hub write the snapshot link and refs/<revision> for the blob now in place."""
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(remote.repo, remote.filename, revision=revision, cache_dir=str(cache_dir),
                        token=token, endpoint=endpoint)
    except Exception as exc:  # noqa: BLE001
        raise _as_download_error(exc, remote.repo, remote.filename) from None


def _as_download_error(exc: BaseException, repo: str, filename: str) -> DownloadError:
    from csm_doctor.probes.hf import classify_access_error

    if isinstance(exc, DownloadError):
        return exc
    state, detail = classify_access_error(exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "EntryNotFoundError" in names or "RemoteEntryNotFoundError" in names:
        return DownloadError("checkpoint-missing", f"{repo} has no file {filename}")
    if names & {"RemoteProtocolError", "ReadError", "ReadTimeout", "ConnectError", "OSError"} and \
            state == "error":
        state = "unreachable"
    from csm_doctor.catalogue import hub_state_diagnosis

    return DownloadError(hub_state_diagnosis(state, "checkpoint-missing"),
                         f"{repo}/{filename}: {state}: {detail}")


def _progress_bars(enabled: bool) -> None:
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if enabled else disable_progress_bars)()


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def disk_free(cache_dir: Path) -> int | None:
    try:
        return shutil.disk_usage(_existing(cache_dir)).free
    except OSError:
        return None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n} B"
