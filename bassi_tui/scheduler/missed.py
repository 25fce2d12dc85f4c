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

from bassi_tui.scheduler.events import LogLevel
from bassi_tui.scheduler.slot_triggers import SlotTrigger
from bassi_tui.scheduler.triggers import anchor_for, build_trigger
from bassi_tui.store.models import Task
from bassi_tui.store.records import TaskState

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


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What to do about a task's missed fires: the state to write, what to say, what to run."""

    state: TaskState
    message: str
    level: LogLevel
    run_slot: datetime | None  # the slot to run once now (catchup policy), else None
    count: int = 1  # how many fires were missed (at least this many, when capped)


_ACTIONS = {"skip": "not run", "catchup": "running it once now", "notify": "not run (notify)"}


def plan_catch_up(
    task: Task, state: TaskState, *, now: datetime, next_run: datetime | None
) -> CatchUp | None:
    """How to record the fires ``task`` missed (per its policy); None when it missed none."""
    schedule = task.schedule
    if not task.ok or schedule is None or not schedule.enabled:
        return None
    expected = state.next_run
    if expected is None or (schedule.type == "once" and state.once_fired):
        return None
    trigger = build_trigger(schedule, anchor=anchor_for(schedule, state, now))
    missed = find_missed(trigger, expected, now)
    if missed is None:
        return None
    policy = task.config.missed_task_policy
    message = f"{missed.describe()} while no bassi-tui was scheduling; {_ACTIONS[policy]}"
    new_state = state.with_run(
        timestamp=now,
        status="missed",
        duration=0.0,
        result_file=None,
        error=f"{message} (missed_task_policy: {policy})",
        next_run=next_run,
    ).replace(missed_count=state.missed_count + missed.count)
    if schedule.type == "once":
        new_state = new_state.replace(once_fired=True)  # the one fire is spent, run or not
    level: LogLevel = "error" if policy == "notify" else "warning"
    run_slot = missed.last if policy == "catchup" else None
    return CatchUp(new_state, message, level, run_slot, missed.count)
