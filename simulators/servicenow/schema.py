"""The tables and columns the ServiceNow simulator serves, as an instance's dictionary defines them.

Each `Table` lists its own `Column`s; ticket tables extend `task`, as on a real instance, so
`sys_dictionary` lists task columns under `name=task` and each table's own columns (including
the `u_xla_*` columns the service writes) under the table's name. Values are stored and
returned as strings, the way the Table API returns them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

JOURNAL_TYPES = ("journal_input", "journal")


@dataclass(frozen=True)
class Column:
    """One column. `type` is the dictionary's internal type (string, integer, decimal, boolean,
    glide_date_time, glide_duration, reference, choice, journal_input, GUID, ...)."""

    name: str
    type: str = "string"
    label: str = ""
    reference: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 40
    read_only: bool = False
    default: str = ""

    @property
    def is_reference(self) -> bool:
        return self.type == "reference"

    @property
    def is_journal(self) -> bool:
        return self.type in JOURNAL_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "decimal", "float")

    def choice_label(self, value: str) -> str:
        for choice_value, label in self.choices:
            if choice_value == value:
                return label
        return value

    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Table:
    """A table: its own columns, the table it extends, and the column naming a record."""

    name: str
    label: str
    columns: tuple[Column, ...]
    extends: str | None = None
    display_column: str = "name"
    number_prefix: str | None = None
    emits_events: bool = False
    all_columns: dict[str, Column] = field(default_factory=dict, compare=False)


def _ref(name, table, label="", read_only=False):
    return Column(name, "reference", label, reference=table, max_length=32, read_only=read_only)


def _str(name, max_length=40, label="", read_only=False, default=""):
    return Column(name, "string", label, max_length=max_length, read_only=read_only, default=default)


def _int(name, label="", read_only=False, default=""):
    return Column(name, "integer", label, read_only=read_only, default=default)


def _bool(name, default="false", label="", read_only=False):
    return Column(name, "boolean", label, default=default, read_only=read_only)


def _date(name, label="", read_only=False):
    return Column(name, "glide_date_time", label, read_only=read_only)


def _choice(name, choices, default="", label="", read_only=False, max_length=40):
    return Column(name, "choice", label, choices=tuple(choices), default=default,
                  read_only=read_only, max_length=max_length)


SYSTEM_COLUMNS = (
    Column("sys_id", "GUID", "Sys ID", max_length=32, read_only=True),
    _date("sys_created_on", "Created", read_only=True),
    _str("sys_created_by", 40, "Created by", read_only=True),
    _date("sys_updated_on", "Updated", read_only=True),
    _str("sys_updated_by", 40, "Updated by", read_only=True),
    _int("sys_mod_count", "Updates", read_only=True, default="0"),
    _str("sys_tags", 255, "Tags", read_only=True),
    _str("sys_class_name", 80, "Class", read_only=True),
)

TASK_STATES = (("1", "Open"), ("2", "Work in Progress"), ("3", "Closed Complete"),
               ("4", "Closed Incomplete"), ("7", "Closed Skipped"), ("-5", "Pending"))
INCIDENT_STATES = (("1", "New"), ("2", "In Progress"), ("3", "On Hold"), ("6", "Resolved"),
                   ("7", "Closed"), ("8", "Canceled"))
CHANGE_STATES = (("-5", "New"), ("-4", "Assess"), ("-3", "Authorize"), ("-2", "Scheduled"),
                 ("-1", "Implement"), ("0", "Review"), ("3", "Closed"), ("4", "Canceled"))
IMPACT = (("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low"))
PRIORITY = (("1", "1 - Critical"), ("2", "2 - High"), ("3", "3 - Moderate"), ("4", "4 - Low"),
            ("5", "5 - Planning"))
CONTACT_TYPES = (("email", "Email"), ("phone", "Phone"), ("self-service", "Self-service"),
                 ("walk-in", "Walk-in"), ("chat", "Chat"), ("monitoring", "Monitoring"),
                 ("virtual_agent", "Virtual Agent"))

TASK_COLUMNS = SYSTEM_COLUMNS + (
    _str("number", 40, "Number", read_only=True),
    _choice("state", TASK_STATES, default="1", label="State"),
    _bool("active", "true", "Active"),
    _ref("opened_by", "sys_user", "Opened by"),
    _date("opened_at", "Opened"),
    _ref("closed_by", "sys_user", "Closed by"),
    _date("closed_at", "Closed"),
    _str("short_description", 160, "Short description"),
    Column("description", "string", "Description", max_length=4000),
    _choice("impact", IMPACT, default="3", label="Impact"),
    _choice("urgency", IMPACT, default="3", label="Urgency"),
    _choice("priority", PRIORITY, default="5", label="Priority", read_only=True),
    _ref("assignment_group", "sys_user_group", "Assignment group"),
    _ref("assigned_to", "sys_user", "Assigned to"),
    _ref("cmdb_ci", "cmdb_ci", "Configuration item"),
    _ref("business_service", "cmdb_ci_service", "Service"),
    _ref("location", "cmn_location", "Location"),
    _ref("company", "core_company", "Company"),
    _ref("parent", "task", "Parent"),
    _choice("contact_type", CONTACT_TYPES, default="phone", label="Contact type"),
    _int("reassignment_count", "Reassignment count", read_only=True, default="0"),
    _bool("made_sla", "true", "Made SLA"),
    _date("sla_due", "SLA due"),
    _date("activity_due", "Activity due"),
    _date("due_date", "Due date"),
    _date("expected_start", "Expected start"),
    _date("work_start", "Actual start"),
    _date("work_end", "Actual end"),
    _choice("escalation", (("0", "Normal"), ("1", "Moderate"), ("2", "High"), ("3", "Overdue")),
            default="0", label="Escalation"),
    _choice("approval", (("not requested", "Not Yet Requested"), ("requested", "Requested"),
                         ("approved", "Approved"), ("rejected", "Rejected")),
            default="not requested", label="Approval"),
    _str("approval_history", 4000, "Approval history"),
    _date("approval_set", "Approval set"),
    _choice("upon_approval", (("proceed", "Proceed to Next Task"), ("do_nothing", "Wait")),
            default="proceed", label="Upon approval"),
    _choice("upon_reject", (("cancel", "Cancel all future Tasks"), ("goto", "Go to a previous Task")),
            default="cancel", label="Upon reject"),
    _str("close_notes", 4000, "Close notes"),
    Column("work_notes", "journal_input", "Work notes", max_length=4000),
    Column("comments", "journal_input", "Additional comments", max_length=4000),
    Column("comments_and_work_notes", "journal_list", "Comments and Work notes", max_length=4000,
           read_only=True),
    _str("work_notes_list", 4000, "Work notes list"),
    _str("watch_list", 4000, "Watch list"),
    _str("additional_assignee_list", 4000, "Additional assignee list"),
    _str("group_list", 4000, "Group list"),
    _bool("knowledge", "false", "Knowledge"),
    _str("order", 40, "Order"),
    _str("correlation_id", 100, "Correlation ID"),
    _str("correlation_display", 100, "Correlation display"),
    _str("delivery_plan", 32, "Delivery plan"),
    _str("delivery_task", 32, "Delivery task"),
    _str("follow_up", 40, "Follow up"),
    Column("time_worked", "timer", "Time worked"),
    Column("business_duration", "glide_duration", "Business duration"),
    Column("calendar_duration", "glide_duration", "Duration"),
    _str("user_input", 4000, "User input"),
    _str("wf_activity", 32, "Workflow activity"),
    _str("rejection_goto", 32, "Rejection goto"),
    _ref("sys_domain", "sys_user_group", "Domain", read_only=True),
    _str("sys_domain_path", 255, "Domain path", read_only=True, default="/"),
)

XLA_COLUMNS = (
    _int("u_xla_score", "Experience score"),
    _choice("u_xla_band", (("good", "Good"), ("average", "Average"), ("poor", "Poor")),
            label="Experience band"),
    _str("u_xla_reasons", 1000, "Experience reasons"),
    _choice("u_xla_risk", (("low", "Low"), ("medium", "Medium"), ("high", "High")),
            label="Experience risk"),
    _str("u_xla_model_version", 40, "Experience model version"),
    _int("u_xla_survey_rating", "Survey rating"),
    Column("u_xla_survey_sentiment", "decimal", "Survey sentiment", max_length=15),
    _str("u_xla_survey_comment", 500, "Survey comment"),
    Column("u_xla_lost_hours", "decimal", "Lost time (hours)", max_length=15),
    _bool("u_xla_followup", "false", "Experience follow-up"),
    # exists but no role may write it: lets connector tests meet a read-only field
    _int("u_xla_legacy_score", "Experience legacy score", read_only=True),
)
XLA_COLUMN_NAMES = tuple(column.name for column in XLA_COLUMNS)

INCIDENT_COLUMNS = (
    _choice("state", INCIDENT_STATES, default="1", label="State"),
    _choice("incident_state", INCIDENT_STATES, default="1", label="Incident state"),
    _ref("caller_id", "sys_user", "Caller"),
    _str("category", 40, "Category", default="inquiry"),
    _str("subcategory", 40, "Subcategory"),
    _choice("severity", (("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")), default="3",
            label="Severity"),
    _choice("hold_reason", (("1", "Awaiting Caller"), ("5", "Awaiting Change"),
                            ("3", "Awaiting Problem"), ("4", "Awaiting Vendor")), label="On hold reason"),
    _choice("close_code", (("Solved (Work Around)", "Solved (Work Around)"),
                           ("Solved (Permanently)", "Solved (Permanently)"),
                           ("Solved Remotely (Work Around)", "Solved Remotely (Work Around)"),
                           ("Solved Remotely (Permanently)", "Solved Remotely (Permanently)"),
                           ("Not Solved (Not Reproducible)", "Not Solved (Not Reproducible)"),
                           ("Not Solved (Too Costly)", "Not Solved (Too Costly)"),
                           ("Closed/Resolved by Caller", "Closed/Resolved by Caller")),
            label="Resolution code", max_length=40),
    _ref("resolved_by", "sys_user", "Resolved by"),
    _date("resolved_at", "Resolved"),
    _int("reopen_count", "Reopen count", read_only=True, default="0"),
    _date("reopened_time", "Last reopened at"),
    _ref("reopened_by", "sys_user", "Last reopened by"),
    _ref("parent_incident", "incident", "Parent incident"),
    _int("child_incidents", "Child incidents", default="0"),
    _ref("problem_id", "problem", "Problem"),
    _ref("rfc", "change_request", "Change request"),
    _ref("caused_by", "change_request", "Caused by change"),
    _choice("major_incident_state", (("proposed", "Proposed"), ("accepted", "Accepted"),
                                     ("rejected", "Rejected"), ("canceled", "Canceled")),
            label="Major incident state"),
    _choice("notify", (("1", "Do Not Notify"), ("2", "Send Email")), default="1", label="Notify"),
    Column("calendar_stc", "integer", "Resolve time"),
    Column("business_stc", "integer", "Business resolve time"),
) + XLA_COLUMNS

CHANGE_COLUMNS = (
    _choice("state", CHANGE_STATES, default="-5", label="State"),
    _choice("type", (("normal", "Normal"), ("standard", "Standard"), ("emergency", "Emergency")),
            default="normal", label="Type"),
    _choice("risk", (("1", "Very High"), ("2", "High"), ("3", "Moderate"), ("4", "Low")),
            default="3", label="Risk"),
    _ref("requested_by", "sys_user", "Requested by"),
    _str("category", 40, "Category", default="Other"),
    _date("start_date", "Planned start date"),
    _date("end_date", "Planned end date"),
    _choice("close_code", (("successful", "Successful"), ("successful_issues", "Successful with issues"),
                           ("unsuccessful", "Unsuccessful")), label="Close code"),
    _bool("on_hold", "false", "On hold"),
    _str("implementation_plan", 4000, "Implementation plan"),
    _str("backout_plan", 4000, "Backout plan"),
) + XLA_COLUMNS

REQUESTED_ITEM_COLUMNS = (
    _ref("requested_for", "sys_user", "Requested for"),
    _ref("request", "sc_request", "Request"),
    _ref("cat_item", "sc_cat_item", "Item"),
    _str("stage", 40, "Stage", default="request_approved"),
    _int("quantity", "Quantity", default="1"),
    _str("price", 20, "Price", default="0"),
) + XLA_COLUMNS

USER_COLUMNS = SYSTEM_COLUMNS + (
    _str("user_name", 40, "User ID"),
    _str("first_name", 50, "First name"),
    _str("last_name", 50, "Last name"),
    _str("name", 151, "Name"),
    _str("email", 100, "Email"),
    _str("title", 60, "Title"),
    _str("department", 40, "Department"),
    _str("city", 40, "City"),
    _str("country", 3, "Country code"),
    _ref("location", "cmn_location", "Location"),
    _choice("preferred_language", (("en", "English"), ("de", "German"), ("fr", "French"),
                                   ("es", "Spanish"), ("nl", "Dutch")), default="en",
            label="Language"),
    _str("time_zone", 40, "Time zone"),
    _bool("vip", "false", "VIP"),
    _bool("active", "true", "Active"),
    _bool("web_service_access_only", "false", "Web service access only"),
    _ref("manager", "sys_user", "Manager"),
    _ref("company", "core_company", "Company"),
)

GROUP_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 80, "Name"),
    _str("description", 1000, "Description"),
    _ref("manager", "sys_user", "Manager"),
    _str("email", 100, "Group email"),
    _bool("active", "true", "Active"),
    _str("type", 255, "Type"),
)

GROUP_MEMBER_COLUMNS = SYSTEM_COLUMNS + (
    _ref("group", "sys_user_group", "Group"),
    _ref("user", "sys_user", "User"),
)

CI_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 255, "Name"),
    _ref("support_group", "sys_user_group", "Support group"),
    _ref("location", "cmn_location", "Location"),
    _choice("operational_status", (("1", "Operational"), ("2", "Non-Operational"),
                                   ("3", "Repair in Progress")), default="1",
            label="Operational status"),
    _choice("install_status", (("1", "Installed"), ("7", "Retired")), default="1",
            label="Status"),
    _str("used_for", 40, "Used for", default="Production"),
)

SERVICE_COLUMNS = CI_COLUMNS + (
    _choice("busines_criticality", (("1 - most critical", "1 - most critical"),
                                    ("2 - somewhat critical", "2 - somewhat critical"),
                                    ("3 - less critical", "3 - less critical"),
                                    ("4 - not critical", "4 - not critical")),
            label="Business criticality"),
)

LOCATION_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 100, "Name"), _str("city", 40, "City"), _str("country", 40, "Country"),
)
COMPANY_COLUMNS = SYSTEM_COLUMNS + (_str("name", 80, "Name"),)

SLA_DEFINITION_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 100, "Name"),
    _choice("target", (("response", "Response"), ("resolution", "Resolution")), label="Target"),
    Column("duration", "glide_duration", "Duration"),
    _str("collection", 80, "Table"),
    _bool("active", "true", "Active"),
)

TASK_SLA_COLUMNS = SYSTEM_COLUMNS + (
    _ref("task", "task", "Task"),
    _ref("sla", "contract_sla", "SLA definition"),
    _choice("stage", (("in_progress", "In progress"), ("paused", "Paused"),
                      ("completed", "Completed"), ("cancelled", "Cancelled"),
                      ("breached", "Breached")), default="in_progress", label="Stage"),
    _bool("has_breached", "false", "Has breached"),
    Column("percentage", "decimal", "Actual elapsed percentage", max_length=15),
    Column("business_percentage", "decimal", "Business elapsed percentage", max_length=15),
    Column("time_left", "glide_duration", "Actual time left"),
    Column("business_time_left", "glide_duration", "Business time left"),
    _date("start_time", "Start time"),
    _date("end_time", "Stop time"),
    _date("planned_end_time", "Planned end time"),
    _bool("active", "true", "Active"),
)

JOURNAL_COLUMNS = SYSTEM_COLUMNS + (
    _str("element", 40, "Element"),
    _str("element_id", 32, "Element ID"),
    _str("name", 80, "Table name"),
    Column("value", "string", "Value", max_length=4000),
)

DICTIONARY_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 80, "Table"),
    _str("element", 80, "Column name"),
    _str("column_label", 80, "Column label"),
    _str("internal_type", 40, "Type"),
    _int("max_length", "Max length"),
    _str("reference", 80, "Reference"),
    _bool("read_only", "false", "Read only"),
    _bool("mandatory", "false", "Mandatory"),
    _bool("active", "true", "Active"),
    _str("default_value", 255, "Default value"),
    _choice("choice", (("0", "-- None --"), ("1", "Dropdown with -- None --"),
                       ("3", "Dropdown without -- None --")), default="0", label="Choice"),
)

CHOICE_COLUMNS = SYSTEM_COLUMNS + (
    _str("name", 80, "Table"),
    _str("element", 80, "Element"),
    _str("value", 255, "Value"),
    _str("label", 255, "Label"),
    _int("sequence", "Sequence"),
    _str("language", 10, "Language", default="en"),
    _bool("inactive", "false", "Inactive"),
)

# Tasks of a ticket's team (extending task), each referring to the ticket it belongs to.
INCIDENT_TASK_COLUMNS = (_ref("incident", "incident", "Incident"),)
CATALOG_TASK_COLUMNS = (_ref("request_item", "sc_req_item", "Request item"),
                        _ref("request", "sc_request", "Request"))
CHANGE_TASK_COLUMNS = (_ref("change_request", "change_request", "Change request"),
                       _choice("change_task_type", (("planning", "Planning"), ("implementation", "Implementation"),
                                                    ("testing", "Testing"), ("review", "Review")),
                               default="implementation", label="Change task type"))

TABLES = (
    Table("task", "Task", TASK_COLUMNS, display_column="number"),
    Table("incident", "Incident", INCIDENT_COLUMNS, extends="task", display_column="number",
          number_prefix="INC", emits_events=True),
    Table("change_request", "Change Request", CHANGE_COLUMNS, extends="task",
          display_column="number", number_prefix="CHG", emits_events=True),
    Table("sc_req_item", "Requested Item", REQUESTED_ITEM_COLUMNS, extends="task",
          display_column="number", number_prefix="RITM", emits_events=True),
    Table("incident_task", "Incident Task", INCIDENT_TASK_COLUMNS, extends="task", display_column="number",
          number_prefix="TASK", emits_events=True),
    Table("sc_task", "Catalog Task", CATALOG_TASK_COLUMNS, extends="task", display_column="number",
          number_prefix="SCTASK", emits_events=True),
    Table("change_task", "Change Task", CHANGE_TASK_COLUMNS, extends="task", display_column="number",
          number_prefix="CTASK", emits_events=True),
    Table("sys_user", "User", USER_COLUMNS),
    Table("sys_user_group", "Group", GROUP_COLUMNS),
    Table("sys_user_grmember", "Group Member", GROUP_MEMBER_COLUMNS, display_column="user"),
    Table("cmdb_ci", "Configuration Item", CI_COLUMNS),
    Table("cmdb_ci_service", "Business Service", SERVICE_COLUMNS),
    Table("cmn_location", "Location", LOCATION_COLUMNS),
    Table("core_company", "Company", COMPANY_COLUMNS),
    Table("contract_sla", "SLA Definition", SLA_DEFINITION_COLUMNS),
    Table("task_sla", "Task SLA", TASK_SLA_COLUMNS, display_column="sla"),
    Table("sys_journal_field", "Journal Entry", JOURNAL_COLUMNS, display_column="element"),
    Table("sys_dictionary", "Dictionary Entry", DICTIONARY_COLUMNS, display_column="element"),
    Table("sys_choice", "Choice", CHOICE_COLUMNS, display_column="label"),
)
"""`task` is abstract here: it is described in the dictionary but records live in its children."""

TABLES_BY_NAME = {table.name: table for table in TABLES}
TICKET_TABLES = tuple(table.name for table in TABLES if table.emits_events)
SERVED_TABLES = tuple(table.name for table in TABLES if table.name != "task")


def _resolve_columns() -> None:
    for table in TABLES:
        merged: dict[str, Column] = {}
        if table.extends:
            merged.update({c.name: c for c in TABLES_BY_NAME[table.extends].columns})
        merged.update({c.name: c for c in table.columns})
        table.all_columns.update(merged)


_resolve_columns()


def column_owner(table: Table, column_name: str) -> str:
    """The table whose dictionary defines `column_name` (a child's own column wins over task's)."""
    if any(c.name == column_name for c in table.columns) or not table.extends:
        return table.name
    return table.extends
