"""Run requests: how a monitor (or ``bassi-tui run``) asks the scheduling instance to run a task.

A request is a small JSON file in ``<tasks dir>/.requests/``, written atomically; the scheduler
watches that folder, starts the run (tagging its metadata with the request id so the asker can
follow it) and deletes the file. Requests older than ``STALE_AFTER_S`` are dropped unrun: nobody
is waiting for them any more.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bassi_tui.store.atomic import atomic_write_json, is_temp_file

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
