"""A monitor's view of the scheduling instance's runs, told by the same two run events.

A monitor learns of runs only from the files another instance writes: the newest record in
results/ and last_run.json. :class:`Following` turns what it reads into what the scheduling
instance itself told its subscribers: a run seen ``running`` is a RunStarted, its record seen
finished a RunFinished. A run that began and ended between two looks is told by its end only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bassi_tui.store.records import RunRecord, TaskState

__all__ = ["Following", "Seen"]


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
