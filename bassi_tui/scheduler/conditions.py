"""``when:``: whether a scheduled fire may run (see :mod:`bassi_tui.store.parse_when`).

Checked before a fire becomes a run: a fire whose condition does not hold is recorded as
skipped with the reason (by the run manager, as overlap skips are), costs no API call and is
not a failure. Files are looked at in a thread; the command runs like an ``expect.command``
(its own process group, killed on timeout), with nothing on its stdin.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from bassi_tui.notify.checks import command_reason
from bassi_tui.store.inert import inert
from bassi_tui.store.models import Task, task_path
from bassi_tui.store.records import NOT_RUNS, TaskState

__all__ = ["CONDITION_TIMEOUT", "last_real_run", "unmet"]

#: Seconds ``when.command`` may take.
CONDITION_TIMEOUT = 60.0


def last_real_run(state: TaskState) -> datetime | None:
    """When the task last ran (skipped and missed fires are not runs), or None."""
    return next((h.timestamp for h in state.history if h.status not in NOT_RUNS), None)


def _files_reason(task: Task, since: datetime | None) -> str | None:
    when = task.config.when
    for written in when.file_exists:
        if not os.path.exists(task_path(task.path, written)):
            return f"when.file_exists: {inert(written)} not found"
    for written in when.file_changed:
        try:
            changed = os.stat(task_path(task.path, written)).st_mtime
        except OSError:
            return f"when.file_changed: {inert(written)} not found"
        if since is not None and changed <= since.timestamp():
            return f"when.file_changed: {inert(written)} unchanged since the last run"
    return None


async def unmet(task: Task, state: TaskState) -> str | None:
    """Why a scheduled fire of ``task`` may not run now, or None when every condition holds."""
    when = task.config.when
    if when.empty:
        return None
    reason = await asyncio.to_thread(_files_reason, task, last_real_run(state))
    if reason is None and when.command:
        reason = await command_reason(
            when.command,
            "",
            cwd=task.path,
            env=task.config.environment,
            timeout=CONDITION_TIMEOUT,
            label="when.command",
        )
    return reason
