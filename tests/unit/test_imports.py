"""The import graph of tether_hooks, read with ``ast`` (nothing is imported to build it).

- No cycle among module-level imports (those define the import order), and none either
  through lazy imports inside functions (a loop closed lazily still ties modules together).
- No import reaches up a layer, at module level, inside a function or under
  ``TYPE_CHECKING``: platforms and agents never import the listener; agents never import
  a platform. Each failure names the offending edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tether_hooks

PACKAGE = Path(tether_hooks.__file__).parent
ROOT = "tether_hooks"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The tether_hooks modules one import statement loads (``from pkg import mod`` names the
    submodule when there is one, else the package)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _resolve(module, node)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    return [n for n in names if n == ROOT or n.startswith(ROOT + ".")]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str) -> tuple[set[str], set[str], set[str]]:
    """Three sets of one module's imports: those that run when it is imported (module
    level), those that run at all (also inside functions), and every import statement
    (also under ``if TYPE_CHECKING:``, which never runs but still names a dependency)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top: set[str] = set()
    run: set[str] = set()
    every: set[str] = set()

    def visit(node: ast.AST, at_top: bool, runs: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found = _targets(module, node)
            every.update(found)
            if runs:
                run.update(found)
            if at_top and runs:
                top.update(found)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, at_top, False)
            for child in node.orelse:
                visit(child, at_top, runs)
            return
        lazy = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, at_top and not lazy, runs)

    visit(tree, True, True)
    return top, run, every


Graph = dict[str, set[str]]


def _graphs() -> tuple[Graph, Graph, Graph]:
    """(module-level, runtime, every) import graphs, self-imports left out."""
    graphs: tuple[Graph, Graph, Graph] = ({}, {}, {})
    for module in MODULES:
        for graph, found in zip(graphs, _imports(module), strict=True):
            graph[module] = {m for m in found if m != module}
    return graphs


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)) is not None:
            return found
    return None


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_graph_sees_known_edges() -> None:
    top, run, every = _graphs()
    assert "tether_hooks.paths" in top["tether_hooks.relay"]
    lazy = run["tether_hooks.config_write"] - top["tether_hooks.config_write"]
    assert "tether_hooks.state" in lazy
    assert "tether_hooks.installer" in every["tether_hooks.agents.protocol"]
    assert "tether_hooks.agents.base" in top["tether_hooks.agents.claude"]
    assert len(MODULES) > 40


def test_no_cycle_among_module_level_imports() -> None:
    top, _, _ = _graphs()
    cycle = _cycle(top)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_itself_back_even_lazily() -> None:
    """A lazy import that closes a loop still ties two modules into one (``agents.codex`` and
    ``codex_config`` were such a pair, and ``redact`` -> ``redact_rules`` -> ``config`` ->
    ``redact``): no module is reachable from itself through imports that run (module level
    or inside functions). ``if TYPE_CHECKING:`` imports never run and are left out."""
    _, run, _ = _graphs()
    cycle = _cycle(run)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_lazy_loop() -> None:
    """The check is not vacuous: a lazy edge closing a loop is reported."""
    _, run, _ = _graphs()
    looped = {m: set(ts) for m, ts in run.items()}
    looped["tether_hooks.redact_rules"].add("tether_hooks.redact")
    assert _cycle(looped) is not None
    assert "tether_hooks.redact_rules" in run["tether_hooks.redact"]


LAYERS = [  # (importer package, package it must never import, at any level)
    ("tether_hooks.platforms", "tether_hooks.listener"),
    ("tether_hooks.agents", "tether_hooks.listener"),
    ("tether_hooks.agents", "tether_hooks.platforms"),
]


def test_no_upward_imports() -> None:
    _, _, every = _graphs()
    bad = [f"{m} imports {t} ({low} must not import {high})"
           for low, high in LAYERS for m, ts in sorted(every.items()) if _under(m, low)
           for t in sorted(ts) if _under(t, high)]
    assert not bad, "upward import(s):\n" + "\n".join(bad)
