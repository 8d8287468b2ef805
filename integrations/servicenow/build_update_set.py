"""Build `xla_bridge_update_set.xml`, the ServiceNow update set that sends XLA Bridge its events.

    python integrations/servicenow/build_update_set.py [--check]

The scripts live as plain files in `src/` (reviewable, testable); this puts them, the system
properties, the event registration, the Script Action and the Outbound REST Message into one
importable update set (a `sys_remote_update_set` with one `sys_update_xml` per record). Record
ids are derived from the record names, so rebuilding gives the same file; `--check` fails when
the committed file is out of date with `src/`.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
OUTPUT = HERE / "xla_bridge_update_set.xml"
VERSION = "1.0.0"
STAMP = "2026-11-23 00:00:00"
UPDATE_SET_NAME = f"XLA Bridge ticket events {VERSION}"
AUTHOR = "xla.bridge"

PROPERTIES = [
    # name, type, value, private, description
    ("x_xla_bridge.enabled", "boolean", "true", False,
     "Send ticket events to XLA Bridge (true/false)."),
    ("x_xla_bridge.endpoint", "string", "https://xla-bridge.example.com/webhooks/servicenow", False,
     "XLA Bridge webhook address: https://<host>/webhooks/<connection id>."),
    ("x_xla_bridge.secret", "password2", "", True,
     "Signing secret shared with XLA Bridge (whsec_<base64> recommended). Private: never leaves in update sets."),
    ("x_xla_bridge.fields", "string",
     "number,state,priority,caller_id,assigned_to,assignment_group,cmdb_ci,category,contact_type,"
     "reassignment_count,reopen_count,close_code,sys_updated_on", False,
     "Comma-separated fields sent in each event's record (raw values); keep state and the assignment fields."),
    ("x_xla_bridge.tables", "string", "incident,change_request,sc_req_item", False,
     "Comma-separated task tables whose changes are sent."),
    ("x_xla_bridge.ignore_users", "string", "", False,
     "Comma-separated user names whose changes are not sent (XLA Bridge's own integration user)."),
    ("x_xla_bridge.max_attempts", "integer", "8", False,
     "Deliveries of one event before it is given up (XLA Bridge reconciliation then finds the change)."),
]


def sys_id(kind: str, name: str) -> str:
    """A stable 32-hex record id for (table, name): the same on every build."""
    return hashlib.md5(f"xla-bridge:{kind}:{name}".encode()).hexdigest()


def record(table: str, name: str, fields: dict[str, str]) -> tuple[str, str, ET.Element]:
    """(table, sys_id, payload element) of one record to install."""
    identifier = sys_id(table, name)
    element = ET.Element(table, action="INSERT_OR_UPDATE")
    for key, value in {**fields, "sys_class_name": table, "sys_id": identifier, "sys_created_by": AUTHOR,
                       "sys_created_on": STAMP, "sys_mod_count": "0", "sys_updated_by": AUTHOR,
                       "sys_updated_on": STAMP}.items():
        ET.SubElement(element, key).text = value
    return table, identifier, element


def records() -> list[tuple[str, str, str, str, ET.Element]]:
    """(type label, target name, table column, ...record) for every record of the update set."""
    items = []
    for name, kind, value, private, description in PROPERTIES:
        items.append(("System Property", name, "", *record("sys_properties", name, {
            "name": name, "type": kind, "value": value, "description": description,
            "is_private": str(private).lower(), "ignore_cache": "false", "read_roles": "admin",
            "write_roles": "admin", "suffix": "x_xla_bridge", "choices": ""})))
    items.append(("Event Registration", "x_xla_bridge.ticket_event", "", *record(
        "sysevent_register", "x_xla_bridge.ticket_event", {
            "event_name": "x_xla_bridge.ticket_event", "table": "task", "fired_by": "XLA Bridge: queue ticket event",
            "description": "A task changed; parm1 holds the XLA Bridge event body, parm2 the delivery attempt.",
            "queue": ""})))
    items.append(("Script Include", "XLABridgeEvents", "", *record("sys_script_include", "XLABridgeEvents", {
        "name": "XLABridgeEvents", "api_name": "global.XLABridgeEvents", "access": "package_private",
        "active": "true", "client_callable": "false", "caller_access": "",
        "description": "Builds, signs and delivers XLA Bridge ticket events.",
        "script": (SOURCES / "XLABridgeEvents.js").read_text()})))
    items.append(("Business Rule", "XLA Bridge: queue ticket event", "task", *record(
        "sys_script", "XLA Bridge: queue ticket event", {
            "name": "XLA Bridge: queue ticket event", "collection": "task", "when": "after", "order": "10000",
            "priority": "100", "active": "true", "advanced": "true", "action_insert": "true",
            "action_update": "true", "action_delete": "true", "action_query": "false", "abort_action": "false",
            "add_message": "false", "change_fields": "false", "execute_function": "false", "is_rest": "false",
            "access": "package_private", "filter_condition": "", "role_conditions": "", "template": "",
            "condition": "gs.getProperty('x_xla_bridge.enabled', 'true') == 'true'",
            "description": "Queues the XLA Bridge event of every change of a configured task table "
                           "(x_xla_bridge.tables); the Script Action sends it.",
            "script": (SOURCES / "business_rule.js").read_text()})))
    items.append(("Script Action", "XLA Bridge: send ticket event", "", *record(
        "sysevent_script_action", "XLA Bridge: send ticket event", {
            "name": "XLA Bridge: send ticket event", "event_name": "x_xla_bridge.ticket_event", "active": "true",
            "order": "100", "synchronous": "false", "condition_script": "",
            "description": "Signs and posts one queued XLA Bridge event; schedules a retry when it does not land.",
            "script": (SOURCES / "script_action.js").read_text()})))
    message_id = sys_id("sys_rest_message", "XLA Bridge")
    items.append(("REST Message", "XLA Bridge", "", *record("sys_rest_message", "XLA Bridge", {
        "name": "XLA Bridge", "rest_endpoint": "${endpoint}", "authentication_type": "no_authentication",
        "use_mid_server": "false", "access": "package_private",
        "description": "XLA Bridge webhook; the address comes from x_xla_bridge.endpoint at each call."})))
    items.append(("HTTP Method", "XLA Bridge: post", "", *record("sys_rest_message_fn", "XLA Bridge: post", {
        "function_name": "post", "http_method": "post", "rest_message": message_id, "rest_endpoint": "${endpoint}",
        "authentication_type": "inherit_from_parent", "use_mid_server": "false", "content": "${body}"})))
    items.append(("HTTP Header", "XLA Bridge: post: Content-Type", "", *record(
        "sys_rest_message_fn_headers", "XLA Bridge: post: Content-Type", {
            "name": "Content-Type", "value": "application/json",
            "rest_message_function": sys_id("sys_rest_message_fn", "XLA Bridge: post")})))
    return items


def build() -> str:
    """The update set XML text."""
    set_id = sys_id("sys_remote_update_set", UPDATE_SET_NAME)
    unload = ET.Element("unload", unload_date=STAMP)
    remote = ET.SubElement(unload, "sys_remote_update_set", action="INSERT_OR_UPDATE")
    for key, value in {
        "application": "global", "application_name": "Global", "application_scope": "global",
        "application_version": VERSION, "collisions": "", "commit_date": "", "deleted": "",
        "description": "XLA Bridge: sends signed ticket lifecycle events of incidents, changes and requested "
                       "items to XLA Bridge. Set x_xla_bridge.endpoint and x_xla_bridge.secret after committing.",
        "inserted": "", "name": UPDATE_SET_NAME, "origin_sys_id": "", "parent": "", "release_date": "",
        "remote_base_update_set": "", "remote_parent_id": "", "remote_sys_id": set_id, "state": "loaded",
        "summary": "", "sys_class_name": "sys_remote_update_set", "sys_created_by": AUTHOR, "sys_created_on": STAMP,
        "sys_id": set_id, "sys_mod_count": "0", "sys_updated_by": AUTHOR, "sys_updated_on": STAMP,
        "update_set": "", "update_source": "", "updated": "",
    }.items():
        ET.SubElement(remote, key).text = value
    remote.find("application").set("display_value", "Global")

    for type_label, target, table_column, table, identifier, element in records():
        wrapper = ET.Element("record_update", table=table)
        wrapper.append(element)
        payload = '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(wrapper, encoding="unicode")
        update = ET.SubElement(unload, "sys_update_xml", action="INSERT_OR_UPDATE")
        fields = {
            "action": "INSERT_OR_UPDATE", "application": "global", "category": "customer", "comments": "",
            "name": f"{table}_{identifier}", "payload": payload, "payload_hash": "",
            "remote_update_set": set_id, "replace_on_upgrade": "false", "sys_created_by": AUTHOR,
            "sys_created_on": STAMP, "sys_id": sys_id("sys_update_xml", f"{table}_{identifier}"),
            "sys_mod_count": "0", "sys_updated_by": AUTHOR, "sys_updated_on": STAMP, "table": table_column,
            "target_name": target, "type": type_label, "update_domain": "global",
            "update_guid": sys_id("update_guid", f"{table}_{identifier}"), "update_set": "", "view": "",
        }
        for key, value in fields.items():
            ET.SubElement(update, key).text = value
        update.find("application").set("display_value", "Global")
        update.find("remote_update_set").set("display_value", UPDATE_SET_NAME)
    ET.indent(unload, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(unload, encoding="unicode") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed file is out of date")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.name} is out of date: run python integrations/servicenow/build_update_set.py",
                  file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
