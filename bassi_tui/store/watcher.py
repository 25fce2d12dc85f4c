"""Watch the tasks dir and say which task folders changed.

watchfiles' change types are not trusted (an atomic save is reported as "added", a rename-save
as added plus deleted in one batch, and files created inside a brand-new folder can be missed),
so the watcher only reports task *names*; the engine re-reads each named folder from disk.

The engine's own writes (last_run.json, results/, atomic temp files) are filtered out here, so
they can never trigger a reload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, awatch

from bassi_tui.store.models import CONFIG_FILE, PROMPT_FILE, SCHEDULE_FILE

#: The files whose change means a task must be re-read.
TASK_FILES = frozenset({SCHEDULE_FILE, PROMPT_FILE, CONFIG_FILE})
#: watchfiles' default debounce is 1.6 s; 50 ms keeps reloads well under a second.
DEFAULT_DEBOUNCE_MS = 50


def task_name_for(tasks_dir: Path, changed: str) -> str | None:
    """The task a changed path belongs to, or None when the change is none of the tasks' business.

    Relevant: a top-level folder itself (created, deleted, renamed) or one of its task files.
    Ignored: dot folders, files at the top level, results/, last_run.json, temp files.
    """
    try:
        rel = Path(changed).relative_to(tasks_dir)
    except ValueError:
        return None
    parts = rel.parts
    if not parts or parts[0].startswith("."):
        return None
    if len(parts) == 1:
        # The folder itself; a plain file at the top level has no task (is_dir can't tell after
        # a delete, so let the engine decide by re-reading).
        return parts[0]
    if len(parts) == 2 and parts[1] in TASK_FILES:
        # Editors that save via a temp file and a rename end with an event naming the real file.
        return parts[0]
    return None


class TaskWatcher:
    """Runs watchfiles over the tasks dir and calls ``on_change`` with changed task names."""

    def __init__(
        self,
        tasks_dir: Path,
        on_change: Callable[[set[str]], Awaitable[None]],
        *,
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        force_polling: bool = False,
        poll_delay_ms: int = 300,
    ) -> None:
        self.tasks_dir = tasks_dir
        self._on_change = on_change
        self._debounce_ms = debounce_ms
        self._force_polling = force_polling
        self._poll_delay_ms = poll_delay_ms
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._filter = DefaultFilter()

    def _accept(self, change: Change, path: str) -> bool:
        return self._filter(change, path) and task_name_for(self.tasks_dir, path) is not None

    async def wait_ready(self) -> None:
        """Wait until the watch is armed (changes after this are seen)."""
        await self._ready.wait()

    async def run(self) -> None:
        """Watch until ``stop()``; errors in ``on_change`` propagate to the caller."""
        # The rust watcher is armed before its first poll returns; yield_on_timeout with a short
        # rust_timeout lets us mark readiness right after that first poll (tests rely on it).
        # step is how long the watcher waits for a burst of changes to settle: 20 ms keeps the
        # reload latency near the debounce while costing ~50 cheap wake-ups a second.
        async for changes in awatch(
            self.tasks_dir,
            watch_filter=self._accept,
            debounce=self._debounce_ms,
            step=20,
            stop_event=self._stop,
            rust_timeout=250,
            yield_on_timeout=True,
            force_polling=self._force_polling,
            poll_delay_ms=self._poll_delay_ms,
            recursive=True,
            ignore_permission_denied=True,
        ):
            self._ready.set()
            names = {n for _, p in changes if (n := task_name_for(self.tasks_dir, p))}
            if names:
                await self._on_change(names)

    def stop(self) -> None:
        """Ask the watch loop to end."""
        self._stop.set()
