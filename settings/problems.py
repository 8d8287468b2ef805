"""Marshmallow's nested error messages as the one-line problems every config section reports.

Each line is `key.path: found X; expected Y; fix`, with the path written as TOML would spell it
(`connections[1].auth.token_env`, `statuses."Waiting for vendor"`). Used by the core settings,
the mappings, scoring and any other section validated with marshmallow.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

BARE_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if BARE_TOML_KEY.match(key) else '"' + key.replace('"', '\\"') + '"'


def problem_lines(messages: Any, raw: Any, path: str = "", *, doc: str = "config.example.toml") -> Iterator[str]:
    """One line per message; `raw` is the input at `path`, quoted as what was found; `doc` is
    where an admin looks up the keys of this section."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            # fields.Dict nests an entry's errors under "key" / "value"; the entry's path says enough.
            if key == "_schema" or (key in ("key", "value") and set(messages) <= {"key", "value"}):
                found = path.rsplit(".", 1)[-1].strip('"') if key == "key" else raw
                yield from problem_lines(value, found, path, doc=doc)
                continue
            if isinstance(key, int):
                here = f"{path}[{key}]"
                child = raw[key] if isinstance(raw, list) and key < len(raw) else None
            else:
                here = f"{path}.{toml_key(str(key))}" if path else toml_key(str(key))
                child = raw.get(key) if isinstance(raw, dict) else None
            yield from problem_lines(value, child, here, doc=doc)
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, (dict, list)):
                yield from problem_lines(message, raw, path, doc=doc)
            else:
                yield f"{path}: {explain(str(message), raw, doc)}"
    else:
        yield f"{path}: {explain(str(messages), raw, doc)}"


def explain(message: str, found: Any, doc: str = "config.example.toml") -> str:
    """The problem's text, saying what was found unless the message already does."""
    if message == "Unknown field.":
        return f"found {found!r}; unknown key; remove it or check its spelling against {doc}"
    if message == "Invalid input type.":
        message = f"expected a table; see {doc}"
    if message.startswith(("found", "missing", "unknown")) or found is None:
        return message
    return f"found {found!r}; {message}"
