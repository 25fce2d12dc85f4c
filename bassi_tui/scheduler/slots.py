"""Wall-clock slot generators and the rule that maps a wall-clock slot to an instant.

A *slot* is a naive local datetime such as 2026-03-29 02:30: "when the clock on the wall shows
this". Generators only know calendars; :func:`wall_to_instant` alone knows about DST. Keeping the
two apart is what makes every calendar schedule obey the same DST rule (see
:mod:`bassi_tui.scheduler.triggers`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

__all__ = [
    "DailySlots",
    "MonthlySlots",
    "SlotGenerator",
    "WeeklySlots",
    "wall_time",
    "wall_to_instant",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class SlotGenerator(Protocol):
    """Anything that yields naive wall-clock slots in increasing order."""

    def next_after(self, after: datetime) -> datetime | None:
        """The first slot strictly after the naive ``after``, or None if there is none."""
        ...


def _naive_time(at: time) -> time:
    # A tz-aware time of day would make datetime.combine produce an aware slot; slots are naive.
    return at.replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class DailySlots:
    """Every day at ``at``."""

    at: time

    def next_after(self, after: datetime) -> datetime:
        """The first ``at`` strictly after ``after``."""
        slot = datetime.combine(after.date(), _naive_time(self.at))
        return slot if slot > after else slot + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WeeklySlots:
    """On each of ``weekdays`` (Python numbering, Monday = 0) at ``at``."""

    weekdays: frozenset[int]
    at: time

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"weekly slots need weekdays 0..6, got {sorted(self.weekdays)}")

    def next_after(self, after: datetime) -> datetime:
        """The first listed weekday's ``at`` strictly after ``after``."""
        at = _naive_time(self.at)
        for offset in range(8):  # today may have passed; the same weekday next week has not
            day = after.date() + timedelta(days=offset)
            slot = datetime.combine(day, at)
            if day.weekday() in self.weekdays and slot > after:
                return slot
        raise AssertionError("unreachable: some weekday is always within 8 days")


@dataclass(frozen=True, slots=True)
class MonthlySlots:
    """On ``day`` of every month at ``at``, clamped to the month's last day.

    Users who say "day 31" mean "the end of the month", and silently skipping seven months a year
    would be worse than firing on the last day. So day 31 fires on 30 April and on 28 February
    (29 in leap years); day 30 and day 29 fire on 28 February in common years. A month never gets
    more than one fire.
    """

    day: int
    at: time

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 31:
            raise ValueError(f"day of month must be 1..31, got {self.day}")

    def _slot_in(self, year: int, month: int) -> datetime:
        last = calendar.monthrange(year, month)[1]
        return datetime.combine(date(year, month, min(self.day, last)), _naive_time(self.at))

    def next_after(self, after: datetime) -> datetime:
        """This month's slot if still ahead of ``after``, else next month's."""
        slot = self._slot_in(after.year, after.month)
        if slot > after:
            return slot
        year, month = (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
        return self._slot_in(year, month)


def wall_time(instant: datetime, zone: tzinfo) -> datetime:
    """What a wall clock in ``zone`` shows at ``instant``, as a naive datetime."""
    return instant.astimezone(zone).replace(tzinfo=None)


def wall_to_instant(slot: datetime, zone: tzinfo) -> datetime:
    """The instant (aware, UTC) at which a wall clock in ``zone`` first shows ``slot`` or later.

    That one definition gives the whole DST rule:

    - a normal slot maps to itself;
    - a slot that exists twice (fall-back) maps to its first occurrence (fold=0);
    - a slot that does not exist (spring-forward gap) maps to the instant of the jump, e.g.
      02:30 on 2026-03-29 in Europe/Berlin maps to 03:00 CEST (01:00 UTC), like Vixie cron;
    - the map never decreases, so two slots may share an instant (02:00 and 02:30 in that gap)
      and a trigger that only moves strictly forward fires that instant once.
    """
    first = slot.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall_time(first, zone) == slot:
        return first
    # In a gap, fold=0 reads the slot with the offset from before the jump (an instant after the
    # jump) and fold=1 with the offset after it (an instant before the jump). The jump lies in
    # between; tzdata transitions fall on whole seconds, so bisect on whole seconds.
    other = slot.replace(tzinfo=zone, fold=1).astimezone(UTC)
    before, after = sorted((first, other))
    lo = (before - _EPOCH) // _SECOND
    hi = -((_EPOCH - after) // _SECOND)  # ceiling division
    if wall_time(_EPOCH + lo * _SECOND, zone) >= slot:
        # Not a PEP 495 gap after all (a tzinfo without fold support): take the later reading.
        return after
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall_time(_EPOCH + mid * _SECOND, zone) >= slot:
            hi = mid
        else:
            lo = mid
    return _EPOCH + hi * _SECOND
