"""A task as a UI sees it: the typed records of the store turned into one TaskView."""

from __future__ import annotations

from datetime import datetime

from bassi_tui.scheduler.events import TaskView
from bassi_tui.scheduler.triggers import describe_schedule, once_note
from bassi_tui.store.models import Task
from bassi_tui.store.records import NOT_RUNS, TaskState

__all__ = ["task_view"]


def task_view(
    task: Task,
    state: TaskState,
    *,
    next_run: datetime | None,
    running_since: datetime | None,
    now: datetime,
) -> TaskView:
    """What a card shows of ``task`` with ``state``, at ``now``."""
    schedule = task.schedule
    last = next((h for h in state.history if h.status not in NOT_RUNS), None)
    return TaskView(
        name=task.name,
        path=task.path,
        description=describe_schedule(schedule) if schedule else "not scheduled",
        enabled=bool(schedule and schedule.enabled),
        next_run=next_run,
        problems=task.problems,
        last_run=state.last_run,
        last_status=state.last_status,
        last_duration=state.last_duration_seconds,
        run_count=state.run_count,
        success_count=state.success_count,
        failure_count=state.failure_count,
        running_since=running_since,
        executor=task.config.executor,
        last_error=last.error if last is not None and last.status != "success" else None,
        note=once_note(schedule, state, now) if schedule is not None else None,
        notify_error=state.notify_error,
    )
