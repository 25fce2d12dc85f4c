"""Runs in flight: the overlap policy, the queue, bookkeeping after each run, pruning.

Nothing but :meth:`RunManager.start_run` starts a run, so the overlap rule holds for scheduled
fires, catch-ups, the ``r`` key and requests from other instances alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from bassi_tui.scheduler.events import EngineEvent, LogLevel, RunFinished
from bassi_tui.scheduler.runs import RunContext, execute_run
from bassi_tui.store.models import Task, Trigger
from bassi_tui.store.results import prune_results
from bassi_tui.store.state import apply_run, local_now

#: Old results are pruned after a run at most this often per task (retention is in days).
PRUNE_EVERY_S = 600.0


class RunHost(Protocol):
    """What the run manager needs from the engine."""

    def emit(self, event: EngineEvent) -> None: ...
    def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
    def task(self, name: str) -> Task | None: ...
    def next_run(self, name: str) -> datetime | None: ...
    def write_state(
        self, task: Task, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None: ...
    def run_changed(self, name: str, *, reread_state: bool) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...


class RunManager:
    """Starts runs under the task's overlap policy and tracks them until they are recorded."""

    def __init__(self, host: RunHost) -> None:
        self._host = host
        self._running: dict[str, set[asyncio.Task[RunFinished]]] = {}
        self._running_since: dict[str, datetime] = {}
        self._queued: dict[str, RunContext] = {}
        self._last_prune: dict[str, float] = {}

    def is_running(self, name: str) -> bool:
        """True while a run of ``name`` is in flight."""
        return bool(self._running.get(name))

    def running_since(self, name: str) -> datetime | None:
        """When the oldest run in flight of ``name`` started."""
        return self._running_since.get(name)

    def start_run(
        self,
        name: str,
        trigger: Trigger,
        *,
        scheduled_for: datetime | None = None,
        request_id: str | None = None,
    ) -> bool:
        """Start a run subject to the task's overlap policy; True when it started or queued."""
        host = self._host
        task = host.task(name)
        if task is None or not task.ok or task.schedule is None:
            host.say("warning", f"Task {name} cannot run: it is missing or broken", name)
            return False
        once = task.schedule.type == "once"
        ctx = RunContext(trigger, scheduled_for, once=once, request_id=request_id)
        if self._running.get(name):
            policy = task.config.overlap
            if policy == "skip":
                self._record_skip(task, ctx)
                return False
            if policy == "queue":
                self._queued[name] = ctx  # at most one waiting: a newer fire replaces it
                host.say("info", f"Task {name} queued behind its running run", name)
                return True
        run = asyncio.get_running_loop().create_task(self._run(task, ctx), name=f"run:{name}")
        self._running.setdefault(name, set()).add(run)
        return True

    def _record_skip(self, task: Task, ctx: RunContext) -> None:
        self._host.say(
            "warning", f"Task {task.name} skipped ({ctx.trigger}): still running", task.name
        )
        now, next_run = local_now(), self._host.next_run(task.name)
        self._host.write_state(
            task,
            lambda state: apply_run(
                state,
                timestamp=now,
                status="skipped",
                duration=0.0,
                result_file=None,
                error="previous run still in progress",
                next_run=next_run,
            ),
        )

    async def _run(self, task: Task, ctx: RunContext) -> RunFinished:
        host, name = self._host, task.name
        self._running_since.setdefault(name, local_now())
        ctx.next_run = host.next_run(name)
        host.say("info", f"Running task: {name} ({ctx.trigger})", name)
        host.run_changed(name, reread_state=False)
        try:
            finished = await execute_run(task, ctx, host.emit)
        finally:
            group = self._running.get(name, set())
            for done in [t for t in group if t is asyncio.current_task()]:
                group.discard(done)
            if not group:
                self._running.pop(name, None)
                self._running_since.pop(name, None)
        if finished.status == "success":
            host.say("info", f"Task {name} finished in {finished.duration:.1f} s", name)
        else:
            host.say("error", f"Task {name} {finished.status}: {finished.error}", name)
        host.run_changed(name, reread_state=True)
        self._after_run(task)
        return finished

    def _after_run(self, task: Task) -> None:
        queued = self._queued.pop(task.name, None)
        if queued is not None and self._host.task(task.name) is not None:
            self.start_run(
                task.name,
                queued.trigger,
                scheduled_for=queued.scheduled_for,
                request_id=queued.request_id,
            )
        output = task.config.output
        now = time.monotonic()
        last = self._last_prune.get(task.name)
        if output.auto_cleanup and (last is None or now - last >= PRUNE_EVERY_S):
            self._last_prune[task.name] = now
            # prune_results never touches a run whose metadata still says "running".
            self._host.spawn(
                asyncio.to_thread(
                    prune_results,
                    task.results_dir,
                    keep_days=output.keep_history,
                    now=local_now(),
                ),
                f"prune:{task.name}",
            )

    def cancel_all(self) -> list[asyncio.Task[RunFinished]]:
        """Cancel every run in flight (each records itself as interrupted); return them."""
        self._queued.clear()
        runs = [t for group in self._running.values() for t in group]
        for run in runs:
            run.cancel()
        return runs

    async def wait_idle(self) -> None:
        """Wait until no run is in flight or queued (for tests and clean shutdowns)."""
        while self._running or self._queued:
            runs = [t for group in self._running.values() for t in group]
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.gather(*runs, return_exceptions=True)
            await asyncio.sleep(0)
