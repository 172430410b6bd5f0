"""Recipes: one YAML per target setup, validated on load.

A recipe says what a working setup needs (Python range, torch and its CUDA
variants, pinned packages, system tools, gated repos, hardware minimums).
Checks read it; they never hard-code a setup. docs/recipes.md lists every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from csm_doctor.errors import InputError, Problem
from csm_doctor.resources import data_dir
from csm_doctor.shapes import (
    Bool, Enum, Key, ListOf, Number, OneOf, Record, ShapeProblem, Str, Version, VersionSpec,
)
from csm_doctor.yamlpos import LineMap, format_path, line_for, load_yaml

RECIPE_SCHEMA = "csm-doctor/recipe/1"
OS_NAMES = ("linux", "windows", "darwin")
ACCELERATORS = ("cuda", "npu", "mps", "cpu")

_ID = Str(r"[a-z0-9][a-z0-9._-]*", hint="an id of lowercase letters, digits, '.', '_' or '-'")
_PKG_NAME = Str(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", hint="a package name")
_DIAG_ID = Str(r"[a-z0-9]+(-[a-z0-9]+)*", hint="a kebab-case diagnosis id")
_VARIANT = Str(r"cpu|cu\d{3}|rocm\d+(\.\d+)*|xpu", hint="a torch variant such as cu124 or cpu")


class _RequirementString(Str):
    """The requirements.txt form of a package, "moshi==0.2.2"."""

    description = "a requirement string such as 'moshi==0.2.2'"

    def check(self, value: Any, path: tuple, problems: list[ShapeProblem]) -> Any:
        from packaging.requirements import InvalidRequirement, Requirement

        if not isinstance(value, str):
            self.fail(value, path, problems)
            return value
        try:
            req = Requirement(value)
        except InvalidRequirement as exc:
            problems.append(ShapeProblem(path, f"'{value}' is not a valid requirement: {exc}"))
            return value
        return {"name": req.name, "spec": str(req.specifier)}


_PACKAGE = Record({
    "name": Key(_PKG_NAME, required=True, doc="distribution name as pip knows it"),
    "spec": Key(VersionSpec(), doc="PEP 440 specifier; empty or absent means any version"),
    "platforms": Key(ListOf(Enum(*OS_NAMES)), doc="only on these OSes (default: all)"),
    "index": Key(Enum("pytorch"), doc="'pytorch': installed from the torch CUDA-variant index"),
    "source": Key(Str(), doc="a direct URL (git+https://...) it is installed from"),
    "conflicts": Key(ListOf(_PKG_NAME), doc="packages that must not be installed beside it"),
    "missing_id": Key(_DIAG_ID, doc="diagnosis id when it is missing (default package-missing)"),
    "optional": Key(Bool(), doc="a warning, not a failure, when missing or off-pin"),
    "why": Key(Str(), doc="one line: why the setup needs it"),
}, description="a package mapping")

RECIPE_SHAPE = Record({
    "schema": Key(Enum(RECIPE_SCHEMA), required=True),
    "id": Key(_ID, required=True),
    "title": Key(Str(), required=True),
    "description": Key(Str()),
    "sources": Key(ListOf(Str())),
    "extends": Key(_ID),
    "platforms": Key(ListOf(Enum(*OS_NAMES))),
    "accelerators": Key(ListOf(Enum(*ACCELERATORS))),
    "python": Key(Record({
        "requires": Key(VersionSpec(), required=True),
        "recommended": Key(Version()),
    })),
    "torch": Key(Record({
        "version": Key(Version(), required=True),
        "cuda_variants": Key(ListOf(_VARIANT)),
        "index_url": Key(Str()),
    })),
    "packages": Key(ListOf(OneOf(_RequirementString(), _PACKAGE))),
    "system_tools": Key(ListOf(Record({
        "name": Key(Enum("ffmpeg"), required=True),
        "optional": Key(Bool()),
        "why": Key(Str()),
    }))),
    "gated_repos": Key(ListOf(Str(r"[\w.-]+/[\w.-]+", hint="a Hub repo id such as sesame/csm-1b"))),
    "checkpoints": Key(ListOf(Record({
        "repo": Key(Str(r"[\w.-]+/[\w.-]+", hint="a Hub repo id"), required=True),
        "files": Key(ListOf(Str()), required=True),
        "size_mb": Key(Number(minimum=0)),
    }))),
    "hardware": Key(Record({
        "vram_min_gb": Key(Number(minimum=0)),
        "ram_min_gb": Key(Number(minimum=0)),
        "disk_free_min_gb": Key(Number(minimum=0)),
    })),
    "env": Key(ListOf(Record({
        "name": Key(Str(r"[A-Za-z_][A-Za-z0-9_]*", hint="an environment variable name"),
                    required=True),
        "value": Key(Str()),
        "required": Key(Bool()),
        "why": Key(Str()),
    }))),
}, description="a recipe")


@dataclass(frozen=True)
class PackageReq:
    """One package the setup needs, as the recipe pins it."""

    name: str
    spec: str = ""
    platforms: tuple[str, ...] = ()
    index: str | None = None
    source: str | None = None
    conflicts: tuple[str, ...] = ()
    missing_id: str = "package-missing"
    optional: bool = False
    why: str | None = None

    def applies_to(self, os_name: str | None) -> bool:
        return not self.platforms or os_name is None or os_name in self.platforms

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; `raw` keeps the document for `recipes show`."""

    id: str
    title: str
    path: str
    raw: dict[str, Any]
    description: str = ""
    platforms: tuple[str, ...] = ()
    accelerators: tuple[str, ...] = ()
    python_requires: str | None = None
    python_recommended: str | None = None
    torch_version: str | None = None
    torch_variants: tuple[str, ...] = ()
    torch_index_url: str = "https://download.pytorch.org/whl/{variant}"
    packages: tuple[PackageReq, ...] = ()
    system_tools: tuple[dict[str, Any], ...] = ()
    gated_repos: tuple[str, ...] = ()
    checkpoints: tuple[dict[str, Any], ...] = ()
    hardware: dict[str, float] = field(default_factory=dict)
    env: tuple[dict[str, Any], ...] = ()

    def packages_for(self, os_name: str | None) -> list[PackageReq]:
        return [p for p in self.packages if p.applies_to(os_name)]

    def needs_gpu(self) -> bool:
        """True when every accelerator the recipe supports is a GPU/NPU (no CPU fallback)."""
        return bool(self.accelerators) and "cpu" not in self.accelerators


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, so Huggingface_Hub and huggingface-hub compare equal."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _raise_problems(filename: str, problems: list[ShapeProblem], lines: LineMap) -> None:
    if problems:
        raise InputError(filename, [Problem(p.message, format_path(p.path) or None,
                                            line_for(lines, p.path)) for p in problems])


def parse_recipe(text: str, filename: str) -> dict[str, Any]:
    """Validate recipe text; return the normalised document or raise InputError."""
    data, lines = load_yaml(text, filename)
    if not isinstance(data, dict):
        raise InputError.single(filename, "a recipe is a YAML mapping (schema, id, title, ...)",
                                line=1)
    problems: list[ShapeProblem] = []
    checked = RECIPE_SHAPE.check(data, (), problems)
    _raise_problems(filename, problems, lines)
    return checked


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child keys replace the parent's; packages merge by name (child wins, order kept)."""
    merged = {**parent, **child}
    if "packages" in parent and "packages" in child:
        by_name = {canonical_name(p["name"]): p for p in parent["packages"]}
        for pkg in child["packages"]:
            by_name[canonical_name(pkg["name"])] = pkg
        merged["packages"] = list(by_name.values())
    merged.pop("extends", None)
    return merged


def _build(doc: dict[str, Any], path: str) -> Recipe:
    python = doc.get("python") or {}
    torch = doc.get("torch") or {}
    packages = tuple(
        PackageReq(
            name=p["name"], spec=p.get("spec", "") or "", platforms=tuple(p.get("platforms", ())),
            index=p.get("index"), source=p.get("source"), conflicts=tuple(p.get("conflicts", ())),
            missing_id=p.get("missing_id", "package-missing"), optional=p.get("optional", False),
            why=p.get("why"),
        )
        for p in doc.get("packages", ())
    )
    return Recipe(
        id=doc["id"], title=doc["title"], path=path, raw=doc,
        description=doc.get("description", ""),
        platforms=tuple(doc.get("platforms", ())), accelerators=tuple(doc.get("accelerators", ())),
        python_requires=python.get("requires"), python_recommended=python.get("recommended"),
        torch_version=torch.get("version"), torch_variants=tuple(torch.get("cuda_variants", ())),
        torch_index_url=torch.get("index_url", "https://download.pytorch.org/whl/{variant}"),
        packages=packages, system_tools=tuple(doc.get("system_tools", ())),
        gated_repos=tuple(doc.get("gated_repos", ())), checkpoints=tuple(doc.get("checkpoints", ())),
        hardware=dict(doc.get("hardware", {})), env=tuple(doc.get("env", ())),
    )


def builtin_recipe_paths() -> dict[str, FsPath]:
    """Shipped recipes by id (the file stem is the id)."""
    return {p.stem: p for p in sorted(data_dir("recipes").glob("*.yaml"))}


def _read(path: FsPath) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError.single(str(path), f"cannot read recipe: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError.single(str(path), "recipe is not UTF-8 text") from None


def load_recipe(ref: str, _seen: tuple[str, ...] = ()) -> Recipe:
    """Load a recipe by built-in id or by file path, resolving `extends`."""
    builtins = builtin_recipe_paths()
    if ref in builtins:
        path = builtins[ref]
    elif ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        path = FsPath(ref)
        if not path.is_file():
            raise InputError.single(ref, "no such recipe file")
    else:
        known = ", ".join(sorted(builtins)) or "none"
        raise InputError.single(None, f"unknown recipe '{ref}' (built-in recipes: {known}; "
                                      "or pass a path to a recipe .yaml)", key="--recipe")
    doc = parse_recipe(_read(path), str(path))
    parent_id = doc.get("extends")
    if parent_id:
        if parent_id in _seen or parent_id == doc["id"]:
            raise InputError.single(str(path), f"'extends' makes a cycle through '{parent_id}'",
                                    key="extends")
        parent = load_recipe(parent_id, _seen + (doc["id"],))
        doc = _merge(parent.raw, doc)
    return _build(doc, str(path))


def list_recipes() -> list[Recipe]:
    return [load_recipe(rid) for rid in builtin_recipe_paths()]
