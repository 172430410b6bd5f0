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
    Bool,
    Enum,
    Key,
    ListOf,
    Number,
    OneOf,
    Record,
    ShapeProblem,
    Str,
    Version,
    VersionSpec,
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
    "install": Key(Str(r"\S.*", hint="an install command"),
                   doc="the exact command that installs it (conda, --no-deps): the fix"),
    "missing_id": Key(_DIAG_ID, doc="diagnosis id when it is missing (default package-missing)"),
    "optional": Key(Bool(), doc="a warning, not a failure, when missing or off-pin"),
    "why": Key(Str(), doc="one line: why the setup needs it"),
}, description="a package mapping")

SYSTEM_TOOLS = ("ffmpeg", "sox")
HUBS = ("huggingface", "modelscope")
_REPO_ID = Str(r"[\w.-]+/[\w.-]+", hint="a Hub repo id such as sesame/csm-1b")
_REL_PATH = Str(r"[^/\\\s][^\s]*", hint="a path relative to the repository checkout")


def _check_alternatives(doc: dict[str, Any], path: tuple, problems: list[ShapeProblem]) -> None:
    """`alternatives` must name built-in recipes, and never the recipe itself."""
    alternatives = doc.get("alternatives")
    if not isinstance(alternatives, list):
        return
    known = builtin_recipe_paths()
    for i, alt in enumerate(alternatives):
        target = alt.get("recipe") if isinstance(alt, dict) else None
        if not isinstance(target, str):
            continue
        where = path + ("alternatives", i, "recipe")
        if target == doc.get("id"):
            problems.append(ShapeProblem(where, f"'{target}' is this recipe itself"))
        elif target not in known:
            problems.append(ShapeProblem(where, f"no built-in recipe '{target}' "
                                                f"(built-in: {', '.join(sorted(known))})"))


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
    "ascend": Key(Record({
        "cann": Key(VersionSpec(), doc="CANN toolkit versions torch_npu works with"),
        "cann_recommended": Key(Version(), doc="the CANN release torch_npu is built against"),
        "driver": Key(VersionSpec(), doc="Ascend NPU driver (npu-smi) versions"),
        "set_env": Key(Str(), doc="the script that puts CANN on the environment"),
        "why": Key(Str()),
    }, description="an ascend mapping (cann, cann_recommended, driver, set_env)")),
    "packages": Key(ListOf(OneOf(_RequirementString(), _PACKAGE))),
    "system_tools": Key(ListOf(Record({
        "name": Key(Enum(*SYSTEM_TOOLS), required=True),
        "optional": Key(Bool()),
        "platforms": Key(ListOf(Enum(*OS_NAMES))),
        "why": Key(Str()),
    }))),
    "repository": Key(Record({
        "url": Key(Str(r"(https?|git|ssh)://\S+|git@\S+", hint="a git URL"), required=True),
        "submodules": Key(ListOf(_REL_PATH), doc="submodule paths that must be checked out"),
        "pythonpath": Key(ListOf(_REL_PATH), doc="checkout paths that must be importable"),
        "why": Key(Str()),
    }, description="a repository mapping (url, submodules, pythonpath)")),
    "gated_repos": Key(ListOf(_REPO_ID)),
    "checkpoints": Key(ListOf(Record({
        "repo": Key(_REPO_ID, required=True),
        "files": Key(ListOf(Str()), required=True),
        "size_mb": Key(Number(minimum=0)),
        "hub": Key(Enum(*HUBS), doc="where it is downloaded from (default huggingface)"),
        "format": Key(_ID, doc="the weight format the recipe's code loads: transformers, "
                               "csm-original, ..."),
    }))),
    "hardware": Key(Record({
        "vram_min_gb": Key(Number(minimum=0)),
        "ram_min_gb": Key(Number(minimum=0)),
        "disk_free_min_gb": Key(Number(minimum=0)),
        "compute_capability_min": Key(Number(minimum=0), doc="lowest CUDA compute capability, "
                                                             "e.g. 7.0"),
        "multi_gpu": Key(Bool(), doc="the job runs on every visible GPU (DDP): each one must "
                                     "hold vram_min_gb"),
    })),
    "env": Key(ListOf(Record({
        "name": Key(Str(r"[A-Za-z_][A-Za-z0-9_]*", hint="an environment variable name"),
                    required=True),
        "value": Key(Str()),
        "required": Key(Bool()),
        "platforms": Key(ListOf(Enum(*OS_NAMES))),
        "why": Key(Str()),
    }))),
    "default": Key(Bool(), doc="the recipe chosen when nothing about the machine says otherwise"),
    "smoke": Key(Enum("official", "transformers"),
                 doc="how `csm-doctor smoke` runs it: the official repository's generator "
                     "(needs --repo) or transformers' CSM; absent: it has no smoke test"),
    "lint": Key(Enum("unsloth", "cosyvoice", "songbloom"),
                doc="the fine-tuning setup whose files `csm-doctor lint` checks for it"),
    "alternatives": Key(ListOf(Record({
        "recipe": Key(_ID, required=True),
        "when": Key(Str(r"\S.*", hint="a one-line condition"), required=True),
    }, description="an alternative mapping (recipe, when)"))),
}, description="a recipe", check_all=[_check_alternatives])


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
    install: str | None = None

    def applies_to(self, os_name: str | None) -> bool:
        return not self.platforms or os_name is None or os_name in self.platforms

    @property
    def key(self) -> str:
        return canonical_name(self.name)


# Which OSes an accelerator can exist on: MPS is Apple's, CUDA and Ascend are not.
ACCELERATOR_PLATFORMS: dict[str, tuple[str, ...]] = {
    "cuda": ("linux", "windows"), "npu": ("linux",), "mps": ("darwin",), "cpu": OS_NAMES,
}


def _on(platforms: tuple[str, ...] | list[str], os_name: str | None) -> bool:
    return not platforms or os_name is None or os_name in platforms


@dataclass(frozen=True)
class Alternative:
    """Another built-in recipe to suggest when this one cannot run on the machine."""

    recipe: str
    when: str


@dataclass(frozen=True)
class Repository:
    """The source checkout the setup runs from (it is not pip-installable)."""

    url: str
    submodules: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = ()
    why: str | None = None


@dataclass(frozen=True)
class AscendReq:
    """What an Ascend NPU setup needs beside torch_npu: the CANN toolkit and NPU driver."""

    cann: str | None = None
    cann_recommended: str | None = None
    driver: str | None = None
    set_env: str | None = None
    why: str | None = None


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
    ascend: AscendReq | None = None
    repository: Repository | None = None
    alternatives: tuple[Alternative, ...] = ()

    def packages_for(self, os_name: str | None) -> list[PackageReq]:
        return [p for p in self.packages if p.applies_to(os_name)]

    def env_for(self, os_name: str | None) -> list[dict[str, Any]]:
        """The env entries that apply on this OS (an entry without `platforms` applies on all)."""
        return [e for e in self.env if _on(e.get("platforms", ()), os_name)]

    def system_tools_for(self, os_name: str | None) -> list[dict[str, Any]]:
        return [t for t in self.system_tools if _on(t.get("platforms", ()), os_name)]

    def accelerators_for(self, os_name: str | None) -> tuple[str, ...]:
        """The recipe's accelerators that can exist on this OS (mps only on macOS, ...)."""
        return tuple(a for a in self.accelerators if _on(ACCELERATOR_PLATFORMS.get(a, ()), os_name))

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
    """Child keys replace the parent's; packages merge by name (child wins, order kept).

    A name the child lists replaces every parent entry of that name, so a parent's
    per-OS pair (torch from the CUDA index on Linux, from PyPI on macOS) gives way
    to the child's entries as a whole. Inherited alternatives that name the child
    itself are dropped.
    """
    merged = {**parent, **child}
    if "packages" in parent and "packages" in child:
        child_by_name: dict[str, list[dict[str, Any]]] = {}
        for pkg in child["packages"]:
            child_by_name.setdefault(canonical_name(pkg["name"]), []).append(pkg)
        packages: list[dict[str, Any]] = []
        for pkg in parent["packages"]:
            name = canonical_name(pkg["name"])
            if name not in child_by_name:
                packages.append(pkg)
            elif child_by_name[name]:
                packages.extend(child_by_name[name])
                child_by_name[name] = []  # placed at the parent's first entry of that name
        for pkg in child["packages"]:
            if child_by_name.get(canonical_name(pkg["name"])):
                packages.append(pkg)
        merged["packages"] = packages
    if "alternatives" not in child and "alternatives" in parent:
        merged["alternatives"] = [a for a in parent["alternatives"] if a["recipe"] != child["id"]]
    merged.pop("extends", None)
    return merged


def _build(doc: dict[str, Any], path: str) -> Recipe:
    python = doc.get("python") or {}
    torch = doc.get("torch") or {}
    ascend = doc.get("ascend")
    repo = doc.get("repository")
    packages = tuple(
        PackageReq(
            name=p["name"], spec=p.get("spec", "") or "", platforms=tuple(p.get("platforms", ())),
            index=p.get("index"), source=p.get("source"), conflicts=tuple(p.get("conflicts", ())),
            missing_id=p.get("missing_id", "package-missing"), optional=p.get("optional", False),
            why=p.get("why"), install=p.get("install"),
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
        ascend=AscendReq(**ascend) if ascend is not None else None,
        repository=Repository(url=repo["url"], submodules=tuple(repo.get("submodules", ())),
                              pythonpath=tuple(repo.get("pythonpath", ())), why=repo.get("why"))
        if repo is not None else None,
        alternatives=tuple(Alternative(a["recipe"], a["when"])
                           for a in doc.get("alternatives", ())),
    )


def builtin_recipe_paths() -> dict[str, FsPath]:
    """Shipped recipes by id (the file stem is the id)."""
    return {p.stem: p for p in sorted(data_dir("recipes").glob("*.yaml"))}


MAX_RECIPE_BYTES = 1024 * 1024  # the largest shipped recipe is ~6 KiB


def _read(path: FsPath) -> str:
    """The recipe's text: a regular file under a cap (a FIFO or device is exit 2, not a hang)."""
    from csm_doctor.safeio import read_input_text

    return read_input_text(path, MAX_RECIPE_BYTES)


def load_recipe(ref: str, _seen: tuple[str, ...] = ()) -> Recipe:
    """Load a recipe by built-in id or by file path, resolving `extends`."""
    builtins = builtin_recipe_paths()
    if ref in builtins:
        path = builtins[ref]
    elif ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        path = FsPath(ref)
        if not path.exists():
            raise InputError.single(ref, "no such recipe file")
    else:
        import difflib

        known = ", ".join(sorted(builtins)) or "none"
        close = difflib.get_close_matches(ref.lower(), list(builtins), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise InputError.single(None, f"unknown recipe '{ref}' ({hint}built-in recipes: {known}; "
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


def builtin_recipe_ids(**wanted: Any) -> list[str]:
    """Built-in recipe ids whose top-level keys have these values (`smoke="transformers"`).

    Roles (the default recipe, which ones smoke runs, which setup lint checks) are recipe
    data, so no module keeps its own list of recipe ids.
    """
    out = []
    for recipe_id in sorted(builtin_recipe_paths()):
        raw = load_recipe(recipe_id).raw
        if all(raw.get(key) == value for key, value in wanted.items()):
            out.append(recipe_id)
    return out
