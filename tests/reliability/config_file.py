"""Write a configuration mapping as the TOML file the service's processes read.

The standard library parses TOML but does not write it, and the reliability scenarios only need
the few shapes the service's configuration uses: tables, arrays of tables, strings, numbers,
booleans and lists of those. Anything else raises TypeError rather than writing a file the
service would read differently.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Mapping


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    """Write `config` to `path` as TOML and check it reads back equal; returns `path`."""
    text = "\n".join(_table_lines(config, prefix=())) + "\n"
    if tomllib.loads(text) != _plain(config):
        raise ValueError("the rendered configuration does not read back as written")
    path.write_text(text, encoding="utf-8")
    return path


def _table_lines(table: Mapping[str, Any], prefix: tuple[str, ...]) -> list[str]:
    lines = [f"{_key(key)} = {_value(value)}" for key, value in table.items()
             if not isinstance(value, Mapping) and not _is_table_array(value)]
    for key, value in table.items():
        path = ".".join(_key(part) for part in (*prefix, key))
        if isinstance(value, Mapping):
            lines += ["", f"[{path}]", *_table_lines(value, (*prefix, key))]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{path}]]", *_table_lines(item, (*prefix, key))]
    return lines


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
