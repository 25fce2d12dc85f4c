"""A task as a UI sees it: the typed records of the store turned into one TaskView."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from bassi_tui.scheduler.events import TaskView
from bassi_tui.scheduler.triggers import describe_schedule, once_note
from bassi_tui.store.models import Task
from bassi_tui.store.records import NOT_RUNS, TaskState
from bassi_tui.store.spend import BudgetHit

__all__ = ["KEY_MISSING_NOTE", "KEY_MISSING_WARNING", "key_missing", "task_view"]

#: The executors that call the Anthropic API, with the key from ``ANTHROPIC_API_KEY`` only.
API_EXECUTORS = frozenset({"anthropic", "agent"})
#: A card's note for such a task when this process has no key. A process's environment cannot
#: be changed from outside: a key exported later only reaches a bassi-tui started after it.
KEY_MISSING_NOTE = "no ANTHROPIC_API_KEY: set it, then restart"
#: What ``bassi-tui check`` says of such a task.
KEY_MISSING_WARNING = (
    "ANTHROPIC_API_KEY is not set, so its runs will fail: export it, and restart a bassi-tui "
    "that is already running (it cannot see a key set after it started)"
)


def key_missing(task: Task, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``task`` calls the API (executor anthropic or agent) and ``environ`` (this
    process's environment) has no ``ANTHROPIC_API_KEY``, as its runner would find."""
    env = os.environ if environ is None else environ
    if task.config.runs_on:  # its key is the worker's, in the worker's environment
        return False
    return task.config.executor in API_EXECUTORS and not env.get("ANTHROPIC_API_KEY", "").strip()


def task_view(
    task: Task,
    state: TaskState,
    *,
    next_run: datetime | None,
    running_since: datetime | None,
    waiting_since: datetime | None = None,
    now: datetime,
    budget: BudgetHit | None = None,
    worker_note: str | None = None,
) -> TaskView:
    """What a card shows of ``task`` with ``state``, at ``now``; ``budget`` is the budget that
    stops its fires, if one does."""
    schedule = task.schedule
    last = next((h for h in state.history if h.status not in NOT_RUNS), None)
    notes = [once_note(schedule, state, now) if schedule is not None else None]
    if task.ok and key_missing(task):
        notes.append(KEY_MISSING_NOTE)
    notes.append(worker_note)
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
        waiting_since=waiting_since,
        executor=task.config.executor,
        last_error=last.error if last is not None and last.status != "success" else None,
        note="; ".join(note for note in notes if note) or None,
        notify_error=state.notify_error,
        recent=tuple(entry.status for entry in state.history),
        month_cost_usd=state.spend.at(now)[1] or None if state.spend is not None else None,
        budget_note=f"{budget.reason}: fires skipped until {budget.lifts}" if budget else None,
    )
