"""Reading the vendors' wait headers, and the value comparison that keeps writes from repeating."""
import email.utils

import pytest

from connectors.base import TicketWrite
from connectors.http import parse_retry_after
from connectors.writeback import appends_of, same_value

NOW = 1_800_000_000.0 - 120  # 2027-01-15 07:58:00 UTC


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
    ({"X-RateLimit-Reset": str(int(NOW + 12))}, 12.0),                  # ServiceNow: epoch seconds
    ({"X-RateLimit-Reset": "2027-01-15T08:00Z"}, 2.0 * 60),                 # Jira Cloud: ISO 8601 minutes
    ({"Retry-After": "3", "X-RateLimit-Reset": str(int(NOW + 60))}, 3.0),
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_is_read_from_every_documented_header(headers, expected):
    assert parse_retry_after(headers, now=NOW) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("current, desired", [
    ("72", 72), (72.0, 72), ({"self": "x", "value": "Good", "id": "1"}, {"value": "Good"}),
    ("true", True), ("a text \r\n", "a text"), (None, None), ("", None), ("0.50", "0.5"),
])
def test_values_the_ticket_already_holds_are_recognised(current, desired):
    assert same_value(current, desired)


@pytest.mark.parametrize("current, desired", [
    ("71", 72), ({"value": "Poor"}, {"value": "Good"}), ("false", True), (None, 3), ("x", None),
])
def test_different_values_are_written(current, desired):
    assert not same_value(current, desired)


def test_a_note_and_a_comment_of_one_change_get_distinct_markers():
    both = appends_of(TicketWrite(internal_note="n", public_comment="c", marker="xla:INC1:survey:1"))
    assert [(a.internal, a.marker) for a in both] == [(True, "xla:INC1:survey:1"), (False, "xla:INC1:survey:1/public")]
    derived = appends_of(TicketWrite(internal_note="same text"))
    assert derived[0].marker == appends_of(TicketWrite(internal_note="same text"))[0].marker
    assert derived[0].body.endswith(f"[xla-bridge ref: {derived[0].marker}]")
