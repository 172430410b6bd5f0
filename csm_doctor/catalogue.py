"""The check catalogue: checks/*.yaml, each file one group of checks.

A check entry says what it reads, which rule judges it, the diagnosis id it
rules out, its remedy and the log signatures that identify the same problem
in pasted logs (for `triage`). The rules are code; everything else is data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from csm_doctor.errors import InputError, Problem
from csm_doctor.resources import data_dir
from csm_doctor.shapes import Bool, Key, ListOf, MapOf, Record, ShapeProblem, Str
from csm_doctor.yamlpos import format_path, line_for, load_yaml

_KEBAB = Str(r"[a-z0-9]+(-[a-z0-9]+)*", hint="a kebab-case id")

CHECK_FILE_SHAPE = Record({
    "group": Key(Record({"id": Key(_KEBAB, required=True), "title": Key(Str(), required=True)}),
                 required=True),
    "checks": Key(ListOf(Record({
        "name": Key(_KEBAB, required=True, doc="unique name of the check"),
        "id": Key(_KEBAB, required=True, doc="the diagnosis id it rules out"),
        "title": Key(Str(), required=True),
        "reads": Key(ListOf(Str(r"[a-z_]+(\.[a-z_]+)*", hint="a facts path")), required=True),
        "rule": Key(Str(r"[a-z_]+", hint="a rule name"), required=True),
        "fix": Key(Str(), doc="overrides the diagnosis' fix"),
        "signatures": Key(ListOf(Str()), doc="regexes matching the problem in logs"),
    })), required=True),
})

DIAGNOSES_SHAPE = Record({
    "diagnoses": Key(MapOf(Record({
        "area": Key(Str(), required=True), "cause": Key(Str(), required=True),
        "fix": Key(Str(), required=True), "added": Key(Bool()),
    }), key=_KEBAB), required=True),
})


@dataclass(frozen=True)
class Diagnosis:
    id: str
    area: str
    cause: str
    fix: str


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
    signatures: tuple[str, ...] = ()


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


def load_data_file(path: Path, shape: Record) -> dict:
    """A validated YAML data file (checks, diagnoses, causes), with its key lines under "__lines__"."""
    text = path.read_text(encoding="utf-8")
    data, lines = load_yaml(text, str(path))
    problems: list[ShapeProblem] = []
    checked = shape.check(data, (), problems)
    if problems:
        raise InputError(str(path), [Problem(p.message, format_path(p.path) or None,
                                             line_for(lines, p.path)) for p in problems])
    checked["__lines__"] = lines
    return checked


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read and cross-check the catalogue: known rules, known ids, unique names."""
    from csm_doctor.rules import RULES

    from csm_doctor.knowledge.tables import validate_tables

    validate_tables()  # a broken knowledge table is exit 2 here, not "unknown" in every verdict
    directory = directory or data_dir("checks")
    catalogue = Catalogue()
    diag = load_data_file(directory / "diagnoses.yaml", DIAGNOSES_SHAPE)
    catalogue.diagnoses = {k: Diagnosis(k, v["area"], v["cause"], v["fix"])
                           for k, v in diag["diagnoses"].items()}
    seen: set[str] = set()
    for path in sorted(directory.glob("[0-9]*.yaml")):
        doc = load_data_file(path, CHECK_FILE_SHAPE)
        lines = doc["__lines__"]
        group = doc["group"]
        catalogue.groups.append((group["id"], group["title"]))
        problems = []
        for i, entry in enumerate(doc["checks"]):
            where = ("checks", i)
            if entry["rule"] not in RULES:
                problems.append(Problem(f"no rule named '{entry['rule']}'",
                                        format_path(where + ("rule",)),
                                        line_for(lines, where + ("rule",))))
            if entry["id"] not in catalogue.diagnoses:
                problems.append(Problem(f"'{entry['id']}' is not in checks/diagnoses.yaml",
                                        format_path(where + ("id",)),
                                        line_for(lines, where + ("id",))))
            if entry["name"] in seen:
                problems.append(Problem("duplicate check name", format_path(where + ("name",)),
                                        line_for(lines, where + ("name",))))
            seen.add(entry["name"])
            catalogue.checks.append(Check(
                name=entry["name"], id=entry["id"], group=group["id"],
                group_title=group["title"], title=entry["title"], reads=tuple(entry["reads"]),
                rule=entry["rule"], fix=entry.get("fix"),
                signatures=tuple(entry.get("signatures", ())),
            ))
        if problems:
            raise InputError(str(path), problems)
    return catalogue


@functools.lru_cache(maxsize=1)
def shipped_catalogue() -> Catalogue:
    return load_catalogue()
