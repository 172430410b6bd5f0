"""The catalogue of known problems: diagnoses/*.yaml, one entry per diagnosis.

A diagnosis is declared in one place: its id, cause and fix in words, the
checks that judge it from facts (each naming its rule in csm_doctor/rules/),
the log signatures `triage` recognises it by, the verdict that settles a
likely match from a paste's facts, the problems it explains, the Hub access
states it stands for, its lint entries, and its remedy as typed steps that
`fix` plans and `check`, `report` and `triage` render. Each file is one area
(the heading `check` shows its checks under). Adding a known problem is one
entry here, a real log under tests/fixtures/logs/<id>/, and the generated docs;
only a problem that needs new judgement adds one small function (a rule or a
verdict).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csm_doctor.errors import InputError, Problem
from csm_doctor.resources import data_dir
from csm_doctor.shapes import Bool, Key, ListOf, MapOf, OneOf, Record, ShapeProblem, Str
from csm_doctor.yamlpos import LineMap, format_path, line_for, load_yaml

DATA = "diagnoses"
_KEBAB = Str(r"[a-z0-9]+(-[a-z0-9]+)*", hint="a kebab-case id")
_RULE = Str(r"[a-z_]+", hint="a function name")

# The typed remedy steps fix knows how to plan (csm_doctor/fix/plan.py), with what their
# argument means. A finding is handled by the first of its diagnosis' steps that applies on
# the machine; one that none applies to gets its fix in words (the plan's last steps).
STEP_KINDS: dict[str, str] = {
    "switch-recipe": "the recipe cannot run here: plan nothing else, name the recipe that can "
                     "(argument `no-build-covers-gpu`: only when no build of the torch pin has "
                     "kernels for the GPU; `no-recipe-runs`: the machine runs none, name none)",
    "new-environment": "the interpreter cannot run the recipe: no package is installed into it",
    "replace-conflicts": "uninstall what the recipe's platform package replaces; when both are "
                         "installed (they share files) reinstall the platform package fresh",
    "torch-build": "torch and its twins from the PyTorch index whose build fits this driver and "
                   "GPU (argument `other-build`: only when that build differs from the installed "
                   "one; `other-cuda`: only when its CUDA differs too)",
    "install-pins": "the recipe's pin of the package the finding names, into the target",
    "install": "the requirement given as argument (`{install: soundfile}`), into the target",
    "install-expected": "the requirement the finding expected (`triton==3.0.0`), into the target; "
                        "one already planned for that package addresses it too",
    "install-requirements": "the package the finding names and what it requires, in one "
                            "resolver run",
    "set-env": "the variable the finding names: a marked block in the shell profile, or setx",
    "hub-login": "log in with the CLI the target's huggingface_hub ships",
    "hub-download": "the missing or corrupt checkpoint files, resumable and hash-checked",
    "system-package": "the tool the finding names, from the OS package manager",
    "driver": "advice: the NVIDIA driver download page and the distribution's driver tool",
}
_STEP_ARGUMENTS = {"switch-recipe": ("no-build-covers-gpu", "no-recipe-runs"), "torch-build": ("other-build", "other-cuda")}
_STEP = OneOf(Str(r"[a-z-]+", hint="a remedy step kind"),
              MapOf(Str(), key=Str(r"[a-z-]+", hint="a remedy step kind")))

_CHECK = Record({
    "name": Key(_KEBAB, required=True, doc="unique name of the check"),
    "title": Key(Str(), required=True),
    "reads": Key(ListOf(Str(r"[a-z_]+(\.[a-z_]+)*", hint="a facts path")), required=True),
    "rule": Key(_RULE, required=True, doc="the function in csm_doctor/rules/ that judges it"),
    "group": Key(_KEBAB, doc="shown under another area's heading"),
    "fix": Key(Str(), doc="overrides the diagnosis' fix"),
    "remedy": Key(ListOf(_STEP), doc="overrides the diagnosis' remedy"),
})
_LINT = Record({
    "name": Key(_KEBAB, required=True), "title": Key(Str(), required=True),
    "fix": Key(Str(), doc="overrides the diagnosis' fix"),
})
DIAGNOSIS_SHAPE = Record({
    "cause": Key(Str(), required=True), "fix": Key(Str(), required=True),
    "added": Key(Bool(), doc="not in the project's starting list"),
    "remedy": Key(ListOf(_STEP), doc="typed steps fix plans, first that applies wins"),
    "explains": Key(ListOf(_KEBAB), doc="ids this problem causes: shown as its consequences"),
    "hub_states": Key(ListOf(_KEBAB), doc="Hugging Face access states that mean this problem"),
    "checks": Key(ListOf(_CHECK)),
    "signatures": Key(ListOf(Str()), doc="regexes matching the problem in logs"),
    "verdict": Key(_RULE, doc="csm_doctor/triage/verdicts.py: settles a likely match from facts"),
    "facts_alone": Key(Record({"verdict": Key(_RULE, required=True),
                               "sources": Key(ListOf(_KEBAB), required=True)}),
                       doc="raise the problem from a paste's facts with no error text"),
    "lint": Key(ListOf(_LINT), doc="what `csm-doctor lint` judges in a user's files"),
})
AREA_FILE_SHAPE = Record({
    "area": Key(Record({"id": Key(_KEBAB, required=True), "title": Key(Str(), required=True)}),
                required=True),
    "diagnoses": Key(MapOf(DIAGNOSIS_SHAPE, key=_KEBAB), required=True),
})


@dataclass(frozen=True)
class RemedyStep:
    """One typed remedy step: a kind from STEP_KINDS and its argument."""

    kind: str
    argument: str | None = None


@dataclass(frozen=True)
class LintEntry:
    """A problem `csm-doctor lint` judges in a user's file (not a check: check has no file)."""

    name: str
    id: str
    title: str
    fix: str | None


@dataclass(frozen=True)
class Diagnosis:
    id: str
    area: str
    cause: str
    fix: str
    added: bool = False
    remedy: tuple[RemedyStep, ...] = ()
    explains: tuple[str, ...] = ()
    hub_states: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    verdict: str | None = None
    facts_alone: tuple[str, tuple[str, ...]] | None = None
    lint: tuple[LintEntry, ...] = ()
    where: str = ""  # file:line of the entry, for messages


@dataclass(frozen=True)
class Check:
    name: str
    id: str
    group: str
    group_title: str
    title: str
    reads: tuple[str, ...]
    rule: str
    fix: str | None
    remedy: tuple[RemedyStep, ...] | None = None


@dataclass
class Catalogue:
    groups: list[tuple[str, str]] = field(default_factory=list)  # (id, title) in order
    checks: list[Check] = field(default_factory=list)
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)

    def fix_for(self, check: Check) -> str | None:
        if check.fix:
            return check.fix
        diagnosis = self.diagnoses.get(check.id)
        return diagnosis.fix if diagnosis else None

    def group_title(self, group_id: str) -> str:
        return dict(self.groups).get(group_id, group_id)

    def check_named(self, name: str | None) -> Check | None:
        return self._checks_by_name.get(name or "")

    def steps_for(self, diagnosis_id: str, check_name: str | None = None) -> tuple[RemedyStep, ...]:
        """The remedy of a finding: its check's own, else its diagnosis'."""
        check = self.check_named(check_name)
        if check is not None and check.remedy is not None:
            return check.remedy
        diagnosis = self.diagnoses.get(diagnosis_id)
        return diagnosis.remedy if diagnosis else ()

    def hub_state_diagnosis(self, state: str | None) -> str | None:
        """The id a Hugging Face access state (probes/hf.py) stands for."""
        return next((d.id for d in self.diagnoses.values() if state in d.hub_states), None)

    def lint_entries(self) -> list[LintEntry]:
        """What `csm-doctor lint` judges: the lint entries, and the lint area's checks."""
        out = [e for d in self.diagnoses.values() for e in d.lint]
        out += [LintEntry(c.name, c.id, c.title, self.fix_for(c)) for c in self.checks
                if c.group == "lint"]
        return out

    @functools.cached_property
    def causes(self) -> dict[str, frozenset[str]]:
        """{root: every id it explains, directly or through others} (validated at load)."""
        direct = {d.id: d.explains for d in self.diagnoses.values() if d.explains}
        return {root: frozenset(_reachable(root, direct)) for root in direct}

    @functools.cached_property
    def _checks_by_name(self) -> dict[str, Check]:
        """Read once the catalogue is loaded (only remedy lookups ask, after load_catalogue)."""
        return {c.name: c for c in self.checks}


def _reachable(root: str, direct: dict[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(direct.get(root, ()))
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(direct.get(name, ()))
    return seen


def load_data_file(path: Path, shape: Record) -> dict:
    """A validated YAML data file, with its key lines under "__lines__"."""
    text = path.read_text(encoding="utf-8")
    data, lines = load_yaml(text, str(path))
    problems: list[ShapeProblem] = []
    checked = shape.check(data, (), problems)
    if problems:
        raise InputError(str(path), [Problem(p.message, format_path(p.path) or None,
                                             line_for(lines, p.path)) for p in problems])
    checked["__lines__"] = lines
    return checked


def _steps(raw: list[Any], where: tuple, lines: LineMap, problems: list[Problem]
           ) -> tuple[RemedyStep, ...]:
    out = []
    for i, item in enumerate(raw):
        kind, argument = (item, None) if isinstance(item, str) else next(iter(item.items()), ("", None))
        at = (format_path(where + (i,)), line_for(lines, where + (i,)))
        if isinstance(item, dict) and len(item) != 1:
            problems.append(Problem("a step is a kind, or one `kind: argument` pair", *at))
        elif kind not in STEP_KINDS:
            problems.append(Problem(f"unknown remedy step '{kind}' (known: "
                                    f"{', '.join(sorted(STEP_KINDS))})", *at))
        elif kind == "install" and not argument:
            problems.append(Problem("`install` names its requirement: {install: NAME}", *at))
        elif kind != "install" and argument is not None and \
                str(argument) not in _STEP_ARGUMENTS.get(kind, ()):
            problems.append(Problem(f"'{kind}' takes no argument '{argument}'"
                                    + (f" (known: {', '.join(_STEP_ARGUMENTS[kind])})"
                                       if kind in _STEP_ARGUMENTS else ""), *at))
        else:
            out.append(RemedyStep(kind, None if argument is None else str(argument)))
    return tuple(out)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read and cross-check the catalogue: known rules and verdicts, known ids, unique names,
    an `explains` relation without loops. Bad data is exit 2 with file, line and key."""
    from csm_doctor.knowledge.tables import validate_tables
    from csm_doctor.rules import RULES
    from csm_doctor.triage.extract import source_kinds
    from csm_doctor.triage.verdicts import VERDICTS

    validate_tables()  # a broken knowledge table is exit 2 here, not "unknown" in every verdict
    outputs = source_kinds()
    directory = directory or data_dir(DATA)
    catalogue = Catalogue()
    docs = []
    for path in sorted(directory.glob("[0-9]*.yaml")):
        doc = load_data_file(path, AREA_FILE_SHAPE)
        docs.append((path, doc))
        catalogue.groups.append((doc["area"]["id"], doc["area"]["title"]))
    titles = dict(catalogue.groups)
    names: set[str] = set()
    pending: list[tuple[Path, LineMap, str, Diagnosis]] = []
    for path, doc in docs:
        lines, area = doc["__lines__"], doc["area"]["id"]
        problems: list[Problem] = []

        def at(*keys: Any) -> tuple[str, int | None]:
            return format_path(keys), line_for(lines, keys)

        for did, entry in doc["diagnoses"].items():
            base = ("diagnoses", did)
            if did in catalogue.diagnoses:
                problems.append(Problem(f"'{did}' is declared twice (also {catalogue.diagnoses[did].where})",
                                        *at(*base)))
            alone = entry.get("facts_alone")
            named = [(entry.get("verdict"), ("verdict",)),
                     (alone["verdict"] if alone else None, ("facts_alone", "verdict"))]
            for name, keys in named:
                if name and name not in VERDICTS:
                    problems.append(Problem(f"no verdict named '{name}' in "
                                            "csm_doctor/triage/verdicts.py", *at(*base, *keys)))
            for i, kind in enumerate(alone["sources"] if alone else ()):
                if kind not in outputs:
                    problems.append(Problem(f"triage reads no tool output '{kind}' (known: "
                                            f"{', '.join(sorted(outputs))})",
                                            *at(*base, "facts_alone", "sources", i)))
            for i, check in enumerate(entry.get("checks", [])):
                where = base + ("checks", i)
                if check["rule"] not in RULES:
                    problems.append(Problem(f"no rule named '{check['rule']}'", *at(*where, "rule")))
                if check.get("group", area) not in titles:
                    problems.append(Problem(f"no area '{check['group']}' in {DATA}/",
                                            *at(*where, "group")))
                if check["name"] in names:
                    problems.append(Problem("duplicate check name", *at(*where, "name")))
                names.add(check["name"])
                group = check.get("group", area)
                catalogue.checks.append(Check(
                    name=check["name"], id=did, group=group, group_title=titles.get(group, group),
                    title=check["title"], reads=tuple(check["reads"]), rule=check["rule"],
                    fix=check.get("fix"),
                    remedy=_steps(check["remedy"], where + ("remedy",), lines, problems)
                    if "remedy" in check else None,
                ))
            for i, lint in enumerate(entry.get("lint", [])):
                if lint["name"] in names:
                    problems.append(Problem("duplicate check name", *at(*base, "lint", i, "name")))
                names.add(lint["name"])
            diagnosis = Diagnosis(
                id=did, area=area, cause=entry["cause"], fix=entry["fix"],
                added=bool(entry.get("added")),
                remedy=_steps(entry.get("remedy", []), base + ("remedy",), lines, problems),
                explains=tuple(entry.get("explains", ())),
                hub_states=tuple(entry.get("hub_states", ())),
                signatures=tuple(entry.get("signatures", ())),
                verdict=entry.get("verdict"),
                facts_alone=(alone["verdict"], tuple(alone["sources"])) if alone else None,
                lint=tuple(LintEntry(x["name"], did, x["title"], x.get("fix") or entry["fix"])
                           for x in entry.get("lint", [])),
                where=f"{path.name}:{line_for(lines, base)}",
            )
            catalogue.diagnoses.setdefault(did, diagnosis)
            pending.append((path, lines, did, diagnosis))
        if problems:
            raise InputError(str(path), problems)
    _check_relations(catalogue, pending)
    return catalogue


def _check_relations(catalogue: Catalogue, entries: list[tuple[Path, LineMap, str, Diagnosis]]) -> None:
    """Every id `explains` names exists, the relation has no loop, a Hub state means one id."""
    by_file: dict[Path, list[Problem]] = {}
    states: dict[str, str] = {}
    for path, lines, did, diagnosis in entries:
        problems = by_file.setdefault(path, [])
        for name in diagnosis.explains:
            if name not in catalogue.diagnoses:
                key = ("diagnoses", did, "explains")
                problems.append(Problem(f"'{name}' is not a diagnosis in {DATA}/", format_path(key),
                                        line_for(lines, key)))
        for state in diagnosis.hub_states:
            if states.setdefault(state, did) != did:
                key = ("diagnoses", did, "hub_states")
                problems.append(Problem(f"Hub state '{state}' already means {states[state]}",
                                        format_path(key), line_for(lines, key)))
    for path, lines, did, _ in entries:
        if did in catalogue.causes.get(did, ()):
            key = ("diagnoses", did, "explains")
            by_file[path].append(Problem("the explains relation loops back to this id",
                                         format_path(key), line_for(lines, key)))
    for path, problems in by_file.items():
        if problems:
            raise InputError(str(path), problems)


@functools.lru_cache(maxsize=1)
def shipped_catalogue() -> Catalogue:
    return load_catalogue()


def entry_fix(diagnosis: str) -> str | None:
    """The shipped entry's fix in words; None for an unknown id or an unreadable catalogue
    (a verdict stands without its words; loading the catalogue elsewhere reports the entry)."""
    try:
        entry = shipped_catalogue().diagnoses.get(diagnosis)
    except Exception:  # noqa: BLE001 - smoke and cluster verdicts never fail on the catalogue
        return None
    return entry.fix if entry else None


def hub_state_diagnosis(state: str | None, default: str) -> str:
    """The shipped id a Hugging Face access state stands for (fix, smoke and the Hub probe agree)."""
    return shipped_catalogue().hub_state_diagnosis(state) or default
