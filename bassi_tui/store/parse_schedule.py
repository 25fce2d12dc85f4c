"""schedule.yaml: from text to a :class:`~bassi_tui.store.models.Schedule`, or problems.

Times and datetimes are read from the scalar's source text, never from what YAML 1.1 made of
it: unquoted ``10:30`` is the int 630 to PyYAML (base 60), and ``2026-01-01 10:00:00`` a naive
datetime. Holiday codes too: ``skip_holidays: NO`` is Norway, not false.

Calendar types (daily, weekly, monthly, cron) take two more keys:

- ``days:`` the weekdays a fire may fall on: ``weekdays``, ``weekends``, a day name, or a list
  of them (``[weekdays, saturday]``). For ``weekly`` it is another spelling of ``day:`` (which
  takes the same words); giving both is an error. For ``monthly`` and ``cron`` a fire on another
  weekday is skipped, not moved, and a cron line that could then never fire is refused.
- ``skip_holidays:`` a holiday calendar code or a list of them (``DE``, ``DE-BY``, ``US-NY``,
  ``NYSE``; see :mod:`bassi_tui.store.calendar_days`): no fire on those holidays. Unknown codes
  are refused with close ones suggested. The ``holidays`` package is imported only then.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from bassi_tui.store.calendar_days import (
    ALL_WEEKDAYS,
    WEEKDAY_GROUPS,
    DayRule,
    HolidayCodeError,
    check_holiday_code,
)
from bassi_tui.store.crontab import CronError, CronExpression, check_cron, parse_cron
from bassi_tui.store.models import (
    SCHEDULE_FILE,
    WEEKDAYS,
    AfterOn,
    Schedule,
    ScheduleType,
    TaskProblem,
    Weekday,
)
from bassi_tui.store.parse_common import (
    Field,
    Report,
    fields,
    given,
    load_mapping,
    read_bool,
    read_choice,
    read_int,
    read_number,
    read_str,
    shown,
)
from bassi_tui.store.yamlio import YScalar, YSeq, kind

SCHEDULE_TYPES: tuple[ScheduleType, ...] = get_args(ScheduleType)
COMMON_KEYS = ("enabled", "timezone", "jitter")
DAY_KEYS = ("days", "skip_holidays")
"""Keys of the calendar types that exclude days (see the module docstring)."""
TYPE_KEYS: dict[ScheduleType, tuple[str, ...]] = {
    "daily": ("time", *DAY_KEYS),
    "weekly": ("day", "time", *DAY_KEYS),
    "monthly": ("day", "time", *DAY_KEYS),
    "interval": ("seconds", "minutes", "hours"),
    "cron": ("cron", *DAY_KEYS),
    "once": ("datetime",),
    "after": ("after", "on"),
}
AFTER_ON: tuple[AfterOn, ...] = get_args(AfterOn)
ALL_KEYS = ("type", *dict.fromkeys(k for keys in TYPE_KEYS.values() for k in keys), *COMMON_KEYS)

MAX_INTERVAL_SECONDS = 100 * 366 * 86400
"""Longer intervals are surely mistakes, and would overflow date arithmetic soon after."""

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATETIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DAY_NAMES: dict[str, Weekday] = {n: d for d in WEEKDAYS for n in (d, d[:3])}
_EXPECT_TIME = 'expected "HH:MM" or "HH:MM:SS" (00:00 to 23:59)'
_EXPECT_DATETIME = 'expected "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS"'
_EXPECT_DAYS = "expected monday..sunday (or mon..sun), weekdays or weekends"
_EXPECT_CODE = "expected a holiday calendar code such as DE, DE-BY or US-NY, or a list of them"
_HOLIDAY_SCAN_YEARS = 10
"""How far ahead ``check`` looks for a day a cron line with ``skip_holidays`` can fire on."""


@dataclass
class _Draft:
    """Schedule fields as they are read; turned into a Schedule only if nothing was wrong."""

    enabled: bool = True
    timezone: str | None = None
    jitter: float = 0.0
    at: time | None = None
    days: tuple[Weekday, ...] = ()
    day_of_month: int | None = None
    interval_seconds: float | None = None
    cron: str | None = None
    run_at: datetime | None = None
    skip_holidays: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    after_on: AfterOn = "success"


def parse_schedule(
    task_name: str, text: str, file: str = SCHEDULE_FILE
) -> tuple[Schedule | None, list[TaskProblem]]:
    """Parse schedule.yaml text. The schedule is None unless the file has no problem at all."""
    report = Report(task_name, file)
    mapping = load_mapping(
        text, report, empty_message="empty file; expected a mapping with a `type:` key"
    )
    if mapping is None:
        return None, report.problems

    # Peek at `type` first so unknown-key messages can list the keys this type takes.
    peek = next((v for k, v in mapping.entries if k.raw == "type"), None)
    peeked = peek.raw.strip().lower() if isinstance(peek, YScalar) else ""
    if peeked in TYPE_KEYS:
        stype: ScheduleType = peeked
        allowed = ("type", *TYPE_KEYS[stype], *COMMON_KEYS)
        elsewhere = {k: f"'{k}' does not apply to type {stype}" for k in ALL_KEYS}
        if stype == "daily":
            elsewhere["day"] += " (for the days of the week it runs on, use `days:`)"
        got = fields(mapping, allowed, report, elsewhere=elsewhere)
    else:
        got = fields(mapping, ALL_KEYS, report)

    type_field = got.get("type")
    checked: ScheduleType | None = None
    if type_field is None:
        report.add(None, f"missing `type:`; expected one of {', '.join(SCHEDULE_TYPES)}")
    elif type_field.is_null:
        report.add(
            type_field.line, f"type: missing value; expected one of {', '.join(SCHEDULE_TYPES)}"
        )
    else:
        checked = read_choice(type_field, report, "type", SCHEDULE_TYPES)

    draft = _Draft()
    _common(got, report, draft)
    if checked is not None and type_field is not None:
        _by_type(checked, type_field.line, got, report, draft)
    if report.problems or checked is None:
        return None, report.sorted()
    # _Draft holds exactly Schedule's fields but type (a test keeps the two in step).
    schedule = Schedule(type=checked, **vars(draft))
    return schedule, []


def _common(got: dict[str, Field], report: Report, draft: _Draft) -> None:
    if (f := given(got, "enabled")) and (enabled := read_bool(f, report, "enabled")) is not None:
        draft.enabled = enabled
    if (f := given(got, "timezone")) and (name := read_str(f, report, "timezone")) is not None:
        if _zone(name) is None:
            report.add(
                f.line,
                f"timezone: {shown(f.node)} is not a known IANA time zone (e.g. Europe/Berlin)",
            )
        else:
            draft.timezone = name
    if (f := given(got, "jitter")) and (
        jitter := read_number(f, report, "jitter", minimum=0)
    ) is not None:
        draft.jitter = jitter


def _by_type(
    stype: ScheduleType, type_line: int, got: dict[str, Field], report: Report, draft: _Draft
) -> None:
    def need(name: str, what: str) -> Field | None:
        f = got.get(name)
        if f is None:
            if name not in report.suggested:  # `tiem:` already said "did you mean 'time'?"
                report.add(type_line, f"type {stype} needs `{name}:`; {what}")
            return None
        if f.is_null:
            report.add(f.line, f"{name}: missing value; {what}")
            return None
        return f

    if stype in ("daily", "weekly", "monthly") and (f := need("time", _EXPECT_TIME)):
        draft.at = _time(f, report)
    if stype == "weekly":
        _weekly_days(type_line, got, report, draft)
    elif (f := given(got, "days")) is not None:
        draft.days = _weekdays(f, report)
    if (f := given(got, "skip_holidays")) is not None:
        draft.skip_holidays = _holiday_codes(f, report)
    if stype == "monthly" and (f := need("day", "expected a day of the month 1..31")):
        draft.day_of_month = read_int(f, report, "day", minimum=1, maximum=31)
    if stype == "interval":
        draft.interval_seconds = _interval(type_line, got, report)
    if stype == "cron" and (f := need("cron", 'expected "minute hour day month weekday"')):
        expr = read_str(f, report, "cron")
        if expr is not None:
            try:
                draft.cron = check_cron(expr)
            except CronError as exc:
                report.add(f.line, f"cron: {exc}")
            else:
                _cron_fires(f, got, report, draft)
    if stype == "after" and (f := need("after", "expected a task name, or a list of them")):
        draft.after = _task_names(f, report)
    if stype == "after" and (f := given(got, "on")) is not None:
        draft.after_on = read_choice(f, report, "on", AFTER_ON) or "success"
    if stype == "once" and (f := need("datetime", _EXPECT_DATETIME)):
        # No timezone means the system's, resolved now (tzlocal knows TZ and /etc/localtime).
        zone = _zone(draft.timezone) if draft.timezone else tzlocal.get_localzone()
        draft.run_at = _datetime(f, report, zone)


def _task_names(f: Field, report: Report) -> tuple[str, ...]:
    """``after:``: one task folder name or a list of them (each checked against the others by
    the engine and ``check``: see :mod:`bassi_tui.store.dependencies`)."""
    items = f.node.items if isinstance(f.node, YSeq) else (f.node,)
    names: list[str] = []
    for item in items:
        if isinstance(item, YScalar) and not item.is_null and item.raw.strip():
            name = item.raw.strip()
            if "/" in name or name.startswith("."):
                report.add(item.line, f"after: {name!r} is not a task folder name")
            elif name in names:
                report.add(item.line, f"after: {name!r} is listed twice")
            else:
                names.append(name)
        else:
            report.add(item.line, f"after: expected a task name, got {kind(item)}")
    if not names and not report.problems:
        report.add(f.line, "after: expected a task name, or a list of them")
    return tuple(names)


def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    # ZoneInfo raises ValueError for paths like "../x", OSError for "Europe" (a directory).
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _time(f: Field, report: Report) -> time | None:
    raw = f.node.raw.strip() if isinstance(f.node, YScalar) else ""
    m = _TIME_RE.fullmatch(raw)
    if m:
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if hour <= 23 and minute <= 59 and second <= 59:
            return time(hour, minute, second)
    report.add(f.line, f"time: {shown(f.node)} is not a time; {_EXPECT_TIME}")
    return None


def _weekly_days(type_line: int, got: dict[str, Field], report: Report, draft: _Draft) -> None:
    """weekly: ``day:`` or its other spelling ``days:``, exactly one of them."""
    day, days = got.get("day"), got.get("days")
    if day is not None and days is not None:
        report.add(
            days.line,
            f"days: `day:` (line {day.line}) already gives the days; keep one of the two",
        )
        return
    f = day or days
    if f is None:
        if not report.suggested & {"day", "days"}:
            report.add(type_line, f"type weekly needs `day:`; {_EXPECT_DAYS}, or a list of them")
        return
    if f.is_null:
        report.add(f.line, f"{f.name}: missing value; {_EXPECT_DAYS}, or a list of them")
        return
    draft.days = _weekdays(f, report)


def _weekdays(f: Field, report: Report) -> tuple[Weekday, ...]:
    """Day names and the words weekdays/weekends, alone or in a list, in weekday order."""
    items = f.node.items if isinstance(f.node, YSeq) else (f.node,)
    if not items:
        report.add(f.line, f"{f.name}: empty list; expected at least one weekday")
    found: set[int] = set()
    for item in items:
        name = item.raw.strip().lower() if isinstance(item, YScalar) else ""
        if name in _DAY_NAMES:
            found.add(WEEKDAYS.index(_DAY_NAMES[name]))
        elif name in WEEKDAY_GROUPS:
            found |= WEEKDAY_GROUPS[name]
        else:
            report.add(
                item.line if isinstance(f.node, YSeq) else f.line,
                f"{f.name}: {shown(item)} is not a weekday; {_EXPECT_DAYS}",
            )
    return tuple(d for i, d in enumerate(WEEKDAYS) if i in found)


def _holiday_codes(f: Field, report: Report) -> tuple[str, ...]:
    """One code or a list, each checked against the holidays package (imported only now)."""
    items = f.node.items if isinstance(f.node, YSeq) else (f.node,)
    if not items:
        report.add(f.line, f"skip_holidays: empty list; {_EXPECT_CODE}")
    codes: list[str] = []
    for item in items:
        line = item.line if isinstance(f.node, YSeq) else f.line
        # The source text, not YAML's value: `NO` (Norway) is False to YAML 1.1.
        raw = item.raw.strip() if isinstance(item, YScalar) and not item.is_null else ""
        if not raw:
            report.add(line, f"skip_holidays: {shown(item)} is not a code; {_EXPECT_CODE}")
            continue
        try:
            code = check_holiday_code(raw)
        except HolidayCodeError as exc:
            report.add(line, f"skip_holidays: {shown(item)} is not a known holiday calendar: {exc}")
            continue
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _cron_fires(f: Field, got: dict[str, Field], report: Report, draft: _Draft) -> None:
    """Refuse a cron line that ``days:``/``skip_holidays:`` leave with nowhere to fire.

    Weekdays alone are decided exactly: over 28 years (2001-2028) every date falls on every
    weekday, so a line that fires on none of the allowed ones there never does. Holidays are
    looked up for the next years only (they are not periodic), which finds the lines that only
    match fixed holidays, such as ``0 9 25 12 *`` with any Christian country's calendar.
    """
    if draft.cron is None or (not draft.days and not draft.skip_holidays):
        return
    expr = parse_cron(draft.cron)
    weekdays = frozenset(WEEKDAYS.index(d) for d in draft.days) if draft.days else ALL_WEEKDAYS
    if _first_allowed(expr, DayRule(weekdays), date(2001, 1, 1), years=28) is None:
        where = got["days"].line if "days" in got else f.line
        report.add(where, f"days: cron {draft.cron!r} never fires on {_days_words(draft.days)}")
        return
    if draft.skip_holidays:
        start = date(date.today().year, 1, 1)
        rule = DayRule(weekdays, draft.skip_holidays)
        if _first_allowed(expr, rule, start, years=_HOLIDAY_SCAN_YEARS) is None:
            codes = " or ".join(draft.skip_holidays)
            also = " (or not one of its `days:`)" if draft.days else ""
            report.add(
                got["skip_holidays"].line,
                f"skip_holidays: every day cron {draft.cron!r} fires on in the next "
                f"{_HOLIDAY_SCAN_YEARS} years is a {codes} holiday{also}, so it would never run",
            )


def _days_words(days: tuple[Weekday, ...]) -> str:
    """How a ``days:`` list reads in a message: weekdays, weekends or "Mondays or Fridays"."""
    index = frozenset(WEEKDAYS.index(d) for d in days)
    for word, group in WEEKDAY_GROUPS.items():
        if index == group:
            return word
    names = [d.capitalize() + "s" for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _first_allowed(expr: CronExpression, rule: DayRule, start: date, *, years: int) -> date | None:
    """The first date from ``start`` on which ``expr`` fires and ``rule`` allows, within
    ``years``; whole days are skipped at a time, as the scheduler's filter does."""
    end = date(start.year + years, start.month, start.day)
    after = datetime.combine(start, time()) - timedelta(microseconds=1)
    while True:
        slot = expr.next_after(after)
        if slot is None or slot.date() >= end:
            return None
        if rule.allows(slot.date()):
            return slot.date()
        after = datetime.combine(slot.date(), time.max)


def _interval(type_line: int, got: dict[str, Field], report: Report) -> float | None:
    scale = {"seconds": 1, "minutes": 60, "hours": 3600}
    total = 0.0
    first: Field | None = None
    ok = True
    for name, factor in scale.items():
        if (f := given(got, name)) is None:
            continue
        first = first or f
        amount = read_number(f, report, name, minimum=0)
        if amount is None:
            ok = False
        else:
            total += amount * factor
    if first is None and not report.suggested & scale.keys():
        report.add(
            type_line, "type interval needs at least one of `seconds:`, `minutes:`, `hours:`"
        )
    elif first is not None and ok and not 0 < total <= MAX_INTERVAL_SECONDS:
        what = "0; expected more than 0 seconds" if total == 0 else "over 100 years; expected less"
        report.add(first.line, f"interval: the total is {what}")
    return total if ok and math.isfinite(total) else None


def _datetime(f: Field, report: Report, zone: tzinfo | None) -> datetime | None:
    raw = f.node.raw.strip() if isinstance(f.node, YScalar) else ""
    m = _DATETIME_RE.fullmatch(raw)
    if m:
        year, month, day, hour, minute, second = (int(g or 0) for g in m.groups())
        try:
            naive = datetime(year, month, day, hour, minute, second)
        except ValueError:
            pass  # e.g. 2026-02-30: reported below
        else:
            # A bad timezone was already reported; the schedule is discarded then anyway.
            return naive.replace(tzinfo=zone) if zone is not None else None
    report.add(f.line, f"datetime: {shown(f.node)} is not a date and time; {_EXPECT_DATETIME}")
    return None
