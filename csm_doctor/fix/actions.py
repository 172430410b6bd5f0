"""The action types a fix plan is made of, and the safety rules every one obeys.

An action is data: what it does in one line, the findings it addresses, the
exact command (argv) it runs, and whether it runs at all (`runs` is false
for advice: things csm-doctor prints for the user and never does itself).
The rules that keep `fix --yes` safe to recommend to anyone live here too,
so the planner and the runner check the same thing: no sudo, ever, and no
GPU clock, power, compute-mode or persistence changes, ever.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from csm_doctor.remedy import join_command

# Action kinds (docs/fix.md describes each, with what it runs and how to undo it).
INSTALL = "install"          # pinned packages into the target (PyPI / the pip config's indexes)
REINSTALL = "reinstall"      # torch + torchaudio replaced by the build for this driver and GPU
UNINSTALL = "uninstall"      # a package that must not sit beside another (triton on Windows)
PIP_COMMAND = "pip-command"  # the recipe's own `install:` pip command, pointed at the target
GET_UV = "get-uv"            # uv into csm-doctor's own environment (only with --installer uv)
ENV = "env"                  # an environment variable: advice (export / setx)
PROFILE = "profile"          # the variables written to a shell profile (--write-profile)
DOWNLOAD = "download"        # checkpoint files into the Hugging Face cache
SYSTEM = "system"            # ffmpeg / sox through the OS package manager (--run-system, no sudo)
ADVICE = "advice"            # everything csm-doctor will not do: drivers, CANN, access, hardware
REMOVE_STRAYS = "remove-strays"  # undo: files an interrupted install left that no package owns

PACKAGE_KINDS = frozenset({INSTALL, REINSTALL, UNINSTALL, PIP_COMMAND, REMOVE_STRAYS})

# Privilege escalation is never run on the user's behalf.
_ESCALATION = frozenset({"sudo", "doas", "su", "pkexec", "runas", "gsudo"})
# nvidia-smi options that change clocks, power limits, compute mode or persistence: on a
# shared machine they change every other user's GPU, so they are never planned at all.
_GPU_SETTING_FLAGS = re.compile(
    r"^(-pl|-ac|-rac|-c|-pm|-lgc|-rgc|-lmc|-rmc|-e|-am|-acp|-gom|-mig|-r|"
    r"--power-limit|--applications-clocks|--reset-applications-clocks|--compute-mode|"
    r"--persistence-mode|--lock-gpu-clocks|--reset-gpu-clocks|--lock-memory-clocks|"
    r"--reset-memory-clocks|--ecc-config|--gpu-reset|--auto-boost-default|"
    r"--auto-boost-permission|--gom|--multi-instance-gpu)(=.*)?$")


@dataclass(frozen=True)
class FindingRef:
    """Which finding an action addresses: its diagnosis id and subject (package, repo, ...)."""

    id: str
    subject: str | None = None
    check: str | None = None

    def label(self) -> str:
        return f"{self.id} ({self.subject})" if self.subject else self.id


@dataclass(frozen=True)
class Action:
    """One idempotent step of a plan."""

    id: str
    kind: str
    description: str
    addresses: tuple[FindingRef, ...] = ()
    argv: tuple[str, ...] = ()
    runs: bool = True
    shown: str | None = None  # the command as printed when it is not an argv (advice, in-process)
    is_command: bool = True   # False when `shown` is advice in words, not something to paste
    shell: str = "posix"      # how argv is quoted for the user: "posix" or "windows" (cmd/PowerShell)
    payload: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def command(self) -> str:
        """The exact command, shell-quoted, with any credentials in URLs hidden."""
        if self.argv:
            return redact(join_command(self.argv, self.shell))
        return redact(self.shown or "")

    @property
    def pasteable(self) -> bool:
        """Whether `command` is a command a user can paste (not advice in words)."""
        return bool(self.argv) or (self.is_command and bool(self.shown))

    @property
    def changes_packages(self) -> bool:
        return self.runs and self.kind in PACKAGE_KINDS

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "description": redact(self.description),
            "command": self.command,
            "argv": [redact(a) for a in self.argv] if self.argv else None,
            "addresses": list(dict.fromkeys(ref.id for ref in self.addresses)),
            "subjects": [{"id": ref.id, "subject": ref.subject} for ref in self.addresses],
            "runs": self.runs,
        }


def shell_join(argv: tuple[str, ...] | list[str]) -> str:
    return shlex.join(list(argv))


def redact(text: str) -> str:
    """Secrets out of a command or a message (an index URL from pip.conf may carry a token)."""
    from csm_doctor.report.redact import redact_secrets

    return redact_secrets(text)


def unsafe_reason(argv: tuple[str, ...] | list[str]) -> str | None:
    """Why csm-doctor must never run this command, or None when it may."""
    if any(_program(a) in _ESCALATION for a in argv):
        return "it needs elevated privileges (sudo): run it yourself if you agree with it"
    if changes_gpu_settings(argv):
        return ("it changes GPU clocks, power, compute mode or persistence, which affects "
                "everyone on a shared machine")
    return None


def changes_gpu_settings(words: tuple[str, ...] | list[str] | str) -> bool:
    """Whether a command (argv, or text as printed) is nvidia-smi changing a GPU setting."""
    if isinstance(words, str):
        try:
            words = shlex.split(words)
        except ValueError:
            words = words.split()
    words = list(words)
    for i, word in enumerate(words):
        if _program(word) in ("nvidia-smi", "nvidia-smi.exe") and any(
                _GPU_SETTING_FLAGS.match(arg) for arg in words[i + 1:]):
            return True
    return False


def _program(arg: str) -> str:
    return re.split(r"[\\/]", arg)[-1].lower()
