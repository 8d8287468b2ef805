"""A real ServiceNow incident log, mapped and scored: the indicators behave sensibly on real data.

`../shared/data/servicenow-incident-event-log.csv` holds every update of 890 real, anonymised
incidents. The last row of each incident becomes a Table API record (display labels turned back
into state codes, dates into ServiceNow's format), goes through the default ServiceNow mapping,
and is scored with the time it spent in "Awaiting ..." states as its waiting time. Incidents that
missed their SLA, were reassigned or were reopened must score lower on average, and missed-SLA
incidents must still score lower when the SLA indicator is switched off (the other indicators
see the same trouble independently).
"""
from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import datetime

import pytest

from domain.ticket import RawTicket, TicketKind
from mappers import default_mapping, map_ticket
from scoring import load_scoring_section, score_ticket

LOG = "servicenow-incident-event-log.csv"
# The log carries display labels; the Table API carries codes.
STATE_CODES = {"New": "1", "Active": "2", "Awaiting User Info": "3", "Awaiting Problem": "3",
               "Awaiting Vendor": "3", "Awaiting Evidence": "3", "Resolved": "6", "Closed": "7"}
COPIED = ("caller_id", "assigned_to", "assignment_group", "cmdb_ci", "category", "location", "priority",
          "reassignment_count", "reopen_count", "sys_mod_count")


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%d-%m-%Y %H:%M")


def _servicenow_time(text: str) -> str:
    return "" if text == "?" else _moment(text).strftime("%Y-%m-%d %H:%M:%S")


def _record(last: dict) -> dict:
    record = {name: "" if last[name] == "?" else last[name] for name in COPIED}
    record.update(number=last["number"], state=STATE_CODES.get(last["incident_state"], last["incident_state"]),
                  contact_type=last["contact_type"].lower(), made_sla=last["made_sla"].lower(),
                  opened_at=_servicenow_time(last["opened_at"]), resolved_at=_servicenow_time(last["resolved_at"]),
                  closed_at=_servicenow_time(last["closed_at"]))
    return record


def _hours_awaiting(updates: list[dict]) -> float:
    hours = 0.0
    for update, following in zip(updates, updates[1:]):
        if update["incident_state"].startswith("Awaiting"):
            span = _moment(following["sys_updated_at"]) - _moment(update["sys_updated_at"])
            hours += max(span.total_seconds() / 3600, 0.0)
    return hours


@pytest.fixture(scope="module")
def scored_incidents(shared_dir):
    path = shared_dir / "data" / LOG
    if not path.exists():
        pytest.skip(f"{LOG} is not in ../shared/data")
    updates = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            updates[row["number"]].append(row)
    mapping = default_mapping("servicenow")
    incidents = []
    for number, rows in updates.items():
        raw = RawTicket("incident-log", "servicenow", f"incident:{number}", number, "incident", _record(rows[-1]))
        ticket = map_ticket(raw, mapping)
        context = {"time_in_state_hours": {"on_hold": _hours_awaiting(rows)}}
        incidents.append((ticket, context, score_ticket(ticket, context)))
    return incidents


def mean_score(incidents, which, model=None) -> tuple[float, float]:
    """Mean score of the incidents `which` selects, and of the others (default model unless given)."""
    chosen, others = [], []
    for ticket, context, score in incidents:
        value = score.score if model is None else score_ticket(ticket, context, None, model).score
        (chosen if which(ticket) else others).append(value)
    assert chosen and others
    return statistics.mean(chosen), statistics.mean(others)


def test_every_incident_of_the_log_maps_cleanly(scored_incidents):
    assert len(scored_incidents) == 890
    assert all(ticket.kind is TicketKind.INCIDENT and not ticket.unknown_values for ticket, _, _ in scored_incidents)
    assert all(ticket.priority in (1, 2, 3, 4) and ticket.opened_at for ticket, _, _ in scored_incidents)


@pytest.mark.parametrize("trouble", ["missed SLA", "reassigned", "reopened"])
def test_troubled_incidents_score_lower_on_average(scored_incidents, trouble):
    which = {"missed SLA": lambda t: t.sla_breached, "reassigned": lambda t: t.reassignment_count > 0,
             "reopened": lambda t: t.reopen_count > 0}[trouble]
    troubled, smooth = mean_score(scored_incidents, which)
    assert troubled < smooth - 10


def test_missed_sla_shows_without_the_sla_indicator(scored_incidents):
    no_sla, problems = load_scoring_section({"indicators": {"sla": {"weight": 0}}})
    assert problems == []
    troubled, smooth = mean_score(scored_incidents, lambda t: t.sla_breached, no_sla)
    assert troubled < smooth - 10


def test_every_band_occurs(scored_incidents):
    assert {score.band for _, _, score in scored_incidents} == {"good", "average", "poor"}
