"""The one-shot commands: ``check``, ``next`` and ``run`` (no UI, no scheduler)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bassi_tui.scheduler.events import EngineEvent, RunOutput, RunRetrying, RunStarted
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.scheduler.requests import write_request
from bassi_tui.scheduler.triggers import (
    anchor_for,
    describe_schedule,
    next_fire_times,
    resolve_zone,
)
from bassi_tui.store.loading import list_task_folders
from bassi_tui.store.models import Task
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import list_results, read_run
from bassi_tui.store.state import read_state

#: How long `run` waits for the scheduling instance to start a requested run.
PICKUP_TIMEOUT_S = 15.0
FOLLOW_POLL_S = 0.1


def _find_task(tasks_dir: Path, name: str) -> Task | None:
    """Load TASK by folder name under the tasks dir (a path to a folder works too)."""
    candidate = Path(name)
    folder = candidate if candidate.is_dir() and ("/" in name) else tasks_dir / name
    if name.startswith(".") or not folder.is_dir():
        print(f"bassi-tui: no task named {name!r} in {tasks_dir}", file=sys.stderr)
        known = list_task_folders(tasks_dir)
        if known:
            print(f"known tasks: {', '.join(known)}", file=sys.stderr)
        return None
    return load_task(folder)


def _print_problems(task: Task) -> None:
    for problem in task.problems:
        print(f"{task.name}/{problem.location()}: {problem.message}", file=sys.stderr)


def check_command(tasks_dir: Path) -> int:
    """Validate every task folder; print each problem as task/file:line; 1 if any."""
    if not tasks_dir.is_dir():
        print(f"bassi-tui check: {tasks_dir} is not a folder", file=sys.stderr)
        return 2
    names = list_task_folders(tasks_dir)
    broken = 0
    for name in names:
        task = load_task(tasks_dir / name)
        if task.problems:
            broken += 1
            _print_problems(task)
        elif task.schedule is not None:
            print(f"ok  {name}: {describe_schedule(task.schedule)}")
    summary = f"{len(names)} task(s), {broken} with problems"
    print(summary, file=sys.stderr if broken else sys.stdout)
    return 1 if broken else 0


def next_command(tasks_dir: Path, name: str, n: int) -> int:
    """Print the next N fire times of a task, ISO 8601 with offset, in the task's zone."""
    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok or task.schedule is None:
        _print_problems(task)
        return 1
    if n < 1:
        print("bassi-tui next: -n must be at least 1", file=sys.stderr)
        return 2
    state = read_state(task.path, repair=False).state
    if task.schedule.type == "once" and state.once_fired:
        print(f"{name}: this once task has already fired; it will not fire again", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    anchor = anchor_for(task.schedule, state, now)  # as the engine anchors it
    zone = resolve_zone(task.schedule)
    times = next_fire_times(task.schedule, n, now=now, anchor=anchor)
    for when in times:
        print(when.astimezone(zone).isoformat(timespec="seconds"))
    if not task.schedule.enabled:
        print(f"{name} is disabled (enabled: false): these fires will not happen", file=sys.stderr)
    if not times:
        print(f"{name}: no future fire times", file=sys.stderr)
    return 0


def run_command(tasks_dir: Path, name: str) -> int:
    """Run one task now, streaming its output to stdout; 0 only when the run succeeded.

    When another bassi-tui schedules this tasks dir, the run is asked of it (a request file) and
    followed from its result files, so the task never runs twice at once. Otherwise this command
    holds the instance lock for the length of the run.
    """
    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok:
        _print_problems(task)
        return 1
    lock = InstanceLock(tasks_dir)
    if not lock.try_acquire():
        return _run_through_scheduler(tasks_dir, task, lock)
    try:
        return _run_here(task)
    finally:
        lock.release()


def _run_here(task: Task) -> int:
    from bassi_tui.scheduler.runs import RunContext, execute_run
    from bassi_tui.store.state import local_now

    name = task.name

    def emit(event: EngineEvent) -> None:
        if isinstance(event, RunOutput):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, RunStarted):
            print(f"running {name} -> {event.result_file}", file=sys.stderr)
        elif isinstance(event, RunRetrying):
            print(
                f"attempt {event.attempt} failed ({event.error}); retrying in {event.delay:.1f} s",
                file=sys.stderr,
            )

    try:
        outcome = asyncio.run(
            execute_run(
                task,
                RunContext("manual"),
                emit,
                clock=local_now,
                on_started=lambda record: emit(RunStarted(name, record)),
            )
        )
    except KeyboardInterrupt:
        print("\ninterrupted: the run is recorded as interrupted", file=sys.stderr)
        return 130
    finished = outcome.record
    return _report(name, finished.status, finished.error, finished.duration)


def _report(name: str, status: str, error: object, duration: object) -> int:
    if status != "success":
        print(f"\n{name}: {status}: {error}", file=sys.stderr)
        return 1
    seconds = float(duration) if isinstance(duration, int | float) else 0.0
    print(f"\n{name}: success in {seconds:.1f} s", file=sys.stderr)
    return 0


def _run_through_scheduler(tasks_dir: Path, task: Task, lock: InstanceLock) -> int:
    holder = lock.holder() or {}
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    request_id = write_request(tasks_dir, task.name)
    print(f"asked the scheduling bassi-tui ({who}) to run {task.name}", file=sys.stderr)
    deadline = time.monotonic() + PICKUP_TIMEOUT_S
    record = None
    while record is None:
        record = next(
            (r for r in list_results(task.results_dir) if r.run_request == request_id),
            None,
        )
        if record is None:
            if time.monotonic() > deadline:
                print(
                    f"bassi-tui run: the scheduling instance ({who}) did not start the run "
                    f"within {PICKUP_TIMEOUT_S:.0f} s (is it busy or stuck?)",
                    file=sys.stderr,
                )
                return 1
            time.sleep(FOLLOW_POLL_S)
    return _follow(task.name, record)


def _follow(name: str, record: RunRecord) -> int:
    """Tail another instance's run to stdout until its metadata says it ended."""
    offset = 0
    meta = record
    try:
        while True:
            meta = read_run(record.meta_file) or meta
            if record.output_file is not None and record.output_file.exists():
                with record.output_file.open("rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                offset += len(chunk)
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
            if not meta.running:
                break
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        print("\nstopped following; the run goes on in the scheduling instance", file=sys.stderr)
        return 130
    return _report(name, meta.status, meta.error, meta.duration)
