from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stepstone.server.core.cron import CronError, jitter_offset, jitter_problem, parse_cron, parse_jitter

PARIS = ZoneInfo("Europe/Paris")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micros: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)


def ticks(text: str, start: datetime, count: int) -> list[datetime]:
    schedule = parse_cron(text)
    found = []
    for _ in range(count):
        start = schedule.next_after(start)
        found.append(start)
    return found


# Parsing


def test_schedule_keeps_the_text() -> None:
    schedule = parse_cron("TZ=Europe/Paris 0 9 * * MON")
    assert schedule.expression == "TZ=Europe/Paris 0 9 * * MON"
    assert schedule.zone == PARIS
    assert parse_cron("CRON_TZ=America/New_York 0 9 * * *").zone == ZoneInfo("America/New_York")
    assert parse_cron("0 9 * * *").zone == ZoneInfo("UTC")


@pytest.mark.parametrize("descriptor", ["@daily", "@hourly", "@every 1h", "@reboot"])
def test_descriptors_are_rejected(descriptor: str) -> None:
    with pytest.raises(CronError, match=r"cron descriptors such as .* are not supported: write the five fields"):
        parse_cron(descriptor)


def test_descriptor_error_suggests_its_five_fields() -> None:
    with pytest.raises(CronError, match=r"e\.g\. '0 0 \* \* \*'"):
        parse_cron("@daily")
    with pytest.raises(CronError, match=r"e\.g\. '0 0 1 1 \*'"):
        parse_cron("TZ=UTC @yearly")


@pytest.mark.parametrize(("text", "count"), [("", 0), ("* * * *", 4), ("0 * * * * *", 6), ("TZ=UTC", 0)])
def test_five_fields_are_required(text: str, count: int) -> None:
    with pytest.raises(CronError, match=f"has {count} fields: expected 5"):
        parse_cron(text)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("60 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day-of-month"),
        ("* * * 13 *", "month"),
        ("* * * * 8", "day-of-week"),
        ("*/0 * * * *", "minute"),
        ("5-1 * * * *", "minute"),
        ("x * * * *", "minute"),
        ("JAN * * * *", "minute"),
        ("0 0 L * *", "day-of-month"),
        ("0 0 LW * *", "day-of-month"),
        ("0 0 * * 5L", "day-of-week"),
        ("0 0 * * MON#2", "day-of-week"),
        ("1,,2 * * * *", "minute"),
        ("0 0 31 4 *", "day-of-month"),
    ],
)
def test_bad_fields_are_named(text: str, field: str) -> None:
    with pytest.raises(CronError, match=f"^{re.escape(f'cron schedule {text!r}: bad {field} field')}") as caught:
        parse_cron(text)
    assert caught.value.expression == text
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("zone", ["Mars/Base", "Local", "../etc/passwd", "/etc/localtime", "Europe/"])
def test_unknown_zone_is_named(zone: str) -> None:
    with pytest.raises(CronError, match=f"^{re.escape(f'unknown time zone {zone!r} in cron schedule')}"):
        parse_cron(f"TZ={zone} * * * * *")


def test_length_is_limited() -> None:
    text = "0 0 * * " + ",".join(["1"] * 124)
    assert len(text) == 255
    parse_cron(text)
    with pytest.raises(CronError, match="256 characters long: at most 255"):
        parse_cron(text + "2")


def test_empty_zone_is_utc_as_in_go() -> None:
    assert parse_cron("TZ= 0 * * * *").zone == ZoneInfo("UTC")


# Ticks


def test_every_minute() -> None:
    start = utc(2024, 5, 1, 12, 0, 0)
    assert ticks("* * * * *", start, 3) == [utc(2024, 5, 1, 12, 1), utc(2024, 5, 1, 12, 2), utc(2024, 5, 1, 12, 3)]


def test_next_is_strictly_after() -> None:
    schedule = parse_cron("* * * * *")
    assert schedule.next_after(utc(2024, 5, 1, 12, 0, 0)) == utc(2024, 5, 1, 12, 1)
    assert schedule.next_after(utc(2024, 5, 1, 11, 59, 59, 999999)) == utc(2024, 5, 1, 12, 0)


def test_hourly() -> None:
    assert ticks("0 * * * *", utc(2024, 12, 31, 22, 30), 3) == [
        utc(2024, 12, 31, 23),
        utc(2025, 1, 1, 0),
        utc(2025, 1, 1, 1),
    ]
    assert ticks("*/20 9-10 * * *", utc(2024, 5, 1, 10, 30), 2) == [utc(2024, 5, 1, 10, 40), utc(2024, 5, 2, 9, 0)]


def test_input_in_any_zone_output_in_utc() -> None:
    moment = datetime(2024, 5, 1, 14, 30, tzinfo=PARIS)  # 12:30 UTC
    tick = parse_cron("0 * * * *").next_after(moment)
    assert tick == utc(2024, 5, 1, 13)
    assert tick.tzinfo is UTC


def test_naive_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_cron("* * * * *").next_after(datetime(2024, 5, 1))


def test_zone_prefix() -> None:
    # 09:00 in New York is 13:00 UTC in summer, 14:00 UTC in winter.
    schedule = parse_cron("TZ=America/New_York 0 9 * * *")
    assert schedule.next_after(utc(2024, 7, 1)) == utc(2024, 7, 1, 13)
    assert schedule.next_after(utc(2024, 12, 1)) == utc(2024, 12, 1, 14)


def test_spring_forward_runs_a_skipped_time_at_the_end_of_the_gap() -> None:
    # Paris skips 02:00-03:00 on 2024-03-31: 02:30 fires at 03:00 CEST (01:00 UTC).
    assert ticks("TZ=Europe/Paris 30 2 * * *", utc(2024, 3, 30, 12), 3) == [
        utc(2024, 3, 31, 1, 0),
        utc(2024, 4, 1, 0, 30),
        utc(2024, 4, 2, 0, 30),
    ]


def test_fall_back_runs_a_repeated_time_once() -> None:
    # Paris repeats 02:00-03:00 on 2024-10-27: 02:30 fires on the first pass only (00:30 UTC).
    assert ticks("TZ=Europe/Paris 30 2 * * *", utc(2024, 10, 26, 12), 3) == [
        utc(2024, 10, 27, 0, 30),
        utc(2024, 10, 28, 1, 30),
        utc(2024, 10, 29, 1, 30),
    ]


def test_fall_back_second_pass_does_not_go_back_in_time() -> None:
    # 01:15 UTC is 02:15 on the second pass, after the 02:30 tick of the first pass.
    assert parse_cron("TZ=Europe/Paris 30 2 * * *").next_after(utc(2024, 10, 27, 1, 15)) == utc(2024, 10, 28, 1, 30)
    moment = datetime(2024, 10, 27, 2, 15, fold=1, tzinfo=PARIS)
    assert parse_cron("TZ=Europe/Paris 30 2 * * *").next_after(moment) == utc(2024, 10, 28, 1, 30)


def test_fall_back_runs_wildcard_hours_in_both_passes() -> None:
    assert ticks("TZ=Europe/Paris 0,30 * * * *", utc(2024, 10, 26, 23, 50), 5) == [
        utc(2024, 10, 27, 0, 0),  # 02:00 CEST
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST
        utc(2024, 10, 27, 1, 0),  # 02:00 CET
        utc(2024, 10, 27, 1, 30),  # 02:30 CET
        utc(2024, 10, 27, 2, 0),  # 03:00 CET
    ]


def test_day_of_month() -> None:
    assert ticks("0 0 31 * *", utc(2024, 1, 31, 0, 0), 2) == [utc(2024, 3, 31), utc(2024, 5, 31)]
    assert parse_cron("0 0 29 2 *").next_after(utc(2024, 3, 1)) == utc(2028, 2, 29)


def test_day_of_week() -> None:
    # 2024-05-01 is a Wednesday.
    weekdays = [utc(2024, 5, 3, 9), utc(2024, 5, 6, 9), utc(2024, 5, 7, 9)]
    assert ticks("0 9 * * MON-FRI", utc(2024, 5, 2, 10), 3) == weekdays
    assert parse_cron("0 9 * * 0").next_after(utc(2024, 5, 1)) == utc(2024, 5, 5, 9)
    assert parse_cron("0 9 * * 7").next_after(utc(2024, 5, 1)) == utc(2024, 5, 5, 9)
    assert parse_cron("0 9 * * sun").next_after(utc(2024, 5, 1)) == utc(2024, 5, 5, 9)


def test_day_of_month_or_day_of_week() -> None:
    # Both restricted: either may match (the 13th, or any Friday).
    assert ticks("0 0 13 * FRI", utc(2024, 5, 1), 3) == [utc(2024, 5, 3), utc(2024, 5, 10), utc(2024, 5, 13)]
    # `?` stands for `*`: only Fridays.
    assert ticks("0 0 ? * FRI", utc(2024, 5, 1), 2) == [utc(2024, 5, 3), utc(2024, 5, 10)]


def test_month_names() -> None:
    assert parse_cron("0 0 1 JUL,dec *").next_after(utc(2024, 8, 1)) == utc(2024, 12, 1)


# Jitter


@pytest.mark.parametrize("text", [None, "", "0", "0s", "1s", "30s", "2m30s", "5m", "300s"])
def test_valid_jitter(text: str | None) -> None:
    assert jitter_problem(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("500ms", "jitter '500ms' is too short: use 0 or at least 1s"),
        ("5m1s", "jitter '5m1s' is too long: at most 5m"),
        ("1h", "jitter '1h' is too long: at most 5m"),
        ("soon", "invalid jitter: invalid duration 'soon'"),
        ("10", "invalid jitter: invalid duration '10'"),
    ],
)
def test_invalid_jitter(text: str, message: str) -> None:
    problem = jitter_problem(text)
    assert problem is not None
    assert problem.startswith(message)


def test_parse_jitter() -> None:
    assert parse_jitter(None) == timedelta(0)
    assert parse_jitter("0") == timedelta(0)
    assert parse_jitter("90s") == timedelta(seconds=90)
    with pytest.raises(CronError) as caught:
        parse_jitter("1h")
    assert caught.value.expression == "1h"


def test_jitter_offset_is_deterministic_and_in_bounds() -> None:
    jitter = timedelta(minutes=5)
    offsets = [jitter_offset(f"cron-{i}", jitter) for i in range(500)]
    assert offsets == [jitter_offset(f"cron-{i}", jitter) for i in range(500)]
    assert all(timedelta(seconds=1) <= offset <= jitter for offset in offsets)
    assert len(set(offsets)) > 400
    assert max(offsets) > timedelta(minutes=4)
    assert min(offsets) < timedelta(minutes=1)


def test_jitter_offset_edges() -> None:
    assert jitter_offset("a", timedelta(0)) == timedelta(0)
    assert jitter_offset("a", timedelta(milliseconds=999)) == timedelta(0)
    assert jitter_offset("a", timedelta(seconds=1)) == timedelta(seconds=1)
    assert timedelta(seconds=1) <= jitter_offset("a", timedelta(seconds=2)) <= timedelta(seconds=2)
