"""Five-field crontab expressions with the semantics of Vixie cron, as naive wall-clock slots.

Why not ``apscheduler.triggers.cron.CronTrigger.from_crontab``: in the 3.x series it reads
day-of-week 0 as *Monday* (crontab says Sunday, so ``1-5`` would mean Tuesday to Saturday) and it
ANDs day-of-month with day-of-week where cron ORs them. Users copy lines from their crontab, so
this module follows crontab(5):

- fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or ``jan``-``dec``, day of week
  0-7 or ``sun``-``sat`` (0 and 7 are both Sunday); names are case-insensitive;
- each field is a comma list of ``*``, ``N``, ``N-M``, each optionally followed by ``/STEP``;
  ``N/STEP`` means ``N-max/STEP`` (as in cronie);
- when both day fields are restricted, a day matches if *either* matches; a field that starts
  with ``*`` (``*/2`` included) counts as unrestricted for that rule, exactly like Vixie cron.

Slots are naive wall-clock datetimes; mapping them to instants (DST) is the trigger's job.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["CronExpression", "parse_cron"]

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# (label, lowest, highest, names whose index + lowest is the value)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day of week", 0, 7, _DOW_NAMES),
)

# Far enough that every expression that can match at all matches within it: a restricted
# weekday AND a restricted day (e.g. "*/31" day with Sunday in February) repeats within ~40 years
# even across a skipped leap year; "0 0 31 2 *" never matches and ends the search here.
_HORIZON_YEARS = 50


def _parse_value(text: str, low: int, high: int, names: tuple[str, ...], label: str) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    if not text.isdigit():
        raise ValueError(f"{label}: {text!r} is not a number" + (" or a name" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{label}: {value} is out of range {low}-{high}")
    return value


def _parse_field(text: str, low: int, high: int, names: tuple[str, ...], label: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError(f"{label}: empty item in {text!r}")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{label}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            first = _parse_value(start_text, low, high, names, label)
            last = _parse_value(end_text, low, high, names, label)
            if first > last:
                raise ValueError(f"{label}: range {base!r} runs backwards")
        else:
            first = _parse_value(base, low, high, names, label)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


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


def parse_cron(text: str) -> CronExpression:
    """Parse a five-field crontab expression (see the module docstring for the dialect).

    Raises ValueError with a message naming the field and what was expected, also for an
    expression that can never match (``0 0 31 2 *``).
    """
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields 'minute hour day-of-month month day-of-week', got {len(fields)}"
        )
    parsed = [
        _parse_field(field, low, high, names, label)
        for field, (label, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    weekdays = {0 if d == 7 else d for d in parsed[4]}
    expr = CronExpression(
        text=" ".join(fields),
        minutes=tuple(sorted(parsed[0])),
        hours=tuple(sorted(parsed[1])),
        days=frozenset(parsed[2]),
        months=frozenset(parsed[3]),
        weekdays=frozenset(weekdays),
        day_star=fields[2].startswith("*"),
        weekday_star=fields[4].startswith("*"),
    )
    if expr.next_after(datetime(2000, 1, 1)) is None:
        raise ValueError(f"{expr.text!r} never matches a real date")
    return expr
