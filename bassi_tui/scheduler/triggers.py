"""APScheduler triggers built from task schedules, with a DST rule people can predict.

Calendar schedules (daily, weekly, monthly, cron) are in *wall-clock* time of their zone.
APScheduler 3's CronTrigger runs a daily 02:30 Europe/Berlin task twice on the autumn day and an
hour late on the spring day; :class:`WallClockTrigger` follows these rules instead:

1. each wall-clock slot fires at most once;
2. a slot that does not exist (spring-forward gap) fires at the instant of the jump
   (02:30 on 2026-03-29 in Berlin fires at 03:00 CEST = 01:00 UTC), like Vixie cron;
3. a slot that exists twice (fall-back) fires on its first occurrence only (fold=0);
4. slots that map to the same instant ("0,30 2 * * *" on the spring day) fire once.

Interval schedules are in elapsed time (DST does not touch them); once schedules fire at most
once and never for a moment already past.

Calendar schedules may exclude days (``days:``, ``skip_holidays:``): their slot generator is
wrapped by :class:`~bassi_tui.scheduler.calendars.DayFilteredSlots`, which drops the slots of an
excluded wall-clock date before the DST rule maps any slot to an instant.

The trigger classes and how they answer APScheduler (``previous_fire_time``/``now``, jitter) live
in :mod:`bassi_tui.scheduler.slot_triggers`; wall-clock calendar arithmetic in
:mod:`bassi_tui.scheduler.slots` and :mod:`bassi_tui.scheduler.crontab`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import tzlocal
from apscheduler.triggers.base import BaseTrigger

from bassi_tui.scheduler.calendars import filtered
from bassi_tui.scheduler.describe import describe_schedule
from bassi_tui.scheduler.slot_triggers import (
    ElapsedIntervalTrigger,
    OnceTrigger,
    SlotTrigger,
    WallClockTrigger,
)
from bassi_tui.scheduler.slots import DailySlots, MonthlySlots, SlotGenerator, WeeklySlots
from bassi_tui.store.crontab import CronExpression, parse_cron
from bassi_tui.store.models import WEEKDAYS, Schedule
from bassi_tui.store.records import TaskState

__all__ = [
    "CronExpression",
    "ElapsedIntervalTrigger",
    "OnceTrigger",
    "SlotTrigger",
    "WallClockTrigger",
    "anchor_for",
    "build_trigger",
    "describe_schedule",
    "next_fire_times",
    "once_note",
    "once_runs_late",
    "parse_cron",
    "resolve_zone",
    "schedule_key",
]


def resolve_zone(schedule: Schedule) -> ZoneInfo | tzinfo:
    """The schedule's IANA zone, or the system's zone when ``schedule.timezone`` is None.

    Raises ``zoneinfo.ZoneInfoNotFoundError`` for an unknown name (the store validates names).
    """
    if schedule.timezone is None:
        return tzlocal.get_localzone()
    return ZoneInfo(schedule.timezone)


def _need_at(schedule: Schedule) -> time:
    if schedule.at is None:
        raise ValueError(f"a {schedule.type} schedule needs a time of day")
    return schedule.at


def _slots_for(schedule: Schedule) -> SlotGenerator:
    return filtered(_calendar_slots(schedule), schedule)


def _calendar_slots(schedule: Schedule) -> SlotGenerator:
    if schedule.type == "daily":
        return DailySlots(_need_at(schedule))
    if schedule.type == "weekly":
        if not schedule.days:
            raise ValueError("a weekly schedule needs at least one day")
        return WeeklySlots(frozenset(WEEKDAYS.index(d) for d in schedule.days), _need_at(schedule))
    if schedule.type == "monthly":
        if schedule.day_of_month is None:
            raise ValueError("a monthly schedule needs a day of the month")
        return MonthlySlots(schedule.day_of_month, _need_at(schedule))
    if schedule.cron is None:
        raise ValueError("a cron schedule needs a cron expression")
    return parse_cron(schedule.cron)


class AfterTrigger(BaseTrigger):  # type: ignore[misc]
    """The trigger of a ``type: after`` task: it never fires by the clock. Its runs start when
    an upstream task's run ends (the engine's dependency hand-off), so it has no job and no
    next fire time; ``next`` and the cards say "after NAME" instead."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return None


def _build(schedule: Schedule, anchor: datetime | None, jitter: float) -> BaseTrigger:
    if schedule.type == "after":
        return AfterTrigger()
    return _build_slots(schedule, anchor, jitter)


def _build_slots(schedule: Schedule, anchor: datetime | None, jitter: float) -> SlotTrigger:
    zone = resolve_zone(schedule)
    if schedule.type == "interval":
        if schedule.interval_seconds is None or schedule.interval_seconds <= 0:
            raise ValueError("an interval schedule needs a positive number of seconds")
        return ElapsedIntervalTrigger(
            timedelta(seconds=schedule.interval_seconds), anchor, zone, jitter
        )
    if schedule.type == "once":
        if schedule.run_at is None:
            raise ValueError("a once schedule needs a date and time")
        return OnceTrigger(schedule.run_at, zone, jitter)
    return WallClockTrigger(_slots_for(schedule), zone, jitter, describe_schedule(schedule))


def build_trigger(schedule: Schedule, *, anchor: datetime | None = None) -> BaseTrigger:
    """The APScheduler trigger for ``schedule``, jitter included.

    ``anchor`` only matters for interval schedules: fires are at ``anchor + k * interval``, the
    first one strictly after the moment the scheduler asks; with no anchor the first fire is that
    moment plus one interval. A naive anchor is read in the schedule's zone. ``enabled`` is
    ignored: whether to add the job is the caller's decision. Raises ValueError for a schedule
    missing the fields its type needs.
    """
    return _build(schedule, anchor, schedule.jitter)


def next_fire_times(
    schedule: Schedule, n: int, *, now: datetime, anchor: datetime | None = None
) -> list[datetime]:
    """The next ``n`` fire times strictly after ``now``, in the schedule's zone, without jitter.

    Exactly what :func:`build_trigger`'s ``get_next_fire_time`` gives for the same schedule with
    ``jitter=0``: the first is ``get_next_fire_time(None, now)``, each next one is asked with the
    previous as ``previous_fire_time``. A once schedule whose moment has passed gives ``[]``.
    ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    trigger = _build(schedule, anchor, 0.0)
    times: list[datetime] = []
    while len(times) < n:
        previous = times[-1] if times else None
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None:
            break
        times.append(fire)
    return times


def schedule_key(schedule: Schedule) -> str:
    """A short digest of what a schedule's fire times depend on (``enabled`` aside).

    last_run.json keeps it beside the times computed from the schedule, so a schedule edited
    since (an interval of an hour made two seconds, weekly made an interval) anchors anew
    instead of waiting for a fire the old schedule promised.
    """
    plain = dataclasses.replace(schedule, enabled=True)
    # The dataclass repr, less fields added since keys were first written while they hold their
    # default: a schedule that does not use them keeps its key (and its interval grid).
    shown = ", ".join(
        f"{f.name}={getattr(plain, f.name)!r}"
        for f in dataclasses.fields(plain)
        if f.name not in _LATER_FIELDS or getattr(plain, f.name) != f.default
    )
    key = f"{type(plain).__qualname__}({shown})"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


_LATER_FIELDS = frozenset({"skip_holidays", "after", "after_on"})


def anchor_for(schedule: Schedule, state: TaskState, now: datetime) -> datetime | None:
    """Where an interval's grid is anchored: the one computation the engine and ``next`` share.

    The last scheduled fire, else the next run a previous instance promised, so a restart keeps
    the grid (restarting more often than the interval must not keep pushing the fire back).
    No anchor when those times were computed from another schedule, or lie further ahead than
    one interval (a clock that ran years ahead wrote them): the grid then starts from now.
    Only interval schedules have an anchor.
    """
    if schedule.type != "interval" or schedule.interval_seconds is None:
        return None
    if state.schedule_key is not None and state.schedule_key != schedule_key(schedule):
        return None
    anchor = state.last_scheduled_fire or state.next_run
    if anchor is None:
        return None
    ahead = timedelta(seconds=schedule.interval_seconds + schedule.jitter + 1.0)
    if anchor > now + ahead:
        return None
    return anchor


#: A ``once`` task first seen this long after its time still runs (the original design's way
#: to test a task now is a once task at the current time); an older one never runs.
ONCE_LATE_OK = timedelta(hours=1)


def once_runs_late(schedule: Schedule, state: TaskState, now: datetime) -> bool:
    """True for a ``once`` task seen for the first time less than an hour after its time.

    First seen: never fired, never promised, no history. A once task whose promised time
    passed while bassi-tui was down is a missed fire instead (``missed_task_policy``).
    """
    if schedule.type != "once" or schedule.run_at is None:
        return False
    if state.once_fired or state.next_run is not None or state.history:
        return False
    return now - ONCE_LATE_OK <= schedule.run_at <= now


def once_note(schedule: Schedule, state: TaskState, now: datetime) -> str | None:
    """What to say of a ``once`` task that will not fire any more; None otherwise."""
    if schedule.type != "once" or schedule.run_at is None:
        return None
    if state.once_fired:
        return "ran once: it will not run again"
    if schedule.run_at < now - ONCE_LATE_OK and state.next_run is None and not state.history:
        return "its time had passed when it was first seen: it will never run"
    return None
