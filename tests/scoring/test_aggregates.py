"""Happiness, lost time and hotspots per group and period, and XLA targets judged on them."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from scoring import XlaTarget, aggregate, attainment, evaluate_targets, rank_hotspots
from scoring.targets import evaluate_targets_from_responses


def answer(rating, *, day=(2026, 11, 3), lost=None, service="Email", kind="incident", channel="portal",
           group="Service Desk"):
    return {"rating": rating, "answered_at": datetime(*day, 14, 0, tzinfo=timezone.utc), "lost_hours": lost,
            "service": service, "kind": kind, "channel": channel, "group": group}


# November, Email: ratings 10, 9, 8, 7, 3, 0 -> 2 promoters, 2 detractors of 6: happiness 0
EMAIL_NOVEMBER = [answer(10, lost=0), answer(9), answer(8, lost=1.5), answer(7), answer(3, lost=6), answer(0, lost=4.5)]
# November, VPN: 10, 10, 9, 6 -> 3 promoters, 1 detractor of 4: happiness +50
VPN_NOVEMBER = [answer(10, service="VPN"), answer(10, service="VPN", lost=0.5), answer(9, service="VPN"),
                answer(6, service="VPN", lost=2.5)]
# December, Email: 9, 9, 9 -> +100
EMAIL_DECEMBER = [answer(9, day=(2026, 12, 1), lost=0), answer(9, day=(2026, 12, 2)), answer(9, day=(2026, 12, 3))]
ALL = EMAIL_NOVEMBER + VPN_NOVEMBER + EMAIL_DECEMBER


class TestAggregate:
    def test_happiness_and_lost_time_per_service_and_month(self):
        rows = {(row.keys["service"], row.keys["month"]): row for row in aggregate(ALL, by=("service", "month"))}
        assert set(rows) == {("Email", "2026-11"), ("VPN", "2026-11"), ("Email", "2026-12")}
        email = rows["Email", "2026-11"]
        assert (email.responses, email.promoters, email.passives, email.detractors) == (6, 2, 2, 2)
        assert email.happiness == 0.0
        assert email.mean_lost_hours == 3.0  # (0 + 1.5 + 6 + 4.5) / 4 answers that gave one
        assert rows["VPN", "2026-11"].happiness == 50.0
        assert rows["Email", "2026-12"].happiness == 100.0
        assert rows["Email", "2026-12"].mean_lost_hours == 0.0

    def test_all_answers_detractors_is_minus_100(self):
        (row,) = aggregate([answer(0), answer(6)], by=("kind",))
        assert row.happiness == -100.0 and row.mean_lost_hours is None

    @pytest.mark.parametrize("period,label", [("day", "2026-11-03"), ("week", "2026-W45"), ("month", "2026-11"),
                                              ("quarter", "2026-Q4"), ("year", "2026")])
    def test_periods(self, period, label):
        (row,) = aggregate([answer(9)], by=(period,))
        assert row.keys == {period: label}

    def test_objects_with_lost_minutes_are_read_too(self):
        stored = SimpleNamespace(rating=4, answered_at=datetime(2026, 11, 5, tzinfo=timezone.utc), lost_minutes=90,
                                 service="Email", group=None, channel="email", kind="request", connection_id="snow")
        (row,) = aggregate([stored], by=("channel", "kind"))
        assert row.keys == {"channel": "email", "kind": "request"} and row.mean_lost_hours == 1.5

    @pytest.mark.parametrize("by,message", [(("colour",), "cannot group by colour"),
                                            (("month", "week"), "one period at most")])
    def test_unknown_groupings_are_refused(self, by, message):
        with pytest.raises(ValueError, match=message):
            aggregate(ALL, by=by)

    def test_an_answer_without_a_rating_is_refused(self):
        with pytest.raises(ValueError, match="rating: found 11"):
            aggregate([answer(11)], by=("service",))


def test_hotspots_weigh_answers_by_distance_from_the_baseline():
    rows = aggregate(EMAIL_NOVEMBER + VPN_NOVEMBER, by=("service",))
    ranked = [(row.keys["service"], impact) for row, impact in rank_hotspots(rows, baseline=67)]
    # Email: 6 x (0 - 67) = -402; VPN: 4 x (50 - 67) = -68
    assert ranked == [("Email", -402.0), ("VPN", -68.0)]


class TestTargets:
    target = XlaTarget("Email incidents", period="month", filters={"kind": "incident", "service": "Email"},
                       min_happiness=70, max_lost_time_hours=2, min_responses=3)

    def test_each_period_is_judged(self):
        results = evaluate_targets(aggregate(ALL, by=("kind", "service", "month")), [self.target])
        assert [(r.period, r.status, r.happiness, r.mean_lost_hours) for r in results] == [
            ("2026-11", "missed", 0.0, 3.0), ("2026-12", "met", 100.0, 0.0)]
        november = results[0]
        assert (november.happiness_met, november.lost_time_met) == (False, False)
        assert november.detail == "happiness +0 is below +70; lost time 3.0 h above 2 h"
        assert attainment(results) == {"Email incidents": 0.5}

    def test_finer_rows_are_merged_exactly(self):
        fine = aggregate(ALL, by=("kind", "service", "channel", "group", "month"))
        assert evaluate_targets(fine, [self.target]) == evaluate_targets(
            aggregate(ALL, by=("kind", "service", "month")), [self.target])

    def test_rows_without_a_needed_grouping_say_what_is_needed(self):
        (result,) = evaluate_targets(aggregate(ALL, by=("service", "month")), [self.target])
        assert result.status == "not_evaluable" and result.met is None
        assert result.detail == "answers are not grouped by kind; aggregate by (kind, service, month) or finer"

    def test_too_few_answers_are_not_judged(self):
        vpn = XlaTarget("VPN", filters={"service": "VPN"}, min_happiness=0, min_responses=5)
        (result,) = evaluate_targets_from_responses(ALL, [vpn])
        assert (result.status, result.responses, result.met) == ("too_few_responses", 4, None)
        assert attainment([result]) == {"VPN": None}

    def test_from_responses_groups_as_each_target_needs(self):
        quarterly = XlaTarget("All of Q4", period="quarter", min_happiness=30)
        (result,) = evaluate_targets_from_responses(ALL, [quarterly])
        # 13 answers: 8 promoters (10, 9, 10, 10, 9, 9, 9, 9), 3 detractors (3, 0, 6): +38.5
        assert (result.period, result.responses, result.happiness, result.status) == ("2026-Q4", 13, 38.5, "met")

    def test_a_target_filter_must_be_a_dimension(self):
        with pytest.raises(ValueError, match="cannot filter by colour"):
            XlaTarget("x", filters={"colour": "red"}, min_happiness=1)
