"""Reading and writing the files a user names, without hanging, ballooning or following links.

Reads: every file csm-doctor takes from a path the user gave (a facts document, a recipe, a
lint config, a pasted log, a smoke result) comes through `read_input`. Only a regular file or
standard input (`-`) is read, and never more than a cap: a FIFO would block forever, /dev/zero
would fill memory, a directory or a socket is a mistake. The type is checked with stat before
opening (so a device is never opened), the open itself is non-blocking (so a file swapped for a
FIFO in between cannot hang it) and fstat re-checks what was actually opened.

Writes: a file csm-doctor writes for the user is created with O_EXCL | O_NOFOLLOW (`create_file`)
or written beside its destination and renamed over it (`replace_file`), so a symbolic link
planted where the output goes is replaced or refused, never written through; bundle folders are
made fresh (`fresh_dir`), like mkdtemp, and never reused if they already hold something.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from csm_doctor.errors import InputError

STDIN = "-"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words, for the message that refuses it."""
    for test, words in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return words
    return "not a regular file"


def _refuse(shown: str, key: str | None, mode: int) -> InputError:
    return InputError.single(shown, f"is {kind_of(mode)}, not a regular file: csm-doctor reads "
                                    "only regular files (or '-' for standard input)", key=key)


def read_input(path: str | os.PathLike[str], limit: int, *, shown: str | None = None,
               key: str | None = None, too_large: str = "is it the right file?") -> bytes:
    """The bytes of a user-named regular file, or of stdin for '-'; InputError (exit 2) otherwise.

    `limit` bounds memory: a larger input is refused, not truncated, because a truncated
    JSON or YAML document would only fail later with a misleading message.
    """
    name = shown if shown is not None else str(path)
    if str(path) == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise InputError.single(name, "standard input is closed", key=key)
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise InputError.single(name, f"cannot read standard input: {exc.strerror or exc}",
                                    key=key) from None
    else:
        data = _read_regular(os.fspath(path), limit, name, key)
    if len(data) > limit:
        raise InputError.single(name, f"larger than {_size(limit)}; {too_large}", key=key)
    return data


def open_regular(path: str | os.PathLike[str], *, shown: str | None = None,
                 key: str | None = None) -> BinaryIO:
    """A binary handle on a regular file; InputError for anything else, without blocking.

    For readers that need a handle rather than the bytes (WAV headers): the same type
    checks as `read_input`, no size cap (the caller reads only what it needs).
    """
    name = shown if shown is not None else str(path)
    try:
        before = os.stat(path)  # follows a link to a regular file, which is fine to read
    except OSError as exc:
        raise InputError.single(name, f"cannot read: {exc.strerror or exc}", key=key) from None
    if not stat.S_ISREG(before.st_mode):
        raise _refuse(name, key, before.st_mode)  # never opened: opening a device can act
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOCTTY | _BINARY | _CLOEXEC)
    except OSError as exc:
        raise InputError.single(name, f"cannot read: {exc.strerror or exc}", key=key) from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):  # swapped for a FIFO between stat and open
        os.close(fd)
        raise _refuse(name, key, opened.st_mode)
    return os.fdopen(fd, "rb")


def _read_regular(path: str, limit: int, name: str, key: str | None) -> bytes:
    chunks: list[bytes] = []
    left = limit + 1  # one byte past the cap tells "too large" from "exactly the cap"
    with open_regular(path, shown=name, key=key) as handle:
        try:
            while left > 0:
                chunk = handle.read(min(left, 1 << 20))  # no up-front buffer of the whole cap
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        except OSError as exc:
            raise InputError.single(name, f"cannot read: {exc.strerror or exc}", key=key) from None
    return b"".join(chunks)


def decode_text(data: bytes, name: str, *, key: str | None = None) -> str:
    """UTF-8 (a BOM allowed); InputError with the line of the first bad byte otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError.single(name, "not UTF-8 text", key=key, line=line) from None


def read_input_text(path: str | os.PathLike[str], limit: int, *, shown: str | None = None,
                    key: str | None = None) -> str:
    """`read_input`, decoded as UTF-8."""
    name = shown if shown is not None else str(path)
    return decode_text(read_input(path, limit, shown=name, key=key), name, key=key)


def _size(limit: int) -> str:
    for unit, size in (("MiB", 2**20), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


# ----------------------------------------------------------------------------------- writes

def open_new(path: str | os.PathLike[str], *, dir_fd: int | None = None,
             mode: int = 0o666) -> BinaryIO:
    """A new file, open for writing; OSError (EEXIST, ELOOP) if anything is already there.

    O_EXCL with O_CREAT fails on an existing name, a symbolic link included (and
    O_NOFOLLOW says so twice), so nothing is ever written through a link planted at the
    destination.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC
    fd = os.open(path, flags, mode, dir_fd=dir_fd) if dir_fd is not None else \
        os.open(path, flags, mode)
    return os.fdopen(fd, "wb")


def create_file(path: str | os.PathLike[str], data: bytes | str, *, dir_fd: int | None = None,
                mode: int = 0o666) -> None:
    """Create a new file holding `data` (see `open_new`); OSError if the name is taken."""
    with open_new(path, dir_fd=dir_fd, mode=mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def replace_file(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` to `path`, replacing a regular file or a link there (never its target).

    The text goes to a fresh file beside `path` first (so a crash never leaves half a file),
    then is renamed over it; rename replaces a symbolic link itself. A directory, FIFO or
    device at `path` is refused (OSError), since replacing /dev/stdout as root would be worse.
    """
    target = Path(path)
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not (stat.S_ISREG(existing.st_mode) or stat.S_ISLNK(existing.st_mode)):
        raise OSError(errno.EEXIST, f"exists and is {kind_of(existing.st_mode)}; "
                                    "csm-doctor replaces only regular files")
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    create_file(temp, data)
    try:
        os.replace(temp, target)
    except OSError:
        _unlink_quietly(temp)
        raise


def _unlink_quietly(path: str | os.PathLike[str], dir_fd: int | None = None) -> None:
    try:
        if dir_fd is not None:
            os.unlink(path, dir_fd=dir_fd)
        else:
            os.unlink(path)
    except OSError:
        pass


def refuse_existing_output(path: Path, shown: str, key: str | None = "--output") -> None:
    """InputError unless `path` is absent, or an empty real folder (not a link to one)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError.single(shown, f"cannot use: {exc.strerror or exc}", key=key) from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError.single(shown, "is a symbolic link; csm-doctor does not write through "
                                       "links (name a new folder)", key=key)
    if not stat.S_ISDIR(info.st_mode):
        raise InputError.single(shown, "already exists and is not an empty folder", key=key)
    try:
        with os.scandir(path) as entries:
            if next(entries, None) is not None:
                raise InputError.single(shown, "already exists and is not an empty folder", key=key)
    except OSError as exc:
        raise InputError.single(shown, f"cannot use: {exc.strerror or exc}", key=key) from None


class FreshDir:
    """A folder csm-doctor made (or found empty) and writes into only through new files.

    Files are created relative to the folder's descriptor (opened O_NOFOLLOW) with O_EXCL,
    so neither the folder nor any name in it can be swapped for a link that is then written
    through; `discard` removes what this run wrote when a later step fails.
    """

    def __init__(self, path: Path, created: bool) -> None:
        self.path = path
        self.created = created
        self.written: list[str] = []
        self._fd: int | None = None
        if os.open in os.supports_dir_fd and _DIRECTORY:
            fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, "not a folder", str(path))
            self._fd = fd

    def add(self, name: str, data: bytes | str) -> None:
        """Create `name` (a plain file name, no folders) in the folder; OSError if it exists."""
        if os.sep in name or (os.altsep and os.altsep in name) or name in ("", ".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
        if self._fd is not None:
            create_file(name, data, dir_fd=self._fd)
        else:
            create_file(self.path / name, data)
        self.written.append(name)

    def discard(self) -> None:
        """Remove what this run wrote, and the folder if this run made it."""
        for name in self.written:
            _unlink_quietly(name if self._fd is not None else self.path / name, self._fd)
        self.written.clear()
        self.close()
        if self.created:
            try:
                os.rmdir(self.path)
            except OSError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _empty_real_dir(path: Path) -> bool:
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        return False
    with os.scandir(path) as entries:
        return next(entries, None) is None


def fresh_dir(path: Path, *, unique: bool = False, mode: int = 0o700) -> FreshDir:
    """Make `path` as a new folder (mkdtemp's semantics: exclusive, 0700 by default).

    `unique`: the name is a default, so a taken one becomes `path-2`, `path-3`, ... (three
    runs in the same second get three folders). Otherwise an existing `path` is used only
    if it is a real, empty folder; anything else raises OSError (EEXIST).
    """
    parent = path.parent
    if str(parent) not in ("", "."):
        os.makedirs(parent, exist_ok=True)
    candidates = [path] + ([path.with_name(f"{path.name}-{n}") for n in range(2, 1000)]
                           if unique else [])
    for candidate in candidates:
        try:
            os.mkdir(candidate, mode)
            return FreshDir(candidate, created=True)
        except FileExistsError:
            if unique:
                continue
        if _empty_real_dir(candidate):
            return FreshDir(candidate, created=False)
        raise OSError(errno.EEXIST, "already exists and is not an empty folder", str(candidate))
    raise OSError(errno.EEXIST, "every default name is taken", str(path))
