"""Load a TOML file into `Settings`, or say precisely what is wrong with it.

Order of checks: the file is readable TOML; no secret is written inline; the core sections fit
their schemas; each feature section (mapping, scoring, surveys) fits its package's schema. All
problems found are reported together, one line each.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterator

from marshmallow import ValidationError

from settings import model
from settings.errors import ConfigError
from settings.problems import problem_lines
from settings.schema import SettingsSchema

CONFIG_ENV = "XLA_BRIDGE_CONFIG"

# Key names that hold secrets. Their `*_env` form names an environment variable and is fine.
SECRET_KEY_NAME = re.compile(r"(^|_)(password|passwd|secret|token|api_?key|pat|private_key)$", re.I)
# Values that are unmistakably credentials whatever key they sit under.
SECRET_VALUE = re.compile(r"^(ATATT[A-Za-z0-9_\-=]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abp]-[A-Za-z0-9-]{10,}"
                          r"|-----BEGIN [A-Z ]*PRIVATE KEY-----)")


def load_settings(path: str | os.PathLike | None = None) -> model.Settings:
    """Read the file named by `path` or `$XLA_BRIDGE_CONFIG`; raise ConfigError naming every problem."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        raise ConfigError([f"no configuration file: pass --config FILE or set {CONFIG_ENV}"])
    file = Path(chosen)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{file}: file not found; copy config.example.toml and edit it"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: not valid TOML ({exc})"]) from None
    return load_settings_from_mapping(raw, source=str(file))


def load_settings_from_mapping(raw: dict, source: str | None = None) -> model.Settings:
    """Validate an already-parsed configuration mapping (tests and the demo build one in code)."""
    problems = list(_inline_secrets(raw))
    try:
        data = SettingsSchema().load(raw)
    except ValidationError as exc:
        flagged = {line.split(":", 1)[0] for line in problems}
        problems.extend(line for line in problem_lines(exc.messages, raw) if line.split(":", 1)[0] not in flagged)
        raise ConfigError(problems, source) from None
    if problems:
        raise ConfigError(problems, source)

    connections = []
    for index, conn in enumerate(data.get("connections") or []):
        where = f"connections[{index}]"
        conn["mapping"] = _feature(problems, f"{where}.mapping", "mappers.config", "load_mapping_section",
                                   conn.get("mapping") or {}, tool=conn["tool"])
        conn["surveys"] = _feature(problems, f"{where}.surveys", "surveys.config", "load_connection_surveys",
                                   conn.get("surveys") or {}, tool=conn["tool"])
        connections.append(model.ConnectionSettings(**conn))
    scoring = _feature(problems, "scoring", "scoring.config", "load_scoring_section", data.get("scoring") or {})
    surveys = _feature(problems, "surveys", "surveys.config", "load_survey_section", data.get("surveys") or {})
    if problems:
        raise ConfigError(problems, source)
    core = {k: v for k, v in data.items() if k not in ("connections", "scoring", "surveys")}
    return model.Settings(connections=tuple(connections), scoring=scoring, surveys=surveys, source=source, **core)


def _feature(problems: list[str], where: str, module: str, loader: str, raw: dict, **kw) -> Any:
    """Validate a feature section with its package's loader, which returns (value, problems)."""
    import importlib

    try:
        load: Callable = getattr(importlib.import_module(module), loader)
    except (ImportError, AttributeError):
        return MappingProxyType(dict(raw))
    value, found = load(raw, **kw)
    problems.extend(f"{where}.{line}" if not line.startswith(where) else line for line in found)
    return value


def _inline_secrets(raw: Any, path: str = "") -> Iterator[str]:
    if isinstance(raw, dict):
        for key, value in raw.items():
            here = f"{path}.{key}" if path else str(key)
            # Only text can be a credential: `per_token = 20` is a count, not a token.
            if SECRET_KEY_NAME.search(str(key)) and not str(key).endswith("_env") and isinstance(value, str) and value:
                yield (f"{here}: a secret is written in the configuration file; put it in an environment "
                       f"variable and name that variable in {key}_env instead")
            else:
                yield from _inline_secrets(value, here)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            yield from _inline_secrets(value, f"{path}[{index}]")
    elif isinstance(raw, str) and SECRET_VALUE.match(raw.strip()):
        yield (f"{path}: this value looks like a credential; secrets never go in the configuration "
               "file: put it in an environment variable and name that variable in a *_env key")
