"""Status from the shell: ``list``, ``stats``, and ``check --json`` / ``next --json``.

These commands only read (``read_state(repair=False)``, the run records in results/): a
scheduler or a monitor may be running on the same tasks dir. Text output is aligned columns,
like ``systemctl list-timers``, every value from a folder made inert, cut to fit the terminal
(80 columns when not a terminal) by shortening the task name, the last column. ``--json``
prints one document on stdout: ISO 8601 times, numbers as numbers, ``null`` for unknown.

``list --json``: a list, one object per task, sorted by next fire time (keys in
:data:`LIST_KEYS`)::

    name, ok, enabled, schedule, next, last, last_status, running, runs, successes,
    failures, success_rate (0..1), cost_month_usd, problems

``stats --json``: ``{"task", "days", "from", "to", "total", "per_day"}``; ``total`` and each
``per_day`` entry hold :data:`STATS_KEYS` (``per_day`` adds ``date``). Stats come from the run
records in results/ (kept ``output.keep_history`` days), not from last_run.json's counters.

``check --json``: ``{"ok", "tasks": [{"name", "ok", "schedule", "warnings", "problems"}],
"settings_problems", "template_problems"}``, each problem ``{"file", "line", "message"}``
(plus ``tasks`` for a template's); exit codes as ``check``.

``next --json``: ``{"task", "timezone", "enabled", "times", "note"}``; exit codes as ``next``.

A run's cost is its record's ``cost_usd`` when it has one; a cost with no run recording one is
unknown (``null``, ``-``), not zero.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bassi_tui.scheduler.triggers import (
    anchor_for,
    describe_schedule,
    next_fire_times,
    once_note,
    resolve_zone,
)
from bassi_tui.scheduler.views import KEY_MISSING_WARNING, key_missing
from bassi_tui.store.analytics import daily, day_window, read_runs, run_cost, sum_known
from bassi_tui.store.inert import inert
from bassi_tui.store.loading import list_task_folders
from bassi_tui.store.models import RESULTS_DIR, Task, TaskProblem
from bassi_tui.store.parse import read_tasks
from bassi_tui.store.records import TaskState
from bassi_tui.store.results import iter_results_newest
from bassi_tui.store.settings import read_settings
from bassi_tui.store.state import read_state
from bassi_tui.store.templates import TEMPLATES_DIR, Templates, read_templates

__all__ = [
    "LIST_KEYS",
    "STATS_KEYS",
    "check_json_command",
    "list_command",
    "next_json_command",
    "stats_command",
]

LIST_KEYS = (
    "name",
    "ok",
    "enabled",
    "schedule",
    "next",
    "last",
    "last_status",
    "running",
    "runs",
    "successes",
    "failures",
    "success_rate",
    "cost_month_usd",
    "problems",
)
STATS_KEYS = (
    "runs",
    "successes",
    "success_rate",
    "duration_p50",
    "duration_p95",
    "input_tokens",
    "output_tokens",
    "cost_usd",
)
DEFAULT_WIDTH = 80
DASH = "-"


def _err(line: str) -> None:
    print(inert(line), file=sys.stderr)


def _dump(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None


def _usable(tasks_dir: Path, command: str) -> list[str] | None:
    """The task folder names, or None (said on stderr) when the tasks dir cannot be read."""
    if not tasks_dir.is_dir():
        what = "no tasks dir at" if not tasks_dir.exists() else "not a folder:"
        _err(f"bassi-tui {command}: {what} {tasks_dir}")
        return None
    return list_task_folders(tasks_dir)


def _load_all(
    tasks_dir: Path, names: Sequence[str], templates: Templates | None = None
) -> list[tuple[Task, tuple[str, ...]]]:
    """Every task as ``check`` and the engine read it: under bassi.yaml's defaults (none while
    it is broken), with the templates, and with ``after:`` problems; and the templates each
    extends."""
    _, settings, problems = read_settings(tasks_dir)
    defaults = None if problems else settings.defaults
    if templates is None:
        templates = read_templates(tasks_dir)
    return read_tasks(tasks_dir, names, defaults, templates)


# -- list ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Row:
    task: Task
    state: TaskState
    next: datetime | None
    running: bool
    cost_month: float | None

    @property
    def success_rate(self) -> float | None:
        runs = self.state.run_count
        return self.state.success_count / runs if runs else None

    @property
    def enabled(self) -> bool | None:
        return self.task.schedule.enabled if self.task.schedule is not None else None

    def to_json(self) -> dict[str, Any]:
        schedule = self.task.schedule
        return {
            "name": self.task.name,
            "ok": self.task.ok,
            "enabled": self.enabled,
            "schedule": describe_schedule(schedule) if schedule is not None else None,
            "next": _iso(self.next),
            "last": _iso(self.state.last_run),
            "last_status": self.state.last_status,
            "running": self.running,
            "runs": self.state.run_count,
            "successes": self.state.success_count,
            "failures": self.state.failure_count,
            "success_rate": self.success_rate,
            "cost_month_usd": self.cost_month,
            "problems": [_problem(p) for p in self.task.problems],
        }


def _next_fire(task: Task, state: TaskState, now: datetime) -> datetime | None:
    """The next fire as ``next`` computes it; None when the task will not fire on its own."""
    schedule = task.schedule
    if not task.ok or schedule is None or not schedule.enabled or schedule.type == "after":
        return None
    if schedule.type == "once" and state.once_fired:
        return None
    anchor = anchor_for(schedule, state, now)
    times = next_fire_times(schedule, 1, now=now, anchor=anchor)
    return times[0].astimezone(resolve_zone(schedule)) if times else None


def _month_runs(task: Task, now: datetime) -> tuple[bool, float | None]:
    """Whether the newest run is in flight, and the cost of this month's runs (local time)."""
    local = now.astimezone()
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    stop_before = month_start - timedelta(days=1)  # run names are in local time: a margin
    running = False
    costs: list[float | None] = []
    seen = 0
    for record in iter_results_newest(task.results_dir):
        seen += 1
        if seen == 1:
            running = record.running
        start = record.start
        if start is None or start.tzinfo is None:
            continue
        if start < stop_before:
            break
        if start >= month_start:
            costs.append(run_cost(record))
    if not costs:
        return running, 0.0  # no run this month: it cost nothing
    return running, sum_known(costs)


def _rows(tasks_dir: Path, names: Sequence[str], now: datetime) -> list[_Row]:
    rows = []
    for task, _ in _load_all(tasks_dir, names):
        state = read_state(task.path, repair=False).state
        running, cost = _month_runs(task, now)
        rows.append(_Row(task, state, _next_fire(task, state, now), running, cost))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.next or far, r.task.name))


def _span(seconds: float) -> str:
    """A short duration: ``45s``, ``12min``, ``3h 5min``, ``2d 4h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}min"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}min"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _when(value: datetime | None, now: datetime) -> str:
    """``12-04 18:48`` in local time (this year), else ``2025-12-04``."""
    if value is None:
        return DASH
    local = value.astimezone()
    return local.strftime("%m-%d %H:%M" if local.year == now.astimezone().year else "%Y-%m-%d")


def _money(value: float | None) -> str:
    return f"${value:.2f}" if value is not None else DASH


def _rate(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else DASH


def _status(row: _Row) -> str:
    if not row.task.ok:
        return "invalid"
    if row.running:
        return "running"
    if row.enabled is False:
        return "disabled"
    return row.state.last_status or DASH


def _width() -> int:
    if sys.stdout.isatty():
        return max(DEFAULT_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Aligned columns, two spaces apart; the last column is cut (with ``…``) to fit."""
    cells = [[inert(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    room = max(len(header[-1]), _width() - sum(widths) - 2 * len(widths))
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ]
        last = row[-1] if len(row[-1]) <= room else row[-1][: max(1, room - 1)] + "…"
        lines.append("  ".join([*parts, last]).rstrip())
    return lines


def list_command(tasks_dir: Path, *, as_json: bool = False) -> int:
    """Every task as ``systemctl list-timers`` shows timers; 0 unless the tasks dir is unusable."""
    names = _usable(tasks_dir, "list")
    if names is None:
        return 2
    now = datetime.now(UTC)
    rows = _rows(tasks_dir, names, now)
    if as_json:
        _dump([row.to_json() for row in rows])
        return 0
    header = ("NEXT", "LEFT", "LAST", "STATUS", "RUNS", "OK", "COST/MO", "TASK")
    table = [
        (
            _when(row.next, now),
            _span((row.next - now).total_seconds()) if row.next is not None else DASH,
            _when(row.state.last_run, now),
            _status(row),
            str(row.state.run_count),
            _rate(row.success_rate),
            _money(row.cost_month),
            row.task.name,
        )
        for row in rows
    ]
    for line in _table(header, table, right={4, 5, 6}):
        print(line)
    print(f"\n{len(rows)} task(s) listed.")
    return 0


# -- check --json, next --json -----------------------------------------------------------------


def _problem(problem: TaskProblem) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "message": problem.message}


def check_json_command(tasks_dir: Path) -> int:
    """``check`` as one JSON document: 0 all fine, 1 any problem, 2 no usable tasks dir."""
    names = _usable(tasks_dir, "check")
    if names is None:
        return 2
    _, _, settings_problems = read_settings(tasks_dir)
    templates = read_templates(tasks_dir)
    loaded = _load_all(tasks_dir, names, templates)
    tasks = [task for task, _ in loaded]
    shared: dict[TaskProblem, list[str]] = {}
    now = datetime.now(UTC)
    out = []
    for task in tasks:
        own = []
        for problem in task.problems:
            if problem.file.startswith(f"{TEMPLATES_DIR}/"):
                key = TaskProblem("", problem.file, problem.line, problem.message)
                shared.setdefault(key, []).append(task.name)
            else:
                own.append(_problem(problem))
        warnings = []
        if task.ok and task.schedule is not None:
            state = read_state(task.path, repair=False).state
            if note := once_note(task.schedule, state, now):
                warnings.append(note)
            if key_missing(task):
                warnings.append(KEY_MISSING_WARNING)
        schedule = task.schedule
        out.append(
            {
                "name": task.name,
                "ok": task.ok,
                "schedule": describe_schedule(schedule) if schedule is not None else None,
                "warnings": warnings,
                "problems": own,
            }
        )
    chained = {template for _, chain in loaded for template in chain}
    for template in templates.names():
        if template not in chained:
            for problem in templates.check(template):
                shared.setdefault(problem, [])
    failed = bool(settings_problems or shared or any(not task.ok for task in tasks))
    _dump(
        {
            "ok": not failed,
            "tasks": out,
            "settings_problems": [_problem(p) for p in settings_problems],
            "template_problems": [{**_problem(p), "tasks": users} for p, users in shared.items()],
        }
    )
    return 1 if failed else 0


def next_json_command(tasks_dir: Path, name: str, n: int) -> int:
    """``next`` as one JSON document; exit codes as ``next`` (2 no task or bad -n, 1 problems)."""
    from bassi_tui.commands import _find_task, _print_problems

    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok or task.schedule is None:
        _print_problems(task)
        return 1
    if n < 1:
        _err("bassi-tui next: -n must be at least 1")
        return 2
    schedule = task.schedule
    state = read_state(task.path, repair=False).state
    zone = resolve_zone(schedule)
    now = datetime.now(UTC)
    note: str | None = None
    times: list[datetime] = []
    if schedule.type == "once" and state.once_fired:
        note = "this once task has already fired; it will not fire again"
    elif schedule.type == "after":
        note = f"runs {describe_schedule(schedule)}: it has no fire times of its own"
    else:
        anchor = anchor_for(schedule, state, now)
        times = next_fire_times(schedule, n, now=now, anchor=anchor)
        if not schedule.enabled:
            note = "disabled (enabled: false): these fires will not happen"
        elif not times:
            note = "no future fire times"
    _dump(
        {
            "task": task.name,
            "timezone": str(zone),
            "enabled": schedule.enabled,
            "times": [when.astimezone(zone).isoformat(timespec="seconds") for when in times],
            "note": note,
        }
    )
    return 0


# -- stats ---------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else DASH


def stats_command(tasks_dir: Path, name: str | None, days: int, *, as_json: bool = False) -> int:
    """Runs, success rate, duration p50/p95, tokens and cost per day over the last ``days``
    days (local dates, today included), for one task or all; from the run records, counted
    by :mod:`bassi_tui.store.analytics` (as the app's stats screen counts them)."""
    if days < 1:
        _err("bassi-tui stats: --days must be at least 1")
        return 2
    names = _usable(tasks_dir, "stats")
    if names is None:
        return 2
    if name is not None:
        if name.startswith(".") or name not in names:
            _err(f"bassi-tui: no task named '{name}' in {tasks_dir}")
            if names:
                _err(f"known tasks: {', '.join(names)}")
            return 2
        names = [name]
    now = datetime.now().astimezone()
    first, today = day_window(now, days)
    records = [r for n in names for r in read_runs(tasks_dir / n / RESULTS_DIR, first)]
    series = daily(records, now, days)
    total = series.total.to_json()
    per_day = [{"date": d.day.isoformat(), **d.summary.to_json()} for d in series.days]
    if as_json:
        _dump(
            {
                "task": name,
                "days": days,
                "from": first.isoformat(),
                "to": today.isoformat(),
                "total": total,
                "per_day": per_day,
            }
        )
        return 0
    header = ("DAY", "RUNS", "OK", "P50", "P95", "TOKENS IN", "TOKENS OUT", "COST")
    rows = [
        (
            label,
            str(s["runs"]),
            _rate(s["success_rate"]),
            _seconds(s["duration_p50"]),
            _seconds(s["duration_p95"]),
            str(s["input_tokens"]),
            str(s["output_tokens"]),
            _money(s["cost_usd"]),
        )
        for label, s in [*((d["date"], d) for d in per_day), ("total", total)]
    ]
    print(f"{name or 'all tasks'}, {first.isoformat()} to {today.isoformat()}")
    for line in _table(header, rows, right={1, 2, 3, 4, 5, 6, 7}):
        print(line)
    return 0
