"""Reading the task folders ahead, while the app is still importing and drawing its first frame.

A start over thousands of folders spends most of its time reading them. The command line starts
that work in a worker process first thing (:meth:`Preload.begin`), before Textual is even
imported, so the two overlap on different cores; once the app is up and waiting, it reads the
jobs the worker has not reached itself. Folders added or removed since are read or dropped at
once; folders edited since they were read are found by their signature (inode, size, times: see
:func:`~bassi_tui.store.loading.folder_signature`) right after the first frame and read again,
so nothing edited during the start is missed. Recovery (a scheduler's job) only happens in a
preload begun while holding the instance lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, wait
from datetime import datetime
from pathlib import Path

from bassi_tui.store.defaults import Defaults
from bassi_tui.store.loading import (
    MAX_WORKERS,
    LoadAborted,
    Loaded,
    cores,
    list_task_folders,
    load_chunk,
    make_pool,
    result_or_abort,
    slices,
)
from bassi_tui.store.settings import read_settings
from bassi_tui.store.state import local_now
from bassi_tui.store.templates import Templates, read_templates

log = logging.getLogger(__name__)

#: Fewer folders than this load faster in-process than a pool can spawn.
PRELOAD_OVER = 300
#: Folders a job: the workers take jobs from the front, take() steals them from the back.
CHUNK = 200


def preload_workers() -> int:
    """One worker a core, but one core is left to the app: it imports and draws meanwhile."""
    return max(1, min(cores() - 1, MAX_WORKERS))


class Preload:
    """Task folders being read in worker processes; see the module docstring."""

    def __init__(
        self,
        tasks_dir: Path,
        names: Sequence[str],
        *,
        recover: bool,
        now: datetime,
        pool: Executor,
        defaults: Defaults | None = None,
        templates: Templates | None = None,
    ) -> None:
        self.tasks_dir = tasks_dir
        self.recover = recover
        self.now = now
        #: bassi.yaml's defaults the folders are read with: the engine takes this read only if
        #: they are the ones it reads too (bassi.yaml may change during the start).
        self.defaults = defaults
        #: .templates/ as read with them: taken on the same terms as the defaults.
        self.templates = templates
        self._pool: Executor | None = pool
        self._chunks = slices(names, CHUNK)
        self._futures: list[Future[list[Loaded]]] = [
            pool.submit(load_chunk, str(tasks_dir), chunk, recover, now, None, defaults, templates)
            for chunk in self._chunks
        ]

    @classmethod
    def begin(cls, tasks_dir: Path, *, recover: bool, force: bool = False) -> Preload | None:
        """Start reading ``tasks_dir`` ahead; None when it is not worth it (few folders, one
        core) or no pool can start. ``recover`` only while holding the instance lock."""
        names = list_task_folders(tasks_dir)
        workers = preload_workers()
        if not force and (len(names) <= PRELOAD_OVER or cores() < 2):
            return None
        # A broken bassi.yaml: read without defaults, as the engine starts (it says why).
        _, settings, problems = read_settings(tasks_dir)
        defaults = None if problems else settings.defaults
        templates = read_templates(tasks_dir)
        try:
            pool = make_pool(workers)
            return cls(
                tasks_dir,
                names,
                recover=recover,
                now=local_now(),
                pool=pool,
                defaults=defaults,
                templates=templates,
            )
        except Exception as exc:  # no processes to be had: the engine loads in-process
            log.warning("could not read the task folders ahead (%s)", exc)
            return None

    def take(self, names: Sequence[str], abort: threading.Event | None = None) -> list[Loaded]:
        """The folders ``names`` (listed now, after the watcher was armed), read.

        Blocks until the workers are done (call it from a thread); folders they did not read
        are read here. A folder edited after it was read ahead is still as it was read: the
        caller checks :func:`stale_folders` once the app shows, and re-reads those. ``abort``
        set (the app quits meanwhile): raises LoadAborted within a folder or 0.1 s.
        """
        ahead: dict[str, Loaded] = {}
        # The app is idle now, waiting: this thread reads too, the jobs the workers have not
        # reached yet (a queued job can be cancelled; a started one cannot), back to front.
        pending = list(zip(self._futures, self._chunks, strict=True))
        try:
            while pending and pending[-1][0].cancel():
                _, chunk = pending.pop()
                for got in self._load(chunk, abort):
                    ahead[got.task.name] = got
            try:
                for future, _ in pending:
                    for got in result_or_abort(future, abort):
                        ahead[got.task.name] = got
            except LoadAborted:
                raise
            except Exception as exc:  # a broken pool: whatever it did not deliver is read here
                log.warning("reading ahead failed (%s); reading the task folders here", exc)
        finally:
            self.close()
        missing = [name for name in names if name not in ahead]  # added since, or not delivered
        for got in self._load(missing, abort):
            ahead[got.task.name] = got
        return [ahead[name] for name in names]

    def _load(self, names: Sequence[str], abort: threading.Event | None) -> list[Loaded]:
        """Read ``names`` here, as the workers do."""
        root = str(self.tasks_dir)
        return load_chunk(root, names, self.recover, self.now, abort, self.defaults, self.templates)

    def wait(self) -> None:
        """Block until the workers have read every folder (tests: make an edit come after)."""
        wait(self._futures)

    def close(self) -> None:
        """Stop the workers (what they have not done is dropped); safe to call twice."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
