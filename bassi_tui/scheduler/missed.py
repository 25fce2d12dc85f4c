"""Fires missed while no bassi-tui was scheduling, counted from the next run it had promised.

Each scheduling instance keeps ``next_run`` in last_run.json current. At start (or takeover) a
``next_run`` in the past means at least one fire was missed; the slots from it up to now are
counted, bounded (a clock that jumps ten years ahead must not loop for ages), and the task's
``missed_task_policy`` decides: skip (record, run nothing), catchup (record, run once) or notify
(record and say it loudly, run nothing). Missed fires are always recorded, never dropped quietly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bassi_tui.scheduler.slot_triggers import SlotTrigger

#: Counting stops here; the record then says "at least".
COUNT_CAP = 1000
#: A promised fire this little in the past is not missed: the scheduler is about to run it.
GRACE = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Missed:
    """What was missed: how many fires (at least, when ``capped``), the first and the last."""

    count: int
    first: datetime
    last: datetime
    capped: bool

    def describe(self) -> str:
        """'3 runs missed (2026-01-01 09:00 .. 2026-01-03 09:00)'."""
        many = f"{'at least ' if self.capped else ''}{self.count} run" + (
            "" if self.count == 1 else "s"
        )
        span = f"{self.first.astimezone():%Y-%m-%d %H:%M}"
        if self.count > 1:
            span += f" .. {self.last.astimezone():%Y-%m-%d %H:%M}"
        return f"{many} missed ({span})"


def find_missed(
    trigger: SlotTrigger, expected: datetime, now: datetime, *, cap: int = COUNT_CAP
) -> Missed | None:
    """Fires due from ``expected`` (the promised next run) up to ``now``; None if none is due."""
    if expected > now - GRACE:
        return None
    count, last, capped = 1, expected, False
    slot = trigger.next_slot(expected)
    while slot is not None and slot <= now:
        if count >= cap:
            capped = True
            break
        count, last = count + 1, slot
        slot = trigger.next_slot(slot)
    return Missed(count, expected, last, capped)
