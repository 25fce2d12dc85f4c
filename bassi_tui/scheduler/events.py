"""Plain dataclass events: the one channel through which the engine tells what happens.

A UI, a logger and a test all subscribe to the same stream (``Engine.subscribe``). Nothing here
knows about Textual; the ui turns these into Textual messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from bassi_tui.store.models import RunStatus, TaskProblem, Trigger

TaskChange = Literal["loaded", "updated", "removed", "broken", "disabled"]
LogLevel = Literal["debug", "info", "warning", "error"]
Role = Literal["scheduler", "monitor"]


@dataclass(frozen=True, slots=True)
class TaskView:
    """Everything a UI needs to draw one task card, as of one moment."""

    name: str
    path: Path
    description: str  # "every Monday at 09:00, Europe/Berlin"
    enabled: bool
    next_run: datetime | None
    problems: tuple[TaskProblem, ...] = ()
    last_run: datetime | None = None
    last_status: str | None = None
    last_duration: float | None = None
    run_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    running_since: datetime | None = None  # set while a run is in flight
    executor: str = "anthropic"

    @property
    def ok(self) -> bool:
        """True when the task has no problems."""
        return not self.problems

    @property
    def success_rate(self) -> float | None:
        """Share of successful runs, or None before the first finished run."""
        done = self.success_count + self.failure_count
        return self.success_count / done if done else None


@dataclass(frozen=True, slots=True)
class TaskChanged:
    """A task was loaded, updated, removed, found broken or disabled. ``view`` is None on remove."""

    name: str
    change: TaskChange
    view: TaskView | None


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began; its text streams into ``result_file``."""

    task: str
    run_id: str
    trigger: Trigger
    started_at: datetime
    result_file: Path


@dataclass(frozen=True, slots=True)
class RunOutput:
    """A chunk of a running task's output, in order."""

    task: str
    run_id: str
    text: str


@dataclass(frozen=True, slots=True)
class RunRetrying:
    """An attempt failed with a transient error; the next one starts after ``delay`` seconds."""

    task: str
    run_id: str
    attempt: int
    delay: float
    error: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run ended (success, failed, timeout or interrupted) and its records are on disk."""

    task: str
    run_id: str
    status: RunStatus
    duration: float
    result_file: Path | None
    meta_file: Path | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the engine's story, as the log pane and the log file show it."""

    level: LogLevel
    message: str
    task: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now().astimezone())


@dataclass(frozen=True, slots=True)
class RoleChanged:
    """This instance became the scheduler, or runs as a monitor of another one (``holder``)."""

    role: Role
    holder: str | None = None  # "pid 1234 on host" of the scheduling instance, for monitors


EngineEvent = (
    TaskChanged | RunStarted | RunOutput | RunRetrying | RunFinished | LogLine | RoleChanged
)
