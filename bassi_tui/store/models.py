"""Plain data models for task folders: schedules, configs, tasks and their errors.

Everything here is immutable data. Parsing lives in :mod:`bassi_tui.store.parse`; these classes
only say what a valid task looks like once it has been read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

ScheduleType = Literal["daily", "weekly", "monthly", "interval", "cron", "once"]
ExecutorName = Literal["anthropic", "command", "echo"]
OutputFormat = Literal["text", "json", "markdown"]
MissedPolicy = Literal["skip", "catchup", "notify"]
OverlapPolicy = Literal["skip", "queue", "allow"]
Trigger = Literal["scheduled", "manual", "catchup"]
RunStatus = Literal["running", "success", "failed", "timeout", "interrupted", "skipped", "missed"]

SCHEDULE_FILE = "schedule.yaml"
PROMPT_FILE = "prompt.txt"
CONFIG_FILE = "config.yaml"
STATE_FILE = "last_run.json"
RESULTS_DIR = "results"


def fields_reduce(self: Any) -> tuple[Any, tuple[Any, ...]]:
    """Pickle a slotted dataclass as a call with its field values, in order.

    Tasks cross from the worker processes that read folders at start-up; dataclasses' own
    ``__setstate__`` for slotted classes looks the fields up again for every object, which made
    unpickling 10,000 tasks cost more than reading them. Every field here is an __init__ field.
    """
    return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class TaskProblem:
    """One thing wrong with a task folder, pointing at the file and line to fix.

    ``line`` is 1-based, or ``None`` when the problem is about a whole file (missing, unreadable).
    """

    __reduce__ = fields_reduce

    task: str
    file: str
    line: int | None
    message: str

    def location(self) -> str:
        """``schedule.yaml:3`` or just ``schedule.yaml``."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        return f"{self.task}/{self.location()}: {self.message}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a task fires. Which fields matter depends on ``type``.

    - daily: ``at``
    - weekly: ``days`` (one or more), ``at``
    - monthly: ``day_of_month`` (1..31, clamped to the month's last day), ``at``
    - interval: ``interval_seconds`` (> 0)
    - cron: ``cron`` (five fields, validated)
    - once: ``run_at`` (aware datetime in ``timezone``)

    ``timezone`` is an IANA name; ``None`` means the system's zone at load time.
    ``jitter`` delays each fire by a random 0..jitter seconds.
    """

    __reduce__ = fields_reduce

    type: ScheduleType
    enabled: bool = True
    timezone: str | None = None
    jitter: float = 0.0
    at: time | None = None
    days: tuple[Weekday, ...] = ()
    day_of_month: int | None = None
    interval_seconds: float | None = None
    cron: str | None = None
    run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """``notify:`` block, kept for compatibility with the original design."""

    __reduce__ = fields_reduce

    on_success: bool = False
    on_failure: bool = True
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """``output:`` block: result file format and retention."""

    __reduce__ = fields_reduce

    format: OutputFormat = "text"
    keep_history: int = 30  # days
    auto_cleanup: bool = True


@dataclass(frozen=True, slots=True)
class TaskConfig:
    """config.yaml, with every default of the contract filled in."""

    __reduce__ = fields_reduce

    timeout: float = 600.0
    retry_on_failure: bool = True
    max_retries: int = 3
    retry_delay: float = 60.0
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    environment: dict[str, str] = field(default_factory=dict)
    missed_task_policy: MissedPolicy = "skip"
    executor: ExecutorName = "anthropic"
    model: str = "claude-sonnet-4-6"
    max_tokens: int = 4096
    system: str | None = None
    command: tuple[str, ...] = ()
    overlap: OverlapPolicy = "skip"

    def __repr__(self) -> str:
        # Never let environment values reach a log line or a traceback through repr().
        env = {k: "***" for k in self.environment}
        return (
            f"TaskConfig(executor={self.executor!r}, model={self.model!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, environment={env!r})"
        )


@dataclass(frozen=True, slots=True)
class Task:
    """A task folder as read from disk.

    A broken task has ``problems`` and may lack ``schedule``/``prompt``; it is still a Task so a
    UI can show it and the engine can keep it in an error state until the files are fixed.
    """

    __reduce__ = fields_reduce

    name: str
    path: Path
    schedule: Schedule | None = None
    config: TaskConfig = field(default_factory=TaskConfig)
    prompt: str | None = None
    problems: tuple[TaskProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the task can be scheduled and run."""
        return not self.problems and self.schedule is not None and self.prompt is not None

    @property
    def results_dir(self) -> Path:
        """Where this task's result files live."""
        return self.path / RESULTS_DIR

    @property
    def state_file(self) -> Path:
        """This task's last_run.json."""
        return self.path / STATE_FILE
