"""The one error type a bad configuration raises, carrying one line per problem."""
from __future__ import annotations


class ConfigError(Exception):
    """Raised for an unreadable or invalid configuration.

    `problems` holds one line per problem, each naming the key path, what was found and what is
    expected (`connections[1].auth.token_env: missing; name the environment variable ...`).
    """

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = sorted(set(problems), key=problems.index)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"configuration invalid{where}:\n" + "\n".join(f"  {p}" for p in self.problems))
