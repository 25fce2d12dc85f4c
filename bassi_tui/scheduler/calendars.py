"""Calendar filters on wall-clock slots: ``days:`` and ``skip_holidays:`` of schedule.yaml.

A fire that falls on an excluded day does not happen; it is not moved to another day. The filter
sits *inside* the trigger (a slot generator wrapping another), so the engine, ``bassi-tui next``,
the cards' next run and the missed-fire count all skip the same days, and the DST rule of
:mod:`bassi_tui.scheduler.triggers` is untouched: days are judged on the slot's wall-clock date
in the schedule's zone, before any slot is mapped to an instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from bassi_tui.scheduler.slots import SlotGenerator
from bassi_tui.store.calendar_days import ALL_WEEKDAYS, DayRule
from bassi_tui.store.models import WEEKDAYS, Schedule

__all__ = ["HORIZON_YEARS", "DayFilteredSlots", "day_rule", "filtered"]

HORIZON_YEARS = 50
"""How far ahead a filtered generator looks for an allowed slot before it says "never" (as the
cron search does). ``check`` refuses schedules that cannot fire, so this is only a bound."""


@dataclass(frozen=True, slots=True)
class DayFilteredSlots:
    """The slots of ``inner`` whose date ``rule`` allows."""

    inner: SlotGenerator
    rule: DayRule

    def next_after(self, after: datetime) -> datetime | None:
        """The first allowed slot of ``inner`` strictly after the naive ``after``."""
        limit = after.year + HORIZON_YEARS
        while True:
            slot = self.inner.next_after(after)
            if slot is None or slot.year > limit:
                return None
            if self.rule.allows(slot.date()):
                return slot
            # The whole day is excluded: go on from its last moment, not slot by slot (a cron
            # firing every minute would otherwise ask about the same day 1,440 times).
            after = datetime.combine(slot.date(), time.max)


def day_rule(schedule: Schedule) -> DayRule:
    """The days ``schedule`` may fire on. Weekly schedules' ``days`` are the slots themselves;
    for daily, monthly and cron ones they filter; interval and once schedules have no filter."""
    if schedule.type in ("interval", "once"):
        return DayRule()
    weekdays = ALL_WEEKDAYS
    if schedule.days and schedule.type != "weekly":
        weekdays = frozenset(WEEKDAYS.index(d) for d in schedule.days)
    return DayRule(weekdays, schedule.skip_holidays)


def filtered(slots: SlotGenerator, schedule: Schedule) -> SlotGenerator:
    """``slots`` as they are, or wrapped when ``schedule`` excludes some days."""
    rule = day_rule(schedule)
    return DayFilteredSlots(slots, rule) if rule.filters else slots
