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
