"""The engine's last_run.json side: next-run promises, missed fires, and every state write.

Each scheduling instance keeps ``next_run`` true in every task's last_run.json, so a later start
can count the fires missed meanwhile (:mod:`bassi_tui.scheduler.missed`). At a start over many
tasks those writes go in bulk, off the loop (:func:`~bassi_tui.store.state.write_states`).
:class:`StateKeeping` is mixed into :class:`~bassi_tui.scheduler.engine.Engine`; it only uses
what the engine declares below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bassi_tui.scheduler.events import EngineEvent, LogLevel, Role, TaskChanged, TaskView
from bassi_tui.scheduler.missed import CatchUp, plan_catch_up
from bassi_tui.scheduler.triggers import schedule_key
from bassi_tui.store.models import Task
from bassi_tui.store.records import TaskState
from bassi_tui.store.state import StateWrite, read_state, update_state, write_states


class StateKeeping:
    """Writes of last_run.json for the engine (a mixin: see the module docstring)."""

    _tasks: dict[str, Task]
    _states: dict[str, TaskState]
    #: The bulk next_run writes after a start; stop() lets them finish (a promise must land).
    _promising: set[asyncio.Task[None]]
    role: Role

    if TYPE_CHECKING:

        def _job_next(self, name: str) -> datetime | None: ...
        def say(self, level: LogLevel, message: str, task: str | None = None) -> None: ...
        def emit(self, event: EngineEvent) -> None: ...
        def view(self, name: str) -> TaskView | None: ...
        def _report_crash(self, task: asyncio.Task[Any]) -> None: ...
        def _run_catch_up(self, name: str, slot: datetime) -> None: ...
        def clock(self) -> datetime: ...

    async def _settle_downtime(self) -> None:
        """As the new scheduler: record (and per policy run) fires missed while none ran.

        Then promise every task's next run in last_run.json, so a later start can tell what it
        missed. Both are written in bulk off the loop: a first start over 10,000 tasks writes
        10,000 files, which took ten seconds of fsyncs when done one by one on the loop.
        """
        now = self.clock()
        plans: list[tuple[Task, CatchUp]] = []
        records: list[StateWrite] = []  # the plans' states, each written over what it read
        promises: list[StateWrite] = []
        for name in sorted(self._tasks):
            task, state = self._tasks[name], self._states.get(name) or TaskState(name)
            plan = plan_catch_up(task, state, now=now, next_run=self._job_next(name))
            if plan is not None:
                plans.append((task, plan))
                records.append(StateWrite(task.path, state, plan.state))
            elif (promise := self._promise(name)) is not None:
                promises.append(StateWrite(task.path, state, promise(state)))
        if plans:
            written = await asyncio.to_thread(write_states, records)
            for (task, plan), got in zip(plans, written, strict=True):
                if got is None:  # its file changed meanwhile: plan again from the file
                    self._states[task.name] = (await asyncio.to_thread(read_state, task.path)).state
                    self._catch_up(task.name)
                else:
                    self._states[task.name] = got
                    self._caught_up(task.name, plan)
        if promises:
            loop = asyncio.get_running_loop()
            writing = loop.create_task(self._write_promises(promises), name="promises")
            self._promising.add(writing)
            writing.add_done_callback(self._promising.discard)
            writing.add_done_callback(self._report_crash)

    async def _write_promises(self, writes: list[StateWrite]) -> None:
        written = await asyncio.to_thread(write_states, writes)
        for write, state in zip(writes, written, strict=True):
            name = write.task_path.name
            # Kept only if nothing replaced the state this write was planned from meanwhile.
            if state is not None and self._states.get(name) is write.expected:
                self._states[name] = state

    def _sync_next_run(self, name: str) -> None:
        """Keep next_run in last_run.json true, so a restart can tell which fires it missed."""
        promise = self._promise(name)
        task = self._tasks.get(name)
        if promise is not None and task is not None:
            self.write_state(task, promise)

    def _promise(self, name: str) -> Callable[[TaskState], TaskState] | None:
        """The change that writes ``name``'s next run, or None when the file is right.

        Written only when it really changed (a jittered time that moved by less than the jitter
        is left alone), so a start over 10,000 tasks does not rewrite 10,000 files. The promise
        carries the schedule it was computed from; a schedule edited since voids the old
        anchors (see :func:`~bassi_tui.scheduler.triggers.anchor_for`).
        """
        task = self._tasks.get(name)
        if self.role != "scheduler" or task is None or task.schedule is None:
            return None
        new = self._job_next(name)
        state = self._states.get(name) or TaskState(name)
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

    def write_state(self, task: Task, change: Callable[[TaskState], TaskState]) -> None:
        """Change a task's last_run.json (read fresh, under its lock) and keep the result."""
        try:
            state = update_state(task.path, change)
        except OSError as exc:  # a vanished folder or a full disk must not stop the engine
            self.say("error", f"Task {task.name}: cannot write last_run.json: {exc}", task.name)
            return
        self._states[task.name] = state

    def _catch_up(self, name: str) -> bool:
        """Record fires missed while no instance scheduled; run once for catchup. True if any."""
        task = self._tasks.get(name)
        if task is None:
            return False
        plan = plan_catch_up(
            task,
            self._states.get(name) or TaskState(name),
            now=self.clock(),
            next_run=self._job_next(name),
        )
        if plan is None:
            return False
        self.write_state(task, lambda _fresh: plan.state)
        self._caught_up(name, plan)
        return True

    def _caught_up(self, name: str, plan: CatchUp) -> None:
        """The missed fires are recorded: say so, and run once if the policy says catchup."""
        self.say(plan.level, f"Task {name}: {plan.message}", name)
        if plan.run_slot is not None:
            self._run_catch_up(name, plan.run_slot)
        self.emit(TaskChanged(name, "updated", self.view(name)))

    async def wait_promised(self) -> None:
        """Wait until the next runs promised after a start are written (bench, tests)."""
        await asyncio.gather(*self._promising, return_exceptions=True)
