"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import make_engine
from storage.models import Base


@pytest.mark.parametrize("database", ["sqlite_url", "postgres_url"])
def test_no_difference_between_models_and_migrated_schema(request, database):
    engine = make_engine(request.getfixturevalue(database))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
