"""Pure planning: failing findings + facts + recipe → an ordered list of idempotent actions.

No I/O: what the planner needs to know about the machine beyond the facts
(which installer, what is in the Hugging Face cache, which package managers
are on PATH, the profile's current block) is handed in as data, so a saved
facts document from any machine is planned exactly as on that machine.

Every failing finding ends up in some action: one csm-doctor runs (installs,
downloads, a profile block) or advice it only prints (drivers, CANN, access
requests, hardware). The order is the order things must happen in: conflicting
packages out, torch's build in first (everything else depends on it), then the
pinned packages, the recipe's own pip commands, the environment, checkpoints,
system tools and, last, the advice.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from csm_doctor.catalogue import Catalogue, RemedyStep, shipped_catalogue
from csm_doctor.facts import get_path
from csm_doctor.findings import Finding, Status
from csm_doctor.fix import actions as kinds
from csm_doctor.fix.actions import Action, FindingRef, changes_gpu_settings
from csm_doctor.fix.download import FileState
from csm_doctor.fix.installer import UV, Installer, get_uv_command
from csm_doctor.fix.system import install_command as system_install
from csm_doctor.recipe import PackageReq, Recipe, canonical_name
from csm_doctor.remedy import (
    hub_cli,
    hub_download,
    hub_login,
    join_command,
    shell_for,
    switch_recipe_command,
)

DRIVER_PAGE = "https://www.nvidia.com/Download/index.aspx"
# Access states (facts hf.repos) under which a download can only fail; the catalogue's
# `hub_states` say which diagnosis each one is.
BLOCKED_ACCESS = ("no-token", "token-invalid", "not-requested", "pending", "rejected", "no-access")
# Options of a recipe's pip command that would install somewhere other than the target.
_ELSEWHERE = ("--user", "-t", "--target", "--prefix", "--root", "--python")


@dataclass(frozen=True)
class PlanInput:
    """Everything the planner reads."""

    facts: dict[str, Any]
    recipe: Recipe
    findings: list[Finding]
    installer: Installer
    checkpoints: list[FileState] = field(default_factory=list)
    downloads: str = "on"                  # on | offline | off
    profile: Path | None = None            # --write-profile: the file to write
    run_system: bool = False
    is_root: bool = False
    package_managers: dict[str, str] = field(default_factory=dict)
    get_uv: bool = False                   # uv must first be installed into csm-doctor's env
    torch_index: str = "add"               # add: PyTorch's index beside the user's; only: instead
    catalogue: Catalogue | None = None     # whose entries declare each finding's remedy steps


SWITCH = "switch-recipe"
# Remedy steps that install or download: moot when the recipe cannot run here.
CHANGING_STEPS = frozenset({"replace-conflicts", "torch-build", "install-pins", "install",
                            "install-expected", "install-requirements", "hub-download",
                            "system-package"})


def make_plan(inp: PlanInput) -> list[Action]:
    """The steps, each quoted for the target's shell; check and report show the same steps."""
    return _Planner(inp).build()


def plan_with_remedies(inp: PlanInput) -> list[Action]:
    """make_plan, and every finding given the remedy its steps make (csm_doctor/remedy.py)."""
    from csm_doctor.remedy import attach

    plan = make_plan(inp)
    attach(inp.findings, plan)
    return plan


def key(finding: Finding) -> tuple[str, str | None, str | None]:
    """What identifies one finding across two evaluations (before and after fixing)."""
    return finding.id, finding.check, finding.subject


def _ref(finding: Finding) -> FindingRef:
    return FindingRef(finding.id, finding.subject, finding.check)


class _Planner:
    def __init__(self, inp: PlanInput) -> None:
        self.inp = inp
        self.facts = inp.facts
        self.os_name = (inp.facts.get("os") or {}).get("name")
        self.failing = [f for f in inp.findings if f.status is Status.FAIL]
        self.handled: set[tuple] = set()
        self.packages = inp.recipe.packages_for(self.os_name)
        self.installed: dict[str, str] = inp.facts.get("packages") or {}
        self.ids: set[str] = set()
        self.torch_family = {p.key for p in self.packages if p.index == "pytorch"}
        self.torch_planned = False  # set by _torch: what torch requires then follows the new torch
        self.shell = shell_for(self.os_name)
        self.hub = hub_cli(self._hub_version())
        self.catalogue = inp.catalogue or shipped_catalogue()

    # ------------------------------------------------------------ helpers

    def _take(self, findings: list[Finding]) -> tuple[FindingRef, ...]:
        for f in findings:
            self.handled.add(key(f))
        return tuple(_ref(f) for f in findings)

    def _steps(self, finding: Finding) -> tuple[RemedyStep, ...]:
        """The remedy its diagnosis entry (or its check) declares."""
        return self.catalogue.steps_for(finding.id, finding.check)

    def _wants(self, finding: Finding, kind: str) -> RemedyStep | None:
        """Its declared step of this kind, if any."""
        return next((s for s in self._steps(finding) if s.kind == kind), None)

    def _id(self, base: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
        candidate, n = slug, 2
        while candidate in self.ids:
            candidate, n = f"{slug}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    def _pkg(self, name: str | None) -> PackageReq | None:
        wanted = canonical_name(name or "")
        return next((p for p in self.packages if p.key == wanted), None)

    def _fact(self, dotted: str) -> Any:
        return get_path(self.facts, dotted)

    def _join(self, argv: list[str] | tuple[str, ...]) -> str:
        return join_command(argv, self.shell)

    def _hub_version(self) -> str | None:
        """The target's huggingface_hub: installed, else the recipe's exact pin (fix installs it)."""
        installed = (self.facts.get("packages") or {}).get("huggingface-hub")
        if installed:
            return installed
        pin = self._pkg("huggingface-hub")
        return _exact(pin.spec) if pin else None

    def _advice(self, findings: list[Finding], description: str, shown: str,
                kind: str = kinds.ADVICE, base: str | None = None, is_command: bool = True) -> Action:
        if changes_gpu_settings(shown):
            shown = ("(a GPU clock/power/compute-mode change was suggested; csm-doctor never "
                     "plans one: on a shared machine it affects every other user)")
            is_command = False
        return Action(self._id(base or f"advice-{findings[0].id if findings else kind}"), kind,
                      description, self._take(findings), runs=False, shown=shown,
                      is_command=is_command)

    # ------------------------------------------------------------ the plan

    def build(self) -> list[Action]:
        blocked = self._cannot_run()
        if blocked is not None:  # the switch, and advice for what no install would have fixed
            return [replace(a, shell=self.shell) for a in [blocked, *self._remaining_advice()]]
        python_blocked = [f for f in self.failing if self._wants(f, "new-environment")]
        plan: list[Action] = []
        if not python_blocked:
            plan += self._conflicts()
            plan += self._torch()
            plan += self._packages()
        plan += self._environment()
        plan += self._hub_login()
        plan += self._downloads()
        plan += self._system_tools()
        plan += self._remaining_advice()
        if self.inp.get_uv and self.inp.installer.tool == UV and any(a.changes_packages for a in plan):
            plan.insert(0, Action(self._id("get-uv"), kinds.GET_UV,
                                  "install uv into csm-doctor's own environment (--installer uv)",
                                  argv=get_uv_command()))
        return [replace(a, shell=self.shell) for a in plan]

    # ------------------------------------------------------------ a recipe that cannot run here

    def _cannot_run(self) -> Action | None:
        """One step instead of a plan when the recipe cannot run on this machine at all.

        No GPU for a CUDA-only recipe, an OS the recipe does not support, a GPU no
        build of the recipe's torch pin has kernels for: installing packages or
        downloading checkpoints for it would only cost time and disk. The step
        names the reasons that apply here, once, and the recipe that can run.
        """
        switches = {key(f): s for f in self.failing if (s := self._switch_applies(f)) is not None}
        reasons = [f for f in self.failing if key(f) in switches]
        if not reasons:
            return None
        recipe = self.inp.recipe
        said_already = f"{recipe.id} cannot run on this machine: "
        why = "; ".join(dict.fromkeys(f.title.removeprefix(said_already) for f in reasons))
        none_runs = any(s.argument == "no-recipe-runs" for s in switches.values())
        alt = recipe.alternatives[0] if recipe.alternatives and not none_runs else None
        # What would have been an install or a download is answered by the switch too.
        moot = [f for f in self.failing
                if f in reasons or any(s.kind in CHANGING_STEPS for s in self._steps(f))]
        said = {"reasons": [list(key(f)) for f in reasons],
                "moot": f"not needed: {recipe.id} cannot run on this machine (see above)"}
        if alt is None:
            return Action(self._id(SWITCH), kinds.ADVICE,
                          f"{recipe.id} cannot run on this machine ({why}): nothing to install"
                          + (f"; {self._diagnosis_fix(reasons)}" if none_runs else ""),
                          self._take(moot), runs=False, shown=None, is_command=False, payload=said)
        return Action(self._id(SWITCH), kinds.ADVICE,
                      f"{recipe.id} cannot run on this machine ({why}): nothing is installed for it; "
                      f"the {alt.recipe} recipe can run here",
                      self._take(moot), runs=False,
                      shown=switch_recipe_command(alt.recipe, self.shell), payload=said)

    def _diagnosis_fix(self, findings: list[Finding]) -> str:
        fixes = [d.fix for d in (self.catalogue.diagnoses.get(f.id) for f in findings) if d]
        return "; ".join(dict.fromkeys(fixes))

    def _switch_applies(self, finding: Finding) -> RemedyStep | None:
        """The finding's switch-recipe step when it holds on this machine (its argument says when)."""
        step = self._wants(finding, SWITCH)
        if step is None or (step.argument == "no-build-covers-gpu"
                            and not self._no_pin_covers(finding.subject)):
            return None
        return step

    def _no_pin_covers(self, gpu_name: str | None) -> bool:
        """Whether no build of the recipe's torch pin has kernels for this GPU (the tables know)."""
        from csm_doctor.knowledge.tables import torch_supports_gpu
        from csm_doctor.rules.nvidia import gpu_capability

        pin, variants = self.inp.recipe.torch_version, self.inp.recipe.torch_variants
        gpu = next((g for g in self._fact("nvidia.gpus") or [] if g.get("name") == gpu_name), None)
        capability = gpu_capability(gpu) if gpu else None
        if not pin or not variants or capability is None:
            return False
        return all(torch_supports_gpu(pin, v, capability) is False for v in variants)

    # ------------------------------------------------------------ Hub login

    def _hub_login(self) -> list[Action]:
        """A missing or refused token: log in with the CLI the target's huggingface_hub ships."""
        found = [f for f in self.failing if self._wants(f, "hub-login") and key(f) not in self.handled]
        if not found:
            return []
        return [self._advice(found, "create a read token at https://huggingface.co/settings/tokens "
                                    "and log in with it (or set HF_TOKEN)",
                             self._join(hub_login(self.hub)), base="hub-login")]

    def _conflicts(self) -> list[Action]:
        out = []
        for f in self.failing:
            if not self._wants(f, "replace-conflicts"):
                continue
            clashes = [c for c in (f.observed or []) if isinstance(c, str)]
            if not clashes:
                continue
            pkg = self._pkg(f.subject)
            # Both installed: they share files (triton/ in triton-windows), so removing the clash
            # breaks the survivor; remove both, then install the right one fresh.
            both = pkg is not None and pkg.key in self.installed and not pkg.install and not pkg.source
            names = [*clashes, pkg.name] if both and pkg is not None else clashes
            refs = self._take([f])
            out.append(Action(self._id(f"uninstall-{'-'.join(names)}"), kinds.UNINSTALL,
                              f"uninstall {', '.join(names)}: on {self.os_name or 'this OS'} "
                              f"{f.subject} replaces {', '.join(clashes)}"
                              + (" and shares its files, so both go" if both else ""),
                              refs, argv=self.inp.installer.uninstall(names)))
            if both and pkg is not None:
                requirement = self._requirement(pkg)
                out.append(Action(self._id(f"install-{pkg.name}"), kinds.INSTALL,
                                  f"install {requirement} in place of {', '.join(clashes)}",
                                  refs, argv=self.inp.installer.install([requirement])))
        return out

    # ------------------------------------------------------------ torch

    def _torch(self) -> list[Action]:
        from csm_doctor.knowledge import variant_cuda
        from csm_doctor.rules import RuleContext
        from csm_doctor.rules.torch import proposed_variant

        pins = [p for p in self.packages if p.index == "pytorch"]
        if not pins:
            return []
        gpus = self._fact("nvidia.gpus") or []
        variant = proposed_variant(RuleContext(self.facts, self.inp.recipe, None, None)) if gpus \
            else self._cpu_variant()
        installed_torch = self._fact("torch.version") or self.installed.get("torch")
        build_fixable = bool(variant and installed_torch and variant != self._fact("torch.variant"))
        names = {p.name for p in pins}
        triggers = []
        other_cuda = build_fixable and variant_cuda(variant or "") != self._fact("torch.cuda")
        for f in self.failing:
            step = self._wants(f, "torch-build")
            if self._wants(f, "install-pins") and f.subject in names:
                triggers.append(f)
            elif step is not None and {None: True, "other-build": build_fixable,
                                       "other-cuda": other_cuda}[step.argument]:
                triggers.append(f)
        if not triggers or (gpus and variant is None):
            return []  # no build of the pin runs on this driver/GPU: the advice says why
        version = self._torch_version(pins)
        requirements = [self._torch_requirement(p, version, variant) for p in pins]
        index_url = self.inp.recipe.torch_index_url.format(variant=variant) if variant else None
        replacing = any(p.key in self.installed for p in pins)
        where = f" from PyTorch's {variant} index" if variant else self._pypi_build(version)
        if index_url and self.inp.torch_index != "only":  # a mirror with torch wheels still counts
            where = f" (PyTorch's {variant} index added to your configured ones)"
            sources: dict[str, Any] = {"extra_index_urls": (index_url,)}
        else:
            sources = {"index_url": index_url}
        why = self._variant_reason(variant, gpus) if variant and gpus else ""
        self.torch_planned = True
        return [Action(self._id("torch"), kinds.REINSTALL if replacing else kinds.INSTALL,
                       f"{'replace' if replacing else 'install'} {' + '.join(requirements)}{where}{why}",
                       self._take(triggers),
                       argv=self.inp.installer.install(requirements, **sources))]

    def _pypi_build(self, version: str | None) -> str:
        """What PyPI's torch is here (its Linux wheel is a CUDA build, gigabytes), said in the step."""
        from csm_doctor.knowledge.tables import pypi_default_variant

        build = pypi_default_variant(version, self.os_name or "", self._fact("os.arch") or "x86_64") \
            if version else None
        return f" from PyPI (its {build} build)" if build else ""

    def _cpu_variant(self) -> str | None:
        """No NVIDIA GPU, a recipe that runs on the CPU: PyTorch's CPU wheels, not PyPI's CUDA ones."""
        recipe = self.inp.recipe
        if self.os_name in ("linux", "windows") and "cpu" in recipe.accelerators_for(self.os_name) \
                and "{variant}" in recipe.torch_index_url and not self._fact("nvidia.pci_devices"):
            return "cpu"
        return None

    def _torch_version(self, pins: list[PackageReq]) -> str | None:
        """The torch release to pin: the recipe's exact pin, else the installed one if it fits."""
        from csm_doctor.knowledge import base_release

        torch = next((p for p in pins if p.key == "torch"), None)
        if torch is None:
            return None
        exact = _exact(torch.spec)
        if exact:
            return exact
        for candidate in (base_release(self.installed.get("torch")), self.inp.recipe.torch_version):
            if candidate and _allows(torch.spec, candidate):
                return candidate
        return None

    @staticmethod
    def _torch_requirement(pin: PackageReq, torch_version: str | None, variant: str | None) -> str:
        version = _exact(pin.spec) or (torch_version if pin.key in ("torch", "torchaudio") else None)
        if version and variant:
            return f"{pin.name}=={version}+{variant}"
        if version:
            return f"{pin.name}=={version}"
        return f"{pin.name}{pin.spec}"

    def _variant_reason(self, variant: str, gpus: list[dict[str, Any]]) -> str:
        driver = self._fact("nvidia.driver_version")
        gpu = gpus[0].get("name") if gpus else None
        parts = [x for x in (f"driver {driver}" if driver else "", gpu or "") if x]
        return f" (fits {', '.join(parts)})" if parts else ""

    # ------------------------------------------------------------ other packages

    def _packages(self) -> list[Action]:
        plain: list[tuple[str, Finding]] = []
        out: list[Action] = []
        for f in self.failing:
            if not self._wants(f, "install-pins") or key(f) in self.handled:
                continue
            pkg = self._pkg(f.subject)
            if pkg is None or pkg.index == "pytorch":
                continue
            if pkg.install:
                out.append(self._recipe_command(pkg, f))
            elif pkg.source:
                out.append(self._source(pkg, f))
            else:
                plain.append((self._requirement(pkg), f))
        for f in self.failing:
            step = self._wants(f, "install")
            if step is not None and step.argument and key(f) not in self.handled:
                plain.append((step.argument, f))
        plain += self._expected(plain)
        plain += self._dependency_pairs({canonical_name(_name(req)) for req, _ in plain})
        if plain:
            order = {p.name: i for i, p in enumerate(self.packages)}
            plain.sort(key=lambda item: order.get(item[1].subject or "", len(order)))
            requirements = list(dict.fromkeys(req for req, _ in plain))
            labels = ", ".join(f"{req} ({self._now(req)})" for req in requirements)
            out.insert(0, Action(self._id("packages"), kinds.INSTALL, f"install {labels}",
                                 self._take(list({id(f): f for _, f in plain}.values())),
                                 argv=self.inp.installer.install(requirements)))
        return out

    def _expected(self, plain: list[tuple[str, Finding]]) -> list[tuple[str, Finding]]:
        """install-expected: the requirement the finding names, or the one already planned for it."""
        planned = {canonical_name(_name(req)): req for req, _ in plain}
        out: list[tuple[str, Finding]] = []
        if self.torch_planned:  # what torch requires follows the new torch; the resolver picks it
            return out
        for f in self.failing:
            wanted = f.expected if isinstance(f.expected, str) else None
            if not self._wants(f, "install-expected") or key(f) in self.handled or not wanted:
                continue
            name = canonical_name(_name(wanted))
            if name in self.torch_family:
                continue  # torch's build comes from its own index: the torch step or advice
            out.append((planned.setdefault(name, wanted), f))
        return out

    def _dependency_pairs(self, planned: set[str]) -> list[tuple[str, Finding]]:
        """package-dependency-broken: the requirer and what it requires, in the same resolver run."""
        from csm_doctor.rules import RuleContext
        from csm_doctor.rules.packages import pair_requirements

        out: list[tuple[str, Finding]] = []
        for f in self.failing:
            observed = f.observed if isinstance(f.observed, dict) else {}
            if not self._wants(f, "install-requirements") or key(f) in self.handled or not f.subject:
                continue
            item = {"package": f.subject, "version": observed.get("version"),
                    "requires": observed.get("requires"), "requirement": f.expected}
            pair = pair_requirements(RuleContext(self.facts, self.inp.recipe, None, None), item)
            names = [canonical_name(_name(req)) for req in pair]
            if any(n in self.torch_family for n in names):
                continue  # torch's build comes from its own index: the torch step or advice
            for req, name in zip(pair, names):
                if name not in planned:
                    planned.add(name)
                    out.append((req, f))
        return out

    def _now(self, requirement: str) -> str:
        version = self.installed.get(canonical_name(_name(requirement)))
        return f"now {version}" if version else "missing"

    def _requirement(self, pkg: PackageReq) -> str:
        if pkg.key == "triton-windows":  # the minor that pairs with the installed (or pinned) torch
            from csm_doctor.knowledge import base_release
            from csm_doctor.knowledge.tables import triton_windows_spec

            torch = base_release(self.installed.get("torch")) or self.inp.recipe.torch_version
            spec = triton_windows_spec(torch) if torch else None
            if spec:
                return spec
        return f"{pkg.name}{pkg.spec}"

    def _source(self, pkg: PackageReq, finding: Finding) -> Action:
        requirement = f"{pkg.name} @ {pkg.source}"
        tools = self._fact("tools")
        if (pkg.source or "").startswith("git+") and isinstance(tools, dict) and not tools.get("git"):
            return self._advice([finding], f"{pkg.name} is installed from git, and git is not on "
                                           "PATH: install git, then run csm-doctor fix again",
                                self._join(self.inp.installer.install([requirement])),
                                base=f"git-{pkg.name}")
        return Action(self._id(f"source-{pkg.name}"), kinds.INSTALL,
                      f"install {pkg.name} from {pkg.source}", self._take([finding]),
                      argv=self.inp.installer.install([requirement]))

    def _recipe_command(self, pkg: PackageReq, finding: Finding) -> Action:
        """The recipe's own `install:`: run when it is a pip install, printed otherwise (conda)."""
        rest = _pip_install_arguments(pkg.install or "")
        if rest is None or any(word.split("=", 1)[0] in _ELSEWHERE for word in rest):
            return self._advice([finding], f"{pkg.name}: the recipe installs it with a command "
                                           "csm-doctor does not run; run it in the environment",
                                pkg.install or "", base=f"command-{pkg.name}")
        return Action(self._id(f"command-{pkg.name}"), kinds.PIP_COMMAND,
                      f"{pkg.name}: the recipe's command `{pkg.install}`, into the target",
                      self._take([finding]), argv=self.inp.installer.install([], extra_args=tuple(rest)))

    # ------------------------------------------------------------ environment

    def _environment(self) -> list[Action]:
        wanted = [f for f in self.inp.findings if self._wants(f, "set-env")
                  and f.status in (Status.FAIL, Status.WARN) and f.subject]
        out: list[Action] = []
        to_write: list[tuple[Finding, str]] = []
        for f in wanted:
            name, value = str(f.subject), str(f.expected if f.expected is not None else "1")
            if self.os_name == "windows":
                out.append(self._advice([f], f"set {name}={value} for your user (new terminals see it)",
                                        f"setx {name} {_win_quote(value)}", kind=kinds.ENV,
                                        base=f"env-{name}"))
            elif self.inp.profile is not None:
                to_write.append((f, value))
            else:
                out.append(self._advice([f], f"set {name}={value} in your shell (add it to your "
                                             "shell profile, or rerun with --write-profile)",
                                        f"export {name}={shlex.quote(value)}", kind=kinds.ENV,
                                        base=f"env-{name}"))
        if to_write and self.inp.profile is not None:
            from csm_doctor.fix.profile import export_line

            lines = [export_line(self.inp.profile, str(f.subject), v) for f, v in to_write]
            out.insert(0, Action(
                self._id("profile"), kinds.PROFILE,
                f"write {', '.join(f'{f.subject}={v}' for f, v in to_write)} to {self.inp.profile} "
                "(a marked csm-doctor block; --undo removes it)",
                self._take([f for f, _ in to_write]),
                shown=f"{'; '.join(lines)}  >> {self.inp.profile}",
                payload={"path": str(self.inp.profile),
                         "variables": {str(f.subject): v for f, v in to_write}}))
        return out

    # ------------------------------------------------------------ checkpoints

    def _downloads(self) -> list[Action]:
        if self.inp.downloads == "off":
            return []
        by_repo: dict[str, list[FileState]] = {}
        for state in self.inp.checkpoints:
            # A file whose state the facts do not give has no failing finding to address:
            # nothing is planned for it (a live fix reads the cache and knows).
            if state.state in ("missing", "corrupt"):
                by_repo.setdefault(state.repo, []).append(state)
        out = []
        for repo, states in by_repo.items():
            subjects = {s.subject for s in states}
            findings = [f for f in self.failing if self._wants(f, "hub-download") and f.subject in subjects]
            files = [s.filename for s in states]
            shown = self._join(hub_download(self.hub, repo, files))
            hub = states[0].hub
            access = ((self._fact("hf.repos") or {}).get(repo) or {}).get("state")
            if repo in self.inp.recipe.gated_repos and self._fact("hf.token_present") is False:
                access = "no-token"
            size = self._size_hint(repo)
            if hub != "huggingface":
                out.append(self._advice(findings, f"{repo} is on {hub}: download it with its own tool",
                                        self._join(["modelscope", "download", "--model", repo, *files]),
                                        base=f"download-{repo}"))
            elif access in BLOCKED_ACCESS:  # the access finding gets its own advice below
                out.append(self._advice(findings, f"{repo} cannot be downloaded yet ({access}): "
                                                  f"fix {self.catalogue.hub_state_diagnosis(access)} first, then run "
                                                  "csm-doctor fix again", shown,
                                        base=f"download-{repo}"))
            elif self.inp.downloads == "offline":
                out.append(self._advice(findings, f"download {', '.join(files)} from {repo}{size} "
                                                  "(offline: run csm-doctor fix without --offline)",
                                        shown, base=f"download-{repo}"))
            else:
                verb = "fetch again" if any(s.state == "corrupt" for s in states) else "download"
                out.append(Action(self._id(f"download-{repo}"), kinds.DOWNLOAD,
                                  f"{verb} {', '.join(files)} from {repo}{size} into the Hugging Face "
                                  "cache (resumable, verified against the Hub's hashes)",
                                  self._take(findings), shown=shown,
                                  payload={"repo": repo, "files": files}))
        return out

    def _size_hint(self, repo: str) -> str:
        for entry in self.inp.recipe.checkpoints:
            if entry.get("repo") == repo and entry.get("size_mb"):
                return f" (about {entry['size_mb'] / 1000:.1f} GB)"
        return ""

    # ------------------------------------------------------------ system tools

    def _system_tools(self) -> list[Action]:
        out = []
        optional = [f for f in self.inp.findings if f.status is Status.WARN and self._wants(f, "system-package")]
        for f in [*self.failing, *optional]:  # an optional tool is shown, never installed
            if not self._wants(f, "system-package") or not f.subject or key(f) in self.handled:
                continue
            command = system_install(f.subject, self.os_name, self._fact("os.distro.id"),
                                     self.inp.package_managers)
            if command is None:
                continue
            may_run = not command.needs_root or self.inp.is_root
            note = f" ({command.note})" if command.note else ""
            if self.inp.run_system and may_run and command.manager in self.inp.package_managers \
                    and f.status is Status.FAIL:
                out.append(Action(self._id(f"system-{f.subject}"), kinds.SYSTEM,
                                  f"install {f.subject} with {command.manager}{note}",
                                  self._take([f]), argv=command.argv))
                continue
            if f.status is Status.WARN:
                why = "optional for this recipe: csm-doctor leaves it to you"
            elif command.needs_root and not self.inp.is_root:
                why = "it needs root: run it yourself (csm-doctor never runs sudo)"
            else:
                why = "--run-system runs it"
            out.append(self._advice([f], f"install {f.subject} with {command.manager}{note}: {why}",
                                    self._join(command.printed(self.inp.is_root)),
                                    kind=kinds.SYSTEM, base=f"system-{f.subject}"))
        return out

    # ------------------------------------------------------------ the rest

    def _remaining_advice(self) -> list[Action]:
        out = []
        for f in self.failing:
            if key(f) in self.handled:
                continue
            out.append(self._advice([f], f.title, self._advice_text(f), is_command=False))
        return out

    def _advice_text(self, f: Finding) -> str:
        from csm_doctor import docs_url

        fix = f.fix or f"see {docs_url('diagnoses.md')} for {f.id}"
        if self._wants(f, "driver"):
            sudo = "" if self.inp.is_root else "sudo "
            return f"{fix}; drivers: {DRIVER_PAGE} (Ubuntu: {sudo}ubuntu-drivers install; then reboot)"
        return fix  # the rules' own fixes already say `source .../set_env.sh` for CANN


def _exact(spec: str) -> str | None:
    """The version of a single '==X' pin (local label dropped), else None."""
    match = re.fullmatch(r"\s*===?\s*([0-9][^,;\s+*]*)(\+[^,;\s]*)?\s*", spec or "")
    return match.group(1) if match else None


def _allows(spec: str, version: str) -> bool:
    try:
        return SpecifierSet(spec or "").contains(version, prereleases=True)
    except InvalidSpecifier:
        return False


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[@]", requirement, maxsplit=1)[0]


def _pip_install_arguments(command: str) -> list[str] | None:
    """The arguments after `pip install` (or `python -m pip install`), None for anything else."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if any(w in ("&&", "||", ";", "|", ">", "<") for w in words):
        return None
    if words and re.fullmatch(r"pip3?(\.\d+)?", words[0]) and words[1:2] == ["install"]:
        return words[2:]
    if words and re.fullmatch(r"python(3(\.\d+)?)?", words[0]) and words[1:4] == ["-m", "pip", "install"]:
        return words[4:]
    return None


def _win_quote(value: str) -> str:
    return f'"{value}"' if re.search(r"\s", value) else value
