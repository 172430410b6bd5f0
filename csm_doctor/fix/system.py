"""System packages (ffmpeg, sox) through the OS package manager, and whether fix may run them.

csm-doctor runs a package manager only with `--run-system`, and only one that
needs no root (Homebrew, winget), or apt-get/dnf when csm-doctor itself already
runs as root. It never prefixes sudo: a command that needs it is printed for
the user to run.
"""

from __future__ import annotations

from dataclasses import dataclass

# Per package manager: the packages that provide each tool, and whether it needs root.
MANAGERS: dict[str, dict[str, tuple[str, ...]]] = {
    "apt-get": {"ffmpeg": ("ffmpeg",), "sox": ("sox", "libsox-dev")},
    "dnf": {"ffmpeg": ("ffmpeg",), "sox": ("sox",)},
    "brew": {"ffmpeg": ("ffmpeg",), "sox": ("sox",)},
    "winget": {"ffmpeg": ("Gyan.FFmpeg",), "sox": ("ChrisBagwell.SoX",)},
}
NEEDS_ROOT = frozenset({"apt-get", "dnf"})
_BY_OS = {"darwin": ("brew",), "windows": ("winget",), "linux": ("apt-get", "dnf")}
_DNF_DISTROS = ("fedora", "rhel", "centos", "rocky", "almalinux", "amzn")


@dataclass(frozen=True)
class SystemCommand:
    manager: str
    argv: tuple[str, ...]   # without sudo, argv[0] as found on PATH (or the bare name)
    needs_root: bool
    note: str = ""

    def printed(self, is_root: bool) -> tuple[str, ...]:
        """The command for the user: the manager's path as fix runs it, sudo only when not root."""
        return ("sudo", *self.argv) if self.needs_root and not is_root else self.argv


def managers_in(tools: object) -> dict[str, str]:
    """The package managers a facts document's `tools` section found on PATH (absolute paths)."""
    if not isinstance(tools, dict):
        return {}
    return {m: str(tools[m]) for m in MANAGERS if tools.get(m)}


def printed_install(tool: str, facts_os: dict, tools: object, shell: str) -> str | None:
    """The install command for a user on that machine, as check and fix print it."""
    from csm_doctor.remedy import join_command

    command = install_command(tool, facts_os.get("name"), (facts_os.get("distro") or {}).get("id"),
                              managers_in(tools))
    if command is None:
        return None
    text = join_command(command.printed(facts_os.get("is_root") is True), shell)
    return f"{text}   ({command.note})" if command.note else text


def manager_for(os_name: str | None, distro_id: str | None, found: dict[str, str]) -> str | None:
    """The package manager to use: one on PATH, else the one this OS/distribution ships."""
    candidates = _BY_OS.get(os_name or "", ())
    for name in candidates:
        if name in found:
            return name
    if os_name == "linux":
        return "dnf" if (distro_id or "").lower() in _DNF_DISTROS else "apt-get"
    return candidates[0] if candidates else None


def install_command(tool: str, os_name: str | None, distro_id: str | None,
                    found: dict[str, str]) -> SystemCommand | None:
    manager = manager_for(os_name, distro_id, found)
    if manager is None or tool not in MANAGERS.get(manager, {}):
        return None
    program = found.get(manager, manager)
    packages = MANAGERS[manager][tool]
    if manager == "winget":
        argv = (program, "install", "--id", packages[0], "-e", "--accept-source-agreements",
                "--accept-package-agreements")
        return SystemCommand(manager, argv, False, "open a new terminal afterwards")
    if manager == "brew":
        return SystemCommand(manager, (program, "install", *packages), False)
    note = "Fedora's ffmpeg comes from RPM Fusion" if manager == "dnf" and tool == "ffmpeg" else ""
    return SystemCommand(manager, (program, "install", "-y", *packages), True, note)
