"""A run's trace context: ids derived from the run id alone, and the `traceparent` header both ways."""

from __future__ import annotations

import pytest
from ulid import ULID

from stepstone.protocol import tracecontext

RUN = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_a_ulid_run_id_is_its_trace_id_in_hex() -> None:
    assert tracecontext.trace_id(RUN) == ULID.from_str(RUN).hex
    assert tracecontext.trace_id(RUN.lower()) == ULID.from_str(RUN).hex


def test_any_other_run_id_is_hashed_to_a_valid_trace_id() -> None:
    trace = tracecontext.trace_id("not-a-ulid")
    assert len(trace) == 32 and int(trace, 16) != 0
    assert trace == tracecontext.trace_id("not-a-ulid")


def test_span_ids_are_stable_distinct_and_valid() -> None:
    ids = {
        tracecontext.run_span_id(RUN),
        tracecontext.step_span_id(RUN, "a" * 40, 0),
        tracecontext.step_span_id(RUN, "a" * 40, 1),
        tracecontext.step_span_id(RUN, "b" * 40, 0),
        tracecontext.call_span_id(RUN, "item", 1, 0),
        tracecontext.run_span_id(str(ULID())),
    }
    assert len(ids) == 6
    assert all(len(span) == 16 and int(span, 16) != 0 for span in ids)
    assert tracecontext.step_span_id(RUN, "a" * 40, 1) == tracecontext.step_span_id(RUN, "a" * 40, 1)


def test_a_call_belongs_to_its_targeted_step_attempt_else_to_itself() -> None:
    targeted = tracecontext.call_parent_span_id(RUN, "h" * 40, "item", 2, 1)
    assert targeted == tracecontext.step_span_id(RUN, "h" * 40, 1)
    assert tracecontext.call_parent_span_id(RUN, "", "item", 2, 1) == tracecontext.call_span_id(RUN, "item", 2, 1)


def test_traceparent_round_trips() -> None:
    trace, span = tracecontext.trace_id(RUN), tracecontext.run_span_id(RUN)
    header = tracecontext.format_traceparent(trace, span)
    assert header == f"00-{trace}-{span}-01"
    assert tracecontext.parse_traceparent(header) == (trace, span, True)
    unsampled = tracecontext.format_traceparent(trace, span, sampled=False)
    assert tracecontext.parse_traceparent(unsampled) == (trace, span, False)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-" + "0" * 32 + "-" + "1" * 16 + "-01",  # zero trace id
        "00-" + "1" * 32 + "-" + "0" * 16 + "-01",  # zero span id
        "ff-" + "1" * 32 + "-" + "1" * 16 + "-01",  # forbidden version
        "00-" + "1" * 32 + "-" + "1" * 16 + "-01-extra",  # version 00 has no more fields
        "00-" + "1" * 31 + "-" + "1" * 16 + "-01",
        "garbage",
    ],
)
def test_an_invalid_traceparent_is_none(value: str | None) -> None:
    assert tracecontext.parse_traceparent(value) is None


def test_a_later_version_may_carry_more_fields() -> None:
    parsed = tracecontext.parse_traceparent("01-" + "1" * 32 + "-" + "2" * 16 + "-00-more")
    assert parsed == ("1" * 32, "2" * 16, False)
