"""RecordStore lookups that writes depend on (who made a change), under renames and deletes."""
from __future__ import annotations

import pytest

from simulators.servicenow.app import ServiceNowOptions, ServiceNowState


@pytest.fixture
def store():
    # the dispatcher's sender threads are never started: nothing leaves this process
    return ServiceNowState(ServiceNowOptions(users={"admin": "pw"})).store


def test_a_user_is_found_by_name_after_renames_and_deletes(store):
    admin_id = store.user_sys_id("admin")
    assert admin_id and store.tables["sys_user"][admin_id]["user_name"] == "admin"
    assert store.user_sys_id("admin") == admin_id  # asked again: the same row

    store.update("sys_user", admin_id, {"user_name": "admin.previous"}, user="admin")
    assert store.user_sys_id("admin") == ""
    assert store.user_sys_id("admin.previous") == admin_id

    newcomer = store.insert("sys_user", {"user_name": "admin", "name": "New Admin"}, user="admin")
    assert store.user_sys_id("admin") == newcomer["sys_id"]
    store.delete("sys_user", newcomer["sys_id"], user="admin")
    assert store.user_sys_id("admin") == ""


def test_a_new_ticket_names_its_author_after_a_rename(store):
    admin_id = store.user_sys_id("admin")
    first = store.insert("incident", {"short_description": "before"}, user="admin", emit=False)
    assert first["opened_by"] == admin_id
    store.update("sys_user", admin_id, {"user_name": "admin.previous"}, user="admin")
    second = store.insert("incident", {"short_description": "after"}, user="admin", emit=False)
    assert second["opened_by"] == ""
