"""Loading task folders: one at a time, or many at once on every core.

A folder load reads and validates the three task files and ``last_run.json``; as the scheduling
instance it also puts a crashed run right first (stray temp files, runs left "running"). That is
pure Python work, about a third of a millisecond a folder, so a start over 10,000 folders in one
thread is CPU-bound on one core. :func:`load_folders` splits a big start into chunks for a pool
of worker processes (one a core); small starts, one-core machines and any pool failure load in
the calling thread instead, with the same results.

Workers are spawned (not forked: the app has threads, and fork with threads can deadlock), have
stdout and stderr pointed at /dev/null so nothing can scribble on the TUI, and ignore SIGINT.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bassi_tui.store.atomic import clean_stray_temps
from bassi_tui.store.defaults import Defaults
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    RESULTS_DIR,
    SCHEDULE_FILE,
    STATE_FILE,
    Task,
    fields_reduce,
)
from bassi_tui.store.parse import read_task
from bassi_tui.store.recovery import recover_task
from bassi_tui.store.state import TaskState, local_now, read_state
from bassi_tui.store.templates import Templates

log = logging.getLogger(__name__)

#: Below this many folders a pool costs more (about 0.1 s to spawn) than it saves.
POOL_OVER = 1500
#: Folders per chunk handed to a worker, at most: small enough to spread evenly over the cores.
CHUNK = 500
#: More workers than this only add spawn time and pickling.
MAX_WORKERS = 4


class LoadAborted(Exception):
    """The load was called off (the app is quitting): what was read is dropped."""


#: How often a wait on worker processes looks whether the load was called off.
ABORT_POLL_S = 0.1


def result_or_abort(future: Future[list[Loaded]], abort: threading.Event | None) -> list[Loaded]:
    """A worker's result, waited for in short steps so ``abort`` ends the wait at once."""
    while True:
        if abort is not None and abort.is_set():
            raise LoadAborted
        try:
            return future.result(timeout=ABORT_POLL_S)
        except FutureTimeout:
            continue


@dataclass(frozen=True, slots=True)
class Loaded:
    """One folder read: the task, its state and what recovery had to say about it."""

    task: Task
    state: TaskState
    notes: list[str] = field(default_factory=list)
    #: The folder's files as they were when read (see :func:`folder_signature`).
    signature: tuple[object, ...] = ()
    #: The templates the task extends, nearest first (see :mod:`~bassi_tui.store.templates`).
    templates: tuple[str, ...] = ()

    __reduce__ = fields_reduce


_TASK_FILES = (SCHEDULE_FILE, PROMPT_FILE, CONFIG_FILE)
_WITH_RECORDS = (*_TASK_FILES, STATE_FILE, RESULTS_DIR)


def folder_signature(path: Path, *, records: bool) -> tuple[object, ...]:
    """Inode, size, mtime and ctime of each file a load reads: equal means nothing changed.

    An editor's save (a new inode), an append or a rewrite changes it; a rewrite to the same
    size within one timestamp tick of a coarse filesystem would not. ``records`` adds
    last_run.json and results/: a monitor follows those, a scheduler is their only writer.
    """
    out: list[object] = []
    for name in _WITH_RECORDS if records else _TASK_FILES:
        try:
            st = os.lstat(os.path.join(path, name))
        except OSError:
            out.append(None)
            continue
        out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


def list_task_folders(tasks_dir: Path) -> list[str]:
    """Names of the task folders (dot folders and plain files excluded), sorted."""
    try:
        entries = list(os.scandir(tasks_dir))
    except OSError:
        return []
    return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())


def load_folder(
    path: Path,
    *,
    recover: bool = False,
    now: datetime | None = None,
    defaults: Defaults | None = None,
    templates: Templates | None = None,
) -> Loaded:
    """Read one task folder; with ``recover`` (the scheduler), also put a crashed run right.

    ``defaults``: bassi.yaml's, applied under the task's config.yaml; ``templates``: those
    its ``extends:`` may name.
    """
    notes: list[str] = []
    if recover:
        clean_stray_temps(path)
        clean_stray_temps(path / "results")
    signature = folder_signature(path, records=not recover)  # before reading: changes show
    read = read_state(path, repair=recover)
    state = read.state
    resign = read.rebuilt  # our own writes are not a change: signed again below
    if read.rebuilt:
        aside = f" set aside as {read.set_aside.name} and" if read.set_aside else ""
        notes.append(f"damaged last_run.json{aside} rebuilt from the results' records")
    if recover:
        when = now if now is not None else local_now()
        state, done = recover_task(path, state, now=when)
        for record in done.interrupted:
            notes.append(f"run {record.stem} was interrupted (bassi-tui stopped mid-run)")
        resign = resign or bool(done.interrupted)
    if resign:
        signature = folder_signature(path, records=not recover)
    task, chain = read_task(path, defaults, templates)
    return Loaded(task, state, notes, signature, chain)


def stale_folders(tasks_dir: Path, loaded: Sequence[Loaded], *, records: bool) -> list[str]:
    """Names of the folders that changed since they were read (their signature differs)."""
    return [
        got.task.name
        for got in loaded
        if folder_signature(tasks_dir / got.task.name, records=records) != got.signature
    ]


def load_chunk(
    tasks_dir: str,
    names: Sequence[str],
    recover: bool,
    now: datetime,
    abort: threading.Event | None = None,
    defaults: Defaults | None = None,
    templates: Templates | None = None,
) -> list[Loaded]:
    """Load ``names`` in order (in a worker process, or here); ``abort`` set: LoadAborted.

    ``defaults`` and ``templates`` are read once by the caller and sent along (they pickle),
    not read again by every worker: all folders of one load see the same bassi.yaml and
    .templates/.
    """
    root = Path(tasks_dir)
    out = []
    for name in names:
        if (abort is not None and abort.is_set()) or _orphaned():
            raise LoadAborted
        got = load_folder(
            root / name, recover=recover, now=now, defaults=defaults, templates=templates
        )
        out.append(got)
    return out


#: In a worker process: the app that spawned it (None in the app itself).
_parent_pid: int | None = None


def _orphaned() -> bool:
    """True in a worker whose app has died: it must stop, not go on recovering folders that a
    new instance (holding the lock now) may be recovering too."""
    return _parent_pid is not None and os.getppid() != _parent_pid


def _quiet_worker(parent_pid: int) -> None:
    """Pool initializer: a worker never writes to the terminal and leaves ^C to the app."""
    global _parent_pid
    _parent_pid = parent_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def slices(names: Sequence[str], size: int) -> list[Sequence[str]]:
    """``names`` cut into consecutive runs of ``size`` (the last may be shorter)."""
    return [names[i : i + size] for i in range(0, len(names), size)]


def chunked(names: Sequence[str], workers: int) -> list[Sequence[str]]:
    """``names`` in chunks, about four a worker (so they even out), of at most CHUNK."""
    return slices(names, max(1, min(CHUNK, -(-len(names) // (workers * 4)))))


def make_pool(workers: int) -> Executor:
    """A process pool of ``workers`` spawned, quiet workers."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_quiet_worker, initargs=(os.getpid(),)
    )


def load_folders(
    tasks_dir: Path,
    names: Sequence[str],
    *,
    recover: bool = False,
    now: datetime | None = None,
    parallel: bool | None = None,
    abort: threading.Event | None = None,
    defaults: Defaults | None = None,
    templates: Templates | None = None,
) -> list[Loaded]:
    """Load every named folder, in order; on all cores when there are many.

    ``parallel`` forces the choice (tests); ``None`` decides by count and cores. A pool that
    cannot start or breaks mid-way costs its time and nothing else: the folders are then loaded
    here, so a start never fails for want of processes. ``abort`` set: raises LoadAborted soon.
    ``defaults``: bassi.yaml's, applied under every task's config.yaml; ``templates``: those
    ``extends:`` may name.
    """
    when = now if now is not None else local_now()
    workers = min(cores(), MAX_WORKERS)
    if parallel is None:
        parallel = len(names) > POOL_OVER and workers > 1
    if not parallel or not names:
        return load_chunk(str(tasks_dir), names, recover, when, abort, defaults, templates)
    chunks = chunked(names, workers)
    try:
        pool = make_pool(min(workers, len(chunks)))
        try:
            futures = [
                pool.submit(load_chunk, str(tasks_dir), c, recover, when, None, defaults, templates)
                for c in chunks
            ]
            return [loaded for future in futures for loaded in result_or_abort(future, abort)]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    except LoadAborted:
        raise
    except Exception as exc:  # BrokenProcessPool, no /dev/shm, a sandbox without fork...
        log.warning("parallel load failed (%s); loading %d folders in one thread", exc, len(names))
        return load_chunk(str(tasks_dir), names, recover, when, abort, defaults, templates)
