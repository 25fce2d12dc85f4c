"""Plain dataclass events: the one channel through which the engine tells what happens.

A UI, a logger and a test all subscribe to the same stream (``Engine.subscribe``). Nothing here
knows about Textual; the ui turns these into Textual messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from bassi_tui.store.models import TaskProblem
from bassi_tui.store.records import RunRecord

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
    #: Set while a fire waits for a place under bassi.yaml ``max_concurrent``.
    waiting_since: datetime | None = None
    executor: str = "anthropic"
    #: Why the last run did not succeed (None after a success or before any run).
    last_error: str | None = None
    #: Something to know about the schedule (a once task that will never run).
    note: str | None = None
    #: Why the last notification did not reach a channel (masked), else None.
    notify_error: str | None = None
    #: The statuses of the newest history entries, newest first (skipped and missed too).
    recent: tuple[str, ...] = ()
    #: What the task's runs cost this month (None: no cost recorded this month).
    month_cost_usd: float | None = None
    #: A budget stops its fires: the figures and when they resume; else None.
    budget_note: str | None = None

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
    """A run began: its ``running`` record (its text streams into ``record.output_file``) and
    the task's view with the run in flight. With :class:`RunFinished`, the only way a run
    reaches a screen, a notification or a monitor."""

    task: str
    record: RunRecord
    view: TaskView | None = None
    #: RunOutput events follow: from the run itself, or (a monitor) read from the result file
    #: as the scheduling instance writes it. False when the run has no output file.
    streams: bool = True

    @property
    def run_id(self) -> str:
        """The run's id (its RunOutput events carry it too)."""
        return self.record.run_id

    @property
    def trigger(self) -> str:
        """scheduled, manual or catchup."""
        return self.record.trigger

    @property
    def started_at(self) -> datetime | None:
        """When the run started."""
        return self.record.start

    @property
    def result_file(self) -> Path | None:
        """The output file the text streams into (None when it could not be created)."""
        return self.record.output_file


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
    """A run ended (success, failed, timeout or interrupted) and its records are written: the
    finished record and the task's view after it. ``problem`` says what could not be written
    (a full disk, a vanished folder), else None."""

    task: str
    record: RunRecord
    view: TaskView | None = None
    problem: str | None = None

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.record.run_id

    @property
    def status(self) -> str:
        """success, failed, timeout or interrupted."""
        return self.record.status

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return self.record.duration or 0.0

    @property
    def result_file(self) -> Path | None:
        """The output file."""
        return self.record.output_file

    @property
    def meta_file(self) -> Path | None:
        """The metadata file (None when the run's files could not be created)."""
        return self.record.meta_file if self.record.output_file is not None else None

    @property
    def error(self) -> str | None:
        """Why the run did not succeed."""
        return self.record.error


@dataclass(frozen=True, slots=True)
class RunNotified:
    """A finished run's notification was sent: its record now lists where it went
    (``notifications``), and ``view`` shows a channel that failed."""

    task: str
    record: RunRecord
    view: TaskView | None = None
    reason: str = "failure"

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.record.run_id


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the engine's story, as the log pane and the log file show it."""

    level: LogLevel
    message: str
    task: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now().astimezone())
    #: Worth interrupting a person for (a UI shows it as a toast too): a broken bassi.yaml.
    alert: bool = False


@dataclass(frozen=True, slots=True)
class RoleChanged:
    """This instance became the scheduler, or runs as a monitor of another one (``holder``)."""

    role: Role
    holder: str | None = None  # "pid 1234 on host" of the scheduling instance, for monitors


EngineEvent = (
    TaskChanged
    | RunStarted
    | RunOutput
    | RunRetrying
    | RunFinished
    | RunNotified
    | LogLine
    | RoleChanged
)
