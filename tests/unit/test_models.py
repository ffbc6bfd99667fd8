"""The Literals of ``tether_hooks.models`` match what the code really writes and compares.

The package's source is read with ``ast``: every request status, decision ``via`` and
``behavior``, session status, bridge health state and audit event given as a string
constant (a keyword ``status=``/``via=``, a positional argument of ``settle``/``decide``,
a ``{"status": ...}`` literal, a comparison with ``.get("via")``...) must be a value of its
Literal, and each Literal value must be produced somewhere: a value that only the docs know
(``offline``) or a new one the models do not (``auth_error``) fails here.
"""

from __future__ import annotations

import ast
import typing
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether_hooks import config, models, platforms, rules

PACKAGE = Path(config.__file__).parent
MODELS = Path(models.__file__).parent


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if MODELS not in path.parents:
            yield str(path.relative_to(PACKAGE)), ast.parse(path.read_text(), str(path))


def _strings(node: ast.AST | None) -> set[str]:
    """The string constants an expression can evaluate to (``a if c else b``, ``a or b``);
    nothing for what is computed (a bridge's name, a variable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(v) for v in node.values))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_strings(e) for e in node.elts)) if node.elts else set()
    return set()


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _key_of(node: ast.expr) -> str | None:
    """``"k"`` for ``x["k"]`` and ``x.get("k", ...)``."""
    if isinstance(node, ast.Subscript):
        return node.slice.value if isinstance(node.slice, ast.Constant) else None
    if (isinstance(node, ast.Call) and _name(node.func) == "get" and node.args
            and isinstance(node.args[0], ast.Constant)):
        return node.args[0].value
    return None


# settle(request, behavior, reason, by, via, now, timer_id, status, extra)
_SETTLE = {"behavior": 1, "via": 4, "status": 7}


def _scan() -> dict[str, dict[str, set[str]]]:
    """{kind: {value: {"module:line", ...}}} for every constant the code writes or compares."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(kind: str, values: set[str], where: str) -> None:
        for value in values:
            found[kind][value].add(where)

    for module, tree in _modules():
        for node in ast.walk(tree):
            where = f"{module}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = _name(node.func)
                for kw in node.keywords:
                    if kw.arg == "via":
                        add("via", _strings(kw.value), where)
                    elif kw.arg == "status":
                        session = name in ("touch_session", "_touch_session")
                        add("session" if session else "status", _strings(kw.value), where)
                    elif kw.arg == "behavior":
                        add("behavior", _strings(kw.value), where)
                if name == "settle":
                    for kind, index in _SETTLE.items():
                        if len(node.args) > index:
                            add(kind, _strings(node.args[index]), where)
                if name == "decide" and len(node.args) > 1:  # store.decide(rid, behavior, ...)
                    add("behavior", _strings(node.args[1]), where)
                if (name == "_io" and len(node.args) > 2 and _name(node.args[0]) == "decide"):
                    add("behavior", _strings(node.args[2]), where)
                if name == "_set_state" and len(node.args) > 1:  # a bridge's state
                    add("health", _strings(node.args[1]), where)
                if name == "report" and len(node.args) > 1:  # a supervised task's state
                    add("task", _strings(node.args[1]), where)
            elif isinstance(node, ast.Dict):
                keys = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant)}
                if "state" in keys and "detail" in keys:
                    add("health", _strings(keys["state"]), where)
                if "via" in keys:  # a decision, or its audit line
                    add("via", _strings(keys["via"]), where)
                    add("audit-status", _strings(keys.get("status")), where)
                    add("behavior", _strings(keys.get("behavior")), where)
                    add("audit", _strings(keys.get("event")), where)
                elif "event" in keys and ("reason" in keys or "user_id" in keys):  # audit lines
                    add("audit", _strings(keys["event"]), where)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == "_STATUS_OF":
                        assert isinstance(node.value, ast.Dict)
                        add("behavior", {k.value for k in node.value.keys
                                         if isinstance(k, ast.Constant)}, where)
                        add("status", set().union(*map(_strings, node.value.values)), where)
                    if isinstance(target, ast.Name) and target.id == "DOWN":
                        add("health", _strings(node.value), where)
                    if isinstance(target, ast.Subscript) and _key_of(target) == "status":
                        add("status", _strings(node.value), where)
                    # state, detail = "error", "closed"
                    if (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                            and len(target.elts) == len(node.value.elts)):
                        for t, v in zip(target.elts, node.value.elts, strict=True):
                            if isinstance(t, ast.Name) and t.id == "state":
                                add("health", _strings(v), where)
            elif isinstance(node, ast.Compare):
                key = _key_of(node.left)
                kind = {"via": "via", "state": "state-read"}.get(key or "")
                if kind:
                    for comparator in node.comparators:
                        add(kind, _strings(comparator), where)
    return found


FOUND = _scan()


def _args(literal: object) -> set[str]:
    return set(typing.get_args(literal))


@pytest.mark.parametrize(("kind", "literal"), [
    ("status", models.RequestStatus),
    ("via", models.Via),
    ("behavior", models.Behavior),
    ("session", models.SessionStatus),
    ("health", models.HealthState),
    ("task", models.TaskState),
    ("state-read", typing.Literal[models.HealthState, models.TaskState]),
    ("audit", models.AuditEvent),
])
def test_every_value_the_code_uses_is_in_its_literal(kind: str, literal: object) -> None:
    unknown = {value: sorted(where) for value, where in FOUND[kind].items()
               if value not in _args(literal)}
    assert not unknown, f"{kind} values missing from tether_hooks.models: {unknown}"


def test_audit_statuses_are_request_statuses_or_unauthorized() -> None:
    allowed = _args(models.RequestStatus) | {"unauthorized"}
    assert set(FOUND["audit-status"]) <= allowed


@pytest.mark.parametrize(("kind", "literal"), [
    ("status", models.RequestStatus),
    ("via", models.ViaSource),  # the rest of Via are platform names, given at run time
    ("behavior", models.Behavior),
    ("session", models.SessionStatus),
    ("health", models.HealthState),
    ("task", models.TaskState),
    ("audit", models.AuditEvent),
])
def test_every_literal_value_is_produced(kind: str, literal: object) -> None:
    """A value only the models (or the docs) know of is drift too."""
    assert _args(literal) <= set(FOUND[kind]), _args(literal) - set(FOUND[kind])


def test_settled_statuses_are_the_request_statuses_but_pending() -> None:
    assert set(models.SETTLED_STATUSES) == _args(models.RequestStatus) - {"pending"}
    assert len(models.SETTLED_STATUSES) == len(set(models.SETTLED_STATUSES))


def test_down_states_are_health_states() -> None:
    assert set(models.DOWN_STATES) <= _args(models.HealthState)
    assert set(FOUND["health"]) >= set(models.DOWN_STATES)


def test_names_match_the_tables() -> None:
    assert set(rules.SCOPES) == _args(models.TimerScope)
    assert set(config.PLATFORMS + config.DEV_PLATFORMS) == _args(models.PlatformName)
    assert set(platforms.BRIDGES) <= _args(models.PlatformName)
    assert set(config.DEFAULTS) | {"default_timer_seconds"} == set(
        models.Settings.__annotations__)


def test_models_import_nothing_but_typing() -> None:
    """Cheap to import: stdlib ``typing`` only (the hook fast path never imports it)."""
    paths = sorted(MODELS.glob("*.py"))
    assert len(paths) >= 2
    for path in paths:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        outside = {m for m in imported
                   if m not in ("__future__", "typing") and not m.startswith("tether_hooks.models")}
        assert not outside, f"{path.name} imports {outside}"
