"""Watch the tasks dir and say which task folders changed.

watchfiles' change types are not trusted (an atomic save is reported as "added", a rename-save
as added plus deleted in one batch, and files created inside a brand-new folder can be missed),
so the watcher only reports task *names*; the engine re-reads each named folder from disk.

The engine's own writes (last_run.json, results/, atomic temp files) are filtered out here, so
they can never trigger a reload.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from watchfiles import Change, DefaultFilter, awatch

from bassi_tui.store.atomic import is_temp_file
from bassi_tui.store.defaults import BASSI_FILE
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    RESULTS_DIR,
    SCHEDULE_FILE,
    STATE_FILE,
)
from bassi_tui.store.templates import TEMPLATES_DIR

#: The files whose change means a task must be re-read.
TASK_FILES = frozenset({SCHEDULE_FILE, PROMPT_FILE, CONFIG_FILE})
#: watchfiles' default debounce is 1.6 s; 50 ms keeps reloads well under a second.
DEFAULT_DEBOUNCE_MS = 50


#: Kinds of change: a task's own files, the engine's records of it, a run request, bassi.yaml,
#: or a template.
ChangeKind = Literal["task", "state", "request", "settings", "template"]
REQUESTS_DIR = ".requests"
STATE_FILE_NAMES = frozenset({STATE_FILE})


def classify(tasks_dir: Path, changed: str) -> tuple[ChangeKind, str] | None:
    """What a changed path means: (kind, task name), or None when it is nobody's business.

    - task: a top-level folder itself (created, deleted, renamed) or one of its task files;
    - state: last_run.json or anything under results/ (the engine's own writes: only monitors,
      which show another process's runs, care about these);
    - request: a file in .requests/ (name is the file name);
    - settings: bassi.yaml at the top (name is bassi.yaml): every task's defaults;
    - template: a template folder in .templates/ or one of its task files (name is the
      template's; "" for .templates/ itself, created, removed or renamed as a whole).
    Ignored: other dot folders, files at the top level, temp files, other stray files.
    """
    try:
        rel = Path(changed).relative_to(tasks_dir)
    except ValueError:
        return None
    parts = rel.parts
    if not parts:
        return None
    if parts[0] == REQUESTS_DIR:
        if len(parts) == 2 and parts[1].endswith(".json") and not is_temp_file(parts[1]):
            return ("request", parts[1])
        return None
    if parts[0] == TEMPLATES_DIR:
        return _template(parts)
    if parts[0].startswith("."):
        return None
    if parts == (BASSI_FILE,):
        return ("settings", BASSI_FILE)
    if len(parts) == 1:
        # The folder itself; after a delete is_dir() can't tell a folder from a file, so the
        # engine decides by re-reading.
        return ("task", parts[0])
    if len(parts) == 2 and parts[1] in TASK_FILES:
        # Editors that save via a temp file and a rename end with an event naming the real file.
        return ("task", parts[0])
    if len(parts) == 2 and parts[1] in STATE_FILE_NAMES:
        return ("state", parts[0])
    if len(parts) == 3 and parts[1] == RESULTS_DIR and not is_temp_file(parts[2]):
        return ("state", parts[0])
    return None


def _template(parts: tuple[str, ...]) -> tuple[ChangeKind, str] | None:
    """A change under .templates/: the template folder, or one of its three files."""
    if len(parts) == 1:
        return ("template", "")
    if parts[1].startswith("."):
        return None  # a dot folder in .templates/ is no template either
    if len(parts) == 2 or (len(parts) == 3 and parts[2] in TASK_FILES):
        return ("template", parts[1])
    return None


def task_name_for(tasks_dir: Path, changed: str) -> str | None:
    """The task whose own files changed, or None (the engine's writes never count)."""
    kind = classify(tasks_dir, changed)
    return kind[1] if kind is not None and kind[0] == "task" else None


class _ArmedSignal:
    """The stop event handed to watchfiles, which also tells when the watch is armed.

    The rust watcher asks ``is_set()`` from its thread only once its inotify (or polling) watch
    is in place, so the first call is proof that changes from now on will be seen. That holds
    even on a busy tree, where an "empty timeout" yield might never come.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
        self._loop = loop
        self._ready = ready
        self._announced = False
        self._stop = threading.Event()

    def is_set(self) -> bool:
        if not self._announced:
            self._announced = True
            self._loop.call_soon_threadsafe(self._ready.set)
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()


class TaskWatcher:
    """Runs watchfiles over the tasks dir and calls ``on_change`` with what changed, by kind.

    ``wants`` says which kinds this instance cares about; it is asked on every change, so an
    instance that turns from monitor into scheduler changes what it hears at once.
    """

    def __init__(
        self,
        tasks_dir: Path,
        on_change: Callable[[dict[ChangeKind, set[str]]], Awaitable[None]],
        *,
        wants: Callable[[ChangeKind], bool] = lambda kind: kind == "task",
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        force_polling: bool = False,
        poll_delay_ms: int = 300,
    ) -> None:
        self.tasks_dir = tasks_dir
        self._on_change = on_change
        self._wants = wants
        self._debounce_ms = debounce_ms
        self._force_polling = force_polling
        self._poll_delay_ms = poll_delay_ms
        self._ready = asyncio.Event()
        self._stop: _ArmedSignal | None = None
        self._stopped_early = False
        self._filter = DefaultFilter()

    def _accept(self, change: Change, path: str) -> bool:
        if not self._filter(change, path):
            return False
        kind = classify(self.tasks_dir, path)
        return kind is not None and self._wants(kind[0])

    async def wait_ready(self) -> None:
        """Wait until the watch is armed (changes after this are seen)."""
        await self._ready.wait()

    async def run(self) -> None:
        """Watch until ``stop()``; errors in ``on_change`` propagate to the caller."""
        # step is how long the watcher waits for a burst of changes to settle: 20 ms keeps the
        # reload latency near the debounce while costing ~50 cheap wake-ups a second.
        self._stop = _ArmedSignal(asyncio.get_running_loop(), self._ready)
        if self._stopped_early:
            return
        async for changes in awatch(
            self.tasks_dir,
            watch_filter=self._accept,
            debounce=self._debounce_ms,
            step=20,
            stop_event=self._stop,
            rust_timeout=5000,
            force_polling=self._force_polling,
            poll_delay_ms=self._poll_delay_ms,
            recursive=True,
            ignore_permission_denied=True,
        ):
            grouped: dict[ChangeKind, set[str]] = {}
            for _, path in changes:
                kind = classify(self.tasks_dir, path)
                if kind is not None and self._wants(kind[0]):
                    grouped.setdefault(kind[0], set()).add(kind[1])
            if grouped:
                await self._on_change(grouped)

    def stop(self) -> None:
        """Ask the watch loop to end."""
        if self._stop is not None:
            self._stop.set()
        else:
            self._stopped_early = True
