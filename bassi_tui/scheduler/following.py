"""A monitor's view of the scheduling instance's runs, told by the same two run events.

A monitor learns of runs only from the files another instance writes: the newest record in
results/ and last_run.json. :class:`Following` turns what it reads into what the scheduling
instance itself told its subscribers: a run seen ``running`` is a RunStarted, its record seen
finished a RunFinished. A run that began and ended between two looks is told by its end only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bassi_tui.scheduler.events import (
    EngineEvent,
    RunFinished,
    RunStarted,
    TaskChanged,
    TaskView,
)
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import latest_result, read_run
from bassi_tui.store.state import read_state

__all__ = ["FollowHost", "Following", "Seen"]


class FollowHost(Protocol):
    """What following needs from the (monitoring) engine."""

    tasks_dir: Path

    def knows(self, name: str) -> bool: ...
    def state(self, name: str) -> TaskState: ...
    def keep_state(self, name: str, state: TaskState) -> None: ...
    def view(self, name: str) -> TaskView | None: ...
    def emit(self, event: EngineEvent) -> None: ...


def _read_live(path: Path) -> tuple[TaskState, RunRecord | None]:
    """A task's state and newest run, as another instance wrote them (read only)."""
    return read_state(path, repair=False).state, latest_result(path / "results")


@dataclass(frozen=True, slots=True)
class Seen:
    """What one look at a task's files showed: a run that ended, one that began (or neither).

    ``ended`` may be the record as announced (still ``running``) when the newest record is now
    another run: the caller reads its finished record from ``ended.meta_file``.
    """

    ended: RunRecord | None = None
    began: RunRecord | None = None


class Following:
    """The other instance's runs in flight, per task; see the module docstring."""

    def __init__(self) -> None:
        self._running: dict[str, RunRecord] = {}
        self._lock = asyncio.Lock()

    def running_since(self, name: str) -> datetime | None:
        """When the other instance's run of ``name`` in flight started."""
        record = self._running.get(name)
        return record.start if record is not None else None

    def clear(self) -> None:
        """Forget every run (this instance schedules now: it tells its own runs)."""
        self._running.clear()

    def look(
        self, name: str, before: TaskState | None, state: TaskState, latest: RunRecord | None
    ) -> Seen:
        """Compare a fresh look (``state``, the ``latest`` record) with what was told before."""
        told = self._running.get(name)
        ended: RunRecord | None = None
        if told is not None and (
            latest is None or latest.run_id != told.run_id or not latest.running
        ):
            del self._running[name]
            ended = latest if latest is not None and latest.run_id == told.run_id else told
        if latest is not None and latest.running:
            if name not in self._running:
                self._running[name] = latest
                return Seen(ended, latest)
            return Seen(ended)
        if (
            ended is None
            and latest is not None
            and before is not None
            and state.run_count > before.run_count
        ):
            return Seen(latest)  # began and ended between two looks
        return Seen(ended)

    async def refresh(self, host: FollowHost, names: Iterable[str]) -> None:
        """Read the named tasks' files again and tell what changed, as the scheduler did.

        A run seen starting in results/ becomes a RunStarted (``streams=False``: its text is in
        its result file only), its end a RunFinished, built from the same typed records the
        scheduling instance wrote; other changes (a next run promised, a skip recorded) are a
        TaskChanged.
        """
        # One look at a time: two looks at once (the watcher's batches, the start's recheck)
        # could apply an older read after a newer one and end a run that is still going.
        async with self._lock:
            for name in sorted(names):
                await self._refresh_one(host, name)

    async def _refresh_one(self, host: FollowHost, name: str) -> None:
        if not host.knows(name):
            return
        before_state = host.state(name)
        state, latest = await asyncio.to_thread(_read_live, host.tasks_dir / name)
        if not host.knows(name):
            return
        before = host.view(name)
        host.keep_state(name, state)
        seen = self.look(name, before_state, state, latest)
        told = False
        if (ended := seen.ended) is not None:
            if ended.running:  # the newest record is another run: read this one's end
                fresh = await asyncio.to_thread(read_run, ended.meta_file)
                if fresh is not None and fresh.running and seen.began is None:
                    # Its own record says it still runs (the newest record was not readable
                    # a moment ago): nothing ended. Keep following it.
                    self._running[name] = fresh
                    ended = None
                else:
                    ended = fresh or ended
            if ended is not None:
                host.emit(RunFinished(name, ended, host.view(name)))
                told = True
        if seen.began is not None:
            host.emit(RunStarted(name, seen.began, host.view(name), streams=False))
            told = True
        after = host.view(name)
        if not told and after != before:
            host.emit(TaskChanged(name, "updated", after))
