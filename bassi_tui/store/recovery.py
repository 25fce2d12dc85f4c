"""Putting a task folder right after a crash: runs left "running" by a process that is gone.

A run whose metadata still says ``running`` but whose process is gone (kill -9, power cut) is
recorded as ``interrupted``; its partial output is kept and marked ``partial``. (A damaged
last_run.json is rebuilt by its reader, :func:`bassi_tui.store.state.read_state`.)
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import iter_results_newest, write_run
from bassi_tui.store.state import update_state

HOST = socket.gethostname()
#: Finished runs in a row after which no older run is expected to still say "running".
SETTLED_STREAK = 50


def process_alive(pid: object) -> bool:
    """True when ``pid`` names a live process on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def run_is_orphaned(record: RunRecord) -> bool:
    """A ``running`` record whose process is gone (or that never said which process it was)."""
    if not record.running:
        return False
    if record.host is not None and record.host != HOST:
        return False  # another machine's run (shared filesystem): not ours to judge
    return record.pid != os.getpid() and not process_alive(record.pid)


@dataclass(frozen=True, slots=True)
class Recovered:
    """What recovery did to one task folder."""

    interrupted: list[RunRecord]


def mark_interrupted(record: RunRecord, now: datetime) -> RunRecord:
    """Rewrite an orphaned run's record as interrupted (partial output kept); return it."""
    size = 0
    if record.output_file is not None:
        try:
            size = record.output_file.stat().st_size
        except OSError:
            size = 0
    done = record.replace(
        status="interrupted",
        end=now,
        duration=round((now - record.start).total_seconds(), 3) if record.start else None,
        error="bassi-tui stopped mid-run (crash or kill); the output so far is kept",
        partial=size > 0,
        pid=None,
        host=None,
    )
    write_run(done)
    return done


def recover_task(
    task_path: Path, state: TaskState, *, now: datetime
) -> tuple[TaskState, Recovered]:
    """Mark orphaned runs interrupted and record them in the state; return the state to use.

    Runs are read newest first and the search stops after ``SETTLED_STREAK`` finished ones in a
    row: a run still marked running is among the newest, and a start over 10,000 tasks with
    months of history must not read every metadata file there is.
    """
    interrupted: list[RunRecord] = []
    streak = 0
    for record in iter_results_newest(task_path / "results"):
        if not record.running:
            streak += 1
            if streak >= SETTLED_STREAK:
                break
            continue
        streak = 0
        if run_is_orphaned(record):
            interrupted.append(mark_interrupted(record, now))
    if interrupted:

        def record_them(fresh: TaskState) -> TaskState:
            for record in reversed(interrupted):
                if record.start is None:  # a record with no start cannot say when it ran
                    record = record.replace(start=now)
                fresh = fresh.with_record(record, fresh.next_run)
            return fresh

        state = update_state(task_path, record_them)
    return state, Recovered(interrupted)
