"""Five-field crontab expressions: parsing with errors that name the field, and matching.

One parser serves both ``bassi-tui check`` (the store validates schedule.yaml) and the scheduler
(which fires by it), so check accepts exactly what can run. The dialect is crontab(5), the one
people copy lines from:

- fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or ``jan``-``dec``, day-of-week
  0-7 or ``sun``-``sat`` (0 and 7 are both Sunday); names are case-insensitive;
- each field is a comma list of ``*``, ``N``, ``N-M``, each optionally followed by ``/STEP``;
  ``N/STEP`` means ``N-max/STEP`` (as in cronie);
- when both day fields are restricted, a day matches if *either* matches; a field that starts
  with ``*`` (``*/2`` included) counts as unrestricted for that rule, exactly like Vixie cron.

Why not ``apscheduler.triggers.cron.CronTrigger.from_crontab``: in the 3.x series it reads
day-of-week 0 as *Monday* (so ``1-5`` would mean Tuesday to Saturday), refuses 7, and ANDs
day-of-month with day-of-week where cron ORs them.

An expression that can never fire (``0 0 30 2 *``) is refused, so it shows up in ``bassi-tui
check`` instead of as a task that silently never runs. Slots are naive wall-clock datetimes;
mapping them to instants (DST) is the trigger's job.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["FIELD_NAMES", "CronError", "CronExpression", "check_cron", "parse_cron"]

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (lowest, highest, names whose position + lowest is the value)
_SPECS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "day-of-month": (1, 31, ()),
    "month": (1, 12, _MONTHS),
    "day-of-week": (0, 7, _WEEKDAYS),
}
# Longest month lengths (leap February), to spot days that never exist.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# Far enough that every expression that can match at all matches within it: a restricted
# weekday AND a restricted day (e.g. "*/31" day with Sunday in February) repeats within ~40 years
# even across a skipped leap year; "0 0 31 2 *" never matches and ends the search here.
_HORIZON_YEARS = 50


class CronError(ValueError):
    """A cron expression that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed five-field crontab line that yields naive wall-clock slots.

    Build it with :func:`parse_cron`; :meth:`next_after` gives the next matching minute.
    """

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # crontab numbering: 0 = Sunday .. 6 = Saturday
    day_star: bool
    weekday_star: bool

    def _day_matches(self, day: date) -> bool:
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow

    def _first_time_from(self, start: time) -> time | None:
        """The earliest matching time of day at or after ``start`` (minute resolution)."""
        h = bisect.bisect_left(self.hours, start.hour)
        if h < len(self.hours) and self.hours[h] == start.hour:
            m = bisect.bisect_left(self.minutes, start.minute)
            if m < len(self.minutes):
                return time(start.hour, self.minutes[m])
            h += 1
        if h < len(self.hours):
            return time(self.hours[h], self.minutes[0])
        return None

    def next_after(self, after: datetime) -> datetime | None:
        """The first matching naive minute strictly after the naive ``after``, or None."""
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        from_time = start.time()
        end = date(min(day.year + _HORIZON_YEARS, 9999), 1, 1)
        while day < end:
            if day.month not in self.months:
                # Skip the whole month: cheap for sparse month lists like "0 0 29 2 *".
                day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
                from_time = time(0)
                continue
            if self._day_matches(day):
                found = self._first_time_from(from_time)
                if found is not None:
                    return datetime.combine(day, found)
            day += timedelta(days=1)
            from_time = time(0)
        return None

    def __str__(self) -> str:
        return self.text


def parse_cron(expr: str) -> CronExpression:
    """Parse a five-field crontab expression (see the module docstring for the dialect).

    Raises :class:`CronError` with a message such as ``minute 61 is out of range 0-59``, also
    for an expression that can never match a real date (``0 0 31 2 *``).
    """
    parts = expr.split()
    if len(parts) != 5:
        raise CronError(
            f"expected five fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    values = [_field(label, text) for label, text in zip(FIELD_NAMES, parts, strict=True)]
    days, months = values[2], values[3]
    # If either day field starts with `*`, a day must match both; otherwise either. Every real
    # (month, day) date falls on every weekday over the years, so the common way never to fire
    # is a day-of-month list that misses every chosen month's length.
    both_must_match = parts[2].startswith("*") or parts[4].startswith("*")
    if both_must_match and not any(d <= _MONTH_DAYS[m - 1] for m in months for d in days):
        raise CronError(
            f"day-of-month {parts[2]} never occurs in month {parts[3]}; it would never run"
        )
    cron = CronExpression(
        text=" ".join(parts),
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(0 if d == 7 else d for d in values[4]),
        day_star=parts[2].startswith("*"),
        weekday_star=parts[4].startswith("*"),
    )
    if cron.next_after(datetime(2000, 1, 1)) is None:
        raise CronError(f"{cron.text!r} never matches a real date; it would never run")
    return cron


def check_cron(expr: str) -> str:
    """Validate a crontab expression; return it with runs of spaces collapsed."""
    return parse_cron(expr).text


def _field(label: str, text: str) -> set[int]:
    low, high, _ = _SPECS[label]
    found: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{label} {text!r} has an empty item; expected N, N-M or *")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{label} step {step_text!r} must be a whole number above 0")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _value(label, start), _value(label, end)
            if first > last:
                raise CronError(f"{label} range {base!r} goes backwards; expected low-high")
        else:
            first = _value(label, base)
            last = high if slash else first
        found.update(range(first, last + 1, step))
    return found


def _value(label: str, token: str) -> int:
    low, high, names = _SPECS[label]
    if token.lower() in names:
        return names.index(token.lower()) + low
    if not token.isdigit():
        named = f" or {names[0]}..{names[-1]}" if names else ""
        raise CronError(f"{label} {token!r} is not a number; expected {low}-{high}{named}")
    number = int(token)
    if not low <= number <= high:
        sunday = " (0 and 7 are sunday)" if label == "day-of-week" else ""
        raise CronError(f"{label} {number} is out of range {low}-{high}{sunday}")
    return number
