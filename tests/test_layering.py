"""The package's layering, read from the source: every import statement of every module.

Two rules (issue 11): no module outside csm_doctor/commands (and cli.py, which assembles
them) imports the command layer, and the module import graph has no cycle, counting the
imports inside functions too: a lazy import hides a cycle from start-up, not from the design.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "csm_doctor"
# Modules that run inside another interpreter, never imported by csm-doctor itself.
TARGET_SIDE = {"csm_doctor.probes.target_script", "csm_doctor.smoke.target_smoke",
               "csm_doctor.cluster.target_cluster"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The csm_doctor module an imported name lives in ('csm_doctor.rules.base.rule' → rules.base)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(filter(None, (_resolve(a.name) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                if target:
                    found.add(target)
    found.discard(module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


@pytest.mark.parametrize("module", sorted(set(MODULES) - TARGET_SIDE))
def test_every_module_imports(module: str):
    importlib.import_module(module)


def test_no_domain_module_imports_the_commands():
    offenders = {module: sorted(d for d in deps if d == "csm_doctor.commands"
                                or d.startswith("csm_doctor.commands."))
                 for module, deps in GRAPH.items()
                 if not (module.startswith("csm_doctor.commands") or module == "csm_doctor.cli"
                         or module == "csm_doctor.__main__")}
    assert {m: d for m, d in offenders.items() if d} == {}


def _cycle() -> list[str] | None:
    """One cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return None

    for module in sorted(GRAPH):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    assert _cycle() is None


def test_the_walk_sees_lazy_imports_and_would_find_a_cycle():
    """The checks above can fail: a function-level import is an edge, and a planted one loops."""
    assert "csm_doctor.knowledge.tables" in GRAPH["csm_doctor.rules.torch"]  # imported in functions
    GRAPH["csm_doctor.knowledge"].add("csm_doctor.rules.torch")
    try:
        assert _cycle() is not None
    finally:
        GRAPH["csm_doctor.knowledge"].discard("csm_doctor.rules.torch")
