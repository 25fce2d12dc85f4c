"""last_run.json: a task's counters, next run and the last 20 runs, always written atomically.

The original design's keys keep their meaning: ``task_name``, ``last_run``, ``next_run``,
``run_count``, ``success_count``, ``failure_count``, ``last_status``, ``last_duration_seconds``,
``last_result_file``, ``history`` (newest first, at most 20 entries of ``timestamp``, ``status``,
``duration`` and ``result_file`` or ``error``). bassi-tui adds ``once_fired`` (a ``once`` task
never fires again) and ``last_scheduled_fire`` (the slot the last scheduled run was for).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.store.atomic import atomic_write_json
from bassi_tui.store.models import STATE_FILE

HISTORY_LIMIT = 20
STATE_SIZE_CAP = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StateRead:
    """What reading last_run.json gave: the state, and where a damaged file was set aside."""

    state: dict[str, Any]
    set_aside: Path | None = None


def empty_state(task_name: str) -> dict[str, Any]:
    """The state of a task that has never run."""
    return {
        "task_name": task_name,
        "last_run": None,
        "next_run": None,
        "run_count": 0,
        "success_count": 0,
        "failure_count": 0,
        "last_status": None,
        "last_duration_seconds": None,
        "last_result_file": None,
        "history": [],
    }


def read_state(task_path: Path) -> StateRead:
    """Read a task's last_run.json; a missing file is an empty state.

    An empty, oversized or corrupt file is renamed aside (``last_run.json.corrupt-<time>``, never
    deleted) and an empty state is returned, so the task keeps running and nothing is lost.
    """
    path = task_path / STATE_FILE
    name = task_path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return StateRead(empty_state(name))
    try:
        if size > STATE_SIZE_CAP:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, OSError, UnicodeDecodeError):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = path.with_name(f"{STATE_FILE}.corrupt-{stamp}")
        try:
            os.replace(path, aside)
        except OSError:
            return StateRead(empty_state(name))
        return StateRead(empty_state(name), set_aside=aside)
    state = empty_state(name)
    state.update(data)
    if not isinstance(state.get("history"), list):
        state["history"] = []
    return StateRead(state)


def local_now() -> datetime:
    """The wall clock, time-zone aware: the time every record and state is written in."""
    return datetime.now().astimezone()


def parse_time(value: object) -> datetime | None:
    """An ISO timestamp from the state, or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def apply_run(
    state: dict[str, Any],
    *,
    timestamp: datetime,
    status: str,
    duration: float,
    result_file: str | None,
    error: str | None,
    next_run: datetime | None,
) -> dict[str, Any]:
    """Return ``state`` updated with one finished run (counters, last_*, history)."""
    new = dict(state)
    # A skipped fire (overlap) or a missed one (downtime) is history, not a run.
    counted = status not in ("skipped", "missed")
    if counted:
        new["run_count"] = int(new.get("run_count") or 0) + 1
        key = "success_count" if status == "success" else "failure_count"
        new[key] = int(new.get(key) or 0) + 1
        new["last_run"] = timestamp.isoformat()
        new["last_status"] = status
        new["last_duration_seconds"] = round(duration, 3)
        if result_file is not None:
            new["last_result_file"] = result_file
    new["next_run"] = next_run.isoformat() if next_run else None
    entry: dict[str, Any] = {
        "timestamp": timestamp.isoformat(),
        "status": status,
        "duration": round(duration, 3),
    }
    if error is not None:
        entry["error"] = error
    if result_file is not None:
        entry["result_file"] = result_file
    history = [h for h in new.get("history", []) if isinstance(h, dict)]
    new["history"] = [entry, *history][:HISTORY_LIMIT]
    return new


def write_state(task_path: Path, state: dict[str, Any], *, durable: bool = True) -> None:
    """Write last_run.json atomically (``durable``: fsynced, to survive a power cut too)."""
    atomic_write_json(task_path / STATE_FILE, state, durable=durable)


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(task_path: Path) -> threading.Lock:
    """The lock every writer of ``task_path``'s last_run.json in this process takes."""
    with _locks_guard:
        return _locks.setdefault(task_path, threading.Lock())


def update_state(
    task_path: Path, change: Callable[[dict[str, Any]], dict[str, Any]], *, durable: bool = True
) -> dict[str, Any]:
    """Read, change and write a task's last_run.json under a per-task lock; return the result.

    Runs record themselves from worker threads while the engine updates next_run from the
    loop: every writer goes through here, reading the file fresh, so no update is lost.
    """
    with _lock_for(task_path):
        state = change(read_state(task_path).state)
        write_state(task_path, state, durable=durable)
        return state


#: Up to this many states are written one fsync each; more are written plainly and then made
#: durable together with one sync(): 10,000 fsyncs take about ten seconds, one sync well under one.
FSYNC_EACH_UP_TO = 16


@dataclass(frozen=True, slots=True)
class StateWrite:
    """One state to write in :func:`write_states`, only if the file still holds ``expected``."""

    task_path: Path
    expected: dict[str, Any]
    new: dict[str, Any]


def write_states(writes: list[StateWrite]) -> list[dict[str, Any] | None]:
    """Write many last_run.json files (a start over thousands of tasks); each written or None.

    Each write is a compare-and-swap under the task's lock: a file that no longer holds what
    the caller planned from (a run recorded itself meanwhile) is left alone and its entry is
    None, so nothing newer is overwritten.
    When this returns, whatever was written is on disk (fsynced, or one sync() for many).
    """
    durable_each = len(writes) <= FSYNC_EACH_UP_TO
    done: list[dict[str, Any] | None] = []
    for write in writes:
        with _lock_for(write.task_path):
            if read_state(write.task_path).state != write.expected:
                done.append(None)
                continue
            try:
                write_state(write.task_path, write.new, durable=durable_each)
            except OSError:  # a folder removed meanwhile, a full disk: that task keeps its file
                done.append(None)
                continue
            done.append(write.new)
    if not durable_each and any(state is not None for state in done):
        os.sync()
    return done
