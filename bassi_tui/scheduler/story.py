"""The scheduling instance's run lines, for monitors: ``<tasks dir>/.bassi-story.log``.

A monitor (the usual instance once a scheduler runs detached) would otherwise show only its own
log lines, and those say nothing of runs: the runs happen in the scheduling instance. So the
scheduler also appends the lines of its story that a monitor cannot tell itself to a small file
in the tasks dir, one JSON object a line, and monitors tail it (:class:`StoryTail`, polled with
the running outputs, see :mod:`.following`) and show each line as a :class:`SchedulerLine`,
marked ``scheduler:``.

Why a file of its own in the tasks dir, rather than the monitor tailing the scheduler's log file:

- the scheduler may have no log file (``--headless`` under systemd logs to stderr, the journal);
- the default log file (``~/.bassi/bassi-tui.log``) is shared by every instance on the machine,
  monitors included, and by every tasks dir: a monitor tailing it would show its own lines again
  and other tasks dirs' lines, and would have to parse free text back into levels and tasks;
- a monitor on another machine (a tasks dir on NFS) sees the tasks dir, not the scheduler's home;
- the lock file would have to name the log file, and a log file rotates under its readers.

Only the lock holder writes it (nothing else writes while an instance schedules), it never holds
more than :data:`STORY_MAX_BYTES` plus one rotated copy (``.bassi-story.log.1``), and it is a
dot file, which the watcher ignores: it never triggers a reload. Lines a monitor says itself,
because it reads the same folders (a task loaded, updated or broken, bassi.yaml, watching), are
left out (:func:`is_run_line`), so a monitor never shows a fact twice; what is left is the story
of runs: started, finished, failed, skipped, queued, requested, cancelled, notified, missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.scheduler.events import EngineEvent, LogLine

__all__ = [
    "SCHEDULER_MARK",
    "STORY_BACKLOG",
    "STORY_FILE",
    "STORY_MAX_BYTES",
    "SchedulerLine",
    "StoryTail",
    "StoryWriter",
    "is_run_line",
]

log = logging.getLogger(__name__)

STORY_FILE = ".bassi-story.log"
#: The story rotates past this size (one older copy is kept): days of a busy scheduler's runs.
STORY_MAX_BYTES = 512 * 1024
#: A monitor starting shows this many of the scheduler's latest lines (what happened lately).
STORY_BACKLOG = 20
#: How a monitor marks the scheduler's lines in its log pane.
SCHEDULER_MARK = "scheduler: "
#: A longer line is not the scheduler's (a forged or broken file): skipped.
LINE_CAP = 16 * 1024
#: A monitor reads at most this much of the story per look (a huge file is caught up in steps).
READ_CAP = 256 * 1024

#: Lines every instance says itself, as it reads the same folders: never written to the story.
_FOLDER_LINES = re.compile(
    r"(Loaded|Updated|Disabled|Removed) task: "
    r"|Loaded .* in [0-9.]+ s$"
    r"|Task .*: (schedule\.yaml|prompt\.txt|config\.yaml|bassi\.yaml)\b"
    r"|bassi\.yaml\b"
    r"|Watching |Polling "
    r"|Wall clock moved "
    r"|Another bassi-tui "
)
_LEVELS = frozenset({"debug", "info", "warning", "error"})


def is_run_line(line: LogLine) -> bool:
    """True for a line only the scheduling instance can say (see the module docstring).

    Decided by the line's shape, as the engine says it: a folder line that slips through (a new
    wording) is shown once more in monitors, marked as the scheduler's, which is harmless.
    """
    return line.level != "debug" and _FOLDER_LINES.match(line.message) is None


@dataclass(frozen=True, slots=True)
class SchedulerLine(LogLine):
    """A line of the scheduling instance's story, as a monitor shows it (``scheduler:`` first).

    A LogLine, so the log pane shows it like any other; the log file leaves it out (the
    scheduler writes its own lines there).
    """


def story_path(tasks_dir: Path) -> Path:
    """Where the scheduling instance of ``tasks_dir`` writes its run lines."""
    return tasks_dir / STORY_FILE


class StoryWriter:
    """The scheduler's side: an engine subscriber appending its run lines, one write a batch.

    Lines said in one pass of the loop (a run's end says two or three) go out in one append
    once the pass is over. The writes are small appends to a local file (as the log file's
    are), done on the loop; an error is logged once and the line dropped: monitors then miss a
    line, the run and its records are not touched.
    """

    def __init__(
        self,
        tasks_dir: Path,
        *,
        writes: Callable[[], bool],
        max_bytes: int = STORY_MAX_BYTES,
    ) -> None:
        self.path = story_path(tasks_dir)
        #: True while this instance schedules (holds the lock): only then is a line written.
        self.writes = writes
        self.max_bytes = max_bytes
        self._pending: list[bytes] = []
        self._failed = False

    def take(self, event: EngineEvent) -> None:
        """The engine subscriber: keep a run line for the next write."""
        if not isinstance(event, LogLine) or isinstance(event, SchedulerLine):
            return
        if not self.writes():
            return
        if not is_run_line(event):
            return
        data = {
            "time": event.time.isoformat(timespec="seconds"),
            "level": event.level,
            "task": event.task,
            "message": event.message,
        }
        self._pending.append(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # said outside the loop (a test, a shutdown): write now
                self.flush()

    def flush(self) -> None:
        """Append the pending lines; rotate once the file is past ``max_bytes``."""
        lines, self._pending = self._pending, []
        if not lines:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, b"".join(lines))
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > self.max_bytes:
                os.replace(self.path, self.path.with_name(STORY_FILE + ".1"))
        except OSError as exc:
            if not self._failed:  # once: a full disk must not fill the log with this
                self._failed = True
                log.warning("cannot write %s for monitors: %s", self.path, exc)
            return
        self._failed = False


def _parse(raw: bytes) -> SchedulerLine | None:
    """One story line as a monitor shows it; None for anything that is not one."""
    if len(raw) > LINE_CAP:
        return None
    try:
        data: Any = json.loads(raw)
        level, message, task = data["level"], data["message"], data.get("task")
        when = datetime.fromisoformat(data["time"])
    except (ValueError, KeyError, TypeError):
        return None
    if level not in _LEVELS or not isinstance(message, str) or when.tzinfo is None:
        return None
    if task is not None and not isinstance(task, str):
        return None
    return SchedulerLine(level, SCHEDULER_MARK + message, task, when)


class StoryTail:
    """A monitor's side: the lines appended to the story since the last look (blocking I/O).

    It keeps the file open and remembers how far it read; a rotation (another file at the path)
    is noticed by its inode, and the rest of the old file is read before the new one. The first
    look takes the last :data:`STORY_BACKLOG` lines only.
    """

    def __init__(self, tasks_dir: Path, *, backlog: int = STORY_BACKLOG) -> None:
        self.path = story_path(tasks_dir)
        self._backlog = backlog
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self._first = True

    def close(self) -> None:
        """Let go of the file."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._inode, self._partial = None, None, b""

    def read(self) -> list[SchedulerLine]:
        """What the scheduler said since the last call (one ``stat`` when it said nothing)."""
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        lines: list[SchedulerLine] = []
        here = (st.st_dev, st.st_ino) if st is not None else None
        if self._fd is not None and here != self._inode:
            lines += self._drain()  # rotated: the old file's last lines first
            self.close()
        if st is None:
            self._first = False
            return lines
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                return lines
            self._inode, self._offset = here, 0
            if self._first:
                # Only the latest lines of what came before this monitor started.
                self._offset = max(0, st.st_size - self._backlog * 512)
        if st.st_size < self._offset:  # cut short by someone: start over
            self._offset, self._partial = 0, b""
        got = self._drain()
        if self._first:
            self._first = False
            got = got[-self._backlog :] if self._backlog else []
        return lines + got

    def _drain(self) -> list[SchedulerLine]:
        assert self._fd is not None
        try:
            data = os.pread(self._fd, READ_CAP, self._offset)
        except OSError:
            return []
        if not data:
            return []
        start_mid_line = self._first and self._offset > 0
        self._offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > LINE_CAP:
            self._partial = b""
        if start_mid_line and complete:
            complete = complete[1:]  # read from inside a line: that line is cut
        return [line for raw in complete if raw and (line := _parse(raw)) is not None]
