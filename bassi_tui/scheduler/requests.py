"""Requests: how a monitor (or ``bassi-tui run``) asks the scheduling instance to run a task, or
to cancel its run in flight.

A request is a small JSON file in ``<tasks dir>/.requests/``, written atomically; the scheduler
watches that folder, acts on it and deletes the file. A run request (``action: run``) starts the
run, tagging its metadata with the request id so the asker can follow it. A cancel request
(``action: cancel``, ``x`` in a monitor) names the run the asker saw (``run_id``): a run that
ended meanwhile is never confused with the next one; that run is recorded ``cancelled``.
Requests older than ``STALE_AFTER_S`` are dropped: nobody is waiting for them any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import Collection, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from bassi_tui.scheduler.events import LogLevel, Role
from bassi_tui.store.atomic import atomic_write_json, is_temp_file
from bassi_tui.store.models import Trigger

REQUESTS_DIR = ".requests"
#: A person's cancel, as the run's record says it (``x``).
CANCELLED_BY = "cancelled by a person"
STALE_AFTER_S = 120.0
REQUEST_SIZE_CAP = 64 * 1024

Action = Literal["run", "cancel"]


@dataclass(frozen=True, slots=True)
class RunRequestFile:
    """One pending request."""

    id: str
    task: str
    created: datetime
    path: Path
    action: Action = "run"
    #: The run to cancel (cancel requests).
    run_id: str | None = None
    #: Who asked: "pid 123 on host".
    asker: str = "another instance"


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


def write_request(
    tasks_dir: Path, task: str, *, action: Action = "run", run_id: str | None = None
) -> str:
    """Ask the scheduling instance to run ``task`` now (or, ``action="cancel"``, to cancel its
    run ``run_id``); returns the request id."""
    folder = tasks_dir / REQUESTS_DIR
    folder.mkdir(exist_ok=True)
    request_id = secrets.token_hex(8)
    now = datetime.now().astimezone()
    data: dict[str, Any] = {
        "id": request_id,
        "task": task,
        "action": action,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created": now.isoformat(),
    }
    if run_id is not None:
        data["run_id"] = run_id
    atomic_write_json(folder / f"{now:%Y%m%d-%H%M%S}-{request_id}.json", data)
    return request_id


def write_cancel_request(tasks_dir: Path, task: str, run_id: str) -> str:
    """Ask the scheduling instance to cancel run ``run_id`` of ``task``; the request id."""
    return write_request(tasks_dir, task, action="cancel", run_id=run_id)


def _parse(data: Any, path: Path) -> RunRequestFile | None:
    """A request file's content as a request; None when it is not one."""
    if not isinstance(data, dict):
        return None
    action = data.get("action", "run")
    run_id = data.get("run_id")
    if action not in ("run", "cancel") or (action == "cancel" and not isinstance(run_id, str)):
        return None
    created = datetime.fromisoformat(data["created"])
    if created.tzinfo is None:
        return None
    pid, host = data.get("pid"), data.get("host")
    asker = f"pid {pid}" + (f" on {host[:64]}" if isinstance(host, str) else "")
    return RunRequestFile(
        str(data["id"]),
        str(data["task"]),
        created,
        path,
        action,
        run_id if isinstance(run_id, str) else None,
        asker if isinstance(pid, int) else "another instance",
    )


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
            request = _parse(json.loads(path.read_text(encoding="utf-8")), path)
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
    def cancel_run(
        self, name: str, run_ids: Collection[str] | None = None, *, by: str | None = None
    ) -> bool: ...


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
                    what = "Run" if request.action == "run" else "Cancel"
                    host.say("warning", f"{what} request for unknown task {request.task!r} ignored")
                    continue
                if request.action == "cancel":
                    self._cancel(request)
                    continue
                host.say(
                    "info", f"Run of {request.task} requested by another instance", request.task
                )
                host.start_run(request.task, "manual", request_id=request.id)

    def _cancel(self, request: RunRequestFile) -> None:
        """Cancel the run a monitor's ``x`` named, if it is still in flight."""
        host, name = self._host, request.task
        assert request.run_id is not None
        host.say("info", f"Cancel of the run of {name} asked by {request.asker}", name)
        if not host.cancel_run(name, (request.run_id,), by=f"{CANCELLED_BY} ({request.asker})"):
            host.say("info", f"Task {name}: the run to cancel is not in flight any more", name)
