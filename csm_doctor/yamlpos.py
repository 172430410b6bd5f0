"""YAML (and JSON) loading that remembers the line of every key.

Validation errors must say "file:line: key 'x.y': why"; PyYAML's composed node
tree carries marks, so values are built from nodes while recording lines.
"""

from __future__ import annotations

from typing import Any

from csm_doctor.errors import InputError

Path = tuple[str | int, ...]
LineMap = dict[Path, int]


def format_path(path: Path) -> str:
    """Render ("packages", 3, "spec") as 'packages[3].spec'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# Aliases may add at most this many values beyond the ones written out: enough for any
# real config's `<<: *defaults`, while a 342-byte "billion laughs" would add 10^8.
MAX_ALIAS_VALUES = 100_000


def compose(text: str, filename: str | None) -> Any:
    """PyYAML's node tree for one document; InputError (with the line) if it is not YAML.

    Aliases are not expanded here (the tree shares the anchored node), so the size they
    would expand to is measured on the tree and an alias bomb refused before anything
    is built from it.
    """
    import yaml

    try:
        # libyaml's composer is ~10x faster and keeps the same marks.
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError.single(filename, f"not valid YAML: {exc.problem or exc.context}",
                                line=line) from None
    except yaml.YAMLError as exc:
        raise InputError.single(filename, f"not valid YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. control characters, deep nesting
        raise InputError.single(filename, f"not valid YAML: {exc}") from None
    if node is not None:
        check_aliases(node, filename)
    return node


def check_aliases(root: Any, filename: str | None, limit: int = MAX_ALIAS_VALUES) -> None:
    """InputError if aliases make the document much larger than its text, or refer to themselves.

    One pass over the node graph (each shared node sized once), without recursion.
    """
    sizes: dict[int, int] = {}
    distinct = 0
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            distinct += 1
            if sizes[key] - distinct > limit:
                raise InputError.single(
                    filename, f"its aliases (*name) expand to more than {limit} extra values "
                              "(an alias bomb?); write the values out instead",
                    line=node.start_mark.line + 1)
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise InputError.single(filename, "an alias (*name) refers to a value that "
                                                  "contains it", line=child.start_mark.line + 1)
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):  # a mapping: (key node, value node) pairs
        return [part for pair in value for part in pair]
    return value


def load_yaml(text: str, filename: str | None) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the plain value and a path → line map."""
    node = compose(text, filename)
    lines: LineMap = {}
    if node is None:
        return None, lines
    builder = _Builder(filename, lines)
    return builder.build(node, ()), lines


class _Builder:
    """Turns composed nodes into dicts/lists/scalars, recording key lines."""

    def __init__(self, filename: str | None, lines: LineMap) -> None:
        import yaml

        self._yaml = yaml
        self._filename = filename
        self._lines = lines
        self._constructor = yaml.constructor.SafeConstructor()
        self._depth = 0

    def build(self, node: Any, path: Path) -> Any:
        yaml = self._yaml
        self._lines.setdefault(path, node.start_mark.line + 1)
        self._depth += 1
        try:
            if self._depth > 200:
                raise InputError.single(self._filename, "nesting is too deep",
                                        key=format_path(path) or None,
                                        line=node.start_mark.line + 1)
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._depth -= 1

    def _mapping(self, node: Any, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._scalar(key_node, path) if isinstance(key_node, self._yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise InputError.single(self._filename, "keys must be plain strings",
                                        key=format_path(path) or None, line=line)
            child = path + (key,)
            if key in result:
                raise InputError.single(self._filename, "duplicate key",
                                        key=format_path(child), line=line)
            self._lines[child] = line
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: Any, path: Path) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except Exception as exc:  # a bad timestamp, an unknown tag: still the user's input
            raise InputError.single(self._filename, f"cannot read value: {exc}".splitlines()[0],
                                    key=format_path(path) or None,
                                    line=node.start_mark.line + 1) from None


def line_for(lines: LineMap, path: Path) -> int | None:
    """The line of `path`, or of its nearest ancestor that has one."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]
