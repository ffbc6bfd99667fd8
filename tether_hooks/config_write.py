"""Writing one table of ``config.toml`` (``[telegram]``), keeping every other line as it is.

The table's header and keys are replaced by freshly written ones (comments inside that table
are lost, comments and tables elsewhere are kept byte for byte). The result is parsed again
and compared with the intent before it replaces the file (0600, atomically).
"""

from __future__ import annotations

import json
import os
import re
import tomllib

from tether_hooks import paths
from tether_hooks.errors import ConfigError
from tether_hooks.toml_lines import Doc

__all__ = ["set_table", "toml_value"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: object) -> str:
    """``value`` (str, int, float, bool or a list of them) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} values to config.toml")


def set_table(name: str, values: dict, path: str | None = None) -> str:
    """Replace (or add) table ``[name]`` with ``values``; returns the file's path.

    Sub-tables (``[name.sub]``) are kept. Raises ConfigError if the file does not parse, or
    if the table is written in a form this writer cannot replace (inline or dotted keys).
    """
    path = path or paths.config_file()
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
    block = f"[{_key(name)}]\n"
    block += "".join(f"{_key(k)} = {toml_value(v)}\n" for k, v in values.items())
    doc = Doc(text)  # knows multi-line strings and arrays: no "[x]" inside them is a header
    headers = [item for item in doc.items if item.kind == "header"]
    mine = next((h for h in headers if h.path == (name,)), None)
    if mine is None:
        if name in data:
            raise ConfigError(
                f"{path}: {name} is written as dotted keys or an inline table; make it a "
                f"[{name}] table (or remove it), then run setup again"
            )
        if text and not text.endswith("\n"):
            text += "\n"
        new_text = text + ("\n" if text.strip() else "") + block
    else:
        end = next((h.start for h in headers if h.start > mine.start), len(doc.lines))
        tail = doc.lines[end:]
        new_text = "".join(doc.lines[: mine.start]) + block + ("\n" if tail else "") + "".join(tail)
    expected = dict(data)
    subtables = {k: v for k, v in (data.get(name) or {}).items() if isinstance(v, dict)}
    expected[name] = {**values, **subtables}
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
