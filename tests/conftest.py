"""Fixtures shared by every test package: the shared real-data folder, migrated databases."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_BASE_URL = os.environ.get("XLA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# Under CI the property tests draw the same examples every run, so a red build is reproducible and
# never a coin toss; locally they explore new examples each run.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's `../shared` folder of real captures and data; skips when it is not beside the repo."""
    if not SHARED.is_dir():
        pytest.skip("../shared (real captured payloads and data) is not beside the repository")
    return SHARED


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A migrated SQLite database in a fresh temporary folder."""
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'xla.db'}"
    upgrade(url)
    return url


def _postgres_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_BASE_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture
def postgres_schemas():
    """`make()` -> the URL of a new migrated PostgreSQL schema of its own (as many as a test needs,
    e.g. two installations in one database); each is dropped afterwards.

    Skips with the reason when no server answers, except under CI=true, where the server is
    part of the machine and its absence is a failure.
    """
    import psycopg

    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable: {problem}")
    from storage.migrate import upgrade

    plain = POSTGRES_BASE_URL.replace("+psycopg", "")
    made: list[str] = []

    def make() -> str:
        schema = f"xla_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        url = f"{POSTGRES_BASE_URL}?options=-csearch_path%3D{schema}"
        upgrade(url)
        return url

    yield make
    with psycopg.connect(plain, autocommit=True) as connection:
        for schema in made:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url(postgres_schemas):
    """A migrated PostgreSQL schema of its own, dropped afterwards (skips as `postgres_schemas`)."""
    return postgres_schemas()
