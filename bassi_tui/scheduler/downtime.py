"""The engine's last_run.json side: next-run promises, missed fires, and every state write.

Each scheduling instance keeps ``next_run`` true in every task's last_run.json, so a later start
can count the fires missed meanwhile (:mod:`bassi_tui.scheduler.missed`). At a start over many
tasks those writes go in bulk, off the loop (:func:`~bassi_tui.store.state.write_states`).
:class:`Promises` does this for the engine, through the narrow :class:`PromiseHost`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bassi_tui.scheduler.events import EngineEvent, LogLevel, Role, TaskChanged, TaskView
from bassi_tui.scheduler.missed import CatchUp, plan_catch_up
from bassi_tui.scheduler.triggers import schedule_key
from bassi_tui.store.models import Task
from bassi_tui.store.records import TaskState
from bassi_tui.store.state import StateWrite, read_state, update_state, write_states

__all__ = ["PromiseHost", "Promises"]

StateChange = Callable[[TaskState], TaskState]


class PromiseHost(Protocol):
    """What the promises need from the engine."""

    role: Role

    def names(self) -> list[str]: ...
    def task(self, name: str) -> Task | None: ...
    def state(self, name: str) -> TaskState: ...
    def keep_state(self, name: str, state: TaskState) -> None: ...
    def job_next(self, name: str) -> datetime | None: ...
    def clock(self) -> datetime: ...
    def view(self, name: str) -> TaskView | None: ...
    def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
    def emit(self, event: EngineEvent) -> None: ...
    def run_catch_up(self, name: str, slot: datetime) -> None: ...
    def tell_missed(self, name: str, what: str, count: int) -> None: ...
    def report_crash(self, task: asyncio.Task[None]) -> None: ...


class Promises:
    """Writes of last_run.json for the engine: see the module docstring."""

    def __init__(self, host: PromiseHost) -> None:
        self._host = host
        #: The bulk next_run writes after a start; stop() lets them finish (a promise must land).
        self._promising: set[asyncio.Task[None]] = set()

    async def settle_downtime(self) -> None:
        """As the new scheduler: record (and per policy run) fires missed while none ran.

        Then promise every task's next run in last_run.json, so a later start can tell what it
        missed. Both are written in bulk off the loop: a first start over 10,000 tasks writes
        10,000 files, which took ten seconds of fsyncs when done one by one on the loop.
        """
        host = self._host
        now = host.clock()
        plans: list[tuple[Task, CatchUp]] = []
        records: list[StateWrite] = []  # the plans' states, each written over what it read
        promises: list[StateWrite] = []
        for name in host.names():
            task, state = host.task(name), host.state(name)
            if task is None:
                continue
            plan = plan_catch_up(task, state, now=now, next_run=host.job_next(name))
            if plan is not None:
                plans.append((task, plan))
                records.append(StateWrite(task.path, state, plan.state))
            elif (promise := self.promise(name)) is not None:
                promises.append(StateWrite(task.path, state, promise(state)))
        if plans:
            written = await asyncio.to_thread(write_states, records)
            for (task, plan), got in zip(plans, written, strict=True):
                if got is None:  # its file changed meanwhile: plan again from the file
                    fresh = await asyncio.to_thread(read_state, task.path)
                    host.keep_state(task.name, fresh.state)
                    self.catch_up(task.name)
                else:
                    host.keep_state(task.name, got)
                    self._caught_up(task.name, plan)
        if promises:
            loop = asyncio.get_running_loop()
            writing = loop.create_task(self._write_promises(promises), name="promises")
            self._promising.add(writing)
            writing.add_done_callback(self._promising.discard)
            writing.add_done_callback(host.report_crash)

    async def _write_promises(self, writes: list[StateWrite]) -> None:
        written = await asyncio.to_thread(write_states, writes)
        for write, state in zip(writes, written, strict=True):
            name = write.task_path.name
            # Kept only if nothing replaced the state this write was planned from meanwhile.
            if state is not None and self._host.state(name) is write.expected:
                self._host.keep_state(name, state)

    def sync_next_run(self, name: str) -> None:
        """Keep next_run in last_run.json true, so a restart can tell which fires it missed."""
        promise = self.promise(name)
        task = self._host.task(name)
        if promise is not None and task is not None:
            self.write_state(task, promise)

    def promise(self, name: str) -> StateChange | None:
        """The change that writes ``name``'s next run, or None when the file is right.

        Written only when it really changed (a jittered time that moved by less than the jitter
        is left alone), so a start over 10,000 tasks does not rewrite 10,000 files. The promise
        carries the schedule it was computed from; a schedule edited since voids the old
        anchors (see :func:`~bassi_tui.scheduler.triggers.anchor_for`).
        """
        host = self._host
        task = host.task(name)
        if host.role != "scheduler" or task is None or task.schedule is None:
            return None
        new = host.job_next(name)
        state = host.state(name)
        key = schedule_key(task.schedule)
        old = state.next_run
        if state.schedule_key == key or new is None:
            if old == new:
                return None
            if old is not None and new is not None:
                slack = task.schedule.jitter + 1.0
                if abs((new - old).total_seconds()) <= slack:
                    return None

        def change(fresh: TaskState) -> TaskState:
            same = fresh.schedule_key in (None, key)
            fire = fresh.last_scheduled_fire if same else None
            return fresh.replace(next_run=new, schedule_key=key, last_scheduled_fire=fire)

        return change

    def write_state(self, task: Task, change: StateChange) -> None:
        """Change a task's last_run.json (read fresh, under its lock) and keep the result."""
        try:
            state = update_state(task.path, change)
        except OSError as exc:  # a vanished folder or a full disk must not stop the engine
            self._host.say(
                "error", f"Task {task.name}: cannot write last_run.json: {exc}", task.name
            )
            return
        self._host.keep_state(task.name, state)

    def catch_up(self, name: str) -> bool:
        """Record fires missed while no instance scheduled; run once for catchup. True if any."""
        host = self._host
        task = host.task(name)
        if task is None:
            return False
        plan = plan_catch_up(task, host.state(name), now=host.clock(), next_run=host.job_next(name))
        if plan is None:
            return False
        self.write_state(task, lambda _fresh: plan.state)
        self._caught_up(name, plan)
        return True

    def _caught_up(self, name: str, plan: CatchUp) -> None:
        """The missed fires are recorded: say so, and run once if the policy says catchup."""
        host = self._host
        host.say(plan.level, f"Task {name}: {plan.message}", name)
        if plan.run_slot is not None:
            host.run_catch_up(name, plan.run_slot)
        task = host.task(name)
        if task is not None and task.config.missed_task_policy == "notify":
            host.tell_missed(name, plan.message, plan.count)
        host.emit(TaskChanged(name, "updated", host.view(name)))

    async def wait_written(self) -> None:
        """Wait until the next runs promised after a start are written (bench, tests)."""
        await asyncio.gather(*self._promising, return_exceptions=True)
