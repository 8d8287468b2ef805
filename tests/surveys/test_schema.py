"""The survey columns of migration 0002 match the models, and downgrade cleanly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.models import Base


def _survey_differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    return [difference for difference in differences if "survey" in repr(difference)]


def test_the_migrated_survey_tables_match_the_models(sqlite_url):
    assert _survey_differences(sqlite_url) == []


def test_the_survey_migration_downgrades_and_upgrades_again(tmp_path):
    from alembic import command

    from storage.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'schema.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0002_surveys")
    command.downgrade(config, "0001")
    engine = make_engine(url)
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("surveys")}
    finally:
        engine.dispose()
    assert not columns & {"token_salt", "token_bytes", "recipient", "resolution_cycle"}
    command.upgrade(config, "head")
    assert _survey_differences(url) == []
