"""Trigger maths: next fire times for every schedule type, DST days, jitter, APScheduler glue.

Everything is computed directly from ``get_next_fire_time``; nothing sleeps for a schedule.
Instants are compared in UTC on purpose: Python compares two datetimes that share a tzinfo by
their wall clocks (ignoring fold), which would hide exactly the bugs these tests look for.
"""

from __future__ import annotations

import asyncio
import itertools
import pickle
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import tzlocal
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bassi_tui.scheduler.slots import wall_time, wall_to_instant
from bassi_tui.scheduler.triggers import (
    CronExpression,
    build_trigger,
    describe_schedule,
    next_fire_times,
    parse_cron,
    resolve_zone,
)
from bassi_tui.store.models import Schedule, Weekday

BERLIN = ZoneInfo("Europe/Berlin")
US = datetime(2026, 1, 1, tzinfo=UTC)  # a neutral "now" for tests that only need a start


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def daily(at: time, zone: str | None = "Europe/Berlin", jitter: float = 0.0) -> Schedule:
    return Schedule(type="daily", at=at, timezone=zone, jitter=jitter)


def cron(expr: str, zone: str | None = "Europe/Berlin") -> Schedule:
    return Schedule(type="cron", cron=expr, timezone=zone)


def fires_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Drive a real trigger the way APScheduler does: each fire fed back as previous and now."""
    trigger = build_trigger(schedule)
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def year_start(zone: ZoneInfo, year: int) -> datetime:
    """Just before local midnight of 1 January (fires are strictly after "now")."""
    return datetime(year, 1, 1, tzinfo=zone).astimezone(UTC) - timedelta(microseconds=1)


# -- the DST rule, daily over a whole year -------------------------------------------------------

DST_CASES = [
    # zone, time of day, (spring day, fire in UTC), (autumn day, fire in UTC)
    pytest.param(
        "Europe/Berlin",
        time(2, 30),
        (date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),  # gap: at the jump, 03:00 CEST
        (date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # twice: first, 02:30 CEST
        id="berlin-0230",
    ),
    pytest.param(
        "America/New_York",
        time(2, 30),
        (date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),  # gap: 03:00 EDT
        (date(2026, 11, 1), utc(2026, 11, 1, 7, 30)),  # 02:30 EST exists once there
        id="new-york-0230",
    ),
    pytest.param(
        "America/New_York",
        time(1, 30),
        (date(2026, 3, 8), utc(2026, 3, 8, 6, 30)),  # before the gap: untouched
        (date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # New York repeats 01:xx: EDT one
        id="new-york-0130",
    ),
    pytest.param(
        "Australia/Sydney",
        time(2, 30),
        (date(2026, 10, 4), utc(2026, 10, 3, 16, 0)),  # gap in October: 03:00 AEDT
        (date(2026, 4, 5), utc(2026, 4, 4, 15, 30)),  # twice in April: 02:30 AEDT
        id="sydney-0230",
    ),
]


@pytest.mark.parametrize(("zone_name", "at", "spring", "autumn"), DST_CASES)
def test_daily_fires_once_per_local_date_all_year(
    zone_name: str,
    at: time,
    spring: tuple[date, datetime],
    autumn: tuple[date, datetime],
) -> None:
    zone = ZoneInfo(zone_name)
    fires = fires_between(daily(at, zone_name), year_start(zone, 2026), year_start(zone, 2027))

    local_dates = [f.astimezone(zone).date() for f in fires]
    assert len(fires) == 365
    assert len(set(local_dates)) == 365
    assert all(f.tzinfo == zone for f in fires)  # returned in the schedule's zone
    by_date = dict(zip(local_dates, fires, strict=True))
    for day, expected in (spring, autumn):
        assert by_date[day].astimezone(UTC) == expected
    for day, fire in by_date.items():
        if day not in (spring[0], autumn[0]):
            assert fire.astimezone(zone).time() == at


def test_daily_spring_day_is_not_an_hour_late_and_autumn_day_not_twice() -> None:
    # The two bugs of a plain CronTrigger, spelled out with local times.
    times = next_fire_times(daily(time(2, 30)), 3, now=utc(2026, 3, 28, 12))
    assert [t.isoformat() for t in times] == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    times = next_fire_times(daily(time(2, 30)), 2, now=utc(2026, 10, 24, 12))
    assert [t.astimezone(UTC) for t in times] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


@pytest.mark.parametrize(
    "zone_name",
    ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tehran"],
)
@pytest.mark.parametrize("at", [time(0, 0), time(0, 30), time(1, 30), time(2, 15), time(23, 59)])
def test_each_fire_is_the_first_moment_the_wall_clock_shows_its_slot(
    zone_name: str, at: time
) -> None:
    # The general form of the rule, over zones with midnight gaps (Santiago), half-hour shifts
    # (Lord Howe), odd offsets (Chatham) and a zone that dropped DST (Tehran, 2022).
    zone = ZoneInfo(zone_name)
    for year in (2021, 2026):
        fires = fires_between(
            daily(at, zone_name), year_start(zone, year), year_start(zone, year + 1)
        )
        days = Counter(f.astimezone(zone).date() for f in fires)
        assert len(days) == len(fires) == (366 if year % 4 == 0 else 365)
        for fire in fires:
            slot = datetime.combine(fire.astimezone(zone).date(), at)
            assert wall_time(fire, zone) >= slot
            # Subtract in UTC: aware arithmetic in the zone itself is wall-clock arithmetic.
            assert wall_time(fire.astimezone(UTC) - timedelta(microseconds=1), zone) < slot


def test_a_skipped_calendar_day_fires_at_the_jump() -> None:
    # Samoa skipped 2011-12-30 entirely; that day's slot fires when the clock lands on the 31st.
    fires = next_fire_times(daily(time(2, 30), "Pacific/Apia"), 3, now=utc(2011, 12, 29))
    assert [f.isoformat() for f in fires] == [
        "2011-12-29T02:30:00-10:00",
        "2011-12-31T00:00:00+14:00",
        "2011-12-31T02:30:00+14:00",
    ]


def test_wall_to_instant_maps_normal_twice_and_missing_slots() -> None:
    assert wall_to_instant(datetime(2026, 6, 1, 9), BERLIN) == utc(2026, 6, 1, 7)
    assert wall_to_instant(datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert wall_to_instant(datetime(2026, 3, 29, 2, 0), BERLIN) == utc(2026, 3, 29, 1)
    assert wall_to_instant(datetime(2026, 3, 29, 2, 59, 59), BERLIN) == utc(2026, 3, 29, 1)
    assert wall_to_instant(datetime(2026, 3, 29, 3, 0), BERLIN) == utc(2026, 3, 29, 1)


# -- how get_next_fire_time answers APScheduler ---------------------------------------------------


def test_now_exactly_at_a_fire_asks_for_the_next_one() -> None:
    trigger = build_trigger(daily(time(9, 0)))
    nine = utc(2026, 6, 1, 7)
    assert trigger.get_next_fire_time(None, nine - timedelta(microseconds=1)) == nine
    assert trigger.get_next_fire_time(None, nine) == nine + timedelta(days=1)


def test_now_at_the_spring_jump_still_sees_the_missing_slot() -> None:
    trigger = build_trigger(daily(time(2, 30)))
    jump = utc(2026, 3, 29, 1)
    assert trigger.get_next_fire_time(None, jump - timedelta(microseconds=1)) == jump


def test_previous_fire_gives_the_next_slot_even_when_it_is_past() -> None:
    # Job._get_run_times walks missed slots this way before misfire_grace_time decides.
    trigger = build_trigger(daily(time(9, 0)))
    previous = utc(2026, 6, 1, 7)
    much_later = utc(2026, 6, 10, 12)
    assert trigger.get_next_fire_time(previous, much_later) == utc(2026, 6, 2, 7)


def test_a_clock_stepping_back_never_repeats_a_fire() -> None:
    trigger = build_trigger(daily(time(9, 0)))
    previous = utc(2026, 6, 1, 7)
    assert trigger.get_next_fire_time(previous, previous - timedelta(hours=1)) == utc(2026, 6, 2, 7)


def test_starting_inside_the_repeated_hour_waits_for_the_next_new_slot() -> None:
    # 01:10 UTC on the autumn day is 02:10 CET, the second pass: 02:15..02:45 fired in the first.
    trigger = build_trigger(cron("*/15 * * * *"))
    fire = trigger.get_next_fire_time(None, utc(2026, 10, 25, 1, 10))
    assert fire.astimezone(UTC) == utc(2026, 10, 25, 2, 0)
    assert fire.isoformat() == "2026-10-25T03:00:00+01:00"


# -- weekly and monthly ---------------------------------------------------------------------------


def test_weekly_one_day() -> None:
    schedule = Schedule(type="weekly", days=("monday",), at=time(9, 0), timezone="Europe/Berlin")
    fires = next_fire_times(schedule, 4, now=utc(2026, 3, 18))  # a Wednesday
    assert [f.date() for f in fires] == [
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 4, 6),
        date(2026, 4, 13),
    ]
    assert all(f.weekday() == 0 and f.time() == time(9, 0) for f in fires)
    # Wall-clock time holds across the spring change (07:00 UTC after, 08:00 UTC before).
    assert [f.astimezone(UTC).hour for f in fires] == [8, 7, 7, 7]


def test_weekly_list_of_days_in_any_order() -> None:
    days: tuple[Weekday, ...] = ("friday", "monday", "wednesday")
    schedule = Schedule(type="weekly", days=days, at=time(9, 0), timezone="UTC")
    fires = next_fire_times(schedule, 6, now=utc(2026, 6, 1, 9))  # Monday 09:00 itself is past
    assert [f.strftime("%a %d") for f in fires] == [
        "Wed 03",
        "Fri 05",
        "Mon 08",
        "Wed 10",
        "Fri 12",
        "Mon 15",
    ]


def test_monthly_day_31_clamps_to_the_last_day() -> None:
    schedule = Schedule(type="monthly", day_of_month=31, at=time(8, 0), timezone="Europe/Berlin")
    fires = next_fire_times(schedule, 12, now=utc(2026, 1, 1))
    assert [f.day for f in fires] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert [f.month for f in fires] == list(range(1, 13))
    assert all(f.time() == time(8, 0) for f in fires)


@pytest.mark.parametrize(
    ("day", "year", "february_day"),
    [(29, 2028, 29), (29, 2027, 28), (30, 2028, 29), (30, 2027, 28), (31, 2028, 29)],
)
def test_monthly_february_in_leap_and_common_years(day: int, year: int, february_day: int) -> None:
    schedule = Schedule(type="monthly", day_of_month=day, at=time(8, 0), timezone="UTC")
    fires = next_fire_times(schedule, 3, now=utc(year, 1, 15))
    assert [(f.month, f.day) for f in fires] == [(1, day), (2, february_day), (3, day)]


def test_monthly_on_an_early_day_and_just_after_this_months_slot() -> None:
    schedule = Schedule(type="monthly", day_of_month=1, at=time(0, 0), timezone="UTC")
    fires = next_fire_times(schedule, 2, now=utc(2026, 12, 1))
    assert fires == [utc(2027, 1, 1), utc(2027, 2, 1)]


# -- interval ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [45, 30 * 60, 2 * 3600, 5400, 0.5])
def test_interval_without_anchor_starts_one_interval_from_now(seconds: float) -> None:
    schedule = Schedule(type="interval", interval_seconds=seconds, timezone="UTC")
    now = utc(2026, 5, 5, 12, 0)
    step = timedelta(seconds=seconds)
    assert next_fire_times(schedule, 3, now=now) == [now + step, now + 2 * step, now + 3 * step]


def test_interval_anchor_in_the_past_keeps_the_grid() -> None:
    schedule = Schedule(type="interval", interval_seconds=30 * 60, timezone="Europe/Berlin")
    anchor = utc(2026, 5, 5, 8, 10)
    fires = next_fire_times(schedule, 3, now=utc(2026, 5, 5, 12, 0), anchor=anchor)
    assert [f.astimezone(UTC) for f in fires] == [
        utc(2026, 5, 5, 12, 10),
        utc(2026, 5, 5, 12, 40),
        utc(2026, 5, 5, 13, 10),
    ]


def test_interval_anchor_on_the_grid_is_strictly_in_the_future() -> None:
    schedule = Schedule(type="interval", interval_seconds=3600, timezone="UTC")
    fires = next_fire_times(schedule, 1, now=utc(2026, 5, 5, 12), anchor=utc(2026, 5, 5, 9))
    assert fires == [utc(2026, 5, 5, 13)]


def test_interval_anchor_in_the_future_is_the_first_fire() -> None:
    schedule = Schedule(type="interval", interval_seconds=45, timezone="UTC")
    fires = next_fire_times(schedule, 2, now=utc(2026, 5, 5), anchor=utc(2026, 5, 6))
    assert fires == [utc(2026, 5, 6), utc(2026, 5, 6, 0, 0, 45)]


def test_interval_is_elapsed_time_across_dst() -> None:
    schedule = Schedule(type="interval", interval_seconds=3600, timezone="Europe/Berlin")
    fires = next_fire_times(schedule, 5, now=utc(2026, 10, 24, 23, 30), anchor=utc(2026, 10, 24))
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(fires)}
    assert gaps == {timedelta(hours=1)}
    # The wall clock shows 02:00 twice; both are real, distinct fires.
    assert [f.strftime("%H:%M%z") for f in fires] == [
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
        "04:00+0100",
        "05:00+0100",
    ]


def test_interval_trigger_without_anchor_pins_its_grid_on_first_use() -> None:
    trigger = build_trigger(Schedule(type="interval", interval_seconds=60, timezone="UTC"))
    first = trigger.get_next_fire_time(None, utc(2026, 1, 1, 0, 0, 10))
    assert first == utc(2026, 1, 1, 0, 1, 10)
    # Asked again later (resume_job), it stays on the same grid.
    assert trigger.get_next_fire_time(None, utc(2026, 1, 1, 0, 5)) == utc(2026, 1, 1, 0, 5, 10)


# -- cron ----------------------------------------------------------------------------------------


def test_cron_five_fields_weekdays_are_crontab_numbered() -> None:
    # 1-5 is Monday..Friday in crontab (APScheduler 3's from_crontab would say Tuesday..Saturday).
    fires = next_fire_times(cron("0 */2 * * 1-5", "UTC"), 14, now=utc(2026, 6, 5, 19))  # Friday
    assert fires[0] == utc(2026, 6, 5, 20)
    assert fires[2] == utc(2026, 6, 8, 0)  # Monday; no weekend fires in between
    assert {f.weekday() for f in fires} <= {0, 1, 2, 3, 4}
    assert next_fire_times(cron("30 6 * * 7", "UTC"), 1, now=US)[0].weekday() == 6  # Sunday
    assert next_fire_times(cron("30 6 * * sun", "UTC"), 1, now=US)[0].weekday() == 6


def test_cron_day_fields_are_ored_when_both_restricted() -> None:
    fires = next_fire_times(cron("0 0 13 * fri", "UTC"), 5, now=utc(2026, 2, 1))
    assert [f.date() for f in fires] == [
        date(2026, 2, 6),
        date(2026, 2, 13),
        date(2026, 2, 20),
        date(2026, 2, 27),
        date(2026, 3, 6),
    ]


def test_cron_star_step_day_field_is_anded_like_vixie() -> None:
    fires = next_fire_times(cron("0 0 */10 * mon", "UTC"), 3, now=utc(2026, 1, 1))
    assert all(f.weekday() == 0 and f.day in (1, 11, 21, 31) for f in fires)


def test_cron_months_names_and_lists() -> None:
    fires = next_fire_times(cron("15 10 1 jan,jul *", "UTC"), 3, now=utc(2026, 2, 1))
    assert fires == [utc(2026, 7, 1, 10, 15), utc(2027, 1, 1, 10, 15), utc(2027, 7, 1, 10, 15)]


def test_cron_spring_day_slots_sharing_an_instant_fire_once() -> None:
    fires = next_fire_times(cron("0,30 2 * * *"), 5, now=utc(2026, 3, 28))
    assert [f.astimezone(UTC) for f in fires] == [
        utc(2026, 3, 28, 1, 0),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 0),  # 02:00 and 02:30 do not exist; one fire at the jump
        utc(2026, 3, 30, 0, 0),
        utc(2026, 3, 30, 0, 30),
    ]
    # A missing slot and the first real one after the jump are the same instant too.
    fires = next_fire_times(cron("0 2,3 * * *"), 2, now=utc(2026, 3, 29))
    assert [f.astimezone(UTC) for f in fires] == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)]


def test_cron_autumn_day_runs_each_slot_of_the_repeated_hour_once() -> None:
    fires = fires_between(cron("*/20 * * * *"), utc(2026, 10, 24, 23, 50), utc(2026, 10, 25, 2, 30))
    assert [f.strftime("%H:%M%z") for f in fires] == [
        "02:00+0200",
        "02:20+0200",
        "02:40+0200",
        "03:00+0100",
        "03:20+0100",
    ]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * * *", "expected five fields"),
        ("60 * * * *", "minute 60 is out of range 0-59"),
        ("* 24 * * *", "hour 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month 0 is out of range 1-31"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week 8 is out of range 0-7"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "backwards"),
        ("* * * * L", "not a number"),
        ("1,,2 * * * *", "empty item"),
        ("0 0 31 2 *", "day-of-month 31 never occurs in month 2"),
        ("0 0 30 feb *", "day-of-month 30 never occurs in month feb"),
        ("0 0 31 apr,jun,sep,nov *", "never occurs"),
    ],
)
def test_parse_cron_rejects_bad_expressions(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expr)


def test_parse_cron_accepts_the_crontab_dialect() -> None:
    expr = parse_cron("  5/20  9-17/4 1,15 JAN-mar Mon-Fri ")
    assert isinstance(expr, CronExpression)
    assert str(expr) == "5/20 9-17/4 1,15 JAN-mar Mon-Fri"
    assert expr.minutes == (5, 25, 45)
    assert expr.hours == (9, 13, 17)
    assert parse_cron("0 0 29 2 *").next_after(datetime(2026, 1, 1)) == datetime(2028, 2, 29)
    assert parse_cron("0 0 * * 0,7").weekdays == frozenset({0})


# -- once ----------------------------------------------------------------------------------------


def test_once_in_the_future_fires_exactly_once() -> None:
    run_at = datetime(2026, 12, 24, 18, 0, tzinfo=BERLIN)
    schedule = Schedule(type="once", run_at=run_at, timezone="Europe/Berlin")
    assert next_fire_times(schedule, 3, now=utc(2026, 1, 1)) == [run_at]
    trigger = build_trigger(schedule)
    first = trigger.get_next_fire_time(None, utc(2026, 1, 1))
    assert first == run_at
    assert trigger.get_next_fire_time(first, first) is None


def test_once_in_the_past_never_fires() -> None:
    run_at = datetime(2025, 12, 24, 18, 0, tzinfo=BERLIN)
    schedule = Schedule(type="once", run_at=run_at, timezone="Europe/Berlin")
    assert next_fire_times(schedule, 3, now=utc(2026, 1, 1)) == []
    assert build_trigger(schedule).get_next_fire_time(None, utc(2026, 1, 1)) is None


def test_once_in_a_spring_gap_fires_at_the_jump() -> None:
    for run_at in (datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN)):
        schedule = Schedule(type="once", run_at=run_at, timezone="Europe/Berlin")
        assert next_fire_times(schedule, 1, now=US) == [utc(2026, 3, 29, 1)]


# -- agreement, zones, errors ---------------------------------------------------------------------

AGREEMENT_SCHEDULES = [
    daily(time(2, 30)),
    Schedule(type="weekly", days=("sunday", "tuesday"), at=time(2, 30), timezone="Europe/Berlin"),
    Schedule(type="monthly", day_of_month=31, at=time(2, 30), timezone="America/New_York"),
    cron("*/7 1-3 * * *"),
    Schedule(type="interval", interval_seconds=5400, timezone="Australia/Sydney"),
    Schedule(type="once", run_at=datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN), timezone=None),
]


@pytest.mark.parametrize("schedule", AGREEMENT_SCHEDULES, ids=lambda s: s.type)
@pytest.mark.parametrize(
    "now", [utc(2026, 3, 27, 22, 59), utc(2026, 10, 24, 23, 1, 2) + timedelta(microseconds=3)]
)
def test_next_fire_times_agrees_with_the_trigger(schedule: Schedule, now: datetime) -> None:
    expected = next_fire_times(schedule, 40, now=now, anchor=utc(2026, 1, 1, 0, 7))
    trigger = build_trigger(schedule, anchor=utc(2026, 1, 1, 0, 7))
    got: list[datetime] = []
    fire = trigger.get_next_fire_time(None, now)
    while fire is not None and len(got) < 40:
        got.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    assert [f.astimezone(UTC) for f in got] == [f.astimezone(UTC) for f in expected]
    assert [f.utcoffset() for f in got] == [f.utcoffset() for f in expected]
    assert all(f > now for f in expected)
    assert all(b > a for a, b in itertools.pairwise(expected))
    assert all(f.tzinfo == resolve_zone(schedule) for f in expected)


def test_next_fire_times_edge_arguments() -> None:
    assert next_fire_times(daily(time(9, 0)), 0, now=US) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times(daily(time(9, 0)), 1, now=datetime(2026, 1, 1))


def test_utc_zone() -> None:
    schedule = daily(time(9, 0), "UTC")
    assert resolve_zone(schedule) == ZoneInfo("UTC")
    assert next_fire_times(schedule, 2, now=US) == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9)]


def test_no_zone_means_the_system_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = daily(time(9, 0), None)
    assert resolve_zone(schedule) == tzlocal.get_localzone()
    assert len(next_fire_times(schedule, 2, now=US)) == 2
    monkeypatch.setattr(tzlocal, "get_localzone", lambda: ZoneInfo("Asia/Tokyo"))
    assert resolve_zone(schedule) == ZoneInfo("Asia/Tokyo")
    assert next_fire_times(schedule, 1, now=utc(2025, 12, 31, 12)) == [utc(2026, 1, 1, 0)]  # JST


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(type="daily"),
        Schedule(type="weekly", at=time(9, 0)),
        Schedule(type="monthly", at=time(9, 0)),
        Schedule(type="interval", interval_seconds=0),
        Schedule(type="cron"),
        Schedule(type="cron", cron="nope"),
        Schedule(type="once"),
    ],
    ids=lambda s: s.type,
)
def test_build_trigger_refuses_incomplete_schedules(schedule: Schedule) -> None:
    with pytest.raises(ValueError):
        build_trigger(schedule)


# -- describe_schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (daily(time(9, 0), None), "daily at 09:00"),
        (daily(time(9, 0, 30), None), "daily at 09:00:30"),
        (Schedule(type="weekly", days=("monday",), at=time(9, 0)), "every Monday at 09:00"),
        (
            Schedule(type="weekly", days=("friday", "monday", "wednesday"), at=time(9, 0)),
            "every Monday, Wednesday and Friday at 09:00",
        ),
        (
            Schedule(type="weekly", days=("monday", "sunday"), at=time(7, 5)),
            "every Monday and Sunday at 07:05",
        ),
        (
            Schedule(
                type="weekly",
                days=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
                at=time(9, 0),
            ),
            "every day at 09:00",
        ),
        (
            Schedule(type="monthly", day_of_month=31, at=time(8, 0)),
            "monthly on day 31 at 08:00 (last day in shorter months)",
        ),
        (Schedule(type="monthly", day_of_month=1, at=time(8, 0)), "monthly on day 1 at 08:00"),
        (Schedule(type="interval", interval_seconds=1800), "every 30 minutes"),
        (Schedule(type="interval", interval_seconds=5400), "every 1 h 30 min"),
        (Schedule(type="interval", interval_seconds=45), "every 45 seconds"),
        (Schedule(type="interval", interval_seconds=90), "every 1 min 30 s"),
        (Schedule(type="interval", interval_seconds=3600), "every hour"),
        (Schedule(type="interval", interval_seconds=7200), "every 2 hours"),
        (Schedule(type="interval", interval_seconds=60), "every minute"),
        (Schedule(type="interval", interval_seconds=0.5), "every 0.5 seconds"),
        (Schedule(type="cron", cron="0  */2 * * 1-5"), "cron 0 */2 * * 1-5"),
        (
            Schedule(type="once", run_at=datetime(2026, 12, 24, 18, 0, tzinfo=BERLIN)),
            "once at 2026-12-24 18:00",
        ),
        (daily(time(9, 0)), "daily at 09:00, Europe/Berlin"),
        (
            Schedule(
                type="weekly",
                days=("monday",),
                at=time(9, 0),
                timezone="Europe/Berlin",
                enabled=False,
            ),
            "every Monday at 09:00, Europe/Berlin",
        ),
        (Schedule(type="daily"), "daily at ?"),
    ],
)
def test_describe_schedule(schedule: Schedule, words: str) -> None:
    assert describe_schedule(schedule) == words


# -- jitter --------------------------------------------------------------------------------------


def test_jitter_stays_in_its_window_and_never_skips_or_repeats_a_daily_slot() -> None:
    random.seed(1234)
    schedule = daily(time(9, 0), jitter=600)
    slots = next_fire_times(schedule, 60, now=utc(2026, 3, 1))  # spans the spring change
    fires = fires_between(schedule, utc(2026, 3, 1), slots[-1] + timedelta(hours=1))
    assert len(fires) == 60
    for slot, fire in zip(slots, fires, strict=True):
        delay = fire.astimezone(UTC) - slot.astimezone(UTC)
        assert timedelta(0) <= delay <= timedelta(seconds=600)
    assert len({f.astimezone(BERLIN).date() for f in fires}) == 60
    assert len({f - s for f, s in zip(fires, slots, strict=True)}) > 1  # it does jitter


def test_jitter_longer_than_the_gap_between_slots_still_keeps_every_slot() -> None:
    random.seed(99)
    schedule = Schedule(type="cron", cron="* * * * *", timezone="UTC", jitter=150)
    slots = next_fire_times(schedule, 120, now=US)
    trigger = build_trigger(schedule)
    fires = [trigger.get_next_fire_time(None, US)]
    while len(fires) < 120:
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1]))
    for slot, fire in zip(slots, fires, strict=True):
        assert timedelta(0) <= fire - slot <= timedelta(seconds=150)


def test_jitter_is_added_in_elapsed_time_across_fall_back() -> None:
    # 02:59 CEST + up to 2 minutes must not become 03:00..03:01 CET, an hour later.
    random.seed(7)
    schedule = Schedule(type="daily", at=time(2, 59), timezone="Europe/Berlin", jitter=120)
    trigger = build_trigger(schedule)
    for _ in range(20):
        fire = trigger.get_next_fire_time(None, utc(2026, 10, 24, 12))
        assert utc(2026, 10, 25, 0, 59) <= fire <= utc(2026, 10, 25, 1, 1)
        trigger = build_trigger(schedule)


def test_jitter_is_stable_for_a_slot_and_survives_pickling() -> None:
    random.seed(3)
    schedule = Schedule(type="interval", interval_seconds=60, timezone="UTC", jitter=50)
    trigger = build_trigger(schedule, anchor=US)
    first = trigger.get_next_fire_time(None, US)
    assert trigger.get_next_fire_time(None, US) == first  # asked twice, same answer
    restored = pickle.loads(pickle.dumps(trigger))
    second = restored.get_next_fire_time(first, first)
    assert utc(2026, 1, 1, 0, 2) <= second <= utc(2026, 1, 1, 0, 2, 50)
    assert "jitter=50" in repr(restored)


def test_an_unknown_previous_fire_moves_on_without_repeating() -> None:
    schedule = Schedule(type="daily", at=time(9, 0), timezone="UTC", jitter=60)
    trigger = build_trigger(schedule)
    previous = utc(2026, 6, 1, 9, 0, 40)  # a jittered fire this trigger did not make
    fire = trigger.get_next_fire_time(previous, previous)
    assert utc(2026, 6, 2, 9) <= fire <= utc(2026, 6, 2, 9, 1)


def test_triggers_have_readable_names() -> None:
    assert str(build_trigger(daily(time(9, 0)))) == "wallclock[daily at 09:00, Europe/Berlin]"
    interval = Schedule(type="interval", interval_seconds=90, timezone="UTC")
    assert str(build_trigger(interval)) == "elapsed[0:01:30]"
    assert "OnceTrigger" in repr(build_trigger(AGREEMENT_SCHEDULES[-1]))


# -- a real AsyncIOScheduler ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        daily(time(2, 30)),
        cron("0 */2 * * 1-5", "America/New_York"),
        Schedule(type="monthly", day_of_month=31, at=time(8, 0), timezone=None),
        Schedule(type="interval", interval_seconds=3600, timezone="Europe/Berlin"),
    ],
    ids=lambda s: s.type,
)
async def test_asyncio_scheduler_accepts_the_trigger(schedule: Schedule) -> None:
    anchor = utc(2026, 1, 1, 0, 17)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    try:
        before = datetime.now(UTC)
        job = scheduler.add_job(lambda: None, trigger=build_trigger(schedule, anchor=anchor))
        after = datetime.now(UTC)
        # A slot could only fall between the two clock readings by a freak of timing.
        candidates = {
            next_fire_times(schedule, 1, now=before, anchor=anchor)[0],
            next_fire_times(schedule, 1, now=after, anchor=anchor)[0],
        }
        assert job.next_run_time in candidates
    finally:
        scheduler.shutdown(wait=False)


async def test_asyncio_scheduler_fires_a_once_job_and_drops_it() -> None:
    fired = asyncio.Event()
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    try:
        run_at = datetime.now(UTC) + timedelta(milliseconds=100)
        schedule = Schedule(type="once", run_at=run_at, timezone="UTC")
        job = scheduler.add_job(fired.set, trigger=build_trigger(schedule))
        assert job.next_run_time == run_at
        await asyncio.wait_for(fired.wait(), timeout=5)
        # No next fire: APScheduler removed the job in the same wake-up that submitted it.
        assert scheduler.get_job(job.id) is None
    finally:
        scheduler.shutdown(wait=False)
