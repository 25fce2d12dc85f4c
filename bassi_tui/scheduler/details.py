"""Everything about one task in one place: what a details view shows (``d`` in the app).

The full problems (uncut), the last error, the config in effect (after bassi.yaml's defaults;
secrets shown as names only), the next fires, and the files in the agent's workdir. Plain data,
built off the event loop (it lists the workdir).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bassi_tui.scheduler.describe import describe_schedule
from bassi_tui.scheduler.triggers import anchor_for, next_fire_times, resolve_zone
from bassi_tui.store.models import Task, TaskConfig
from bassi_tui.store.records import NOT_RUNS, TaskState

__all__ = ["FILES_SHOWN", "FIRES_SHOWN", "TaskDetails", "config_lines", "task_details"]

#: How many next fires the details list.
FIRES_SHOWN = 5
#: How many workdir files the details list (the rest are counted).
FILES_SHOWN = 50
#: Entries walked in a workdir at most (a runaway tree stays cheap).
WALK_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """One task, in full."""

    name: str
    path: Path
    schedule: str
    problems: tuple[str, ...] = ()
    last_error: str | None = None
    next_fires: tuple[datetime, ...] = ()
    #: Why there are no next fires (paused, spent, broken), else None.
    fires_note: str | None = None
    config: tuple[tuple[str, str], ...] = ()
    workdir: Path | None = None
    files: tuple[tuple[str, int], ...] = ()
    more_files: int = 0


def config_lines(config: TaskConfig, folder: Path) -> list[tuple[str, str]]:
    """The config in effect as (key, value) lines; environment and MCP secrets by name only."""
    lines: list[tuple[str, str]] = [("executor", config.executor)]
    if config.executor in ("agent", "anthropic"):
        lines.append(("model", f"{config.model} (max_tokens {config.max_tokens})"))
        if config.system:
            lines.append(("system", config.system))
    if config.executor == "command":
        lines.append(("command", " ".join(config.command)))
    if config.executor == "agent":
        lines.append(("workdir", str(config.workdir_path(folder))))
        lines.append(("tools", ", ".join(config.tools) or "none"))
        lines.append(("max_turns", str(config.max_turns)))
        if config.allowed_paths:
            lines.append(("allowed_paths", ", ".join(config.allowed_paths)))
        for server in config.mcp_servers:
            lines.append((f"mcp {server.name}", server.transport))
    lines.append(("timeout", f"{config.timeout:g} s"))
    retries = (
        f"up to {config.max_retries}, from {config.retry_delay:g} s"
        if config.retry_on_failure and config.max_retries
        else "off"
    )
    lines.append(("retries", retries))
    lines.append(("overlap", config.overlap))
    lines.append(("missed_task_policy", config.missed_task_policy))
    out = config.output
    kept = f"{out.keep_history} days" if out.auto_cleanup else "for ever"
    lines.append(("output", f"{out.format}, kept {kept}"))
    notify = config.notify
    when = [
        name
        for name, on in (
            ("failure", notify.on_failure),
            ("recovery", notify.on_recovery),
            ("change", notify.on_change),
            ("success", notify.on_success),
        )
        if on
    ]
    told = ", ".join(channel.label() for channel in notify.channels) or "no channel"
    lines.append(("notify", f"on {', '.join(when) or 'nothing'} (repeat {notify.repeat}) → {told}"))
    expect = config.expect
    checks = [
        *(f"contains {text!r}" for text in expect.contains),
        *(f"not_contains {text!r}" for text in expect.not_contains),
        *(f"regex {text!r}" for text in expect.regex),
        *([f"min_chars {expect.min_chars}"] if expect.min_chars is not None else []),
        *([f"max_chars {expect.max_chars}"] if expect.max_chars is not None else []),
        *(["json"] if expect.json or out.format == "json" else []),
        *([f"command {expect.command[0]}"] if expect.command else []),
    ]
    lines.append(("expect", "; ".join(checks) or "no checks"))
    if config.environment:
        lines.append(("environment", ", ".join(sorted(config.environment)) + " (values hidden)"))
    return lines


def _files(workdir: Path) -> tuple[tuple[tuple[str, int], ...], int]:
    found: list[tuple[str, int]] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(workdir):
        dirnames.sort()
        for name in sorted(filenames):
            seen += 1
            if seen > WALK_LIMIT:
                return tuple(found), seen - len(found)
            path = Path(dirpath) / name
            try:
                size = path.lstat().st_size
            except OSError:
                continue
            if len(found) < FILES_SHOWN:
                found.append((str(path.relative_to(workdir)), size))
    return tuple(found), seen - len(found)


def task_details(task: Task, state: TaskState, *, now: datetime) -> TaskDetails:
    """What the details view shows of ``task`` (blocking: it lists the agent's workdir)."""
    schedule = task.schedule
    last = next((h for h in state.history if h.status not in NOT_RUNS), None)
    fires: list[datetime] = []
    note: str | None = None
    if not task.ok or schedule is None:
        note = "none while the task is broken"
    elif schedule.type == "once" and state.once_fired:
        note = "none: this once task has fired"
    else:
        zone = resolve_zone(schedule)
        anchor = anchor_for(schedule, state, now)
        fires = [
            t.astimezone(zone)
            for t in next_fire_times(schedule, FIRES_SHOWN, now=now, anchor=anchor)
        ]
        if not schedule.enabled:
            note = "paused: these fires will not happen until it is resumed"
        elif not fires:
            note = "none in the future"
    workdir = task.config.workdir_path(task.path) if task.config.executor == "agent" else None
    files: tuple[tuple[str, int], ...] = ()
    more = 0
    if workdir is not None and workdir.is_dir():
        files, more = _files(workdir)
    return TaskDetails(
        name=task.name,
        path=task.path,
        schedule=describe_schedule(schedule) if schedule is not None else "not scheduled",
        problems=tuple(f"{p.location()}: {p.message}" for p in task.problems),
        last_error=last.error if last is not None and last.status != "success" else None,
        next_fires=tuple(fires),
        fires_note=note,
        config=tuple(config_lines(task.config, task.path)),
        workdir=workdir,
        files=files,
        more_files=more,
    )
