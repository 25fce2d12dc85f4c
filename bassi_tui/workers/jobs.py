"""The job a worker runs: one attempt of a run, with a local runner, in the work-horse.

RQ forks a work-horse per job and calls :func:`run_job` there with the payload
(:mod:`~bassi_tui.workers.payload`). It rebuilds the RunRequest (the task's folder is one of
the worker's own, under ``$BASSI_WORKER_DIR``, default ``~/.bassi/worker``, so an agent's
workdir persists from run to run on that worker), runs the named executor
(:func:`~bassi_tui.executor.runners.get_runner`) in a fresh event loop, streams its text
(:class:`~bassi_tui.workers.outflow.OutputStream`) and returns the outcome as plain data; the
stream's last entry carries the same outcome.

Hand-written beside RQ, while the attempt runs, one task of the work-horse:

- beats: sets ``bassi:beat:<job>`` to expire ``lost_after`` seconds later, every quarter of that.
  RQ's worker heartbeat is no use for this: it keeps a dead worker's key for 60 s and more, and
  its timestamps are in the worker's clock; a key that Redis expires needs neither.
- stops: blocks on ``bassi:stop:<job>`` between beats. An item there (a timeout or a person's
  cancel on the scheduler, the worker shutting down) cancels the runner, which stops what it
  started as it does locally (the command executor's process group gets SIGTERM, then SIGKILL).
  RQ's ``send_stop_job_command`` kills the work-horse at once, and with it any chance of that;
  the scheduler keeps it as a backstop (then :mod:`~bassi_tui.workers.reaper` kills what the
  horse left).
- gives up: when no beat has reached Redis for ``lost_after`` seconds, the scheduler has
  recorded the run lost, so the attempt is stopped here too, not finished in the dark.

Errors are returned as data, never raised: RQ would store a traceback in Redis, and this
function decides what leaves the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import RedisError

from bassi_tui.executor.base import ExecutorError
from bassi_tui.executor.runners import get_runner
from bassi_tui.workers.keys import DEFAULT_LOST_AFTER, beat_key, stop_key, stream_key
from bassi_tui.workers.link import async_client
from bassi_tui.workers.outflow import OutputStream
from bassi_tui.workers.payload import error_data, request_from_payload, result_data

__all__ = ["WorkerSettings", "configure", "run_job", "task_folder"]

log = logging.getLogger(__name__)

#: The worker's own folder for task folders, when $BASSI_WORKER_DIR does not name one.
DEFAULT_WORKER_DIR = Path("~/.bassi/worker")
#: Beats are never further apart than this, whatever ``lost_after`` is.
MAX_BEAT_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the job needs to know about the worker that runs it."""

    url: str
    name: str
    host: str
    root: Path

    @property
    def label(self) -> str:
        """``name@host``, as results and messages name a worker."""
        return f"{self.name}@{self.host}"


_settings: WorkerSettings | None = None


def configure(settings: WorkerSettings) -> None:
    """Set by ``bassi-tui worker`` before it starts: the work-horses it forks inherit it."""
    global _settings
    _settings = settings


def _current_settings() -> WorkerSettings:
    if _settings is not None:
        return _settings
    # A plain `rq worker` on the queue: take what the environment says.
    url = os.environ.get("BASSI_WORKERS_URL", "redis://127.0.0.1:6379/0")
    root = Path(os.environ.get("BASSI_WORKER_DIR") or DEFAULT_WORKER_DIR).expanduser()
    name = os.environ.get("RQ_WORKER_ID", f"pid{os.getpid()}")
    return WorkerSettings(url, name, socket.gethostname(), root)


def task_folder(root: Path, task_name: str) -> Path:
    """The worker's folder for a task: its name made safe for any filesystem, plus a digest
    of it (two names that make the same safe name must not share a folder)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", task_name)[:64] or "task"
    digest = hashlib.sha256(task_name.encode("utf-8")).hexdigest()[:8]
    return root / f"{safe}-{digest}"


def run_job(payload: dict[str, Any]) -> dict[str, Any]:
    """RQ's entry point: run the attempt ``payload`` describes; its outcome as plain data."""
    from rq import get_current_job

    job = get_current_job()
    settings = _current_settings()
    job_id = job.id if job is not None else str(payload.get("job_id"))
    return asyncio.run(_attempt(payload, job_id, settings))


def _outcome(status: str, settings: WorkerSettings, began: float, **more: Any) -> dict[str, Any]:
    return {"v": 1, "status": status, "worker": settings.label, "began": began, **more}


async def _attempt(
    payload: dict[str, Any], job_id: str, settings: WorkerSettings
) -> dict[str, Any]:
    began = time.time()
    client = async_client(settings.url)  # no read timeout: see async_client
    try:
        out = OutputStream(client, stream_key(job_id))
        lost_after = float(payload.get("lost_after") or DEFAULT_LOST_AFTER)
        stopped: list[str] = []
        try:
            folder = task_folder(settings.root, str(payload.get("task_name")))
            request = request_from_payload(payload, folder)
            folder.mkdir(parents=True, exist_ok=True)
            runner = get_runner(request.config.executor)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            outcome = _outcome("error", settings, began, error=_bad_payload(exc, settings))
        else:
            await out.begin(settings.label)
            work = asyncio.ensure_future(runner.run(request, out.write))
            watch = asyncio.ensure_future(
                _watch(client, job_id, lost_after, settings.label, work, stopped)
            )
            outcome = await _settle(work, settings, began, stopped)
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch
        await out.finish(outcome)
        with contextlib.suppress(RedisError):
            await client.delete(beat_key(job_id))
        return outcome
    finally:
        await client.aclose()


def _bad_payload(exc: BaseException, settings: WorkerSettings) -> dict[str, Any]:
    message = f"worker {settings.label} cannot run this attempt: {exc}"
    return error_data(ExecutorError(message, transient=False))


async def _settle(
    work: asyncio.Future[Any], settings: WorkerSettings, began: float, stopped: list[str]
) -> dict[str, Any]:
    """Await the runner; how it ended, as the outcome to send back."""
    try:
        result = await work
    except asyncio.CancelledError:
        reason = stopped[0] if stopped else "stopped"
        return _outcome("stopped", settings, began, reason=reason)
    except ExecutorError as exc:
        return _outcome("error", settings, began, error=error_data(exc))
    except Exception as exc:  # a bug on the worker: a failed attempt, not a dead work-horse
        log.exception("internal error in a bassi-tui job")
        error = ExecutorError(
            f"internal error on worker {settings.label}: {type(exc).__name__}: {exc}",
            transient=False,
        )
        return _outcome("error", settings, began, error=error_data(error))
    result.worker = settings.label
    return _outcome("ok", settings, began, result=result_data(result))


async def _watch(
    client: aredis.Redis,
    job_id: str,
    lost_after: float,
    who: str,
    work: asyncio.Future[Any],
    stopped: list[str],
) -> None:
    """Beat, and wait for a stop request between beats (the module docstring)."""
    every = min(MAX_BEAT_EVERY, max(0.1, lost_after / 4))
    card = json.dumps({"worker": who, "pid": os.getpid()})
    last_beat = time.monotonic()
    while not work.done():
        try:
            await client.set(beat_key(job_id), card, px=max(1, round(lost_after * 1000)))
            last_beat = time.monotonic()
            item = await client.blpop([stop_key(job_id)], timeout=every)  # type: ignore[misc]
        except RedisError:
            if time.monotonic() - last_beat > lost_after:
                stopped.append(f"worker {who} lost Redis for {lost_after:g} s")
                work.cancel()
                return
            await asyncio.sleep(every)
            continue
        if item is not None:
            why = item[1]
            stopped.append(why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why))
            work.cancel()
            return
