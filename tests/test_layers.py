"""The layers import downward only, and no module imports itself back through others.

`core` (shared values and root errors) at the bottom, then `generators` (the art), then
`storage` (the archive), then `bot` on top. Every import counts: at module level, inside
functions, and under TYPE_CHECKING, because each one ties the lower layer to the upper.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Each layer may import itself and the layers before it, never one after it.
LAYERS = ("core", "generators", "storage", "bot")


def module_name(path: Path) -> str:
    """`bot/publishers/base.py` -> `bot.publishers.base`; a package's __init__ is the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    """Every module of the four layers, by dotted name."""
    return {
        module_name(path): path for layer in LAYERS for path in sorted((REPO / layer).rglob("*.py"))
    }


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of one of our modules in `path`, wherever it stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import sub` imports the module pkg.sub when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.partition(".")[0] in LAYERS:
                yield node.lineno, target


def import_graph() -> tuple[dict[str, Path], dict[str, dict[str, int]]]:
    """Our modules, and for each the modules of ours it imports (with the first line)."""
    modules = our_modules()
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for line, target in imports_of(name, path, modules):
            if target in modules and target != name:
                graph[name].setdefault(target, line)
    return modules, graph


def circles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_layer_imports_only_downward() -> None:
    modules = our_modules()
    upward = []
    for name, path in modules.items():
        rank = LAYERS.index(name.partition(".")[0])
        for line, target in sorted(set(imports_of(name, path, modules))):
            if LAYERS.index(target.partition(".")[0]) > rank:
                where = path.relative_to(REPO)
                allowed = ", ".join(LAYERS[: rank + 1])
                upward.append(f"{where}:{line} imports {target} (may import only {allowed})")
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


def test_no_module_imports_itself_back() -> None:
    modules, graph = import_graph()
    assert len(modules) > 40, "the walk found too few modules; is REPO right?"
    loops = []
    for component in circles(graph):
        ties = [
            f"  {modules[a].relative_to(REPO)}:{graph[a][b]} -> {b}"
            for a in component
            for b in graph[a]
            if b in component
        ]
        loops.append(f"{', '.join(component)}:\n" + "\n".join(ties))
    assert not loops, "import circles:\n" + "\n".join(loops)


def test_circles_are_found() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}, "e": {}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b": 1}, "b": {}}) == []


# The gallery sits on top of the service: it reads the archive through storage/ and shares
# the service's settings, status picture and retry path. Nothing else leans on it except the
# CLI command that starts it, so the service runs without FastAPI.
WEB = "bot.web"
WEB_MAY_IMPORT = (
    "core",
    "generators.mood.moods",
    "storage",
    "bot.settings",
    "bot.status",
    "bot.publishers",
    "bot.service",
    "bot.lock",
    "bot.logs",
    "bot.web",
)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def test_the_gallery_imports_only_what_it_reads_and_only_the_cli_imports_it() -> None:
    modules = our_modules()
    wrong = []
    for name, path in modules.items():
        inside = _within(name, (WEB,))
        for line, target in sorted(set(imports_of(name, path, modules))):
            where = f"{path.relative_to(REPO)}:{line} imports {target}"
            if inside and not _within(target, WEB_MAY_IMPORT):
                wrong.append(f"{where} (the gallery may import only {', '.join(WEB_MAY_IMPORT)})")
            if not inside and _within(target, (WEB,)) and name != "bot.cli":
                wrong.append(f"{where} (only bot.cli may import the gallery)")
    assert modules.get("bot.web.app"), "the gallery's modules were not found"
    assert not wrong, "\n".join(wrong)
