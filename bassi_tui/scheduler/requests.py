"""Run requests: how a monitor (or ``bassi-tui run``) asks the scheduling instance to run a task.

A request is a small JSON file in ``<tasks dir>/.requests/``, written atomically; the scheduler
watches that folder, starts the run (tagging its metadata with the request id so the asker can
follow it) and deletes the file. Requests older than ``STALE_AFTER_S`` are dropped unrun: nobody
is waiting for them any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bassi_tui.scheduler.events import LogLevel, Role
from bassi_tui.store.atomic import atomic_write_json, is_temp_file
from bassi_tui.store.models import Trigger

REQUESTS_DIR = ".requests"
STALE_AFTER_S = 120.0
REQUEST_SIZE_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class RunRequestFile:
    """One pending request."""

    id: str
    task: str
    created: datetime
    path: Path


def ensure_requests_dir(tasks_dir: Path) -> None:
    """Create ``.requests/`` ahead of any request (the scheduling instance, at start).

    A request written into a folder created by the same write can be missed by the watcher
    (inotify learns of the folder after the file is in it); a folder that already exists when
    the watcher is armed is watched from the start.
    """
    with contextlib.suppress(OSError):
        (tasks_dir / REQUESTS_DIR).mkdir(exist_ok=True)


def pending_requests(tasks_dir: Path) -> bool:
    """True when ``.requests/`` holds a request file (a cheap look, for the scheduler's poll)."""
    try:
        return any(
            n.endswith(".json") and not is_temp_file(n)
            for n in os.listdir(tasks_dir / REQUESTS_DIR)
        )
    except OSError:
        return False


def withdraw_request(tasks_dir: Path, request_id: str) -> bool:
    """Take back a request nobody has taken yet; False when the scheduler already took it."""
    folder = tasks_dir / REQUESTS_DIR
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        if name.endswith(f"-{request_id}.json"):
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                return False
            return True
    return False


def write_request(tasks_dir: Path, task: str) -> str:
    """Ask the scheduling instance to run ``task`` now; returns the request id."""
    folder = tasks_dir / REQUESTS_DIR
    folder.mkdir(exist_ok=True)
    request_id = secrets.token_hex(8)
    now = datetime.now().astimezone()
    atomic_write_json(
        folder / f"{now:%Y%m%d-%H%M%S}-{request_id}.json",
        {
            "id": request_id,
            "task": task,
            "action": "run",
            "pid": os.getpid(),
            "created": now.isoformat(),
        },
    )
    return request_id


def take_requests(tasks_dir: Path, now: datetime) -> list[RunRequestFile]:
    """Read and delete every pending request, oldest first; stale or unreadable ones are dropped."""
    folder = tasks_dir / REQUESTS_DIR
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    taken: list[RunRequestFile] = []
    for name in names:
        path = folder / name
        if is_temp_file(name) or not name.endswith(".json"):
            continue
        try:
            if path.stat().st_size > REQUEST_SIZE_CAP:
                raise ValueError("too large")
            data = json.loads(path.read_text(encoding="utf-8"))
            created = datetime.fromisoformat(data["created"])
            request = RunRequestFile(str(data["id"]), str(data["task"]), created, path)
        except (OSError, ValueError, KeyError, TypeError):
            request = None
        with contextlib.suppress(OSError):
            path.unlink()
        if request is not None and (now - request.created).total_seconds() <= STALE_AFTER_S:
            taken.append(request)
    return taken


#: How often the scheduler looks for run requests the watcher may have missed.
REQUEST_POLL_S = 1.0


class DeskHost(Protocol):
    """What the request desk needs from the engine."""

    tasks_dir: Path
    role: Role

    @property
    def stopping(self) -> bool: ...
    def clock(self) -> datetime: ...
    def knows(self, name: str) -> bool: ...
    def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...
    def start_run(self, name: str, trigger: Trigger, *, request_id: str | None = None) -> bool: ...


class RequestDesk:
    """The scheduling instance's side of run requests: take each once, and miss none.

    The watcher is the fast path (:meth:`take`, on a change in ``.requests/``); a poll every
    :data:`REQUEST_POLL_S` catches what it can miss (a request in a folder it has not seen yet,
    a process that was stopped by SIGSTOP or Ctrl-Z meanwhile). One lock keeps the two from
    taking the same request twice.
    """

    def __init__(self, host: DeskHost) -> None:
        self._host = host
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """As the new scheduler: make ``.requests/``, take what waits, and start polling."""
        await asyncio.to_thread(ensure_requests_dir, self._host.tasks_dir)
        await self.take()
        self._host.spawn(self._poll(), "request-poll")

    async def _poll(self) -> None:
        host = self._host
        while host.role == "scheduler" and not host.stopping:
            await asyncio.sleep(REQUEST_POLL_S)
            if pending_requests(host.tasks_dir):
                await self.take()

    async def take(self) -> None:
        """Start the runs other instances asked for (``r`` in a monitor, ``bassi-tui run``)."""
        host = self._host
        async with self._lock:
            if host.stopping:
                return  # the requests stay for the next scheduling instance
            for request in await asyncio.to_thread(take_requests, host.tasks_dir, host.clock()):
                if not host.knows(request.task):
                    host.say("warning", f"Run request for unknown task {request.task!r} ignored")
                    continue
                host.say(
                    "info", f"Run of {request.task} requested by another instance", request.task
                )
                host.start_run(request.task, "manual", request_id=request.id)
