"""The instance lock: of all bassi-tui processes on one tasks dir, exactly one schedules.

An OS-level ``flock`` on ``<tasks dir>/.bassi.lock``: the kernel releases it when the holder
dies, even by kill -9, so a waiting monitor can take over. The file also says who holds it
(pid, host, since) for the others to show.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

LOCK_FILE = ".bassi.lock"


def _take(path: Path, content: bytes, *, tries: int = 1) -> int | None:
    """An fd holding an exclusive flock on ``path``, ``content`` written in it; None when
    another process holds the lock (after ``tries`` tries, 10 ms apart).

    The content is rewritten in place, not atomically replaced: the lock lives on this inode.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if attempt == tries - 1:
                os.close(fd)
                return None
            time.sleep(0.01)
    os.ftruncate(fd, 0)
    os.pwrite(fd, content, 0)
    return fd


def _give_up(fd: int | None) -> None:
    """Release a lock from :func:`_take` (closing the file releases the flock)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


class InstanceLock:
    """A non-blocking exclusive lock on a tasks dir."""

    def __init__(self, tasks_dir: Path) -> None:
        self.path = tasks_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self._fd is not None:
            return True
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        self._fd = _take(self.path, json.dumps(info).encode())
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (closing the file releases the flock)."""
        _give_up(self._fd)
        self._fd = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, as the holder wrote it; None when unknown."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


RUNS_DIR = ".runs"
#: Tries to take a TaskRunLock, 10 ms apart, before another process is taken to hold it.
TRIES = 5


class TaskRunLock:
    """One task run by ``bassi-tui run`` with no scheduling instance: a flock of its own.

    ``bassi-tui run`` does not take the instance lock (an app or ``--headless`` started
    meanwhile must still schedule everything, and two ``run`` of different tasks must not take
    each other for the scheduler). It holds this lock on ``<tasks dir>/.runs/<digest>.lock`` for
    the length of its run instead; a scheduler about to start a run of the same task looks at it
    (:func:`task_run_holder`) and skips that fire as an overlap. The file name is a digest of
    the task's name, which can be longer than a file name may be.
    """

    def __init__(self, tasks_dir: Path, task: str) -> None:
        self.path = _run_lock_path(tasks_dir, task)
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process runs the task; True when this process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(exist_ok=True)
        # A scheduler's look (task_run_holder) holds it shared for microseconds: try again.
        self._fd = _take(self.path, str(os.getpid()).encode(), tries=TRIES)
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up."""
        _give_up(self._fd)
        self._fd = None


def _run_lock_path(tasks_dir: Path, task: str) -> Path:
    digest = hashlib.sha256(task.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return tasks_dir / RUNS_DIR / f"{digest}.lock"


def task_run_holder(tasks_dir: Path, task: str) -> int | None:
    """The pid of another process running ``task`` under a TaskRunLock, or None.

    A try-lock released at once (about 20 us): cheap enough to ask at every fire.
    """
    path = _run_lock_path(tasks_dir, task)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # never locked, or no .runs/ at all
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
