"""Plain data models for task folders: schedules, configs, tasks and their errors.

Everything here is immutable data. Parsing lives in :mod:`bassi_tui.store.parse`; these classes
only say what a valid task looks like once it has been read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

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

ScheduleType = Literal["daily", "weekly", "monthly", "interval", "cron", "once", "after"]
# "agent" last: messages list the choices in this order, and the older three keep their wording.
ExecutorName = Literal["anthropic", "command", "echo", "agent"]
OutputFormat = Literal["text", "json", "markdown"]
MissedPolicy = Literal["skip", "catchup", "notify"]
OverlapPolicy = Literal["skip", "queue", "allow"]
Trigger = Literal["scheduled", "manual", "catchup", "after"]
AfterOn = Literal["success", "failure", "always"]
RunStatus = Literal[
    "running", "success", "failed", "timeout", "interrupted", "skipped", "missed", "check_failed"
]

SCHEDULE_FILE = "schedule.yaml"
PROMPT_FILE = "prompt.txt"
CONFIG_FILE = "config.yaml"
STATE_FILE = "last_run.json"
RESULTS_DIR = "results"

DEFAULT_EXECUTOR: ExecutorName = "agent"
"""The executor of a task whose config.yaml has no ``executor:``: the tool-using agent, as in the
original design (a task that wants one plain Messages call says ``executor: anthropic``).
:class:`TaskConfig`'s default and so the parser's follow this one constant.
"""

ToolName = Literal["read", "write", "edit", "glob", "grep", "bash"]
"""The agent's built-in tools, as named in config.yaml ``tools:``."""

DEFAULT_TOOLS: tuple[ToolName, ...] = ("read", "write", "edit", "glob", "grep")
"""The tools offered without ``tools:``; ``bash`` only when listed."""

DEFAULT_WORKDIR = "workspace"
"""The agent's workdir without ``workdir:``, relative to the task folder (made on first run)."""


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

    Calendar types (daily, weekly, monthly, cron) may exclude days: for daily, monthly and cron
    a non-empty ``days`` lists the only weekdays a fire may fall on (schedule.yaml ``days:``);
    ``skip_holidays`` holds holiday calendar codes (``DE-BY``) whose holidays never get a fire.
    A fire on an excluded day does not happen (see :mod:`bassi_tui.scheduler.calendars`).
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
    skip_holidays: tuple[str, ...] = ()
    #: type after: the tasks whose runs start this one, and which of their ends count.
    after: tuple[str, ...] = ()
    after_on: AfterOn = "success"


ChannelKind = Literal["log", "apprise", "command"]
NotifyRepeat = Literal["first", "every"]


@dataclass(frozen=True, slots=True)
class NotifyChannel:
    """One ``notify.channels`` entry: ``log``, an Apprise URL, or ``{command: [argv]}``.

    URLs carry tokens and passwords: :meth:`label` (and ``repr``) show a masked form, never the
    URL itself; only the sender reads :attr:`url`.
    """

    __reduce__ = fields_reduce

    kind: ChannelKind
    url: str | None = None
    command: tuple[str, ...] = ()

    def label(self) -> str:
        """How logs, metadata, events, the UI and ``check`` name this channel: no secret."""
        if self.kind == "log":
            return "log"
        if self.kind == "command":
            return f"command {self.command[0] if self.command else '?'}"
        from bassi_tui.store.masking import mask_url

        return mask_url(self.url or "")

    def __repr__(self) -> str:
        return f"NotifyChannel({self.label()!r})"


LOG_CHANNEL = NotifyChannel("log")


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """``notify:``: when to tell people about a run, and through which channels."""

    __reduce__ = fields_reduce

    on_success: bool = False
    on_failure: bool = True
    on_recovery: bool = True
    on_change: bool = False
    repeat: NotifyRepeat = "first"
    channels: tuple[NotifyChannel, ...] = (LOG_CHANNEL,)


@dataclass(frozen=True, slots=True)
class ExpectConfig:
    """``expect:``: checks a successful run's output must pass, or the run ends check_failed."""

    __reduce__ = fields_reduce

    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    min_chars: int | None = None
    max_chars: int | None = None
    json: bool = False
    command: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is checked."""
        return self == ExpectConfig()


@dataclass(frozen=True, slots=True)
class WhenConfig:
    """``when:``: what must hold for a scheduled fire to run (else it is skipped, recorded)."""

    __reduce__ = fields_reduce

    file_exists: tuple[str, ...] = ()
    file_changed: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is asked: every fire runs."""
        return not (self.file_exists or self.file_changed or self.command)


@dataclass(frozen=True, slots=True)
class Budget:
    """``budget:`` of a config.yaml or of bassi.yaml, US dollars; None: no such limit."""

    __reduce__ = fields_reduce

    daily_usd: float | None = None
    monthly_usd: float | None = None

    @property
    def empty(self) -> bool:
        """True when it limits nothing."""
        return self.daily_usd is None and self.monthly_usd is None


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """``output:`` block: result file format and retention."""

    __reduce__ = fields_reduce

    format: OutputFormat = "text"
    keep_history: int = 30  # days
    auto_cleanup: bool = True


def task_path(folder: Path, text: str) -> Path:
    """A config.yaml path as the agent uses it: ``~`` expanded, relative ones under ``folder``.

    Not resolved (symlinks stay), so the path reads as the user wrote it.
    """
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else folder / path


def _masked(values: dict[str, str]) -> dict[str, str]:
    """A mapping of secrets as repr() may show it: the names, never the values."""
    return dict.fromkeys(values, "***")


@dataclass(frozen=True, slots=True)
class McpServer:
    """One ``mcp_servers:`` entry: a local server the agent starts, or a remote one it calls.

    Exactly one of ``command`` (argv of a stdio server, with ``env`` added to its environment)
    and ``url`` (an http or https endpoint, sent ``headers``) is set. ``env`` and ``headers``
    values are often secrets: :meth:`__repr__` shows only their names, and only the scheme and
    host of ``url`` (tokens hide in URL paths and queries too).
    """

    __reduce__ = fields_reduce

    name: str
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def transport(self) -> Literal["stdio", "http"]:
        """``stdio`` for a ``command`` server, ``http`` (streamable HTTP) for a ``url`` one."""
        return "http" if self.url is not None else "stdio"

    def argv(self, folder: Path) -> tuple[str, ...]:
        """``command`` ready to start from task ``folder``.

        A program given as a path (it has a ``/``) gets ``~`` expanded and, when relative, is
        taken from the task folder, as config.yaml paths are; a bare name is looked up on PATH
        (the server's ``env`` PATH if it sets one) when started. Arguments are left as written.
        """
        if not self.command:
            return ()
        program = self.command[0]
        if "/" in program:
            program = str(task_path(folder, program))
        return (program, *self.command[1:])

    def __repr__(self) -> str:
        # Arguments, env and header values, and most of a URL may hold secrets: names only.
        parts = [f"name={self.name!r}"]
        if self.command:
            parts.append(f"program={self.command[0]!r}, args={len(self.command) - 1}")
        if self.env:
            parts.append(f"env={_masked(self.env)!r}")
        if self.url is not None:
            try:
                where = urlsplit(self.url)
                shown = f"{where.scheme}://{where.hostname or ''}/..."
            except ValueError:
                shown = "***"
            parts.append(f"url={shown!r}")
        if self.headers:
            parts.append(f"headers={_masked(self.headers)!r}")
        return f"McpServer({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class TaskConfig:
    """config.yaml, with every default of the contract filled in.

    ``workdir``, ``tools``, ``allowed_paths``, ``max_turns`` and ``mcp_servers`` are for
    ``executor: agent``; other executors accept and ignore them, so switching is one edit.
    ``workdir`` and ``allowed_paths`` are kept as written; :meth:`workdir_path` and
    :meth:`allowed_path_list` give the paths to use.
    """

    __reduce__ = fields_reduce

    timeout: float = 600.0
    retry_on_failure: bool = True
    max_retries: int = 3
    retry_delay: float = 60.0
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    expect: ExpectConfig = field(default_factory=ExpectConfig)
    when: WhenConfig = field(default_factory=WhenConfig)
    #: Under bassi.yaml ``max_concurrent``, runs with a higher priority start first.
    priority: int = 0
    output: OutputConfig = field(default_factory=OutputConfig)
    environment: dict[str, str] = field(default_factory=dict)
    missed_task_policy: MissedPolicy = "skip"
    executor: ExecutorName = DEFAULT_EXECUTOR
    model: str = "claude-sonnet-4-6"
    max_tokens: int = 4096
    system: str | None = None
    command: tuple[str, ...] = ()
    overlap: OverlapPolicy = "skip"
    workdir: str = DEFAULT_WORKDIR
    tools: tuple[ToolName, ...] = DEFAULT_TOOLS
    allowed_paths: tuple[str, ...] = ()
    max_turns: int = 20
    mcp_servers: tuple[McpServer, ...] = ()
    #: Stop firing once a day's or a month's runs cost this much (see store.spend).
    budget: Budget = field(default_factory=Budget)
    #: Run on an RQ worker of this label (bassi.yaml ``workers``); None: in this process.
    runs_on: str | None = None

    def workdir_path(self, folder: Path) -> Path:
        """The agent's workdir for the task in ``folder`` (``~`` expanded, relative to it)."""
        return task_path(folder, self.workdir)

    def allowed_path_list(self, folder: Path) -> tuple[Path, ...]:
        """``allowed_paths`` for the task in ``folder``, as :meth:`workdir_path` makes them."""
        return tuple(task_path(folder, text) for text in self.allowed_paths)

    def __repr__(self) -> str:
        # Never let environment values reach a log line or a traceback through repr();
        # McpServer's own repr hides its env, headers and URL the same way.
        env = _masked(self.environment)
        text = (
            f"TaskConfig(executor={self.executor!r}, model={self.model!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, environment={env!r}"
        )
        if self.executor == "agent":
            text += (
                f", workdir={self.workdir!r}, tools={self.tools!r}, "
                f"max_turns={self.max_turns!r}, mcp_servers={self.mcp_servers!r}"
            )
        return text + ")"


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


def config_digest(config: TaskConfig) -> str:
    """A short digest of everything in ``config`` (environment values too, which it never
    shows): two runs with the same digest ran under the same config."""
    return hashlib.sha256(repr(dataclasses.astuple(config)).encode("utf-8")).hexdigest()[:16]
