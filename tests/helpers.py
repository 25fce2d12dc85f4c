"""Test helpers: build task folders and wait for engine events (bounded, never a bare sleep)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent
from bassi_tui.store.atomic import atomic_write_json
from bassi_tui.store.results import ResultWriter

#: Upper bound for waiting on an event. A hang guard, not a performance check.
WAIT_S = 15.0
#: Upper bound for waiting on another process's files. A hang guard, not a performance check.
POLL_GUARD_S = 30.0


def poll_until(predicate: Callable[[], bool], timeout: float = POLL_GUARD_S) -> bool:
    """Look every 50 ms until ``predicate`` holds (another process's work shows in files only).

    Bounded: False after ``timeout``, for the caller to assert on.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def make_task(
    root: Path,
    name: str,
    schedule: str = "type: interval\nhours: 1\n",
    prompt: str = "Hello {task_name}",
    config: str | None = "executor: echo\n",
) -> Path:
    """Write a task folder (each file replaced atomically, as editors do) and return it."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "schedule.yaml", schedule)
    write_atomic(folder / "prompt.txt", prompt)
    if config is not None:
        write_atomic(folder / "config.yaml", config)
    return folder


def write_atomic(path: Path, text: str) -> None:
    """Save like an editor that writes a temp file and renames it over the original."""
    tmp = path.with_name(f"{path.name}.swp-save")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_run(folder: Path, start: datetime, status: str, text: str, **extra: Any) -> Path:
    """Write one run's output and metadata into ``folder``/results; return the metadata file."""
    writer = ResultWriter.create(folder / "results", start, "text")
    writer.write(text)
    writer.close()
    meta = {
        "status": status,
        "start": start.isoformat(),
        "result_file": writer.output_file.name,
        "trigger": "scheduled",
        "duration": 1.0,
        **extra,
    }
    atomic_write_json(writer.meta_file, meta)  # as written on disk, raw (older versions too)
    return writer.meta_file


class EventLog:
    """Collects an engine's events and lets a test wait for one that matches."""

    def __init__(self, engine: Engine) -> None:
        self.events: list[EngineEvent] = []
        self._changed = asyncio.Event()
        engine.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[EngineEvent], bool], *, after: int = 0, timeout: float = WAIT_S
    ) -> EngineEvent:
        """The first event from index ``after`` on that matches, waiting up to ``timeout``."""
        async with asyncio.timeout(timeout):
            seen = after
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

    def mark(self) -> int:
        """An index to pass as ``after`` to wait only for events from now on."""
        return len(self.events)
