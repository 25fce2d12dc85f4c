"""Runs in flight: the overlap policy, the queue, the run events, pruning, and a clean close.

Nothing but :meth:`RunManager.start_run` starts a run, so the overlap rule holds for scheduled
fires, catch-ups, the ``r`` key and requests from other instances alike. Each run reaches the
rest of the app by two events only, :class:`RunStarted` and :class:`RunFinished`, each carrying
the typed record and the task's view as of that moment.

:meth:`RunManager.close` (the engine stopping) refuses every run from then on, cancels the runs
in flight (each records itself as interrupted) and returns only when none is open, so a fire
that slips through as the scheduler shuts down cannot leave a run "running".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bassi_tui.notify.policy import decide
from bassi_tui.scheduler.conditions import unmet
from bassi_tui.scheduler.events import (
    EngineEvent,
    LogLevel,
    RunFinished,
    RunNotified,
    RunStarted,
    TaskChanged,
    TaskView,
)
from bassi_tui.scheduler.limits import RunGate
from bassi_tui.scheduler.lock import task_run_holder
from bassi_tui.scheduler.remote_runs import RemoteRuns
from bassi_tui.scheduler.runs import Outcome, RunContext, execute_run
from bassi_tui.scheduler.telling import previous_status, tell, tell_budget
from bassi_tui.scheduler.triggers import schedule_key
from bassi_tui.store.models import Task, Trigger
from bassi_tui.store.prices import PRICES, PriceTable
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import prune_results
from bassi_tui.store.spend import BudgetHit
from bassi_tui.store.state import update_state

log = logging.getLogger(__name__)

#: Old results are pruned after a run at most this often per task (retention is in days).
PRUNE_EVERY_S = 600.0
SKIP_REASON = "previous run still in progress"


class RunHost(Protocol):
    """What the run manager needs from the engine."""

    def emit(self, event: EngineEvent) -> None: ...
    def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
    def task(self, name: str) -> Task | None: ...
    def next_run(self, name: str) -> datetime | None: ...
    def view(self, name: str) -> TaskView | None: ...
    def clock(self) -> datetime: ...
    def keep_state(self, name: str, state: TaskState) -> None: ...
    def state(self, name: str) -> TaskState: ...
    def upstream_ended(self, name: str, record: RunRecord) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...
    def budget_hit(self, task: Task) -> BudgetHit | None: ...


@dataclass(slots=True)
class _Skips:
    """Overlap skips of one task not yet written, and how many were said in the log."""

    pending: list[tuple[datetime, str]] = field(default_factory=list)
    writing: asyncio.Task[None] | None = None
    streak: int = 0


class RunManager:
    """Starts runs under the task's overlap policy and tracks them until they are recorded."""

    def __init__(self, host: RunHost) -> None:
        self._host = host
        self._running: dict[str, set[asyncio.Task[None]]] = {}
        self._running_since: dict[str, datetime] = {}
        self._queued: dict[str, RunContext] = {}
        self._last_prune: dict[str, float] = {}
        self._skips: dict[str, _Skips] = {}
        #: The context of each run in flight (a person's cancel marks it first).
        self._contexts: dict[asyncio.Task[None], RunContext] = {}
        self._closed = False
        #: bassi.yaml ``max_concurrent`` across every task (no limit until the engine sets one).
        self.gate = RunGate()
        #: bassi.yaml ``prices:`` over the shipped table (the engine sets it when it reads it).
        self.prices: PriceTable = PRICES
        #: bassi.yaml ``workers:``: the runners of ``runs_on`` tasks (the engine configures it).
        self.remote = RemoteRuns()
        self._waiting_since: dict[str, datetime] = {}
        #: Budget periods told about in this process (last_run.json keeps the newest).
        self._budget_told: set[str] = set()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: no run starts any more."""
        return self._closed

    def is_running(self, name: str) -> bool:
        """True while a run of ``name`` is in flight."""
        return bool(self._running.get(name))

    def running_since(self, name: str) -> datetime | None:
        """When the oldest run in flight of ``name`` started."""
        return self._running_since.get(name)

    def open_runs(self) -> int:
        """Runs in flight now."""
        return sum(len(group) for group in self._running.values())

    def run_ids(self, name: str) -> tuple[str, ...]:
        """The ids of the runs of ``name`` in flight that have begun (have a record)."""
        ctxs = (self._contexts.get(run) for run in self._running.get(name, ()))
        return tuple(ctx.run_id for ctx in ctxs if ctx is not None and ctx.run_id is not None)

    def cancel(self, name: str, reason: str, run_ids: Collection[str] | None = None) -> int:
        """Cancel a person's way (``x``) the runs of ``name`` in flight, or those of
        ``run_ids``: each is recorded ``cancelled`` with ``reason`` as its error, and not
        notified. How many were cancelled (a run still opening its files is not one)."""
        count = 0
        for run in self._running.get(name, ()):
            ctx = self._contexts.get(run)
            if ctx is None or ctx.run_id is None or ctx.cancelled_by is not None:
                continue
            if run_ids is None or ctx.run_id in run_ids:
                ctx.cancelled_by = reason
                run.cancel()
                count += 1
        return count

    def start_run(
        self,
        name: str,
        trigger: Trigger,
        *,
        scheduled_for: datetime | None = None,
        request_id: str | None = None,
        upstream: RunRecord | None = None,
        prompt: str | None = None,
    ) -> bool:
        """Start a run subject to the task's overlap policy; True when it started or queued.

        Refused (False) once the manager is closed: the engine is stopping.
        """
        if self._closed:
            return False
        host = self._host
        task = host.task(name)
        if task is None or not task.ok or task.schedule is None:
            host.say("warning", f"Task {name} cannot run: it is missing or broken", name)
            return False
        ctx = RunContext(
            trigger,
            scheduled_for,
            once=task.schedule.type == "once",
            request_id=request_id,
            schedule_key=schedule_key(task.schedule),
            upstream=upstream,
            prompt=prompt,
            prices=self.prices,
            runner=self.remote.runner(label) if (label := task.config.runs_on) else None,
        )
        if (pid := task_run_holder(task.path.parent, name)) is not None:
            # `bassi-tui run` runs it in another process: an overlap whatever the policy says
            # (this instance can neither queue behind nor run beside a run it does not own).
            self._record_skip(task, ctx, f"running in `bassi-tui run` (pid {pid})")
            return False
        if (hit := host.budget_hit(task)) is not None:
            if trigger != "manual":
                self._budget_skip(task, ctx, hit)
                return False
            # A person's run is theirs to decide: it goes, and the log says what it is over.
            host.say("warning", f"Task {name} runs though over its {hit.reason}", name)
        if self._running.get(name):
            policy = task.config.overlap
            if policy == "skip":
                self._record_skip(task, ctx)
                return False
            if policy == "queue":
                self._queued[name] = ctx  # at most one waiting: a newer fire replaces it
                host.say("info", f"Task {name} queued behind its running run", name)
                return True
        if trigger != "manual" and not task.config.when.empty:
            # A person's run is never held back; a fire waits for its conditions (off the loop).
            host.spawn(self._start_if(task, ctx), f"when:{name}")
            return True
        self._begin(task, ctx)
        return True

    def _begin(self, task: Task, ctx: RunContext) -> None:
        name = task.name
        self._running_since.setdefault(name, self._host.clock())
        run = asyncio.get_running_loop().create_task(self._run(task, ctx), name=f"run:{name}")
        self._running.setdefault(name, set()).add(run)
        self._contexts[run] = ctx
        run.add_done_callback(lambda done: self._forget(name, done))

    async def _start_if(self, task: Task, ctx: RunContext) -> None:
        """Start the fire if the task's ``when:`` holds; else record it skipped, with why."""
        reason = await unmet(task, self._host.state(task.name))
        if self._closed:
            return
        if reason is not None:
            self._record_skip(task, ctx, reason, level="info")
        elif self._running.get(task.name) and task.config.overlap != "allow":
            self._record_skip(task, ctx)  # a run began while the condition was looked at
        else:
            self._begin(task, ctx)

    def _forget(self, name: str, run: asyncio.Task[None]) -> None:
        group = self._running.get(name)
        if group is None:
            return
        group.discard(run)
        self._contexts.pop(run, None)
        if not group:
            del self._running[name]
            self._running_since.pop(name, None)

    # -- overlap skips ------------------------------------------------------------------------

    def _record_skip(
        self, task: Task, ctx: RunContext, reason: str = SKIP_REASON, level: LogLevel = "warning"
    ) -> None:
        """Record a fire skipped for overlap: in the history, written off the loop in batches.

        A task firing every second that runs for a minute skips sixty fires: the log says the
        first and then how many, and the history entries are written together in a thread.
        """
        skips = self._skips.setdefault(task.name, _Skips())
        skips.pending.append((self._host.clock(), reason))
        skips.streak += 1
        if skips.streak == 1:
            self._host.say(level, f"Task {task.name} skipped ({ctx.trigger}): {reason}", task.name)
        if skips.writing is None:
            skips.writing = self._host.spawn(self._write_skips(task), f"skips:{task.name}")

    async def _write_skips(self, task: Task) -> None:
        skips = self._skips[task.name]
        try:
            while skips.pending:
                batch, skips.pending = skips.pending, []
                next_run = self._host.next_run(task.name)

                def change(
                    state: TaskState,
                    batch: list[tuple[datetime, str]] = batch,
                    next_run: datetime | None = next_run,
                ) -> TaskState:
                    for when, reason in batch:
                        state = state.with_run(
                            timestamp=when,
                            status="skipped",
                            duration=0.0,
                            result_file=None,
                            error=reason,
                            next_run=next_run,
                        )
                    return state

                try:
                    state = await asyncio.to_thread(update_state, task.path, change)
                except OSError as exc:
                    self._host.say(
                        "error", f"Task {task.name}: cannot record skipped fires: {exc}", task.name
                    )
                    continue
                self._host.keep_state(task.name, state)
        finally:
            skips.writing = None

    def _budget_skip(self, task: Task, ctx: RunContext, hit: BudgetHit) -> None:
        """Record a fire a budget stops, and tell ``on_failure`` once per budget period."""
        self._record_skip(task, ctx, hit.reason)
        told = f"{hit.scope} {hit.period} {hit.key}"
        if self._host.state(task.name).budget_told == told or told in self._budget_told:
            return
        self._budget_told.add(told)  # until it is written: two fires in a row tell once
        self._host.spawn(self._tell_budget(task, hit, told), f"budget:{task.name}")

    async def _tell_budget(self, task: Task, hit: BudgetHit, told: str) -> None:
        host = self._host
        state = await tell_budget(task, hit.reason, hit.lifts, host.state(task.name), say=host.say)
        try:
            state = await asyncio.to_thread(
                update_state, task.path, lambda s: s.replace(budget_told=told)
            )
        except OSError as exc:
            host.say("error", f"Task {task.name}: cannot record a budget notice: {exc}", task.name)
            return
        host.keep_state(task.name, state)
        host.emit(TaskChanged(task.name, "updated", host.view(task.name)))

    def _end_skip_streak(self, name: str) -> None:
        skips = self._skips.get(name)
        if skips is None or skips.streak == 0:
            return
        if skips.streak > 1:
            more = skips.streak - 1
            self._host.say(
                "info",
                f"Task {name}: {more} more fire{'s' if more > 1 else ''} skipped while it ran",
                name,
            )
        skips.streak = 0

    # -- a run --------------------------------------------------------------------------------

    async def _run(self, task: Task, ctx: RunContext) -> None:
        host, name = self._host, task.name
        ctx.next_run = host.next_run(name)
        host.say("info", f"Running task: {name} ({ctx.trigger})", name)

        def on_started(record: RunRecord) -> None:
            ctx.run_id = record.run_id
            host.emit(RunStarted(name, record, host.view(name)))

        await self._take_place(task, ctx)
        try:
            outcome = await execute_run(
                task, ctx, host.emit, clock=host.clock, on_started=on_started
            )
        except asyncio.CancelledError:
            raise  # cancelled before it could begin (execute_run itself never raises it)
        except Exception as exc:  # a bug: said in the log, never an unretrieved task error
            log.exception("internal error in a run of %s", name)
            host.say("error", f"Task {name}: internal error in its run: {exc}", name)
            return
        finally:
            self.gate.leave()
        current = asyncio.current_task()
        if current is not None:
            self._forget(name, current)  # the view below shows the task no longer running
        host.keep_state(name, outcome.state)
        record = outcome.record
        if record.status == "success":
            host.say("info", f"Task {name} finished in {record.duration or 0.0:.1f} s", name)
        elif record.status == "cancelled":
            host.say("warning", f"Task {name} {record.error}", name)  # "cancelled by ..."
        else:
            host.say("error", f"Task {name} {record.status}: {record.error}", name)
        if outcome.problem is not None:
            host.say(
                "error", f"Task {name}: the run is not fully recorded: {outcome.problem}", name
            )
        if not self.is_running(name):
            self._end_skip_streak(name)
        host.emit(RunFinished(name, record, host.view(name), outcome.problem))
        if not (outcome.cancelled or self._closed):
            host.upstream_ended(name, record)  # the tasks that run after this one
        if outcome.cancelled or self._closed:
            if decide(task.config.notify, record.status, previous_status(outcome.state), None):
                host.say("warning", f"Task {name}: not notified (bassi-tui is stopping)", name)
        else:
            host.spawn(self._tell(task, outcome), f"notify:{name}")
        if outcome.cancelled:
            raise asyncio.CancelledError
        self._after_run(task)

    async def _tell(self, task: Task, outcome: Outcome) -> None:
        """Send the run's notification, if one is due (see :mod:`.telling`), then show it."""
        host = self._host
        told = await tell(
            task, outcome.record, outcome.state, say=host.say, diff_head=outcome.diff_head
        )
        if told is None:
            return
        if told.state is not None:
            host.keep_state(task.name, told.state)
        host.emit(RunNotified(task.name, told.record, host.view(task.name), told.reason))

    async def _take_place(self, task: Task, ctx: RunContext) -> None:
        """Wait for a place under bassi.yaml ``max_concurrent`` (see :mod:`.limits`); the card
        says "waiting" meanwhile and the run's record how long. A cancellation while waiting
        ends the fire unrun, as a fire refused by a stopping engine is."""
        gate, host, name = self.gate, self._host, task.name
        if gate.has_room():
            await gate.enter(task.config.priority, ctx.scheduled_for or host.clock())
            return
        began = time.monotonic()
        self._waiting_since[name] = host.clock()
        host.emit(TaskChanged(name, "updated", host.view(name)))
        host.say("info", f"Task {name} waits: {gate.limit} runs at once (max_concurrent)", name)
        try:
            await gate.enter(task.config.priority, ctx.scheduled_for or host.clock())
        finally:
            self._waiting_since.pop(name, None)
        ctx.waited = round(time.monotonic() - began, 3)

    def waiting_since(self, name: str) -> datetime | None:
        """Since when a run of ``name`` waits for a place under ``max_concurrent``, or None."""
        return self._waiting_since.get(name)

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
                    now=self._host.clock(),
                ),
                f"prune:{task.name}",
            )

    # -- closing ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Refuse new runs, cancel the runs in flight and wait until every one is recorded."""
        self._closed = True
        self._queued.clear()
        # A run created moments ago has not begun: cancelled now, it would end without a record
        # of the run it was asked to make. One pass of the loop lets each begin (tasks start in
        # the order they were made); none can be made from here on.
        await asyncio.sleep(0)
        while self._running:
            runs = [run for group in self._running.values() for run in group]
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            for run in runs:  # done callbacks run soon, not now: forget them here
                for name in [n for n, group in self._running.items() if run in group]:
                    self._forget(name, run)
        writing = [s.writing for s in self._skips.values() if s.writing is not None]
        await asyncio.gather(*writing, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Wait until no run is in flight or queued (for tests and clean shutdowns)."""
        while self._running or self._queued:
            runs = [t for group in self._running.values() for t in group]
            await asyncio.gather(*runs, return_exceptions=True)
            await asyncio.sleep(0)
