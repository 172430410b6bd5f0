"""Environment variables in a shell profile: one marked block, rewritten in place, removable.

Only with `fix --write-profile`. The block is csm-doctor's and nothing else
in the file is touched: writing twice leaves one block, `fix --undo` (or
`remove_block`) takes it out again. POSIX shells (bash, zsh, sh) and fish;
Windows gets `setx` advice instead.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from pathlib import Path

BEGIN = "# >>> csm-doctor >>>"
END = "# <<< csm-doctor <<<"
NOTE = "# written by `csm-doctor fix --write-profile`; `csm-doctor fix --undo` removes this block"
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
_POSIX_LINE = re.compile(r"^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_FISH_LINE = re.compile(r"^set -gx ([A-Za-z_][A-Za-z0-9_]*) (.*)$")


def default_profile(home: Path | None = None, shell: str | None = None) -> Path:
    """The file a new interactive shell of this user reads."""
    home = home or Path.home()
    shell = os.path.basename(shell if shell is not None else os.environ.get("SHELL", ""))
    if shell == "zsh":
        return home / ".zshrc"
    if shell == "bash":
        return home / ".bashrc"
    if shell == "fish":
        return home / ".config" / "fish" / "config.fish"
    return home / ".profile"


def is_fish(path: Path) -> bool:
    return path.suffix == ".fish"


def export_line(path: Path, name: str, value: str) -> str:
    if is_fish(path):
        return f"set -gx {name} {shlex.quote(value)}"
    return f"export {name}={shlex.quote(value)}"


def read_block(path: Path) -> dict[str, str]:
    """The variables csm-doctor's block in this file sets (empty when there is none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    match = _BLOCK.search(text)
    found: dict[str, str] = {}
    for line in (match.group(0).splitlines() if match else []):
        parsed = (_FISH_LINE if is_fish(path) else _POSIX_LINE).match(line.strip())
        if parsed:
            words = shlex.split(parsed.group(2)) or [""]
            found[parsed.group(1)] = words[0]
    return found


def write_block(path: Path, variables: dict[str, str]) -> bool:
    """Set these variables in the block (others already there stay); True when the file changed."""
    merged = {**read_block(path), **variables}
    block = "\n".join([BEGIN, NOTE, *(export_line(path, k, v) for k, v in merged.items()), END]) + "\n"
    text = _read(path)
    if _BLOCK.search(text):
        new = _BLOCK.sub(lambda _m: block, text, count=1)
    else:
        new = text + ("" if not text or text.endswith("\n") else "\n") + block
    if new == text:
        return False
    _atomic_write(path, new)
    return True


def remove_block(path: Path) -> bool:
    """Take csm-doctor's block out of the file; True when there was one."""
    text = _read(path)
    if not _BLOCK.search(text):
        return False
    _atomic_write(path, _BLOCK.sub("", text, count=1))
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _atomic_write(path: Path, text: str) -> None:
    if path.is_symlink():  # a dotfiles checkout: write the file the link points to
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# ------------------------------------------------------------------ what fix wrote, for --undo

def _record() -> Path:
    from csm_doctor.fix.state import state_dir

    return state_dir() / "profiles.json"


def remember_written(path: Path) -> None:
    from csm_doctor.fix.state import atomic_write_json

    paths = written_profiles()
    if str(path) not in paths:
        atomic_write_json(_record(), paths + [str(path)])


def written_profiles() -> list[str]:
    from csm_doctor.fix.state import read_json

    found = read_json(_record(), [])
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def forget_written() -> None:
    _record().unlink(missing_ok=True)
