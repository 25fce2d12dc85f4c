"""Fixed task folders for snapshots and screenshots: runs written as files with fixed times.

Nothing here runs a task: results and last_run.json are written the way the engine writes them,
with timestamps around ``FROZEN_NOW``, so every screenshot of them is the same forever.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bassi_tui.scheduler.details import TaskDetails, task_details
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import TaskView
from bassi_tui.scheduler.triggers import next_fire_times
from tests.helpers import make_task

#: A Monday morning; the UI's clock in snapshot tests.
FROZEN_NOW = datetime(2026, 3, 2, 10, 15, 0, tzinfo=UTC)


def frozen_clock() -> datetime:
    """The clock of every snapshot."""
    return FROZEN_NOW


class FrozenEngine(Engine):
    """The real engine, except that next runs are computed from ``FROZEN_NOW``, not the wall."""

    def view(self, name: str) -> TaskView | None:
        """The engine's view with ``next_run`` as it would be at ``FROZEN_NOW``."""
        view = super().view(name)
        task = self.task(name)
        if view is None or task is None or task.schedule is None or view.next_run is None:
            return view
        times = next_fire_times(task.schedule, 1, now=FROZEN_NOW)
        return replace(view, next_run=times[0] if times else None)

    def details(self, name: str) -> TaskDetails | None:
        """The engine's details with the next fires as they would be at ``FROZEN_NOW``."""
        task = self.task(name)
        return None if task is None else task_details(task, self.state(name), now=FROZEN_NOW)


def write_run(
    task_dir: Path,
    start: datetime,
    text: str,
    *,
    status: str = "success",
    duration: float = 3.2,
    tokens: tuple[int, int] | None = (412, 980),
    trigger: str = "scheduled",
    error: str | None = None,
    attempts: int = 1,
) -> Path:
    """Write one run's output and metadata files; returns the output file."""
    results = task_dir / "results"
    results.mkdir(parents=True, exist_ok=True)
    stem = start.strftime("%Y-%m-%d_%H-%M-%S")
    output = results / f"{stem}.txt"
    output.write_text(text, encoding="utf-8")
    meta: dict[str, Any] = {
        "task_name": task_dir.name,
        "run_id": f"run-{stem}",
        "status": status,
        "trigger": trigger,
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=duration)).isoformat(),
        "duration": duration,
        "attempts": attempts,
        "executor": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": tokens[0] if tokens else None,
        "output_tokens": tokens[1] if tokens else None,
        "error": error,
        "result_file": output.name,
    }
    (results / f"{stem}.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return output


def write_state(task_dir: Path, runs: list[tuple[datetime, str, float]]) -> None:
    """Write last_run.json for ``runs`` (newest first: start, status, duration)."""
    ok = sum(1 for _, status, _ in runs if status == "success")
    newest = runs[0]
    state = {
        "task_name": task_dir.name,
        "last_run": newest[0].isoformat(),
        "next_run": None,
        "run_count": len(runs),
        "success_count": ok,
        "failure_count": len(runs) - ok,
        "last_status": newest[1],
        "last_duration_seconds": newest[2],
        "last_result_file": newest[0].strftime("%Y-%m-%d_%H-%M-%S") + ".txt",
        "history": [{"timestamp": s.isoformat(), "status": st, "duration": d} for s, st, d in runs],
    }
    (task_dir / "last_run.json").write_text(json.dumps(state, indent=2), encoding="utf-8")


DIGEST = """Morning digest for Monday, 2 March 2026

Three things moved overnight. The build on main is green again after the flaky \
integration test was pinned; the release branch is cut and waiting for sign-off; and the \
billing export finished in 41 minutes, well under its one-hour budget.

Open questions:
  - Who reviews the scheduler change before Thursday?
  - Should the weekly report include the on-call summary?

Nothing needs action before noon.
"""


def write_fixture_tasks(root: Path) -> Path:
    """Six tasks in every state a card can show; returns ``root``."""
    utc = "timezone: UTC\n"
    digest = make_task(
        root,
        "daily-digest",
        f'type: daily\ntime: "07:30"\n{utc}',
        prompt="Summarise what happened overnight. Today is {weekday}.",
    )
    runs = [
        (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), "success", 4.2),
        (datetime(2026, 3, 1, 7, 30, tzinfo=UTC), "failed", 61.0),
        (datetime(2026, 2, 28, 7, 30, tzinfo=UTC), "success", 3.9),
    ]
    write_run(digest, runs[0][0], DIGEST, duration=4.2, tokens=(812, 1304))
    write_run(
        digest,
        runs[1][0],
        "Morning digest for Sunday\n\nThe",
        status="failed",
        duration=61.0,
        tokens=None,
        attempts=4,
        error="API error 529 (overloaded) after 4 attempts; try again later",
    )
    write_run(
        digest,
        runs[2][0],
        "Morning digest for Saturday\n\nA quiet night.\n",
        duration=3.9,
        tokens=(790, 221),
    )
    write_state(digest, runs)

    weekly = make_task(
        root,
        "weekly-report",
        'type: weekly\nday: [monday, thursday]\ntime: "09:00"\ntimezone: Europe/Berlin\n',
    )
    start = datetime(2026, 2, 26, 8, 0, tzinfo=UTC)
    write_run(
        weekly, start, "Week 9: two releases, no incidents.\n", duration=12.5, tokens=(2048, 640)
    )
    write_state(weekly, [(start, "success", 12.5)])

    paused = make_task(root, "cleanup-notes", f'type: daily\ntime: "22:00"\n{utc}enabled: false\n')
    start = datetime(2026, 2, 27, 22, 0, tzinfo=UTC)
    write_run(paused, start, "Archived 14 notes.\n", duration=2.0, tokens=(300, 40))
    write_state(paused, [(start, "success", 2.0)])

    health = make_task(root, "server-health", f"type: interval\nminutes: 30\n{utc}")
    start = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)
    write_run(
        health,
        start,
        "Checking 12 hosts...\n",
        status="timeout",
        duration=600.0,
        tokens=None,
        error="timed out after 600 s",
    )
    write_state(health, [(start, "timeout", 600.0)])

    make_task(root, "broken-yaml", '# a typo on purpose\ntype: daily\ntiem: "07:30"\n')
    make_task(root, "new-idea", f'type: cron\ncron: "0 */6 * * *"\n{utc}')
    return root
