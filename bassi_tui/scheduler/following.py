"""A monitor's view of the scheduling instance's runs, told by the same run events.

A monitor learns of runs only from the files another instance writes: the newest record in
results/ and last_run.json. :class:`Following` turns what it reads into what the scheduling
instance itself told its subscribers: a run seen ``running`` is a RunStarted, its record seen
finished a RunFinished. A run that began and ended between two looks is told by its end only.

In between, the run's output file grows as the scheduler streams into it: :meth:`Following.
follow` reads what was appended every :data:`FOLLOW_POLL_S` (the cadence of the app's live view)
and tells it as RunOutput, decoded incrementally, so a monitor's viewer shows the text live
exactly as the scheduler's does; the rest is read just before the RunFinished. Only the output
files of runs in flight are looked at (one ``stat`` each a look), and the same loop tails the
scheduler's run lines (:mod:`.story`). A file that shrank started over (a retry truncates it):
a RunRetrying, so the live text starts over too. (A retry that wrote more than the last look
had read before the next look cannot be told from growth: its text then follows the old one.)
"""

from __future__ import annotations

import asyncio
import codecs
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bassi_tui.scheduler.events import (
    EngineEvent,
    Role,
    RunFinished,
    RunOutput,
    RunRetrying,
    RunStarted,
    TaskChanged,
    TaskView,
)
from bassi_tui.scheduler.story import SchedulerLine, StoryTail
from bassi_tui.store.models import RESULTS_DIR, STATE_FILE
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import latest_result, read_run
from bassi_tui.store.state import read_state

__all__ = ["FOLLOW_POLL_S", "FollowHost", "Following", "Seen"]

#: How often a monitor reads the followed runs' new output and the scheduler's new lines: the
#: app's live view flushes at this cadence too (``FLUSH_INTERVAL``).
FOLLOW_POLL_S = 0.25
#: At most this much of one output is read a look (a big backlog is caught up in steps).
READ_CHUNK = 1024 * 1024
RESTARTED = "the output started over (a retry in the scheduling instance)"


class FollowHost(Protocol):
    """What following needs from the (monitoring) engine."""

    tasks_dir: Path
    role: Role

    @property
    def stopping(self) -> bool: ...
    def names(self) -> list[str]: ...
    def knows(self, name: str) -> bool: ...
    def state(self, name: str) -> TaskState: ...
    def keep_state(self, name: str, state: TaskState) -> None: ...
    def view(self, name: str) -> TaskView | None: ...
    def emit(self, event: EngineEvent) -> None: ...


Signature = tuple[tuple[int, int, int, int] | None, ...]


def _stat(path: Path | None) -> tuple[int, int, int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)


def _signature(path: Path, running: RunRecord | None) -> Signature:
    """What changes when the records of a task change, but not when its output grows.

    last_run.json and run records are replaced atomically (a new inode each time), and a new
    file in results/ changes the folder's mtime; the output file is only appended to.
    """
    meta = running.meta_file if running is not None else None
    return (_stat(path / STATE_FILE), _stat(path / RESULTS_DIR), _stat(meta))


def _read_live(
    path: Path, running: RunRecord | None, last: Signature | None
) -> tuple[Signature, tuple[TaskState, RunRecord | None] | None]:
    """A task's state and newest run, as another instance wrote them (read only); None for
    them when nothing but its output changed since the look that saw ``last``."""
    signature = _signature(path, running)
    if signature == last:
        return signature, None
    return signature, (read_state(path, repair=False).state, latest_result(path / RESULTS_DIR))


def _decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")(errors="replace")


@dataclass(slots=True)
class _Tail:
    """How far a followed run's output was read, and the bytes of a character cut in two."""

    task: str
    run_id: str
    path: Path
    offset: int = 0
    attempt: int = 1
    decoder: codecs.IncrementalDecoder = field(default_factory=_decoder)

    def read(self, *, final: bool = False) -> tuple[str, bool]:
        """The text appended since the last read, and whether the file started over (blocking).

        ``final``: the run is over: read it all, and a character left cut becomes U+FFFD.
        """
        restarted = False
        try:
            size = os.stat(self.path).st_size
            if size < self.offset:
                self.offset, restarted = 0, True
                self.decoder.reset()
                self.attempt += 1
            if size == self.offset:
                return (self.decoder.decode(b"", final=True) if final else ""), restarted
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(None if final else min(size - self.offset, READ_CHUNK))
        except OSError:
            return "", restarted
        self.offset += len(data)
        return self.decoder.decode(data, final=final), restarted


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
        self._tails: dict[str, _Tail] = {}
        self._signatures: dict[str, Signature] = {}
        self._lock = asyncio.Lock()

    def running_since(self, name: str) -> datetime | None:
        """When the other instance's run of ``name`` in flight started."""
        record = self._running.get(name)
        return record.start if record is not None else None

    def running(self, name: str) -> RunRecord | None:
        """The other instance's run of ``name`` in flight (its ``running`` record), if any."""
        return self._running.get(name)

    def clear(self) -> None:
        """Forget every run (this instance schedules now: it tells its own runs)."""
        self._running.clear()
        self._tails.clear()
        self._signatures.clear()

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

        A run seen starting in results/ becomes a RunStarted (its text follows as RunOutput,
        read from its output file by :meth:`follow`), its end a RunFinished, built from the same
        typed records the scheduling instance wrote; other changes (a next run promised, a skip
        recorded) are a TaskChanged. A task whose records did not change since the last look
        (only its output grew: the watcher tells every write) is not read again.
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
        signature, live = await asyncio.to_thread(
            _read_live, host.tasks_dir / name, self._running.get(name), self._signatures.get(name)
        )
        if live is None or not host.knows(name):
            return
        self._signatures[name] = signature
        state, latest = live
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
                await self._drain(host, name)
                host.emit(RunFinished(name, ended, host.view(name)))
                told = True
        if (began := seen.began) is not None:
            streams = began.output_file is not None
            if began.output_file is not None:
                self._tails[name] = _Tail(name, began.run_id, began.output_file)
            host.emit(RunStarted(name, began, host.view(name), streams=streams))
            told = True
        after = host.view(name)
        if not told and after != before:
            host.emit(TaskChanged(name, "updated", after))

    async def _drain(self, host: FollowHost, name: str) -> None:
        """The run of ``name`` ended: tell the rest of its output before its end."""
        tail = self._tails.pop(name, None)
        if tail is not None:
            text, _ = await asyncio.to_thread(tail.read, final=True)
            if text:
                host.emit(RunOutput(name, tail.run_id, text))

    async def follow(self, host: FollowHost) -> None:
        """While this instance monitors: tell the followed runs' new output and the scheduler's
        new lines, every :data:`FOLLOW_POLL_S`; see the module docstring."""
        story = StoryTail(host.tasks_dir)
        try:
            await self._catch_up(host)
            while host.role == "monitor" and not host.stopping:
                await self.look_once(host, story)
                await asyncio.sleep(FOLLOW_POLL_S)
        finally:
            story.close()

    async def _catch_up(self, host: FollowHost) -> None:
        """Tell the runs already in flight when this monitor started: a run that writes
        nothing for a while would otherwise show only at its end (the watcher tells changes)."""
        running = await asyncio.to_thread(_running_now, host.tasks_dir, host.names())
        if running and host.role == "monitor":
            await self.refresh(host, running)

    async def look_once(self, host: FollowHost, story: StoryTail) -> None:
        """One look at the followed outputs and the story (``follow``'s step; tests call it)."""
        async with self._lock:
            tails = list(self._tails.values())
            lines, texts = await asyncio.to_thread(_read_all, story, tails)
            if host.role != "monitor":
                return
            for line in lines:
                host.emit(line)
            for tail, (text, restarted) in zip(tails, texts, strict=True):
                if self._tails.get(tail.task) is not tail:
                    continue
                if restarted:
                    host.emit(RunRetrying(tail.task, tail.run_id, tail.attempt, 0.0, RESTARTED))
                if text:
                    host.emit(RunOutput(tail.task, tail.run_id, text))


def _running_now(tasks_dir: Path, names: list[str]) -> list[str]:
    """The tasks whose newest record says ``running`` (blocking: one look at each results/)."""
    return [
        name
        for name in names
        if (latest := latest_result(tasks_dir / name / RESULTS_DIR)) is not None and latest.running
    ]


def _read_all(
    story: StoryTail, tails: list[_Tail]
) -> tuple[list[SchedulerLine], list[tuple[str, bool]]]:
    """One thread hop for a look: the story's new lines and each followed output's new text."""
    return story.read(), [tail.read() for tail in tails]
