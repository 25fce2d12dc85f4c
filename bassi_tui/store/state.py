"""last_run.json: read and written whole, as a :class:`~bassi_tui.store.records.TaskState`.

:func:`read_state` is the one reader and :func:`write_state` the one writer; every change goes
through :func:`update_state`, a read-modify-write under the task's lock, so runs recording
themselves from worker threads and the engine promising next runs never lose each other's
updates.

A damaged file (not JSON, not an object, a counter that is not a number, a directory, a
symlink, oversized) is renamed aside as ``last_run.json.corrupt-<time>`` (the newest
:data:`CORRUPT_KEEP` are kept) and the state is rebuilt from the runs' records in results/, so
counters and history survive. Only regular files inside the task folder are read: a symlink is
never followed (it could point at any file of the user's).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bassi_tui.store.atomic import atomic_write_json
from bassi_tui.store.models import RESULTS_DIR, STATE_FILE
from bassi_tui.store.records import HISTORY_LIMIT, RunRecord, TaskState, _time
from bassi_tui.store.results import list_results

__all__ = [
    "CORRUPT_KEEP",
    "HISTORY_LIMIT",
    "StateRead",
    "StateWrite",
    "TaskState",
    "local_now",
    "parse_time",
    "read_state",
    "rebuild_state",
    "update_state",
    "write_state",
    "write_states",
]

STATE_SIZE_CAP = 4 * 1024 * 1024
#: Damaged last_run.json files set aside per task; older ones are deleted.
CORRUPT_KEEP = 3
_CORRUPT_PREFIX = f"{STATE_FILE}.corrupt-"


@dataclass(frozen=True, slots=True)
class StateRead:
    """What reading last_run.json gave: the state, and whether it had to be rebuilt."""

    state: TaskState
    #: Where a damaged file was set aside (None: it was fine, missing, or could not be moved).
    set_aside: Path | None = None
    #: The file was damaged and the state was rebuilt from the runs' records.
    rebuilt: bool = False


def local_now() -> datetime:
    """The wall clock, time-zone aware: the engine's default clock."""
    return datetime.now().astimezone()


def parse_time(value: object) -> datetime | None:
    """An ISO timestamp, or None when absent or unreadable."""
    return _time(value)


class _Damaged(Exception):
    """last_run.json exists but cannot be taken as it is."""


def _read_raw(path: Path) -> dict[str, object] | None:
    """The file's JSON object; None when it does not exist; _Damaged when it is not right."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise _Damaged("not a regular file") from exc
        raise _Damaged(str(exc)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Damaged("not a regular file")
        if info.st_size > STATE_SIZE_CAP:
            raise _Damaged("too large")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise _Damaged(str(exc)) from exc
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        raise _Damaged("not an object")
    return data


def read_state(task_path: Path, *, repair: bool = True) -> StateRead:
    """A task's last_run.json; a missing file is a task that never ran.

    A damaged file is rebuilt from results/. With ``repair`` (the scheduling instance) it is
    also set aside and the rebuilt state written in its place; a monitor only reads.
    """
    path = task_path / STATE_FILE
    name = task_path.name
    try:
        raw = _read_raw(path)
    except _Damaged:
        raw, damaged = None, True
    else:
        damaged = False
    if raw is not None:
        state = TaskState.from_json(raw, name)
        if not state.damaged:
            return StateRead(state)
        damaged = True
    if not damaged:
        return StateRead(TaskState(name))
    rebuilt = rebuild_state(task_path)
    if not repair:
        return StateRead(rebuilt, rebuilt=True)
    with _task_lock(task_path):
        aside = _set_aside(path)
        with contextlib.suppress(OSError):  # a read-only folder: rebuilt again next time
            write_state(task_path, rebuilt)
    return StateRead(rebuilt, set_aside=aside, rebuilt=True)


def _set_aside(path: Path) -> Path | None:
    """Rename a damaged last_run.json aside (never delete it); keep the newest few."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    aside = path.with_name(f"{_CORRUPT_PREFIX}{stamp}")
    try:
        os.replace(path, aside)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        older = sorted(p for p in os.listdir(path.parent) if p.startswith(_CORRUPT_PREFIX))
        for stale in older[:-CORRUPT_KEEP]:
            target = path.parent / stale
            if target.is_dir() and not target.is_symlink():
                continue  # a directory set aside is the user's to look at
            target.unlink()
    return aside


def rebuild_state(task_path: Path, records: Iterable[RunRecord] | None = None) -> TaskState:
    """The state the runs' records in results/ add up to (oldest first through ``with_run``)."""
    runs = list(records) if records is not None else list_results(task_path / RESULTS_DIR)
    state = TaskState(task_path.name, rebuilt_from_results=True)
    for record in reversed(runs):  # newest first on disk: apply oldest first
        if not record.running and record.start is not None:
            state = state.with_record(record, None)
    return state.replace(history=state.history[:HISTORY_LIMIT])


def write_state(task_path: Path, state: TaskState, *, durable: bool = True) -> None:
    """Write last_run.json atomically (``durable``: fsynced, to survive a power cut too)."""
    atomic_write_json(task_path / STATE_FILE, state.to_json(), durable=durable)


_locks: dict[Path, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(task_path: Path) -> threading.RLock:
    """The lock every writer of ``task_path``'s last_run.json in this process takes."""
    with _locks_guard:
        return _locks.setdefault(task_path, threading.RLock())


#: Task folders this process holds an flock on: the folder's fd and how deeply it is held.
_held: dict[Path, list[int]] = {}


@contextlib.contextmanager
def _task_lock(task_path: Path) -> Iterator[None]:
    """The lock every writer of a task's last_run.json takes, in any process.

    A per-task thread lock orders this process's writers; an ``flock`` on the task folder
    orders them with other processes' (a ``bassi-tui run`` recording its run while a scheduler
    records a fire it skipped for it): without it, one read-modify-write could lose the
    other's update. Reentrant in a thread (flock is not: a second descriptor of the same folder
    would wait for the first), so the folder is locked once however deep the nesting.
    """
    with _lock_for(task_path):
        held = _held.get(task_path)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        try:
            fd = os.open(task_path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # a vanished folder: the write that follows fails on its own
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _held[task_path] = [fd, 1]
            yield
        finally:
            _held.pop(task_path, None)
            os.close(fd)  # closing releases the flock


def update_state(
    task_path: Path, change: Callable[[TaskState], TaskState], *, durable: bool = True
) -> TaskState:
    """Read, change and write a task's last_run.json under a per-task lock; return the result.

    Every writer goes through here, reading the file fresh, so no update is lost.
    """
    with _task_lock(task_path):
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
    expected: TaskState
    new: TaskState


def write_states(writes: list[StateWrite]) -> list[TaskState | None]:
    """Write many last_run.json files (a start over thousands of tasks); each written or None.

    Each write is a compare-and-swap under the task's lock: a file that no longer holds what
    the caller planned from (a run recorded itself meanwhile) is left alone and its entry is
    None, so nothing newer is overwritten.
    When this returns, whatever was written is on disk (fsynced, or one sync() for many).
    """
    durable_each = len(writes) <= FSYNC_EACH_UP_TO
    done: list[TaskState | None] = []
    for write in writes:
        with _task_lock(write.task_path):
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
