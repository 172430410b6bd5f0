"""Remedies: the one derivation of "what to do about this finding", rendered for every surface.

The planner (fix/plan.py) is where a failing finding becomes typed steps: an
install with its index and target interpreter, an uninstall, an environment
variable, a system package, a Hub login or download, a switch to a recipe
that can run here, or plain advice. `check`, `fix`, `report` and `triage`
all read the same steps: check and report show a finding's `remedy`
(the commands of the steps that address it, exactly as fix prints and runs
them), fix runs the steps. Nothing else derives install advice, so the
surfaces cannot drift apart.

This module holds what the steps need to be rendered for the environment
under test and its shell: quoting for POSIX shells or cmd/PowerShell, the Hub
CLI the target's huggingface_hub ships (`hf` from 0.34, `huggingface-cli`
before), and attaching the steps to the findings they address.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

# `hf` arrived in huggingface_hub 0.34.0 (huggingface.co/blog/hf-cli, July 2025);
# `huggingface-cli` was removed in 1.0.
HF_CLI_SINCE = (0, 34)
# Characters cmd.exe or PowerShell treat specially outside double quotes.
_WINDOWS_SPECIAL = re.compile(r"[\s<>|&^()%!;,`$'\"{}@#]")


@dataclass(frozen=True)
class Remedy:
    """What to do about one finding: commands to paste (as fix shows them) and advice in words."""

    commands: tuple[str, ...] = ()
    text: str = ""
    shell: str = "posix"  # how the commands are quoted; human output wraps POSIX ones only

    def to_json(self) -> dict[str, Any]:
        return {"commands": list(self.commands), "text": self.text}


class _Step(Protocol):
    """What attach() reads of a plan step (fix/actions.Action)."""

    description: str
    runs: bool
    addresses: tuple[Any, ...]

    @property
    def command(self) -> str: ...

    @property
    def pasteable(self) -> bool: ...


def shell_for(os_name: str | None) -> str:
    """The shell a command is printed for: cmd/PowerShell on Windows facts, else POSIX."""
    return "windows" if os_name == "windows" else "posix"


def join_command(argv: Iterable[str], shell: str = "posix") -> str:
    """One command line a user can paste in `shell` (POSIX sh, or cmd.exe and PowerShell)."""
    words = list(argv)
    if shell != "windows":
        return shlex.join(words)
    return " ".join(_windows_quote(w) for w in words)


def _windows_quote(word: str) -> str:
    """Double quotes, which cmd.exe and PowerShell both read: `<`, `>` inside stay literal."""
    if word and not _WINDOWS_SPECIAL.search(word):
        return word
    return '"' + word.replace('"', '\\"') + '"'


def hub_cli(hub_version: str | None) -> str:
    """`hf` for huggingface_hub >= 0.34 (or unknown), `huggingface-cli` before."""
    match = re.match(r"(\d+)\.(\d+)", hub_version or "")
    if match and (int(match.group(1)), int(match.group(2))) < HF_CLI_SINCE:
        return "huggingface-cli"
    return "hf"


def hub_login(cli: str) -> list[str]:
    return [cli, "login"] if cli == "huggingface-cli" else [cli, "auth", "login"]


def hub_download(cli: str, repo: str, files: Iterable[str] = ()) -> list[str]:
    return [cli, "download", repo, *files]


def attach(findings: Iterable[Any], plan: Iterable[_Step]) -> None:
    """Give each failing or warning finding the remedy the plan holds for it.

    A finding a step addresses gets that step's command (when it is one a user
    can paste) and the step's description (or, for advice, its words) as its text; the finding's `fix`
    becomes the same text, so the JSON's `fix` and `remedy` never disagree.
    A finding no step addresses keeps its rule's advice as text; one a present root
    cause explains (`explained_by`) gets none: fixing the root fixes it.
    """
    steps = list(plan)
    for finding in findings:
        if getattr(finding.status, "value", finding.status) not in ("fail", "warn", "error"):
            continue
        mine = [s for s in steps if any(_same(ref, finding) for ref in s.addresses)]
        if getattr(finding, "explained_by", None) and not any(s.runs for s in mine):
            finding.remedy = Remedy((), "")  # its root's remedy fixes it: nothing of its own
            finding.fix = None
            continue
        moot = next((s for s in mine if _moot(s, finding)), None)
        if moot is not None:  # the recipe cannot run here: said once, on the reasons
            finding.remedy = Remedy((), moot.payload["moot"])
            finding.fix = moot.payload["moot"]
            continue
        commands = tuple(dict.fromkeys(s.command for s in mine if s.command and s.pasteable))
        # advice in words is the step's shown text; a command's step is described in words
        texts = [s.command if s.command and not s.pasteable else s.description for s in mine]
        texts = [t for t in texts if t]
        text = "; then ".join(dict.fromkeys(texts)) if texts else (finding.fix or "")
        shell = next((getattr(s, "shell", "posix") for s in mine), "posix")
        finding.remedy = Remedy(commands, text, shell)
        if mine:
            finding.fix = text


def _moot(step: Any, finding: Any) -> bool:
    """A step that says the recipe cannot run, for a finding that is not one of its reasons."""
    payload = getattr(step, "payload", None) or {}
    reasons = payload.get("reasons")
    return reasons is not None and [finding.id, finding.check, finding.subject] not in reasons


def _same(ref: Any, finding: Any) -> bool:
    return ref.id == finding.id and ref.subject == finding.subject and \
        (ref.check is None or ref.check == finding.check)


def switch_recipe_command(recipe_id: str, shell: str = "posix") -> str:
    """The command that plans the machine again for a recipe that can run on it."""
    return join_command(["csm-doctor", "fix", "--recipe", recipe_id], shell)


def triage_remedy(diagnosis: Any, catalogue: Any = None) -> Remedy:
    """A pasted log has no recipe or target to plan for: the entry's steps that need neither.

    A recipe switch names the default recipe's first alternative (the one whose torch
    covers new GPUs and runs on the CPU); a Hub login uses `hf` (the current CLI); an
    `install` step is the requirement for whichever Python the user runs. Everything
    else is the fix in words.
    """
    commands: list[str] = []
    for step in diagnosis.remedy:
        if step.kind == "switch-recipe" and step.argument != "no-recipe-runs":
            from csm_doctor.select import recipe_roles

            runs_newer = recipe_roles().transformers
            if runs_newer:
                commands.append(switch_recipe_command(runs_newer))
        elif step.kind == "hub-login":
            commands.append(join_command(hub_login(hub_cli(None))))
        elif step.kind == "install" and step.argument:
            commands.append(join_command(["python", "-m", "pip", "install", step.argument]))
    return Remedy(tuple(dict.fromkeys(commands)), diagnosis.fix or "")
