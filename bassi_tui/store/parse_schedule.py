"""schedule.yaml: from text to a :class:`~bassi_tui.store.models.Schedule`, or problems.

Times and datetimes are read from the scalar's source text, never from what YAML 1.1 made of
it: unquoted ``10:30`` is the int 630 to PyYAML (base 60), and ``2026-01-01 10:00:00`` a naive
datetime.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from bassi_tui.store.crontab import CronError, check_cron
from bassi_tui.store.models import (
    SCHEDULE_FILE,
    WEEKDAYS,
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
from bassi_tui.store.yamlio import YScalar, YSeq

SCHEDULE_TYPES: tuple[ScheduleType, ...] = get_args(ScheduleType)
COMMON_KEYS = ("enabled", "timezone", "jitter")
TYPE_KEYS: dict[ScheduleType, tuple[str, ...]] = {
    "daily": ("time",),
    "weekly": ("day", "time"),
    "monthly": ("day", "time"),
    "interval": ("seconds", "minutes", "hours"),
    "cron": ("cron",),
    "once": ("datetime",),
}
ALL_KEYS = ("type", *dict.fromkeys(k for keys in TYPE_KEYS.values() for k in keys), *COMMON_KEYS)

MAX_INTERVAL_SECONDS = 100 * 366 * 86400
"""Longer intervals are surely mistakes, and would overflow date arithmetic soon after."""

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATETIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DAY_NAMES: dict[str, Weekday] = {n: d for d in WEEKDAYS for n in (d, d[:3])}
_EXPECT_TIME = 'expected "HH:MM" or "HH:MM:SS" (00:00 to 23:59)'
_EXPECT_DATETIME = 'expected "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS"'


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
    if stype == "weekly" and (f := need("day", "expected a weekday or a list of them")):
        draft.days = _weekdays(f, report)
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
    if stype == "once" and (f := need("datetime", _EXPECT_DATETIME)):
        # No timezone means the system's, resolved now (tzlocal knows TZ and /etc/localtime).
        zone = _zone(draft.timezone) if draft.timezone else tzlocal.get_localzone()
        draft.run_at = _datetime(f, report, zone)


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


def _weekdays(f: Field, report: Report) -> tuple[Weekday, ...]:
    items = f.node.items if isinstance(f.node, YSeq) else (f.node,)
    if not items:
        report.add(f.line, "day: empty list; expected at least one weekday")
    found: set[Weekday] = set()
    for item in items:
        name = item.raw.strip().lower() if isinstance(item, YScalar) else ""
        if name in _DAY_NAMES:
            found.add(_DAY_NAMES[name])
        else:
            report.add(
                item.line if isinstance(f.node, YSeq) else f.line,
                f"day: {shown(item)} is not a weekday; expected monday..sunday (or mon..sun)",
            )
    return tuple(d for d in WEEKDAYS if d in found)


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
