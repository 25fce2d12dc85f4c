"""The APScheduler trigger classes behind :func:`bassi_tui.scheduler.triggers.build_trigger`.

How ``get_next_fire_time(previous_fire_time, now)`` answers, matching how APScheduler 3.11 calls
it (``add_job``/``resume_job`` pass ``None, now``; ``_process_jobs`` passes each fire it handed out
as ``previous_fire_time``):

- without ``previous_fire_time``: the first slot strictly after ``now``;
- with it: the first slot strictly after the *slot* that fire was made from, even when that is
  already past. That is what CronTrigger does, and it lets ``Job._get_run_times`` see every missed
  slot so ``misfire_grace_time``/``coalesce`` apply; ``now`` is not used, so a clock stepping back
  can never repeat a fire.

Jitter is added in UTC, not by ``BaseTrigger._apply_jitter``: that adds to a zone-aware datetime,
which Python does in wall-clock arithmetic, so a jittered 02:59 on the autumn day would land an
hour late. Each trigger remembers which slot each jittered fire came from (and gives a slot the
same jitter when asked twice), so the next slot is found from the un-jittered one and jitter never
skips or repeats a slot. For a fire it does not know (a trigger restored without its memory, or a
time set by hand) it moves on from the fire itself, which can only skip a slot if the jitter is
longer than the gap between slots.
"""

from __future__ import annotations

import random
from abc import abstractmethod
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from bassi_tui.scheduler.slots import SlotGenerator, wall_time, wall_to_instant

__all__ = ["ElapsedIntervalTrigger", "OnceTrigger", "SlotTrigger", "WallClockTrigger"]

_MEMORY = 32  # jittered fires remembered per trigger; APScheduler only ever looks one back


def _as_instant(moment: datetime, zone: tzinfo) -> datetime:
    """An aware UTC datetime; a naive one is read as wall-clock time in ``zone``."""
    if moment.tzinfo is None:
        return wall_to_instant(moment, zone)
    # Everything inside is compared in UTC: Python compares two datetimes that share a tzinfo by
    # their wall clocks, ignoring fold, which is wrong inside a repeated hour.
    return moment.astimezone(UTC)


class SlotTrigger(BaseTrigger):  # type: ignore[misc]  # apscheduler ships no type hints
    """Shared ``previous``/``now`` handling and jitter; subclasses only say where slots are."""

    def __init__(self, zone: tzinfo, jitter: float = 0.0) -> None:
        self.zone = zone
        self.jitter = max(0.0, float(jitter))
        # slot -> jittered fire and back, both UTC; see the module docstring.
        self._fire_of_slot: OrderedDict[datetime, datetime] = OrderedDict()
        self._slot_of_fire: dict[datetime, datetime] = {}

    @abstractmethod
    def next_slot(self, after: datetime) -> datetime | None:
        """The first un-jittered fire instant (aware UTC) strictly after ``after`` (aware UTC)."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The next fire (jittered, in the schedule's zone) or None when there is none."""
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(UTC)
            after = self._slot_of_fire.get(previous, previous)
        else:
            after = now.astimezone(UTC)
        slot = self.next_slot(after)
        if slot is None:
            return None
        return self._fire_for(slot).astimezone(self.zone)

    def _fire_for(self, slot: datetime) -> datetime:
        if self.jitter <= 0:
            return slot
        fire = self._fire_of_slot.get(slot)
        if fire is None:
            fire = slot + timedelta(seconds=random.uniform(0, self.jitter))
            self._fire_of_slot[slot] = fire
            self._slot_of_fire[fire] = slot
            while len(self._fire_of_slot) > _MEMORY:
                _old_slot, old_fire = self._fire_of_slot.popitem(last=False)
                self._slot_of_fire.pop(old_fire, None)
        return fire

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "zone": self.zone,
            "jitter": self.jitter,
            "fires": list(self._fire_of_slot.items()),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version") != 1:
            raise ValueError(f"cannot restore {type(self).__name__} state {state.get('version')}")
        self.zone = state["zone"]
        self.jitter = state["jitter"]
        self._fire_of_slot = OrderedDict(state["fires"])
        self._slot_of_fire = {fire: slot for slot, fire in self._fire_of_slot.items()}

    def _repr_extra(self) -> str:
        return f", jitter={self.jitter:g}" if self.jitter else ""


class WallClockTrigger(SlotTrigger):
    """Fires on wall-clock slots of ``zone`` by the DST rule of :mod:`bassi_tui.scheduler.triggers`.

    ``slots`` only does calendar arithmetic on naive datetimes; this class maps each slot to an
    instant with :func:`~bassi_tui.scheduler.slots.wall_to_instant` and skips slots whose instant
    is not after the last one, which is what makes rules 1, 3 and 4 hold.
    """

    def __init__(
        self, slots: SlotGenerator, zone: tzinfo, jitter: float = 0.0, label: str = ""
    ) -> None:
        super().__init__(zone, jitter)
        self.slots = slots
        self.label = label or repr(slots)

    def next_slot(self, after: datetime) -> datetime | None:
        """First slot instant strictly after ``after``.

        A slot at or before the wall time of ``after`` cannot map later than ``after`` (the clock
        already showed it), so the search starts there. Inside a repeated hour the wall clock is
        behind its earlier high point; slots there map to their first, past occurrence and the
        loop walks over them (at most an hour of slots).
        """
        naive = wall_time(after, self.zone)
        while True:
            slot = self.slots.next_after(naive)
            if slot is None:
                return None
            instant = wall_to_instant(slot, self.zone)
            if instant > after:
                return instant
            naive = slot

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "slots": self.slots, "label": self.label}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.slots = state["slots"]
        self.label = state["label"]

    def __str__(self) -> str:
        return f"wallclock[{self.label}]"

    def __repr__(self) -> str:
        return f"<WallClockTrigger ({self.label!r}, zone='{self.zone}'{self._repr_extra()})>"


class ElapsedIntervalTrigger(SlotTrigger):
    """Fires every ``interval`` of elapsed time at ``anchor + k * interval`` (k >= 0).

    Arithmetic is done on UTC instants, so a DST change neither stretches nor shrinks a gap. An
    anchor in the future is the first fire. Without an anchor the trigger pins its anchor to the
    first moment it is asked about (``now`` from APScheduler's ``add_job``), so the first fire is
    that moment plus one interval and later fires stay on that grid.
    """

    def __init__(
        self,
        interval: timedelta,
        anchor: datetime | None = None,
        zone: tzinfo = UTC,
        jitter: float = 0.0,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {interval}")
        super().__init__(zone, jitter)
        self.interval = interval
        self.anchor = _as_instant(anchor, zone) if anchor is not None else None

    def next_slot(self, after: datetime) -> datetime:
        """``anchor + k * interval`` for the smallest k >= 0 that is strictly after ``after``."""
        if self.anchor is None:
            self.anchor = after
        if after < self.anchor:
            return self.anchor
        # timedelta // timedelta is exact integer arithmetic in microseconds: no float drift.
        return self.anchor + ((after - self.anchor) // self.interval + 1) * self.interval

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "interval": self.interval, "anchor": self.anchor}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.interval = state["interval"]
        self.anchor = state["anchor"]

    def __str__(self) -> str:
        return f"elapsed[{self.interval}]"

    def __repr__(self) -> str:
        anchor = self.anchor.isoformat() if self.anchor else None
        return (
            f"<ElapsedIntervalTrigger (interval={self.interval!r}, anchor={anchor!r}, "
            f"zone='{self.zone}'{self._repr_extra()})>"
        )


class OnceTrigger(SlotTrigger):
    """Fires once at ``run_at``, and not at all when asked after that moment.

    A naive ``run_at`` is wall-clock time in ``zone``; an aware one whose wall time falls in a
    spring-forward gap fires at the jump, like the calendar schedules.
    """

    def __init__(self, run_at: datetime, zone: tzinfo, jitter: float = 0.0) -> None:
        super().__init__(zone, jitter)
        if run_at.tzinfo is not None:
            wall = run_at.replace(tzinfo=None)
            real = wall_to_instant(wall, run_at.tzinfo)
            if wall_time(real, run_at.tzinfo) == wall:
                real = run_at.astimezone(UTC)  # the time exists: keep its fold as given
            self.run_at = real
        else:
            self.run_at = wall_to_instant(run_at, zone)

    def next_slot(self, after: datetime) -> datetime | None:
        """``run_at`` if it is strictly after ``after``, else None."""
        return self.run_at if self.run_at > after else None

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "run_at": self.run_at}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.run_at = state["run_at"]

    def __str__(self) -> str:
        return f"once[{self.run_at.astimezone(self.zone).isoformat()}]"

    def __repr__(self) -> str:
        when = self.run_at.astimezone(self.zone).isoformat()
        return f"<OnceTrigger (run_at={when!r}, zone='{self.zone}'{self._repr_extra()})>"
