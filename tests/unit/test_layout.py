"""The package's shape, as a newcomer reads it: small modules named for one concern, and a
listener built from composed parts (no class inherits behaviour from several bases)."""

from __future__ import annotations

import ast
from pathlib import Path

import tether_hooks

PACKAGE = Path(tether_hooks.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 400


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 50


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_class_mixes_in_several_bases() -> None:
    mixed = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(b) for b in node.bases]
            behaviour = [b for b in bases if b not in {"Protocol", "TypedDict", "Generic"}
                         and not b.startswith(("Protocol[", "Generic["))]
            if len(behaviour) > 1:
                where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                mixed.append(f"{where} {node.name}({', '.join(bases)})")
    assert not mixed, "classes built from several bases (compose parts): " + "; ".join(mixed)


def test_no_module_is_a_numbered_part_of_another() -> None:
    parts = [str(p.relative_to(PACKAGE)) for p in MODULES
             if "part two" in (doc := ast.get_docstring(ast.parse(p.read_text())) or "").lower()
             or ", part " in doc.lower()]
    assert not parts, f"modules that are 'part N' of another: {parts}"
