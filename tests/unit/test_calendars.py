"""Calendars: `days:` and `skip_holidays:` in schedule.yaml, with real dates from the real
`holidays` package, through parsing, `next_fire_times`, the engine's own trigger and `check`.

Expected fire lists are written out by hand from the calendar (2026-01-06 is Epiphany in
Bavaria, 2026-04-03 Good Friday...), so a filter that skips too much or too little fails.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from apscheduler.triggers.base import BaseTrigger

from bassi_tui.cli import main
from bassi_tui.scheduler import engine as engine_module
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.missed import find_missed
from bassi_tui.scheduler.triggers import (
    build_trigger,
    describe_schedule,
    next_fire_times,
    schedule_key,
)
from bassi_tui.store import calendar_days
from bassi_tui.store.calendar_days import DayRule, check_holiday_code, holiday_dates
from bassi_tui.store.models import Schedule
from bassi_tui.store.parse import parse_schedule
from tests.helpers import make_task

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
BAVARIAN_WEEKDAYS = (
    "type: daily\ntime: '09:00'\ntimezone: Europe/Berlin\ndays: weekdays\nskip_holidays: DE-BY\n"
)


def ok(text: str) -> Schedule:
    schedule, problems = parse_schedule("t", text)
    assert problems == [], problems
    assert schedule is not None
    return schedule


def local(zone: ZoneInfo, *days: tuple[int, int, int], at: time = time(9)) -> list[datetime]:
    return [datetime.combine(date(*d), at, tzinfo=zone) for d in days]


def fires(schedule: Schedule, n: int, now: datetime) -> list[datetime]:
    return next_fire_times(schedule, n, now=now)


def drive(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Fires of a real trigger the way APScheduler asks: each fire fed back as previous."""
    got: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        got.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return got


# -- the daily task of the issue: weekdays, no Bavarian holiday ----------------------------------

CHRISTMAS_TO_EPIPHANY = local(
    BERLIN,
    (2025, 12, 22),
    (2025, 12, 23),
    (2025, 12, 24),  # Christmas Eve is a working day; 25 and 26 are holidays, 27/28 a weekend
    (2025, 12, 29),
    (2025, 12, 30),
    (2025, 12, 31),
    (2026, 1, 2),  # 1 January: New Year's Day; 3/4: weekend
    (2026, 1, 5),
    (2026, 1, 7),  # 6 January: Epiphany, a holiday in Bavaria only
    (2026, 1, 8),
)
AFTER_FRIDAY_19TH = datetime(2025, 12, 19, 12, 0, tzinfo=UTC)


def test_weekdays_without_bavarian_holidays_round_the_new_year() -> None:
    schedule = ok(BAVARIAN_WEEKDAYS)
    assert schedule.days == ("monday", "tuesday", "wednesday", "thursday", "friday")
    assert schedule.skip_holidays == ("DE-BY",)
    assert fires(schedule, 10, AFTER_FRIDAY_19TH) == CHRISTMAS_TO_EPIPHANY


def test_without_skip_holidays_the_holidays_fire() -> None:
    """The control: the same task without skip_holidays fires on all four holidays."""
    plain = ok(BAVARIAN_WEEKDAYS.replace("skip_holidays: DE-BY\n", ""))
    got = {t.date() for t in fires(plain, 14, AFTER_FRIDAY_19TH)}
    assert {date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 1, 6)} <= got
    assert all(d.weekday() < 5 for d in got)


def test_epiphany_is_a_bavarian_holiday_but_not_a_berlin_one() -> None:
    berlin = ok(BAVARIAN_WEEKDAYS.replace("DE-BY", "DE-BE"))
    got = [t.date() for t in fires(berlin, 3, datetime(2026, 1, 4, tzinfo=UTC))]
    assert got == [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]


def test_a_whole_year_matches_the_holidays_package() -> None:
    """2026 has 261 weekdays, 9 of them Bavarian holidays: 252 fires, on exactly those days."""
    schedule = ok(BAVARIAN_WEEKDAYS)
    got = fires(schedule, 400, datetime(2025, 12, 31, 23, 0, tzinfo=UTC))
    in_2026 = [t for t in got if t.year == 2026]
    assert len(in_2026) == 252
    bavaria = holidays.country_holidays("DE", subdiv="BY", years=2026)
    expected = [
        day
        for day in (date(2026, 1, 1) + timedelta(days=i) for i in range(365))
        if day.weekday() < 5 and day not in bavaria
    ]
    assert [t.date() for t in in_2026] == expected
    assert {t.time() for t in in_2026} == {time(9)}


async def test_the_engine_trigger_skips_the_same_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger the engine hands APScheduler, built from the folder on disk, agrees with
    `next_fire_times` and with the written-out list; its next run is the one `next` gives."""
    built: list[BaseTrigger] = []
    real_build = engine_module.build_trigger

    def spy(*args: object, **kwargs: object) -> BaseTrigger:
        trigger = real_build(*args, **kwargs)  # type: ignore[arg-type]
        built.append(trigger)
        return trigger

    monkeypatch.setattr(engine_module, "build_trigger", spy)
    make_task(tmp_path, "bavaria", schedule=BAVARIAN_WEEKDAYS)
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    try:
        view = engine.view("bavaria")
        assert view is not None and view.next_run is not None
        assert view.description == "every weekday at 09:00, skipping DE-BY holidays, Europe/Berlin"
        schedule = engine.task("bavaria").schedule  # type: ignore[union-attr]
        assert schedule is not None
        now = datetime.now(UTC)
        assert view.next_run == next_fire_times(schedule, 1, now=now - timedelta(seconds=5))[0]
        next_day = view.next_run.astimezone(BERLIN).date()
        assert next_day.weekday() < 5 and next_day not in holidays.country_holidays("DE", "BY")
    finally:
        await engine.stop()
    assert len(built) == 1
    end = datetime(2026, 1, 9, tzinfo=UTC)
    assert drive(built[0], AFTER_FRIDAY_19TH, end) == CHRISTMAS_TO_EPIPHANY


def test_next_command_prints_no_weekend_and_no_holiday(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "bavaria", schedule=BAVARIAN_WEEKDAYS)
    assert main(["next", "bavaria", "-n", "60", "--tasks-dir", str(tmp_path)]) == 0
    days = [datetime.fromisoformat(line).date() for line in capsys.readouterr().out.split()]
    assert len(days) == 60
    bavaria = holidays.country_holidays("DE", subdiv="BY")
    assert [d for d in days if d.weekday() >= 5 or d in bavaria] == []


# -- every calendar type ---------------------------------------------------------------------


def test_holidays_and_the_dst_rule_together() -> None:
    """02:30 in Berlin: the spring-forward day still fires at the jump (01:00 UTC), and Good
    Friday and Easter Monday are skipped; Easter Sunday is no holiday in Bavaria."""
    schedule = ok("type: daily\ntime: '02:30'\ntimezone: Europe/Berlin\nskip_holidays: DE-BY\n")
    got = drive(
        build_trigger(schedule),
        datetime(2026, 3, 27, tzinfo=UTC),
        datetime(2026, 4, 8, tzinfo=UTC),
    )
    utc = [t.astimezone(UTC).replace(tzinfo=None) for t in got]
    cet = [datetime(2026, 3, d, 1, 30) for d in (27, 28)]
    cest = [datetime(2026, m, d, 0, 30) for m, d in ((3, 30), (3, 31), (4, 1), (4, 2))]
    cest += [datetime(2026, 4, d, 0, 30) for d in (4, 5, 7)]
    assert utc == [*cet, datetime(2026, 3, 29, 1, 0), *cest]


def test_monthly_on_weekdays_skips_the_month_instead_of_moving_the_fire() -> None:
    schedule = ok(
        "type: monthly\nday: 1\ntime: '08:00'\ntimezone: Europe/Berlin\n"
        "days: weekdays\nskip_holidays: DE-BY\n"
    )
    # 2026: 1 Jan holiday, 1 Feb/Mar Sunday, 1 May holiday, 1 Aug Saturday, 1 Nov Sunday.
    expected = local(
        BERLIN,
        (2026, 4, 1),
        (2026, 6, 1),
        (2026, 7, 1),
        (2026, 9, 1),
        (2026, 10, 1),
        (2026, 12, 1),
        at=time(8),
    )
    assert fires(schedule, 6, datetime(2025, 12, 31, tzinfo=UTC)) == expected


def test_cron_keeps_every_slot_of_an_allowed_day() -> None:
    schedule = ok(
        "type: cron\ncron: '*/30 9-10 * * *'\ntimezone: America/New_York\n"
        "days: weekdays\nskip_holidays: US\n"
    )
    slots = [time(9), time(9, 30), time(10), time(10, 30)]
    # Friday 16 January, then Monday 19th is Martin Luther King Jr. Day.
    expected = [
        datetime.combine(date(2026, 1, d), t, tzinfo=NEW_YORK) for d in (16, 20) for t in slots
    ]
    assert fires(schedule, 8, datetime(2026, 1, 16, tzinfo=UTC)) == expected


def test_weekly_skips_easter_and_whit_monday() -> None:
    schedule = ok(
        "type: weekly\nday: monday\ntime: '09:00'\ntimezone: Europe/Berlin\nskip_holidays: DE-BY\n"
    )
    got = [t.date() for t in fires(schedule, 8, datetime(2026, 3, 25, tzinfo=UTC))]
    mondays = [(3, 30), (4, 13), (4, 20), (4, 27), (5, 4), (5, 11), (5, 18), (6, 1)]
    assert got == [date(2026, m, d) for m, d in mondays]


def test_observed_holidays_are_skipped() -> None:
    """4 July 2026 is a Saturday; the US observes it on Friday the 3rd."""
    schedule = ok(
        "type: daily\ntime: '09:00'\ntimezone: America/New_York\ndays: weekdays\n"
        "skip_holidays: US\n"
    )
    got = [t.date() for t in fires(schedule, 4, datetime(2026, 6, 30, tzinfo=UTC))]
    assert got == [date(2026, 6, 30), date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 6)]


def test_a_market_calendar() -> None:
    """NYSE is closed on Good Friday but open on Easter Monday."""
    schedule = ok(
        "type: daily\ntime: '16:30'\ntimezone: America/New_York\ndays: weekdays\n"
        "skip_holidays: NYSE\n"
    )
    got = [t.date() for t in fires(schedule, 4, datetime(2026, 4, 1, tzinfo=UTC))]
    assert got == [date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 6), date(2026, 4, 7)]


def test_several_calendars_skip_the_holidays_of_each() -> None:
    """8 December (Immaculate Conception) is a holiday in Austria, not in Bavaria."""
    both = ok(BAVARIAN_WEEKDAYS.replace("DE-BY", "[DE-BY, AT]"))
    assert both.skip_holidays == ("DE-BY", "AT")
    start = datetime(2026, 12, 7, tzinfo=UTC)
    assert [t.day for t in fires(both, 3, start)] == [7, 9, 10]
    assert [t.day for t in fires(ok(BAVARIAN_WEEKDAYS), 3, start)] == [7, 8, 9]


def test_days_on_daily_without_holidays() -> None:
    schedule = ok("type: daily\ntime: '07:00'\ntimezone: UTC\ndays: [mon, weekends]\n")
    got = [t.date() for t in fires(schedule, 5, datetime(2026, 1, 1, tzinfo=UTC))]
    # 1 January 2026 is a Thursday.
    assert got == [date(2026, 1, d) for d in (3, 4, 5, 10, 11)]


def test_missed_fires_during_downtime_do_not_count_excluded_days() -> None:
    trigger = build_trigger(ok(BAVARIAN_WEEKDAYS))
    missed = find_missed(
        trigger, datetime(2026, 1, 5, 8, tzinfo=UTC), datetime(2026, 1, 8, 12, tzinfo=UTC)
    )
    assert missed is not None
    assert (missed.count, missed.last) == (3, datetime(2026, 1, 8, 8, tzinfo=UTC))


def test_a_filtered_trigger_survives_pickling() -> None:
    trigger = build_trigger(ok(BAVARIAN_WEEKDAYS))
    again = pickle.loads(pickle.dumps(trigger))
    end = datetime(2026, 1, 9, tzinfo=UTC)
    assert drive(again, AFTER_FRIDAY_19TH, end) == CHRISTMAS_TO_EPIPHANY


# -- words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (BAVARIAN_WEEKDAYS, "every weekday at 09:00, skipping DE-BY holidays, Europe/Berlin"),
        ("type: daily\ntime: 9:00\ndays: weekends\n", "every Saturday and Sunday at 09:00"),
        ("type: daily\ntime: 9:00\ndays: [weekdays, weekends]\n", "daily at 09:00"),
        ("type: weekly\nday: weekdays\ntime: 9:00\n", "every weekday at 09:00"),
        ("type: weekly\ndays: [mon, thu]\ntime: 9:00\n", "every Monday and Thursday at 09:00"),
        (
            "type: weekly\nday: monday\ntime: 9:00\nskip_holidays: [US-NY, NYSE]\n",
            "every Monday at 09:00, skipping US-NY and NYSE holidays",
        ),
        (
            "type: monthly\nday: 1\ntime: 8:00\ndays: weekdays\n",
            "monthly on day 1 at 08:00, only on weekdays",
        ),
        (
            "type: cron\ncron: '0 9 * * *'\ndays: [mon, fri]\nskip_holidays: de\n",
            "cron 0 9 * * *, only on Mondays and Fridays, skipping DE holidays",
        ),
    ],
)
def test_descriptions(text: str, words: str) -> None:
    assert describe_schedule(ok(text)) == words


# -- parsing -------------------------------------------------------------------------------------


def test_codes_are_normalised_and_yaml_booleans_are_countries() -> None:
    assert ok("type: daily\ntime: 9:00\nskip_holidays: de-by\n").skip_holidays == ("DE-BY",)
    assert ok("type: daily\ntime: 9:00\nskip_holidays: NO\n").skip_holidays == ("NO",)  # Norway
    assert ok("type: daily\ntime: 9:00\nskip_holidays: [us, US]\n").skip_holidays == ("US",)
    assert check_holiday_code("es-barcelona") == "ES-Barcelona"
    assert ok("type: daily\ntime: 9:00\nskip_holidays:\n").skip_holidays == ()


def test_weekly_takes_days_as_another_spelling_of_day() -> None:
    a = ok("type: weekly\nday: [monday, friday]\ntime: 9:00\n")
    b = ok("type: weekly\ndays: [mon, fri]\ntime: 9:00\n")
    assert a == b


SCHEDULE_ERRORS = [
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: DE-BX\n",
        3,
        "skip_holidays: 'DE-BX' is not a known holiday calendar: DE has no subdivision 'BX' "
        "(did you mean DE-BB, DE-BE, DE-BW or DE-BY?)",
        id="unknown-subdivision",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: DE-Bayern\n",
        3,
        "DE has no subdivision 'Bayern' (did you mean DE-BY?)",
        id="subdivision-by-name",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: US-Californa\n",
        3,
        "US has no subdivision 'Californa' (did you mean US-CA?)",
        id="subdivision-name-typo",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: DX\n",
        3,
        "skip_holidays: 'DX' is not a known holiday calendar: no country or market has that "
        "code (did you mean AX, CX, DE or DJ?)",
        id="unknown-country",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: XX-BY\n",
        3,
        "no country has the code 'XX'",
        id="unknown-country-with-subdivision",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: Germany\n",
        3,
        "write the country's code (did you mean DE?)",
        id="country-by-name",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: LU-X\n",
        3,
        "the holidays package has no subdivisions of LU; use LU",
        id="country-without-subdivisions",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays:\n  - DE\n  - ZZ\n",
        5,
        "skip_holidays: 'ZZ' is not a known holiday calendar",
        id="bad-item-in-a-block-list",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: []\n",
        3,
        "skip_holidays: empty list; expected a holiday calendar code",
        id="empty-code-list",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nskip_holidays: {country: DE}\n",
        3,
        "skip_holidays: a mapping is not a code",
        id="code-not-a-string",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\ndays: workdays\n",
        3,
        "days: 'workdays' is not a weekday; expected monday..sunday (or mon..sun), "
        "weekdays or weekends",
        id="unknown-day-word",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\ndays: []\n",
        3,
        "days: empty list; expected at least one weekday",
        id="empty-day-list",
    ),
    pytest.param(
        "type: weekly\nday: monday\ndays: friday\ntime: 9:00\n",
        3,
        "days: `day:` (line 2) already gives the days; keep one of the two",
        id="weekly-day-and-days",
    ),
    pytest.param(
        "type: daily\ntime: 9:00\nday: monday\n",
        3,
        "'day' does not apply to type daily (for the days of the week it runs on, use `days:`)",
        id="day-on-daily",
    ),
    pytest.param(
        "type: interval\nhours: 1\nskip_holidays: US\n",
        3,
        "'skip_holidays' does not apply to type interval",
        id="holidays-on-interval",
    ),
    pytest.param(
        "type: once\ndatetime: 2030-01-01 10:00\ndays: weekdays\n",
        3,
        "'days' does not apply to type once",
        id="days-on-once",
    ),
    pytest.param(
        "type: cron\ncron: '0 9 * * sat'\ndays: weekdays\n",
        3,
        "days: cron '0 9 * * sat' never fires on weekdays",
        id="cron-never-on-its-days",
    ),
    pytest.param(
        "type: cron\ncron: '0 9 25 12 *'\nskip_holidays: DE\n",
        3,
        "skip_holidays: every day cron '0 9 25 12 *' fires on in the next 10 years is a DE "
        "holiday, so it would never run",
        id="cron-only-on-holidays",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), SCHEDULE_ERRORS)
def test_schedule_errors(text: str, line: int, message: str) -> None:
    schedule, problems = parse_schedule("t", text)
    assert schedule is None
    assert len(problems) == 1, problems
    assert (problems[0].file, problems[0].line) == ("schedule.yaml", line)
    assert message in problems[0].message


def test_check_reports_every_calendar_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, case in enumerate(SCHEDULE_ERRORS):
        make_task(tmp_path, f"t{n:02d}", schedule=case.values[0])  # type: ignore[arg-type]
    make_task(tmp_path, "zz-good", schedule=BAVARIAN_WEEKDAYS)
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    for n, case in enumerate(SCHEDULE_ERRORS):
        _, line, message = case.values
        where = f"t{n:02d}/schedule.yaml:{line}: "
        said = [row for row in out.err.splitlines() if row.startswith(where)]
        assert len(said) == 1 and message in said[0], (case.id, out.err)
    assert "ok  zz-good: every weekday at 09:00, skipping DE-BY holidays" in out.out
    assert f"{len(SCHEDULE_ERRORS) + 1} task(s), {len(SCHEDULE_ERRORS)} with problems" in out.err


def test_a_cron_that_fires_on_some_allowed_day_is_accepted() -> None:
    # 29 February falls on a Monday in 2044: rare, but it happens.
    ok("type: cron\ncron: '0 9 29 2 *'\ndays: monday\n")
    # 3 July is a US holiday only when the 4th is a Saturday (2026): it fires in 2027.
    schedule = ok("type: cron\ncron: '0 9 3 7 *'\ntimezone: America/New_York\nskip_holidays: US\n")
    assert fires(schedule, 1, datetime(2026, 1, 1, tzinfo=UTC)) == local(NEW_YORK, (2027, 7, 3))


# -- costs and caches ----------------------------------------------------------------------------


def test_holidays_is_imported_only_for_tasks_that_skip_holidays() -> None:
    code = """
import sys
from datetime import UTC, datetime
from bassi_tui.scheduler.engine import Engine
from bassi_tui.store.loading import load_folders
from bassi_tui.store.parse import parse_schedule
from bassi_tui.scheduler.triggers import describe_schedule, next_fire_times
for text in ("type: daily\\ntime: 9:00\\ndays: weekdays\\n",
             "type: cron\\ncron: '0 9 * * *'\\ndays: [mon]\\n"):
    s, problems = parse_schedule("t", text)
    assert not problems, problems
    next_fire_times(s, 20, now=datetime(2026, 1, 1, tzinfo=UTC))
    describe_schedule(s)
assert "holidays" not in sys.modules, "imported without skip_holidays"
s, _ = parse_schedule("t", "type: daily\\ntime: 9:00\\nskip_holidays: DE\\n")
assert "holidays" in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_each_calendar_is_built_once_per_code_and_year(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[str, int]] = []
    real = calendar_days._build_dates

    def counting(code: str, year: int) -> frozenset[date]:
        built.append((code, year))
        return real(code, year)

    monkeypatch.setattr(calendar_days, "_build_dates", counting)
    rule = DayRule(holidays=("FR-57",))  # Moselle: no other test asks for it
    allowed = [
        d for d in (date(2031, 1, 1) + timedelta(days=i) for i in range(365)) if rule.allows(d)
    ]
    assert holiday_dates("FR-57", 2031) is holiday_dates("FR-57", 2031)
    assert built == [("FR-57", 2031)]
    assert len(allowed) == 365 - len(holidays.country_holidays("FR", subdiv="57", years=2031))


def test_schedule_keys_of_schedules_without_holidays_did_not_change() -> None:
    """last_run.json keeps schedule_key; a key that moved would void every interval's grid."""
    berlin = Schedule(type="daily", at=time(9, 0), timezone="Europe/Berlin")
    assert schedule_key(berlin) == "7b13533dafc9e3fe"
    assert schedule_key(Schedule(type="interval", interval_seconds=3600.0)) == "5696a83db4eb7fa8"
    keys = {
        schedule_key(berlin),
        schedule_key(
            Schedule(type="daily", at=time(9), timezone="Europe/Berlin", skip_holidays=("DE",))
        ),
        schedule_key(
            Schedule(type="daily", at=time(9), timezone="Europe/Berlin", skip_holidays=("AT",))
        ),
    }
    assert len(keys) == 3
