"""Textual messages that carry the engine's plain events into the app (past tense, as events).

The engine knows nothing about Textual: the app subscribes to it and posts one of these for each
event. Streamed output (RunOutput) is not posted one chunk at a time: the app buffers it and
flushes a few times a second (see ``BassiApp``), so twenty busy runs cannot flood the queue.
"""

from __future__ import annotations

from textual.message import Message

from bassi_tui.scheduler.events import (
    EngineEvent,
    LogLine,
    RoleChanged,
    RunFinished,
    RunNotified,
    RunRetrying,
    RunStarted,
    TaskChanged,
)
from bassi_tui.store.records import RunRecord


class TaskUpdated(Message):
    """A task was loaded, updated, found broken or disabled, or removed (``event.view`` None)."""

    def __init__(self, event: TaskChanged) -> None:
        super().__init__()
        self.event = event


class RunBegan(Message):
    """A run started."""

    def __init__(self, event: RunStarted) -> None:
        super().__init__()
        self.event = event


class RunRetried(Message):
    """A run's attempt failed and it will try again."""

    def __init__(self, event: RunRetrying) -> None:
        super().__init__()
        self.event = event


class RunEnded(Message):
    """A run ended and its records are on disk."""

    def __init__(self, event: RunFinished) -> None:
        super().__init__()
        self.event = event


class RunTold(Message):
    """A finished run's notification went out: its record lists where, its view what failed."""

    def __init__(self, event: RunNotified) -> None:
        super().__init__()
        self.event = event


class LogWritten(Message):
    """The engine told one more line of its story."""

    def __init__(self, event: LogLine) -> None:
        super().__init__()
        self.event = event


class RoleSwitched(Message):
    """This instance became the scheduler, or monitors another instance."""

    def __init__(self, event: RoleChanged) -> None:
        super().__init__()
        self.event = event


class ResultsLoaded(Message):
    """A worker read the run records of ``task``."""

    def __init__(self, task: str, records: list[RunRecord]) -> None:
        super().__init__()
        self.task = task
        self.records = records


class EngineFailed(Message):
    """The engine could not start (or a task action failed in a worker)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def to_message(event: EngineEvent) -> Message | None:
    """The message for an engine event; None for RunOutput (buffered, not posted)."""
    if isinstance(event, TaskChanged):
        return TaskUpdated(event)
    if isinstance(event, RunStarted):
        return RunBegan(event)
    if isinstance(event, RunRetrying):
        return RunRetried(event)
    if isinstance(event, RunFinished):
        return RunEnded(event)
    if isinstance(event, RunNotified):
        return RunTold(event)
    if isinstance(event, LogLine):
        return LogWritten(event)
    if isinstance(event, RoleChanged):
        return RoleSwitched(event)
    return None
