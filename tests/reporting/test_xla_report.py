"""Process owners read happiness, lost time, hotspots and XLA target attainment from stored answers."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from reporting.xla import print_report
from settings import load_settings_from_mapping
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Survey, SurveyResponse, TicketState

NOVEMBER = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)


def store_answers(url: str, answers: list[tuple[str, str, int, int | None]]) -> None:
    """answers: (service, kind, rating, lost minutes) — one ticket and one survey each."""
    sessions = make_session_factory(make_engine(url))
    with transaction(sessions) as session:
        for index, (service, kind, rating, lost) in enumerate(answers):
            key = f"incident:{index:032x}"
            session.add(TicketState(connection_id="snow", ticket_key=key, number=f"INC{index:07d}", kind=kind,
                                    stage="resolved", service=service, snapshot={}, written={}, notes_written={},
                                    writes_in_hour=0))
            survey = Survey(token_hash=f"{index:064x}", connection_id="snow", ticket_key=key, person_key=f"p{index}",
                            channel="comment", language="en", state="answered", expires_at=NOVEMBER + timedelta(days=14))
            session.add(survey)
            session.flush()
            session.add(SurveyResponse(survey_id=survey.id, rating=rating, reasons=[], lost_minutes=lost,
                                       created_at=NOVEMBER + timedelta(hours=index)))


def report_of(url: str, targets: list[dict], by: str = "kind,service,month") -> dict:
    settings = load_settings_from_mapping({"service": {"database_url": url}, "scoring": {"targets": targets}})
    lines: list[str] = []
    assert print_report(settings, tuple(by.split(",")), as_json=True, out=lines.append) == 0
    return json.loads(lines[0])


def test_happiness_and_lost_time_per_service_and_target_attainment(sqlite_url):
    # Email: 3 promoters, 1 passive, 1 detractor -> +40; lost time (30 + 90) / 2 = 1 h.
    # VPN: 1 promoter, 2 detractors -> -33.3; lost time 4 h.
    store_answers(sqlite_url, [("Email", "incident", 10, 30), ("Email", "incident", 9, None),
                               ("Email", "incident", 9, 90), ("Email", "incident", 8, None),
                               ("Email", "incident", 3, None), ("VPN", "incident", 9, 240),
                               ("VPN", "incident", 2, None), ("VPN", "incident", 6, None)])
    report = report_of(sqlite_url, [
        {"name": "Email incidents", "kind": "incident", "service": "Email", "period": "month",
         "min_happiness": 30, "max_lost_time_hours": 2},
        {"name": "VPN incidents", "kind": "incident", "service": "VPN", "period": "month", "min_happiness": 0},
    ])
    rows = {row["service"]: row for row in report["rows"]}
    assert (rows["Email"]["happiness"], rows["Email"]["mean_lost_hours"], rows["Email"]["responses"]) == (40.0, 1.0, 5)
    assert (rows["VPN"]["happiness"], rows["VPN"]["mean_lost_hours"]) == (-33.3, 4.0)
    assert [(t["target"], t["period"], t["status"]) for t in report["targets"]] == [
        ("Email incidents", "2026-11", "met"), ("VPN incidents", "2026-11", "missed")]
    assert report["attainment"] == {"Email incidents": 1.0, "VPN incidents": 0.0}
    assert report["hotspots"][0]["service"] == "VPN", "the service furthest below the benchmark leads"


def test_text_report_reads_for_a_person(sqlite_url):
    store_answers(sqlite_url, [("Email", "request", 10, None), ("Email", "request", 4, 60)])
    settings = load_settings_from_mapping({"service": {"database_url": sqlite_url}})
    lines: list[str] = []
    print_report(settings, ("kind", "service"), out=lines.append)
    assert lines[0] == "2 survey answer(s), grouped by kind, service"
    assert "kind=request  service=Email" in lines[1] and "happiness   +0.0" in lines[1] and "1.0 h" in lines[1]
