"""`python app.py report`: happiness, lost time, hotspots and XLA target attainment.

Survey answers come from the database, joined with what the service knows of each ticket
(service, group, channel, kind), so the figures are grouped the way process owners ask: per
service, group, channel, ticket kind and period. All arithmetic lives in `scoring/`; this module
only reads and prints.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from runtime import Runtime
from scoring import ResponseRecord, aggregate, attainment, evaluate_targets_from_responses, rank_hotspots
from storage.clock import as_utc
from storage.models import Survey, SurveyResponse, TicketState

# The published service-desk benchmark for incidents (DESIGN.md), used when no target is set.
DEFAULT_BASELINE_HAPPINESS = 67.0


def load_responses(session) -> list[ResponseRecord]:
    rows = session.execute(
        select(SurveyResponse.rating, SurveyResponse.lost_minutes, SurveyResponse.created_at, TicketState.service,
               TicketState.assignment_group, TicketState.channel, TicketState.kind, Survey.connection_id)
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .join(TicketState, (TicketState.connection_id == Survey.connection_id)
              & (TicketState.ticket_key == Survey.ticket_key), isouter=True))
    return [ResponseRecord(rating=rating, answered_at=as_utc(created), service=service, group=group, channel=channel,
                           kind=kind, connection_id=connection_id,
                           lost_hours=None if lost is None else lost / 60)
            for rating, lost, created, service, group, channel, kind, connection_id in rows]


def build_report(responses: list[ResponseRecord], by: tuple[str, ...], targets, baseline: float) -> dict:
    rows = aggregate(responses, by=by)
    results = evaluate_targets_from_responses(responses, targets)
    return {
        "responses": len(responses),
        "grouped_by": list(by),
        "rows": [row.to_json() for row in rows],
        "hotspots": [{**row.to_json(), "impact": impact} for row, impact in rank_hotspots(rows, baseline)[:5]
                     if impact < 0],
        "targets": [result.to_json() for result in results],
        "attainment": attainment(results),
    }


def print_report(settings, by: tuple[str, ...], as_json: bool = False, out=print) -> int:
    runtime = Runtime.build(settings)
    try:
        model = runtime.scoring_model()
        with runtime.sessions() as session:
            responses = load_responses(session)
        report = build_report(responses, by, model.targets, DEFAULT_BASELINE_HAPPINESS)
    finally:
        runtime.close()
    if as_json:
        out(json.dumps(report, indent=2))
        return 0
    out(f"{report['responses']} survey answer(s), grouped by {', '.join(by)}")
    for row in report["rows"]:
        label = "  ".join(f"{k}={row.get(k) or '-'}" for k in by)
        lost = "-" if row["mean_lost_hours"] is None else f"{row['mean_lost_hours']:.1f} h"
        out(f"  {label:60} answers {row['responses']:4}  happiness {row['happiness']:+6.1f}  lost time {lost}")
    if report["hotspots"]:
        out(f"hotspots (answers x (happiness - {DEFAULT_BASELINE_HAPPINESS:+.0f})):")
        for row in report["hotspots"]:
            out("  " + "  ".join(f"{k}={row.get(k) or '-'}" for k in by) + f"  impact {row['impact']:+.0f}")
    if report["targets"]:
        out("XLA targets:")
        for result in report["targets"]:
            out(f"  {result['target']:30} {result['period'] or '-':10} {result['status']:18} {result['detail']}")
        for name, share in report["attainment"].items():
            out(f"  attainment of {name}: " + ("no period judged" if share is None else f"{share:.0%}"))
    return 0
