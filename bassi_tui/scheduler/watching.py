"""Watching the tasks dir for the engine: the watcher, the start-up recheck, the clock watchdog.

The watcher is armed after start() has loaded and scheduled every task (on 10,000 folders that
takes a while, and the first frame should not wait for it); then every folder's files are
compared with what was loaded and bassi.yaml and .templates/ are read again, so an edit made
during the start is applied too. The clock watchdog wakes the scheduler when the wall clock
jumps (a resume from suspend, a clock set).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol

from bassi_tui.scheduler.events import LogLevel, Role
from bassi_tui.store.defaults import BASSI_FILE
from bassi_tui.store.fstype import POLL_DELAY_MS, needs_polling
from bassi_tui.store.loading import Loaded, list_task_folders, stale_folders
from bassi_tui.store.watcher import ChangeKind, TaskWatcher

__all__ = ["CLOCK_CHECK_S", "FolderWatch", "WatchHost"]

#: How often the clock watchdog compares wall time with monotonic time.
CLOCK_CHECK_S = 5.0

Changes = dict[ChangeKind, set[str]]


class WatchHost(Protocol):
    """What the watch needs from the engine."""

    tasks_dir: Path
    role: Role

    def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...


class FolderWatch:
    """The engine's eyes on the tasks dir; see the module docstring."""

    def __init__(
        self,
        host: WatchHost,
        on_changes: Callable[[Changes], Awaitable[None]],
        *,
        force_polling: bool = False,
    ) -> None:
        self._host = host
        self._on_changes = on_changes
        self.force_polling = force_polling
        self._watcher: TaskWatcher | None = None
        self._armed: asyncio.Task[Any] | None = None

    def arm(self, loaded: Sequence[Loaded]) -> None:
        """Start watching in the background; then apply what changed since ``loaded`` was read."""
        self._armed = self._host.spawn(self._arm(loaded), "watcher start")

    async def wait_armed(self) -> None:
        """Wait until the watcher is armed and the changes made during the start are applied."""
        if self._armed is not None:
            await asyncio.shield(self._armed)

    def stop(self) -> None:
        """Stop watching."""
        if self._watcher is not None:
            self._watcher.stop()

    def _wants(self, kind: ChangeKind) -> bool:
        # The scheduler never hears its own writes; monitors follow them to show live state.
        if kind in ("task", "settings", "template"):
            return True
        return (kind == "request") == (self._host.role == "scheduler")

    async def _arm(self, loaded: Sequence[Loaded]) -> None:
        host = self._host
        watcher = self._watcher = self._make_watcher()
        host.spawn(watcher.run(), "watcher")
        await watcher.wait_ready()
        records = host.role != "scheduler"
        stale = await asyncio.to_thread(stale_folders, host.tasks_dir, loaded, records=records)
        names = set(list_task_folders(host.tasks_dir))
        known = {got.task.name for got in loaded}
        changed = set(stale) | (names - known) | (known - names)
        # bassi.yaml and .templates/ are always looked at again: the engine re-reads the tasks
        # they shape only if they changed.
        changes: Changes = {"settings": {BASSI_FILE}, "template": {""}}
        if changed:
            changes["task"] = changes["state"] = changed
        await self._on_changes(changes)
        host.say("info", f"Watching {host.tasks_dir} for changes")

    def _make_watcher(self) -> TaskWatcher:
        tasks_dir = self._host.tasks_dir
        network_fs = None if self.force_polling else needs_polling(tasks_dir)
        if network_fs is not None or self.force_polling:
            self.force_polling = True
            why = (
                f"{network_fs}: inotify cannot see other machines' edits"
                if network_fs
                else "--poll"
            )
            self._host.say(
                "info",
                f"Polling {tasks_dir} every {POLL_DELAY_MS} ms ({why}); "
                f"changes show within about {(POLL_DELAY_MS + 100) / 1000:.1f} s",
            )
        return TaskWatcher(
            tasks_dir,
            self._on_changes,
            wants=self._wants,
            force_polling=self.force_polling,
            poll_delay_ms=POLL_DELAY_MS,
        )


async def clock_watchdog(host: WatchHost, wakeup: Callable[[], None]) -> None:
    """Call ``wakeup`` when wall time jumps (system resume, clock set).

    The loop's timers run on the monotonic clock, which stands still while the machine is
    suspended: without this a fire due during a suspend would wait out the whole suspend again
    after resume. A clock set back needs nothing: triggers never repeat a slot.
    """
    offset = time.time() - time.monotonic()
    while True:
        await asyncio.sleep(CLOCK_CHECK_S)
        now_offset = time.time() - time.monotonic()
        if abs(now_offset - offset) > 1.0:
            jump = now_offset - offset
            host.say("info", f"Wall clock moved {jump:+.0f} s (resume or clock change)")
            wakeup()
        offset = now_offset
