"""The default Table API shape (`sysparm_display_value=false`) of every seeded record.

`render_record` builds that shape through a shortcut; it must give, column by column and in
the same order, exactly what `render_value` gives for one column at a time.
"""
from __future__ import annotations

import pytest

from simulators.servicenow.app import ServiceNowOptions, ServiceNowState
from simulators.servicenow.render import RenderOptions, render_record, render_value
from simulators.servicenow.schema import SERVED_TABLES, TABLES_BY_NAME


@pytest.fixture(scope="module")
def store():
    # the dispatcher's sender threads are never started: nothing leaves this process
    return ServiceNowState(ServiceNowOptions(users={"admin": "pw"})).store


@pytest.mark.parametrize("exclude_links", [False, True])
@pytest.mark.parametrize("table_name", SERVED_TABLES)
def test_every_column_as_render_value_gives_it(store, table_name, exclude_links):
    table = TABLES_BY_NAME[table_name]
    options = RenderOptions(base_url="http://127.0.0.1:1", exclude_links=exclude_links)
    if not store.tables[table_name]:  # a table the world leaves empty: one record of defaults
        store.insert(table_name, {}, user="admin", emit=False)
    records = list(store.tables[table_name].values())
    for record in records:
        expected = {name: render_value(store, table, column, record, options)
                    for name, column in table.all_columns.items()}
        rendered = render_record(store, table, record, options)
        assert list(rendered) == list(expected)
        assert rendered == expected
