"""Putting a task folder right after a crash: interrupted runs and a lost last_run.json.

A run whose metadata still says ``running`` but whose process is gone (kill -9, power cut) is
recorded as ``interrupted``; its partial output is kept and marked ``partial``. A last_run.json
that was set aside as unreadable is rebuilt from the runs' metadata files, so counters and
history survive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.store.atomic import atomic_write_json
from bassi_tui.store.results import ResultRecord, iter_results_newest, list_results
from bassi_tui.store.state import HISTORY_LIMIT, apply_run, empty_state, parse_time, write_state

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


def run_is_orphaned(meta: dict[str, Any]) -> bool:
    """A ``running`` record whose process is gone (or that never said which process it was)."""
    if meta.get("status") != "running":
        return False
    host = meta.get("host")
    if isinstance(host, str) and host != HOST:
        return False  # another machine's run (shared filesystem): not ours to judge
    pid = meta.get("pid")
    return pid != os.getpid() and not process_alive(pid)


@dataclass(frozen=True, slots=True)
class Recovered:
    """What recovery did to one task folder."""

    interrupted: list[ResultRecord]
    rebuilt_state: bool


def mark_interrupted(record: ResultRecord, now: datetime) -> dict[str, Any]:
    """Rewrite an orphaned run's metadata as interrupted (partial output kept); return it."""
    meta = dict(record.meta)
    started = parse_time(meta.get("start"))
    size = 0
    if record.output_file is not None:
        try:
            size = record.output_file.stat().st_size
        except OSError:
            size = 0
    meta.update(
        status="interrupted",
        end=now.isoformat(),
        duration=round((now - started).total_seconds(), 3) if started else None,
        error="interrupted: bassi-tui stopped mid-run (crash or kill); output kept as partial",
        partial=size > 0,
    )
    meta.pop("pid", None)
    atomic_write_json(record.meta_file, meta)
    return meta


def rebuild_state(task_path: Path, records: list[ResultRecord]) -> dict[str, Any]:
    """A last_run.json rebuilt from the runs' metadata (oldest first through apply_run)."""
    state = empty_state(task_path.name)
    finished = [r for r in reversed(records) if r.status not in ("running",)]
    for record in finished:
        started = record.started
        if started is None:
            continue
        duration = record.meta.get("duration")
        state = apply_run(
            state,
            timestamp=started,
            status=record.status,
            duration=float(duration) if isinstance(duration, int | float) else 0.0,
            result_file=record.output_file.name if record.output_file else None,
            error=record.meta.get("error") if isinstance(record.meta.get("error"), str) else None,
            next_run=None,
        )
    state["history"] = state["history"][:HISTORY_LIMIT]
    state["rebuilt_from_results"] = True
    return state


def recover_task(
    task_path: Path, state: dict[str, Any], *, state_was_lost: bool, now: datetime
) -> tuple[dict[str, Any], Recovered]:
    """Mark orphaned runs interrupted and rebuild a lost state; return the state to use.

    Runs are read newest first and the search stops after ``SETTLED_STREAK`` finished ones in a
    row: a run still marked running is among the newest, and a start over 10,000 tasks with
    months of history must not read every metadata file there is.
    """
    interrupted: list[ResultRecord] = []
    streak = 0
    for record in iter_results_newest(task_path / "results"):
        if record.status != "running":
            streak += 1
            if streak >= SETTLED_STREAK:
                break
            continue
        streak = 0
        if run_is_orphaned(record.meta):
            meta = mark_interrupted(record, now)
            interrupted.append(
                ResultRecord(record.stem, record.meta_file, record.output_file, meta)
            )
    if state_was_lost:
        state = rebuild_state(task_path, list_results(task_path / "results"))
        write_state(task_path, state)
    elif interrupted:
        for record in reversed(interrupted):
            started = record.started or now
            state = apply_run(
                state,
                timestamp=started,
                status="interrupted",
                duration=float(record.meta.get("duration") or 0.0),
                result_file=record.output_file.name if record.output_file else None,
                error=str(record.meta.get("error")),
                next_run=parse_time(state.get("next_run")),
            )
        write_state(task_path, state)
    return state, Recovered(interrupted, state_was_lost)
