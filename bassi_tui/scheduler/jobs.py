"""The APScheduler side of the engine: one job per scheduled task, and the slot each fire is for.

:class:`Jobs` wraps APScheduler 3's ``AsyncIOScheduler`` in the caller's event loop. A fire
calls back ``on_fire(name, slot)`` with the slot the trigger computed (not the moment the job
ran, which can be late): the run records which fire it was, and the next start can tell which
fires it missed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

__all__ = ["JOB_DEFAULTS", "Jobs"]

#: A fire is never dropped for being late (a busy loop, a suspended laptop); late fires of one
#: job coalesce into one run.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}

OnFire = Callable[[str, datetime], Awaitable[None]]


class Jobs:
    """The scheduled jobs of one engine; see the module docstring."""

    def __init__(self, on_fire: OnFire) -> None:
        self._on_fire = on_fire
        self._slots: dict[str, datetime] = {}
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Make the scheduler, paused: adding thousands of jobs to a running one wakes it up
        on every add. :meth:`resume` lets it fire."""
        self._scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._scheduler.start(paused=True)

    def resume(self) -> None:
        """Start firing."""
        if self._scheduler is not None:
            self._scheduler.resume()

    def shutdown(self) -> None:
        """Stop firing (APScheduler's shutdown is queued on the loop: see Engine.stop)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def wakeup(self) -> None:
        """Look at the jobs again now (after the wall clock jumped)."""
        if self._scheduler is not None:
            self._scheduler.wakeup()

    def add(self, name: str, trigger: BaseTrigger) -> None:
        """Schedule ``name`` on ``trigger`` (replacing its job, if any)."""
        assert self._scheduler is not None, "start() first"
        self.remove(name)
        self._scheduler.add_job(_fire_job, trigger, args=[self, name], id=name, name=name)

    def remove(self, name: str) -> None:
        """Unschedule ``name`` (nothing happens when it has no job)."""
        if self._scheduler is not None and self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def next(self, name: str) -> datetime | None:
        """When ``name`` fires next (jitter included), or None when it has no job."""
        job = self._scheduler.get_job(name) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        # Runs before the job's coroutine starts, so the fire knows which slot it is for.
        if event.scheduled_run_times:
            self._slots[event.job_id] = event.scheduled_run_times[-1]

    async def fire(self, name: str) -> None:
        """A job fired: hand its slot on."""
        slot = self._slots.pop(name, None) or datetime.now(UTC)
        await self._on_fire(name, slot)


async def _fire_job(jobs: Jobs, name: str) -> None:
    """The job function of every task: a plain function, so APScheduler's checks stay cheap."""
    await jobs.fire(name)


# APScheduler checks every new job's function against its arguments with inspect.signature,
# which costs more than the rest of add_job; computed once here, a start over 10,000 tasks
# skips recomputing it 10,000 times (inspect.signature returns a function's __signature__).
_fire_job.__signature__ = inspect.signature(_fire_job)  # type: ignore[attr-defined]
