"""What fix keeps to undo itself: the marked profile block and the package snapshot (pure parts)."""

from __future__ import annotations

from pathlib import Path

from csm_doctor.fix.installer import Installer
from csm_doctor.fix.profile import (
    BEGIN,
    default_profile,
    read_block,
    remove_block,
    write_block,
)
from csm_doctor.fix.snapshot import (
    Dist,
    Listing,
    Snapshot,
    differences,
    restore_actions,
    verify,
)

PY = "/venv/bin/python"


def test_the_profile_block_is_written_once_merged_and_removed(tmp_path: Path):
    profile = tmp_path / ".bashrc"
    profile.write_text("export PATH=$HOME/bin:$PATH")  # no trailing newline: kept intact
    assert write_block(profile, {"NO_TORCH_COMPILE": "1"})
    assert not write_block(profile, {"NO_TORCH_COMPILE": "1"})  # idempotent
    assert write_block(profile, {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
                                 "GREETING": "two words"})
    text = profile.read_text()
    assert text.count(BEGIN) == 1 and text.startswith("export PATH=$HOME/bin:$PATH\n")
    assert "export GREETING='two words'" in text
    assert read_block(profile) == {"NO_TORCH_COMPILE": "1", "GREETING": "two words",
                                   "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}
    assert remove_block(profile) and not remove_block(profile)
    assert profile.read_text() == "export PATH=$HOME/bin:$PATH\n"


def test_fish_gets_fish_syntax_and_a_dotfiles_symlink_is_followed(tmp_path: Path):
    real = tmp_path / "dotfiles" / "config.fish"
    real.parent.mkdir()
    real.write_text("set -gx EDITOR vim\n")
    link = tmp_path / "config.fish"
    link.symlink_to(real)
    write_block(link, {"NO_TORCH_COMPILE": "1"})
    assert link.is_symlink() and "set -gx NO_TORCH_COMPILE 1" in real.read_text()
    assert read_block(link) == {"NO_TORCH_COMPILE": "1"}


def test_the_default_profile_follows_the_shell(tmp_path: Path):
    assert default_profile(tmp_path, "/bin/zsh") == tmp_path / ".zshrc"
    assert default_profile(tmp_path, "/usr/bin/bash") == tmp_path / ".bashrc"
    assert default_profile(tmp_path, "/usr/bin/fish") == tmp_path / ".config/fish/config.fish"
    assert default_profile(tmp_path, "") == tmp_path / ".profile"


def test_direct_url_installs_are_put_back_from_where_they_came():
    vcs = Dist("silentcipher", "1.0.1", {"url": "https://github.com/SesameAILabs/silentcipher",
                                         "vcs_info": {"vcs": "git", "commit_id": "abc123"}})
    assert vcs.requirement() == ["silentcipher @ git+https://github.com/SesameAILabs/silentcipher@abc123"]
    wheel = Dist("fixa", "1.0", {"url": "file:///w/fixa-1.0-py3-none-any.whl", "archive_info": {}})
    assert wheel.requirement() == ["fixa @ file:///w/fixa-1.0-py3-none-any.whl"]
    editable = Dist("csm", "0.1", {"url": "file:///home/me/csm", "dir_info": {"editable": True}})
    assert editable.requirement() == ["-e", "/home/me/csm"]


def _snapshot(*dists: Dist) -> Snapshot:
    return Snapshot(python=PY, prefix="/venv", created="2026-01-01T00:00:00+00:00",
                    distributions=[{"name": d.name, "version": d.version, "direct_url": d.direct_url}
                                   for d in dists], freeze=sorted(d.freeze_line() for d in dists))


def _listing(*dists: Dist) -> Listing:
    return Listing("/venv", PY, True, {d.key: d for d in dists})


def test_restore_uninstalls_what_was_added_and_pins_what_changed_without_deps():
    snap = _snapshot(Dist("fixa", "0.9"), Dist("torch", "2.4.0+cpu"), Dist("pip", "24.0"))
    now = _listing(Dist("fixa", "1.0"), Dist("fixb", "2.0"), Dist("torch", "2.4.0+cu124"),
                   Dist("pip", "24.0"))
    added, changed = differences(snap, now)
    assert [d.name for d in added] == ["fixb"] and [d.name for d in changed] == ["fixa", "torch"]
    uninstall, install = restore_actions(snap, now, Installer("pip", PY))
    assert uninstall.argv == (PY, "-I", "-m", "pip", "uninstall", "-y", "fixb")
    assert install.argv == (PY, "-I", "-m", "pip", "install", "--no-deps", "--extra-index-url",
                            "https://download.pytorch.org/whl/cpu", "fixa==0.9", "torch==2.4.0+cpu")
    assert verify(snap, now, None) != []
    assert restore_actions(snap, _listing(*snap.dists.values()), Installer("pip", PY)) == []
    assert verify(snap, _listing(*snap.dists.values()), None) == []


def test_verify_compares_pip_freeze_too():
    snap = _snapshot(Dist("fixa", "0.9"))
    snap.pip_freeze = ["fixa==0.9", "pip==24.0"]
    same = _listing(Dist("fixa", "0.9"))
    assert verify(snap, same, ["fixa==0.9", "pip==24.0"]) == []
    assert verify(snap, same, ["fixa==0.9", "pip==25.0"])[0].startswith("pip freeze differs")
