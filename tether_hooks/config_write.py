"""Writing one table of ``config.toml`` (``[telegram]``), keeping every other line as it is.

The table's keys are set in place (new ones after the last, keys no longer wanted removed);
comments, blank lines and order are kept everywhere, inside that table too (tomlkit, see
``toml_edit``). The result is parsed again with ``tomllib`` and compared with the intent
before it replaces the file (0600, atomically).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence

import tomlkit
from tomlkit.items import AoT, Table

from tether_hooks import paths, toml_edit
from tether_hooks.errors import ConfigError

__all__ = ["set_table", "toml_value"]

Scalar = str | int | float | bool
Value = Scalar | Sequence[Scalar]


def _checked(value: object) -> Value:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int | float | bool) for v in value
    ):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} values to config.toml")


def toml_value(value: object) -> str:
    """``value`` (str, int, float, bool or a list of them) as TOML."""
    return tomlkit.item(_checked(value)).as_string()


def set_table(name: str, values: Mapping[str, object], path: str | None = None) -> str:
    """Replace (or add) table ``[name]`` with ``values``; returns the file's path.

    Sub-tables (``[name.sub]``) are kept. Raises ConfigError if the file does not parse, or
    if the table is written in a form this writer cannot replace (inline or dotted keys).
    """
    path = path or paths.config_file()
    wanted = {key: _checked(value) for key, value in values.items()}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}): fix it, then run setup") from exc
    try:
        doc = toml_edit.parse(text)
        table = toml_edit.table_for(doc, (name,))
    except toml_edit.Unsupported:
        raise ConfigError(
            f"{path}: {name} is written as dotted keys or an inline table; make it a "
            f"[{name}] table (or remove it), then run setup again"
        ) from None
    inner = [k for k, v in table.items() if isinstance(v, Table | AoT) and k not in wanted]
    for key in [k for k in table if k not in wanted and k not in inner]:
        del table[key]
    for key, value in wanted.items():
        table[key] = value
    new_text = doc.as_string()
    expected = dict(data)
    expected[name] = {**{k: data[name][k] for k in inner}, **wanted}
    try:
        ok = tomllib.loads(new_text) == expected
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        raise ConfigError(f"cannot update [{name}] in {path} safely: edit it by hand")
    from tether_hooks.state import write_atomic

    paths.ensure_dir(os.path.dirname(path))
    write_atomic(path, new_text.encode("utf-8"), 0o600)
    return path
