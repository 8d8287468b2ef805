"""The field catalogue of the simulated Service Desk: system fields, custom fields, the edit screen.

Everything a client learns from `GET /rest/api/2/field` and `GET .../editmeta` comes from here, and
so do the rules for turning a REST value into a stored value and back (select options, numbers,
text). The custom fields the service writes are the ones `docs/architecture.md` lists, numbered from
`customfield_10200`; the context fields (assignment group, configuration item, channel, major
incident) sit at `customfield_10100` upward. "Experience Legacy Score" exists but is deliberately
left off the edit screen, as a field an admin forgot to add is in real instances.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"


@dataclass(frozen=True)
class Option:
    id: str
    value: str


@dataclass(frozen=True)
class FieldDef:
    """One field. `kind` is how values are stored: number, text, option, or a system kind."""

    id: str
    name: str
    kind: str
    schema: dict
    custom: bool = False
    on_edit_screen: bool = False
    clause_names: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True

    def option(self, wanted: dict | str | int | None) -> Option | None:
        """The option a REST value names: `{"value": ...}`, `{"id": ...}` or the bare text/id."""
        if isinstance(wanted, dict):
            wanted = wanted.get("id") if wanted.get("id") is not None else wanted.get("value")
        if wanted is None:
            return None
        wanted = str(wanted)
        for option in self.options:
            if wanted in (option.id, option.value):
                return option
        lowered = wanted.lower()
        for option in self.options:
            if option.value.lower() == lowered:
                return option
        return None


class FieldValueError(ValueError):
    """A value the field cannot hold; `str(exc)` is the message Jira puts in `errors[field]`."""


def _system(field_id: str, name: str, kind: str, schema_type: str, *, edit: bool = False,
            clauses: tuple[str, ...] = (), items: str | None = None, orderable: bool = True,
            searchable: bool = True) -> FieldDef:
    schema = {"type": schema_type, "system": field_id}
    if items:
        schema["items"] = items
    return FieldDef(field_id, name, kind, schema, on_edit_screen=edit,
                    clause_names=clauses or (field_id,), orderable=orderable, searchable=searchable)


def _custom(number: int, name: str, kind: str, *, edit: bool = True,
            options: tuple[str, ...] = (), option_base: int = 0) -> FieldDef:
    if kind == "number":
        schema_type, plugin = "number", "float"
    elif kind == "option":
        schema_type, plugin = "option", "select"
    elif kind == "textarea":
        schema_type, plugin = "string", "textarea"
    else:
        schema_type, plugin = "string", "textfield"
    field_id = f"customfield_{number}"
    return FieldDef(
        field_id, name, "option" if kind == "option" else ("number" if kind == "number" else "text"),
        {"type": schema_type, "custom": PLUGIN + plugin, "customId": number},
        custom=True, on_edit_screen=edit,
        clause_names=(f"cf[{number}]", name),
        options=tuple(Option(str(option_base + i), value) for i, value in enumerate(options)),
    )


SYSTEM_FIELDS: tuple[FieldDef, ...] = (
    _system("summary", "Summary", "text", "string", edit=True),
    _system("description", "Description", "text", "string", edit=True),
    _system("issuetype", "Issue Type", "issuetype", "issuetype", clauses=("issuetype", "type")),
    _system("project", "Project", "project", "project"),
    _system("status", "Status", "status", "status"),
    _system("statusCategory", "Status Category", "statuscategory", "statusCategory", orderable=False),
    _system("priority", "Priority", "priority", "priority", edit=True),
    _system("resolution", "Resolution", "resolution", "resolution"),
    _system("resolutiondate", "Resolved", "datetime", "datetime", clauses=("resolved", "resolutiondate")),
    _system("created", "Created", "datetime", "datetime", clauses=("created", "createdDate")),
    _system("updated", "Updated", "datetime", "datetime", clauses=("updated", "updatedDate")),
    _system("statuscategorychangedate", "Status Category Changed", "datetime", "datetime",
            clauses=("statusCategoryChangedDate",)),
    _system("duedate", "Due date", "date", "date", edit=True, clauses=("due", "duedate")),
    _system("reporter", "Reporter", "user", "user", edit=True),
    _system("assignee", "Assignee", "user", "user", edit=True),
    _system("creator", "Creator", "user", "user"),
    _system("labels", "Labels", "labels", "array", edit=True, clauses=("labels",), items="string"),
    _system("components", "Component/s", "components", "array", edit=True, clauses=("component",),
            items="component"),
    _system("environment", "Environment", "text", "string", edit=True),
    _system("comment", "Comment", "comment", "comments-page", edit=True),
    _system("worklog", "Log Work", "worklog", "array", items="worklog"),
    _system("issuekey", "Key", "key", "string", clauses=("id", "issue", "issuekey", "key")),
)

# Context fields the seeded world fills (ids below the service's own fields).
ASSIGNMENT_GROUP = "customfield_10100"
CONFIGURATION_ITEM = "customfield_10101"
REQUEST_CHANNEL = "customfield_10102"
MAJOR_INCIDENT = "customfield_10103"

CHANNELS = ("Portal", "Email", "Phone", "Chat", "Walk-in")

# The fields the service writes (docs/architecture.md), in their documented order from 10200.
EXPERIENCE_FIELDS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("Experience Score", "number", (), True),
    ("Experience Band", "option", ("Good", "Average", "Poor"), True),
    ("Experience Reasons", "textarea", (), True),
    ("Experience Risk", "option", ("Low", "Medium", "High"), True),
    ("Experience Model", "text", (), True),
    ("Survey Rating", "number", (), True),
    ("Survey Sentiment", "number", (), True),
    ("Survey Comment", "textarea", (), True),
    ("Lost Time Hours", "number", (), True),
    ("Experience Follow-up", "option", ("Yes", "No"), True),
    ("Experience Legacy Score", "number", (), False),
)


@dataclass
class FieldCatalogue:
    """Every field of the instance, by id, with name and clause look-ups for JQL."""

    fields: dict[str, FieldDef] = field(default_factory=dict)

    @classmethod
    def build(cls, groups: list[str], configuration_items: list[str]) -> "FieldCatalogue":
        """The catalogue for a world with these assignment groups and configuration items."""
        catalogue = cls()
        for definition in SYSTEM_FIELDS:
            catalogue.fields[definition.id] = definition
        context = (
            _custom(10100, "Assignment Group", "option", options=tuple(groups), option_base=11000),
            _custom(10101, "Configuration Item", "option", options=tuple(configuration_items),
                    option_base=12000),
            _custom(10102, "Request Channel", "option", options=CHANNELS, option_base=13000),
            _custom(10103, "Major Incident", "option", options=("Yes", "No"), option_base=13100),
        )
        option_base = 14000
        experience = []
        for offset, (name, kind, options, on_screen) in enumerate(EXPERIENCE_FIELDS):
            experience.append(_custom(10200 + offset, name, kind, edit=on_screen,
                                      options=options, option_base=option_base))
            option_base += 10
        for definition in (*context, *experience):
            catalogue.fields[definition.id] = definition
        return catalogue

    def get(self, field_id: str) -> FieldDef | None:
        return self.fields.get(field_id)

    def custom_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.custom]

    def by_clause(self, clause: str) -> FieldDef | None:
        """The field a JQL clause name designates (`cf[10100]`, a display name, or a system clause)."""
        lowered = clause.lower()
        for definition in self.fields.values():
            if any(lowered == name.lower() for name in definition.clause_names):
                return definition
        for definition in self.fields.values():
            if definition.name.lower() == lowered:
                return definition
        return None

    def by_name(self, name: str) -> FieldDef | None:
        for definition in self.fields.values():
            if definition.name == name:
                return definition
        return None

    def edit_screen(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.on_edit_screen]

    def to_rest(self) -> list[dict]:
        """`GET /rest/api/2/field`: system then custom fields."""
        out = []
        for definition in self.fields.values():
            entry = {
                "id": definition.id,
                "key": definition.id,
                "name": definition.name,
                "custom": definition.custom,
                "orderable": definition.orderable,
                "navigable": definition.navigable,
                "searchable": definition.searchable,
                "clauseNames": list(definition.clause_names),
                "schema": dict(definition.schema),
            }
            if definition.custom:
                entry["untranslatedName"] = definition.name
            out.append(entry)
        return out


def parse_custom_value(definition: FieldDef, raw: object) -> object:
    """The stored form of a REST value for a custom field (None clears it).

    Raises FieldValueError with Jira's wording when the value does not fit the field.
    """
    if raw is None or raw == "":
        return None
    if definition.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise FieldValueError("Operation value must be a number")
        try:
            number = float(raw)
        except ValueError as exc:
            raise FieldValueError(f"'{raw}' is an invalid number") from exc
        return int(number) if number.is_integer() else number
    if definition.kind == "option":
        if isinstance(raw, (dict, str, int)):
            option = definition.option(raw)
            if option is not None:
                return option.id
        shown = raw.get("value", raw.get("id")) if isinstance(raw, dict) else raw
        raise FieldValueError(f"Option value '{shown}' is not valid")
    if not isinstance(raw, str):
        raise FieldValueError("Operation value must be a string")
    if len(raw) > 32767:
        raise FieldValueError("The entered text is too long. It exceeds the allowed limit of 32,767 characters.")
    return raw


def render_custom_value(definition: FieldDef, stored: object, base_url: str) -> object:
    """The REST form of a stored custom value."""
    if stored is None:
        return None
    if definition.kind == "option":
        option = definition.option(str(stored))
        if option is None:
            return None
        return {"self": f"{base_url}/rest/api/2/customFieldOption/{option.id}",
                "value": option.value, "id": option.id}
    return stored


def custom_value_strings(definition: FieldDef, stored: object) -> tuple[str | None, str | None]:
    """(`from`/`to`, `fromString`/`toString`) of a custom value in a changelog item.

    Jira records select options by id with the label as the string, and numbers and text only
    as strings (the id slot stays null), which is what the real captures show.
    """
    if stored is None:
        return None, None
    if definition.kind == "option":
        option = definition.option(str(stored))
        return (option.id, option.value) if option else (None, None)
    if definition.kind == "number":
        return None, _number_text(stored)
    return None, str(stored)


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def editmeta_entry(definition: FieldDef, base_url: str, allowed: list[dict] | None = None) -> dict:
    """One field of `editmeta`: schema, name, operations, and allowed values for selects."""
    entry: dict = {
        "required": definition.id == "summary",
        "schema": dict(definition.schema),
        "name": definition.name,
        "key": definition.id,
        "operations": _operations(definition),
    }
    if definition.custom:
        entry["fieldId"] = definition.id
    if definition.kind == "option":
        entry["allowedValues"] = [
            {"self": f"{base_url}/rest/api/2/customFieldOption/{o.id}", "value": o.value, "id": o.id}
            for o in definition.options
        ]
    elif allowed is not None:
        entry["allowedValues"] = allowed
    return entry


def _operations(definition: FieldDef) -> list[str]:
    if definition.kind in ("labels", "components"):
        return ["add", "set", "remove"]
    if definition.kind == "comment":
        return ["add", "edit", "remove"]
    return ["set"]
