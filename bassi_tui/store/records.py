"""Typed records of the folder store: a run's metadata and last_run.json.

``RunRecord`` is a run's metadata file, ``TaskState`` a task's last_run.json.

Each has one reader (``from_json``) and one writer (``to_json``); nothing else in bassi-tui reads
or writes the keys of these files. The readers are tolerant the way a file on disk demands: a
key of the wrong type reads as absent (and :attr:`TaskState.damaged` says so, so the state can be
rebuilt from the runs), unknown keys are kept in ``extra`` and written back as they were, so a
newer bassi-tui's keys survive an older one.

Paths in last_run.json are relative to the task folder, as in the original design
(``results/2025-01-13_09-00.txt``); a run's metadata names its output file by its bare name, since
both live in ``results/``. Both forms are read wherever a result file is named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.store.models import RESULTS_DIR, task_path
from bassi_tui.store.spend import Spend

#: An agent run's transcript, beside its metadata: ``<stem>.transcript.jsonl``.
TRANSCRIPT_SUFFIX = ".transcript.jsonl"
#: The exact prompt a run sent, beside its metadata: ``<stem>.prompt.txt``.
PROMPT_SUFFIX = ".prompt.txt"
#: last_run.json keeps this many history entries, newest first.
HISTORY_LIMIT = 20

#: Statuses of a run that ended (a run record), and of history entries that are not runs.
FINISHED = ("success", "failed", "timeout", "interrupted", "cancelled", "lost", "check_failed")
NOT_RUNS = ("skipped", "missed")


def _time(value: object) -> datetime | None:
    """An ISO timestamp, or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def opt_str(value: object) -> str | None:
    """``value`` when it is a string (read from JSON), else None."""
    return value if isinstance(value, str) else None


def opt_int(value: object) -> int | None:
    """``value`` when it is an int and not a bool (read from JSON), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def result_name(value: object) -> str | None:
    """The bare file name from ``results/<name>`` or ``<name>``; None for anything that is not a
    plain name inside results/ (``..``, a path elsewhere), so a record can never point outside."""
    if not isinstance(value, str):
        return None
    prefix = RESULTS_DIR + "/"
    name = value[len(prefix) :] if value.startswith(prefix) else value
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    return name


def result_path(value: str | None) -> str | None:
    """``results/<name>`` for a result file name (the form last_run.json keeps)."""
    return f"{RESULTS_DIR}/{value}" if value else None


# -- a run ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A file an agent run created or changed in its workdir: its path there, and its size."""

    path: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        """``{"path": ..., "bytes": ...}``."""
        return {"path": self.path, "bytes": self.bytes}

    @classmethod
    def from_json(cls, data: object) -> WrittenFile | None:
        """An entry of a record's ``files``, or None when it is not one."""
        if not isinstance(data, Mapping):
            return None
        path, size = opt_str(data.get("path")), opt_int(data.get("bytes"))
        return cls(path, size) if path is not None and size is not None else None


@dataclass(frozen=True, slots=True)
class SentNotice:
    """One channel a run's notification went to: its masked label, why it was sent, and how
    it went (``error`` is masked too). Kept in the run's ``notifications``."""

    channel: str
    reason: str
    ok: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"channel", "reason", "ok", "error"}``."""
        return {"channel": self.channel, "reason": self.reason, "ok": self.ok, "error": self.error}

    @classmethod
    def from_json(cls, data: object) -> SentNotice | None:
        """An entry of a record's ``notifications``, or None when it is not one."""
        if not isinstance(data, Mapping):
            return None
        channel, reason, ok = (
            opt_str(data.get("channel")),
            opt_str(data.get("reason")),
            data.get("ok"),
        )
        if channel is None or reason is None or not isinstance(ok, bool):
            return None
        return cls(channel, reason, ok, opt_str(data.get("error")))


def _notices(value: object) -> tuple[SentNotice, ...]:
    items = value if isinstance(value, list) else []
    return tuple(n for item in items if (n := SentNotice.from_json(item)) is not None)


def _files(value: object) -> tuple[WrittenFile, ...]:
    """A record's ``files`` list, read leniently."""
    items = value if isinstance(value, list) else []
    return tuple(w for item in items if (w := WrittenFile.from_json(item)) is not None)


_RUN_KEYS = (
    "task_name",
    "run_id",
    "status",
    "trigger",
    "scheduled_for",
    "start",
    "end",
    "duration",
    "attempts",
    "executor",
    "model",
    "input_tokens",
    "output_tokens",
    "request_id",
    "error",
    "result_file",
    "run_request",
    "pid",
    "host",
    "partial",
    "stop_reason",
    "exit_code",
    "turns",
    "workdir",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "files",
    "changed",
    "change",
    "notifications",
    "waited",
    "prompt_sha256",
    "config_sha256",
    "cost_usd",
    "cost_note",
    "worker",
)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as its metadata file (``results/<stem>.json``) records it.

    ``meta_file`` and ``output_file`` say where the run's files are; they are not written into
    the metadata (it names the output by ``result_file``, its bare name). ``pid`` and ``host``
    are set only while the run is in flight, so a later start can tell a crashed run from a
    live one.
    """

    meta_file: Path
    output_file: Path | None
    task_name: str
    status: str  # running, success, failed, timeout, interrupted, cancelled, lost
    start: datetime | None
    run_id: str = ""
    trigger: str = "manual"
    scheduled_for: datetime | None = None
    end: datetime | None = None
    duration: float | None = None
    attempts: int = 0
    executor: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    request_id: str | None = None
    error: str | None = None
    run_request: str | None = None
    pid: int | None = None
    host: str | None = None
    partial: bool = False
    stop_reason: str | None = None
    exit_code: int | None = None
    #: Agent runs: model turns, cache tokens summed over them, files written in the workdir.
    turns: int | None = None
    #: The agent's workdir as config.yaml gave it (``files`` are relative to it).
    workdir: str | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    files: tuple[WrittenFile, ...] = ()
    #: A success's output differs from the previous success's (None: not compared, or first).
    changed: bool | None = None
    #: How it differs, in short (``+3 −1 lines``, ``unchanged``, ``first run``).
    change: str | None = None
    #: Where this run's notification went, and how (empty when none was sent).
    notifications: tuple[SentNotice, ...] = ()
    #: Seconds the run waited for a place under bassi.yaml ``max_concurrent`` (None: none).
    waited: float | None = None
    #: ``runs_on``: the RQ worker that ran the attempt that counts, ``name@host``.
    worker: str | None = None
    #: SHA-256 of the prompt as sent (kept whole in ``<stem>.prompt.txt``).
    prompt_sha256: str | None = None
    #: A digest of the config in effect (bassi.yaml defaults and templates applied).
    config_sha256: str | None = None
    #: What the run's tokens cost in US dollars, at the prices in force (None: not priced).
    cost_usd: float | None = None
    #: Why a run with tokens has no cost (its model has no price).
    cost_note: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        """The shared name of the run's files (``2026-01-13_09-00-00``)."""
        return self.meta_file.stem

    @property
    def started(self) -> datetime | None:
        """When the run started (``start``)."""
        return self.start

    @property
    def running(self) -> bool:
        """True while the record says the run is in flight."""
        return self.status == "running"

    def written_file(self, written: WrittenFile) -> Path:
        """Where a file the agent wrote is: under its workdir, relative to the task folder."""
        return task_path(self.meta_file.parent.parent, self.workdir or ".") / written.path

    @property
    def prompt_file(self) -> Path:
        """Where the exact prompt the run sent is (``<stem>.prompt.txt``)."""
        return self.meta_file.with_name(f"{self.stem}{PROMPT_SUFFIX}")

    @property
    def transcript_file(self) -> Path:
        """Where an agent run's turns are (``<stem>.transcript.jsonl``; absent for others)."""
        return self.meta_file.with_name(f"{self.stem}{TRANSCRIPT_SUFFIX}")

    @property
    def result_file(self) -> str | None:
        """The output file as last_run.json names it: ``results/<name>``."""
        return result_path(self.output_file.name) if self.output_file is not None else None

    def to_json(self) -> dict[str, Any]:
        """The metadata file's content (the one writer of these keys)."""
        data: dict[str, Any] = {
            "task_name": self.task_name,
            "run_id": self.run_id,
            "status": self.status,
            "trigger": self.trigger,
            "scheduled_for": _iso(self.scheduled_for),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "duration": self.duration,
            "attempts": self.attempts,
            "executor": self.executor,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "request_id": self.request_id,
            "error": self.error,
            "result_file": self.output_file.name if self.output_file is not None else None,
            "run_request": self.run_request,
        }
        if self.pid is not None:
            data["pid"] = self.pid
        if self.host is not None:
            data["host"] = self.host
        if self.status != "running":
            data["partial"] = self.partial
        if self.stop_reason is not None:
            data["stop_reason"] = self.stop_reason
        if self.exit_code is not None:
            data["exit_code"] = self.exit_code
        if self.turns is not None:
            data["turns"] = self.turns
            data["workdir"] = self.workdir
            data["cache_read_input_tokens"] = self.cache_read_input_tokens
            data["cache_creation_input_tokens"] = self.cache_creation_input_tokens
            data["files"] = [written.to_json() for written in self.files]
        if self.change is not None:
            data["changed"] = self.changed
            data["change"] = self.change
        if self.notifications:
            data["notifications"] = [notice.to_json() for notice in self.notifications]
        if self.waited is not None:
            data["waited"] = self.waited
        if self.worker is not None:
            data["worker"] = self.worker
        if self.prompt_sha256 is not None:
            data["prompt_sha256"] = self.prompt_sha256
            data["config_sha256"] = self.config_sha256
        if self.cost_usd is not None:
            data["cost_usd"] = self.cost_usd
        if self.cost_note is not None:
            data["cost_note"] = self.cost_note
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], meta_file: Path) -> RunRecord:
        """Read a metadata file's content (the one reader of these keys)."""
        name = result_name(data.get("result_file"))
        return cls(
            meta_file=meta_file,
            output_file=meta_file.parent / name if name is not None else None,
            task_name=opt_str(data.get("task_name")) or meta_file.parent.parent.name,
            status=opt_str(data.get("status")) or "unknown",
            start=_time(data.get("start")),
            run_id=opt_str(data.get("run_id")) or "",
            trigger=opt_str(data.get("trigger")) or "manual",
            scheduled_for=_time(data.get("scheduled_for")),
            end=_time(data.get("end")),
            duration=_num(data.get("duration")),
            attempts=opt_int(data.get("attempts")) or 0,
            executor=opt_str(data.get("executor")),
            model=opt_str(data.get("model")),
            input_tokens=opt_int(data.get("input_tokens")),
            output_tokens=opt_int(data.get("output_tokens")),
            request_id=opt_str(data.get("request_id")),
            error=opt_str(data.get("error")),
            run_request=opt_str(data.get("run_request")),
            pid=opt_int(data.get("pid")),
            host=opt_str(data.get("host")),
            partial=data.get("partial") is True,
            stop_reason=opt_str(data.get("stop_reason")),
            exit_code=opt_int(data.get("exit_code")),
            turns=opt_int(data.get("turns")),
            workdir=opt_str(data.get("workdir")),
            cache_read_input_tokens=opt_int(data.get("cache_read_input_tokens")),
            cache_creation_input_tokens=opt_int(data.get("cache_creation_input_tokens")),
            files=_files(data.get("files")),
            changed=changed if isinstance(changed := data.get("changed"), bool) else None,
            change=opt_str(data.get("change")),
            notifications=_notices(data.get("notifications")),
            waited=_num(data.get("waited")),
            worker=opt_str(data.get("worker")),
            prompt_sha256=opt_str(data.get("prompt_sha256")),
            config_sha256=opt_str(data.get("config_sha256")),
            cost_usd=_num(data.get("cost_usd")),
            cost_note=opt_str(data.get("cost_note")),
            extra={k: v for k, v in data.items() if k not in _RUN_KEYS},
        )

    def replace(self, **changes: Any) -> RunRecord:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


# -- last_run.json ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of last_run.json's ``history``: a run, or a fire that was skipped or missed."""

    timestamp: datetime
    status: str
    duration: float = 0.0
    result_file: str | None = None  # "results/<name>"
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The entry as last_run.json holds it."""
        data: dict[str, Any] = {
            "timestamp": self.timestamp.isoformat(),
            "status": self.status,
            "duration": round(self.duration, 3),
        }
        if self.error is not None:
            data["error"] = self.error
        if self.result_file is not None:
            data["result_file"] = self.result_file
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_json(cls, data: object) -> HistoryEntry | None:
        """An entry, or None when it is not one (no readable timestamp or status)."""
        if not isinstance(data, Mapping):
            return None
        when, status = _time(data.get("timestamp")), opt_str(data.get("status"))
        if when is None or status is None:
            return None
        name = result_name(data.get("result_file"))
        known = ("timestamp", "status", "duration", "result_file", "error")
        return cls(
            timestamp=when,
            status=status,
            duration=_num(data.get("duration")) or 0.0,
            result_file=result_path(name),
            error=opt_str(data.get("error")),
            extra={k: v for k, v in data.items() if k not in known},
        )


_STATE_KEYS = (
    "task_name",
    "last_run",
    "next_run",
    "run_count",
    "success_count",
    "failure_count",
    "last_status",
    "last_duration_seconds",
    "last_result_file",
    "history",
    "once_fired",
    "last_scheduled_fire",
    "schedule_key",
    "missed_count",
    "notify_error",
    "rebuilt_from_results",
    "spend",
    "budget_told",
)


@dataclass(frozen=True, slots=True)
class TaskState:
    """A task's last_run.json: counters, the next run promised, the last 20 runs.

    The original design's keys keep their meaning; bassi-tui adds ``once_fired`` (a ``once``
    task never fires again), ``last_scheduled_fire`` (the slot the last scheduled run was for),
    ``schedule_key`` (the schedule that slot and ``next_run`` were computed from: a changed
    schedule anchors anew) and ``missed_count``.
    """

    task_name: str
    last_run: datetime | None = None
    next_run: datetime | None = None
    run_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    last_status: str | None = None
    last_duration_seconds: float | None = None
    last_result_file: str | None = None  # "results/<name>"
    history: tuple[HistoryEntry, ...] = ()
    once_fired: bool = False
    last_scheduled_fire: datetime | None = None
    schedule_key: str | None = None
    missed_count: int = 0
    rebuilt_from_results: bool = False
    #: Why the last notification did not reach a channel (masked); None once one gets through.
    notify_error: str | None = None
    #: The runs' cost in their newest day and month (see :mod:`~bassi_tui.store.spend`).
    spend: Spend | None = None
    #: The budget periods already told about (``task day 2026-12-04``): once each.
    budget_told: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Read from a file whose known keys had values of the wrong type (not written back).
    damaged: bool = field(default=False, compare=False)

    @property
    def last_success(self) -> bool | None:
        """Whether the last run succeeded; None before any run."""
        return None if self.last_status is None else self.last_status == "success"

    def replace(self, **changes: Any) -> TaskState:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def with_run(
        self,
        *,
        timestamp: datetime,
        status: str,
        duration: float,
        result_file: str | None,
        error: str | None,
        next_run: datetime | None,
    ) -> TaskState:
        """This state with one more history entry: a finished run (counted) or a skipped or
        missed fire (history only). ``result_file`` is ``results/<name>`` or a bare name.

        Applying the same run twice changes nothing more (a state rebuilt from the results
        while the run was being recorded already holds it).
        """
        result = result_path(result_name(result_file))
        entry = HistoryEntry(timestamp, status, round(duration, 3), result, error)
        if self.history and self.history[0] == entry:
            return self.replace(next_run=next_run)
        changes: dict[str, Any] = {
            "next_run": next_run,
            "history": (entry, *self.history)[:HISTORY_LIMIT],
        }
        if status not in NOT_RUNS:
            changes.update(
                run_count=self.run_count + 1,
                last_run=timestamp,
                last_status=status,
                last_duration_seconds=round(duration, 3),
            )
            if status == "success":
                changes["success_count"] = self.success_count + 1
            else:
                changes["failure_count"] = self.failure_count + 1
            if result is not None:
                changes["last_result_file"] = result
        return self.replace(**changes)

    def with_record(self, record: RunRecord, next_run: datetime | None) -> TaskState:
        """This state with one finished run, as its record tells it (see :meth:`with_run`)."""
        if record.start is None:
            raise ValueError(f"run {record.stem} has no start time")
        state = self.with_run(
            timestamp=record.start,
            status=record.status,
            duration=record.duration or 0.0,
            result_file=record.result_file,
            error=record.error,
            next_run=next_run,
        )
        if record.cost_usd and state.history is not self.history:  # counted once
            state = state.replace(spend=(self.spend or Spend()).add(record.start, record.cost_usd))
        return state

    def to_json(self) -> dict[str, Any]:
        """last_run.json's content (the one writer of these keys)."""
        data: dict[str, Any] = {
            "task_name": self.task_name,
            "last_run": _iso(self.last_run),
            "next_run": _iso(self.next_run),
            "run_count": self.run_count,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "last_status": self.last_status,
            "last_duration_seconds": self.last_duration_seconds,
            "last_result_file": self.last_result_file,
            "history": [entry.to_json() for entry in self.history],
        }
        if self.once_fired:
            data["once_fired"] = True
        if self.last_scheduled_fire is not None:
            data["last_scheduled_fire"] = self.last_scheduled_fire.isoformat()
        if self.schedule_key is not None:
            data["schedule_key"] = self.schedule_key
        if self.missed_count:
            data["missed_count"] = self.missed_count
        if self.notify_error is not None:
            data["notify_error"] = self.notify_error
        if self.rebuilt_from_results:
            data["rebuilt_from_results"] = True
        if self.spend is not None:
            data["spend"] = self.spend.to_json()
        if self.budget_told is not None:
            data["budget_told"] = self.budget_told
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], task_name: str) -> TaskState:
        """Read last_run.json's content (the one reader of these keys).

        A known key whose value has the wrong type (``"run_count": "many"``) reads as absent and
        marks the state ``damaged``, for the caller to rebuild it from the runs' records.
        """
        damaged = False

        def typed(key: str, convert: Any, default: Any = None) -> Any:
            nonlocal damaged
            value = data.get(key)
            if value is None:
                return default
            got = convert(value)
            if got is None:
                damaged = True
                return default
            return got

        def count(value: object) -> int | None:
            got = opt_int(value)
            return got if got is not None and got >= 0 else None

        raw_history = data.get("history")
        history: list[HistoryEntry] = []
        if raw_history is not None and not isinstance(raw_history, list):
            damaged = True
        for item in raw_history if isinstance(raw_history, list) else []:
            entry = HistoryEntry.from_json(item)
            if entry is not None:
                history.append(entry)
        last_file = result_name(data.get("last_result_file"))
        return cls(
            task_name=task_name,
            last_run=typed("last_run", _time),
            next_run=typed("next_run", _time),
            run_count=typed("run_count", count, 0),
            success_count=typed("success_count", count, 0),
            failure_count=typed("failure_count", count, 0),
            last_status=typed("last_status", opt_str),
            last_duration_seconds=typed("last_duration_seconds", _num),
            last_result_file=result_path(last_file),
            history=tuple(history[:HISTORY_LIMIT]),
            once_fired=data.get("once_fired") is True,
            last_scheduled_fire=typed("last_scheduled_fire", _time),
            schedule_key=opt_str(data.get("schedule_key")),
            missed_count=typed("missed_count", count, 0),
            rebuilt_from_results=data.get("rebuilt_from_results") is True,
            notify_error=opt_str(data.get("notify_error")),
            spend=typed("spend", Spend.from_json),
            budget_told=opt_str(data.get("budget_told")),
            extra={k: v for k, v in data.items() if k not in _STATE_KEYS},
            damaged=damaged,
        )
