"""schedule.yaml validation: every type, every error class, with the exact line."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import tzlocal

from bassi_tui.store.models import Schedule, TaskProblem
from bassi_tui.store.parse import parse_schedule


def ok(text: str) -> Schedule:
    schedule, problems = parse_schedule("t", text)
    assert problems == []
    assert schedule is not None
    return schedule


def bad(text: str) -> list[TaskProblem]:
    schedule, problems = parse_schedule("t", text)
    assert schedule is None
    assert problems
    return problems


def one(text: str) -> TaskProblem:
    problems = bad(text)
    assert len(problems) == 1, problems
    return problems[0]


# --- happy paths ----------------------------------------------------------------------------


def test_daily_with_unquoted_time_before_ten() -> None:
    s = ok("type: daily\ntime: 09:30\n")
    assert (s.type, s.at, s.enabled, s.timezone, s.jitter) == (
        "daily",
        time(9, 30),
        True,
        None,
        0.0,
    )


def test_daily_unquoted_time_that_yaml_reads_as_base_60() -> None:
    # PyYAML makes `10:30` the int 630; the raw text must win.
    assert ok("type: daily\ntime: 10:30\n").at == time(10, 30)
    assert ok("type: daily\ntime: 23:59:58\n").at == time(23, 59, 58)
    assert ok('type: daily\ntime: "7:05"\n').at == time(7, 5)


def test_common_keys() -> None:
    s = ok("type: daily\ntime: '08:00'\nenabled: false\ntimezone: Europe/Berlin\njitter: 30\n")
    assert (s.enabled, s.timezone, s.jitter) == (False, "Europe/Berlin", 30.0)


def test_empty_optional_key_means_default() -> None:
    s = ok("type: daily\ntime: 08:00\ntimezone:\njitter: ~\n")
    assert (s.timezone, s.jitter) == (None, 0.0)


def test_weekly_days_case_insensitive_abbreviated_deduplicated_in_weekday_order() -> None:
    s = ok("type: weekly\nday: [Fri, monday, MON, wed]\ntime: 10:00\n")
    assert s.days == ("monday", "wednesday", "friday")
    assert s.at == time(10, 0)
    assert ok("type: weekly\nday: Sunday\ntime: 10:00\n").days == ("sunday",)


def test_monthly() -> None:
    s = ok("type: monthly\nday: 31\ntime: 06:15\n")
    assert (s.day_of_month, s.at) == (31, time(6, 15))


def test_interval_adds_units() -> None:
    assert ok("type: interval\nhours: 1.5\nminutes: 2\nseconds: 3\n").interval_seconds == 5523.0
    assert ok("type: interval\nseconds: 0.5\n").interval_seconds == 0.5


def test_cron_keeps_crontab_meaning() -> None:
    # Stored as written (spaces collapsed): the scheduler reads it with crontab(5) semantics.
    assert ok('type: cron\ncron: "0  9 * * 1-5"\n').cron == "0 9 * * 1-5"
    assert ok('type: cron\ncron: "*/15 * * * 7"\n').cron == "*/15 * * * 7"  # 7 = sunday
    assert ok('type: cron\ncron: "0 8 1 jan,JUL mon"\n').cron == "0 8 1 jan,JUL mon"


def test_once_is_aware_in_its_timezone() -> None:
    s = ok("type: once\ndatetime: 2026-03-01 10:00\ntimezone: America/New_York\n")
    assert s.run_at == datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert s.run_at is not None and s.run_at.utcoffset() is not None
    # With seconds, YAML would make a naive datetime; the raw text is used instead.
    s = ok("type: once\ndatetime: 2026-03-01 10:00:05\ntimezone: UTC\n")
    assert s.run_at == datetime(2026, 3, 1, 10, 0, 5, tzinfo=ZoneInfo("UTC"))


def test_once_without_timezone_uses_the_system_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tzlocal, "get_localzone", lambda: ZoneInfo("Asia/Tokyo"))
    s = ok("type: once\ndatetime: '2026-03-01 10:00'\n")
    assert s.run_at is not None
    assert s.run_at.tzinfo == ZoneInfo("Asia/Tokyo")
    assert s.run_at.hour == 10
    assert s.timezone is None


# --- errors -------------------------------------------------------------------------------


def test_unknown_key_names_the_line_and_suggests() -> None:
    # One mistake, one problem: no second "needs `time:`" for the key the typo stands for.
    typo = one("type: daily\ntiem: 09:30\n")
    assert (typo.file, typo.line) == ("schedule.yaml", 2)
    assert "unknown key 'tiem'" in typo.message
    assert "did you mean 'time'?" in typo.message
    expected = "expected one of: type, time, days, skip_holidays, enabled, timezone, jitter"
    assert expected in typo.message


def test_typo_of_an_interval_unit_is_one_problem() -> None:
    p = one("type: interval\nminuts: 5\n")
    assert p.line == 2 and "did you mean 'minutes'?" in p.message


def test_missing_key_without_a_typo_points_at_the_type_line() -> None:
    p = one("type: daily\njitter: 5\n")
    assert p.line == 1
    assert p.message.startswith('type daily needs `time:`; expected "HH:MM"')


def test_key_of_another_type_says_it_does_not_apply() -> None:
    p = bad("type: daily\ntime: 09:00\nday: monday\n")[0]
    assert p.line == 3
    assert "'day' does not apply to type daily" in p.message


def test_unknown_key_without_a_close_match_has_no_suggestion() -> None:
    p = one("type: daily\ntime: 09:00\nzzz: 1\n")
    assert p.line == 3
    assert "did you mean" not in p.message


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            "type: dayly\n",
            1,
            "type: 'dayly' is not one of daily, weekly, monthly, interval, cron, once, after "
            "(did you mean 'daily'?)",
        ),
        ("type: daily\ntime: 24:00\n", 2, "time: '24:00' is not a time; expected \"HH:MM\""),
        ("type: daily\ntime: 9.30\n", 2, "time: '9.30' is not a time"),
        ("type: daily\ntime: [9, 30]\n", 2, "time: a list is not a time"),
        ("type: daily\ntime:\n", 2, "time: missing value"),
        (
            "type: weekly\ntime: 09:00\nday: funday\n",
            3,
            "day: 'funday' is not a weekday; expected monday..sunday (or mon..sun)",
        ),
        ("type: weekly\ntime: 09:00\nday: []\n", 3, "day: empty list"),
        ("type: weekly\ntime: 09:00\n", 1, "type weekly needs `day:`"),
        (
            "type: monthly\nday: 32\ntime: 09:00\n",
            2,
            "day: expected a whole number 1..31, got '32'",
        ),
        ("type: monthly\nday: first\ntime: 09:00\n", 2, "got 'first'"),
        (
            "type: interval\nminutes: 0\n",
            2,
            "interval: the total is 0; expected more than 0 seconds",
        ),
        (
            "type: interval\n",
            1,
            "type interval needs at least one of `seconds:`, `minutes:`, `hours:`",
        ),
        ("type: interval\nhours: -1\n", 2, "hours: expected a number >= 0, got '-1'"),
        ("type: interval\nhours: .inf\n", 2, "hours: expected a number >= 0"),
        ("type: interval\nhours: 1000000\n", 2, "over 100 years"),
        ("type: cron\ncron: '61 * * * *'\n", 2, "cron: minute 61 is out of range 0-59"),
        (
            "type: cron\ncron: '0 9 * * * *'\n",
            2,
            "cron: expected five fields (minute hour day-of-month month day-of-week), got 6",
        ),
        (
            "type: cron\ncron: '0 9 * * funday'\n",
            2,
            "day-of-week 'funday' is not a number; expected 0-7 or sun..sat",
        ),
        ("type: cron\ncron: '0 9 30 2 *'\n", 2, "never occurs"),
        ("type: cron\ncron: 5\n", 2, "cron: expected a string, got '5'"),
        (
            "type: once\ndatetime: 2026-02-30 10:00\n",
            2,
            "datetime: '2026-02-30 10:00' is not a date and time; expected \"YYYY-MM-DD HH:MM\"",
        ),
        ("type: once\ndatetime: tomorrow\n", 2, "is not a date and time"),
        (
            "type: daily\ntime: 09:00\ntimezone: Mars/Olympus\n",
            3,
            "timezone: 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin)",
        ),
        ("type: daily\ntime: 09:00\ntimezone: Europe\n", 3, "is not a known IANA time zone"),
        (
            "type: daily\ntime: 09:00\ntimezone: ../../etc/passwd\n",
            3,
            "is not a known IANA time zone",
        ),
        (
            "type: daily\ntime: 09:00\nenabled: maybe\n",
            3,
            "enabled: expected true or false, got 'maybe'",
        ),
        ("type: daily\ntime: 09:00\njitter: -5\n", 3, "jitter: expected a number >= 0, got '-5'"),
        (
            "type: daily\ntime: 09:00\njitter: true\n",
            3,
            "jitter: expected a number >= 0, got 'true'",
        ),
        ("type: daily\ntime: 09:00\ntime: 10:00\n", 3, "duplicate key 'time' (first on line 2)"),
        ("type: daily\ntime: 09:00\nx: [a, b\n", 4, "not valid YAML"),
        ("- type: daily\n", 1, "expected a mapping of `key: value` lines, got a list"),
        ("type:\ntime: 09:00\n", 1, "type: missing value; expected one of daily"),
    ],
)
def test_bad_values_name_the_line_and_what_was_expected(
    text: str, line: int, expected: str
) -> None:
    p = one(text)
    assert (p.task, p.file, p.line) == ("t", "schedule.yaml", line)
    assert expected in p.message


def test_bad_weekday_in_a_block_list_points_at_the_item() -> None:
    p = one("type: weekly\ntime: 09:00\nday:\n  - monday\n  - funday\n")
    assert p.line == 5
    assert "'funday' is not a weekday" in p.message


def test_empty_schedule_is_an_error() -> None:
    for text in ("", "# nothing yet\n"):
        p = one(text)
        assert p.line is None
        assert p.message == "empty file; expected a mapping with a `type:` key"


def test_missing_type_is_a_whole_file_problem() -> None:
    p = one("time: 09:00\n")
    assert p.line is None
    assert "missing `type:`" in p.message


def test_every_problem_is_reported_together_in_line_order() -> None:
    text = (
        "type: weekly\n"  # 1
        "day: [mon, funday]\n"  # 2
        "time: 25:00\n"  # 3
        "timezone: Mars/Olympus\n"  # 4
        "jiter: 5\n"  # 5
        "enabled: sometimes\n"  # 6
    )
    problems = bad(text)
    assert [p.line for p in problems] == [2, 3, 4, 5, 6]
    assert "did you mean 'jitter'?" in problems[3].message
    assert all(p.file == "schedule.yaml" and p.task == "t" for p in problems)


def test_problem_str_shows_task_file_and_line() -> None:
    p = one("type: daily\ntime: 09:00\ntiem: 1\n")
    assert str(p).startswith("t/schedule.yaml:3: unknown key 'tiem'")


def test_custom_file_name_is_used_in_problems() -> None:
    _, problems = parse_schedule("t", "type: nope\n", file="other.yaml")
    assert problems[0].location() == "other.yaml:1"


@pytest.mark.parametrize(
    "expr",
    [
        "0 9 * * 1-5",
        "0 9 * * 7",
        "0 9 * * fri-sun",
        "0 9 * * monday",
        "0 9 1 JAN MON",
        "1/5 * * * *",
        "0 0 30 2 *",
        "0 0 30 2 mon",
        "0 0 29 2 *",
        "0 0 31 4,6 *",
        "0 0 30 2 */7",
        "0 0 L * *",
        "1,,2 * * * *",
        "* * * * 8",
    ],
)
def test_check_agrees_with_the_scheduler_crontab(expr: str) -> None:
    """`bassi-tui check` must accept exactly what the scheduler can fire."""
    from bassi_tui.store.crontab import parse_cron

    try:
        parse_cron(expr)
        fires = True
    except ValueError:
        fires = False
    _, problems = parse_schedule("t", f"type: cron\ncron: '{expr}'\n")
    assert (problems == []) == fires


def test_the_draft_carries_every_schedule_field() -> None:
    from dataclasses import fields as dc_fields

    from bassi_tui.store.models import Schedule
    from bassi_tui.store.parse_schedule import _Draft

    assert {f.name for f in dc_fields(_Draft)} == {f.name for f in dc_fields(Schedule)} - {"type"}
