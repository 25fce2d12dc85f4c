"""The engine: task folders in, on-time runs and records out, in the caller's event loop.

One ``Engine`` serves both the Textual app and ``--headless``: it loads every task folder, keeps
an APScheduler ``AsyncIOScheduler`` job per runnable task, re-reads only the folders the watcher
names, starts runs (scheduled or manual) and reports everything through plain events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bassi_tui.executor.runners import close_runners
from bassi_tui.scheduler.events import EngineEvent, LogLine, RunFinished, TaskChanged, TaskView
from bassi_tui.scheduler.runs import RunContext, execute_run
from bassi_tui.scheduler.triggers import build_trigger, describe_schedule
from bassi_tui.store import edit
from bassi_tui.store.atomic import clean_stray_temps
from bassi_tui.store.models import Task, Trigger
from bassi_tui.store.parse import load_task
from bassi_tui.store.results import ResultRecord, list_results, prune_results
from bassi_tui.store.state import apply_run, parse_time, read_state, write_state
from bassi_tui.store.watcher import TaskWatcher

log = logging.getLogger(__name__)

Subscriber = Callable[[EngineEvent], None]
#: A fire is never dropped for being late (a busy loop, a suspended laptop); late fires of one
#: job coalesce into one run.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
#: A folder that is broken right after a change is re-read once more after this delay: watchfiles
#: can miss files created inside a brand-new folder.
SETTLE_RECHECK_S = 0.3


def list_task_folders(tasks_dir: Path) -> list[str]:
    """Names of the task folders (dot folders and plain files excluded), sorted."""
    try:
        entries = list(os.scandir(tasks_dir))
    except OSError:
        return []
    return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())


class Engine:
    """Scheduler and store in one: see the module docstring."""

    def __init__(self, tasks_dir: Path, *, watch: bool = True, force_polling: bool = False) -> None:
        self.tasks_dir = tasks_dir
        self.force_polling = force_polling
        self._watch = watch
        self._tasks: dict[str, Task] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._running: dict[str, set[asyncio.Task[RunFinished]]] = {}
        self._running_since: dict[str, datetime] = {}
        self._queued: dict[str, RunContext] = {}
        self._slots: dict[str, datetime] = {}
        self._subscribers: list[Subscriber] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._watcher: TaskWatcher | None = None
        self.started = False

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, event: EngineEvent) -> None:
        """Hand an event to every subscriber; a failing subscriber never stops the engine."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed on %r", type(event).__name__)

    def _say(self, level: Any, message: str, task: str | None = None) -> None:
        self.emit(LogLine(level, message, task))

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every task, start the scheduler and (unless disabled) the watcher."""
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        names = list_task_folders(self.tasks_dir)
        loaded = await asyncio.to_thread(self._load_many, names)
        self._scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._scheduler.start()
        for task, state in loaded:
            self._apply(task, state, new=True)
        self.started = True
        count = f"{len(loaded)} task" + ("" if len(loaded) == 1 else "s")
        self._say("info", f"Watching {self.tasks_dir} ({count})")
        if self._watch:
            self._watcher = TaskWatcher(
                self.tasks_dir, self.reload, force_polling=self.force_polling
            )
            self._spawn(self._watcher.run(), "watcher")
            await self._watcher.wait_ready()

    async def stop(self) -> None:
        """Stop watching and scheduling; runs in flight are recorded as interrupted."""
        if self._watcher is not None:
            self._watcher.stop()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        runs = [t for group in self._running.values() for t in group]
        for run in runs:
            run.cancel()
        for bg in list(self._background):
            bg.cancel()
        await asyncio.gather(*runs, *self._background, return_exceptions=True)
        await close_runners()
        self.started = False

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self._report_crash)
        return task

    def _report_crash(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background job %s failed", task.get_name(), exc_info=exc)
            self._say("error", f"internal error in {task.get_name()}: {exc}")

    # -- loading ------------------------------------------------------------------------------

    def _load_one(self, name: str) -> tuple[Task, dict[str, Any]]:
        path = self.tasks_dir / name
        clean_stray_temps(path)
        clean_stray_temps(path / "results")
        read = read_state(path)
        if read.set_aside is not None:
            log.warning("%s: unreadable last_run.json set aside as %s", name, read.set_aside.name)
        return load_task(path), read.state

    def _load_many(self, names: list[str]) -> list[tuple[Task, dict[str, Any]]]:
        return [self._load_one(name) for name in names]

    async def reload(self, names: set[str]) -> None:
        """Re-read the named task folders from disk and apply what changed."""
        for name in sorted(names):
            folder = self.tasks_dir / name
            if name.startswith(".") or not folder.is_dir():
                if name in self._tasks:
                    self._remove(name)
                continue
            task, state = await asyncio.to_thread(self._load_one, name)
            old = self._tasks.get(name)
            if old == task and self._states.get(name) == state:
                continue
            self._apply(task, state, new=old is None)
            if not task.ok:
                self._spawn(self._settle(name), f"settle:{name}")

    async def _settle(self, name: str) -> None:
        await asyncio.sleep(SETTLE_RECHECK_S)
        folder = self.tasks_dir / name
        if folder.is_dir():
            task, state = await asyncio.to_thread(self._load_one, name)
            if task != self._tasks.get(name):
                self._apply(task, state, new=name not in self._tasks)

    def _remove(self, name: str) -> None:
        self._tasks.pop(name, None)
        self._states.pop(name, None)
        self._unschedule(name)
        self._say("info", f"Removed task: {name}", name)
        self.emit(TaskChanged(name, "removed", None))

    def _unschedule(self, name: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def _apply(self, task: Task, state: dict[str, Any], *, new: bool) -> None:
        name = task.name
        old = self._tasks.get(name)
        self._tasks[name] = task
        self._states[name] = state
        if not task.ok or task.schedule is None:
            self._unschedule(name)
            for problem in task.problems:
                self._say("error", f"Task {name}: {problem.location()}: {problem.message}", name)
            self.emit(TaskChanged(name, "broken", self.view(name)))
            return
        schedule = task.schedule
        words = describe_schedule(schedule)
        if not schedule.enabled:
            self._unschedule(name)
            self._say("info", f"Disabled task: {name} ({words})", name)
            self.emit(TaskChanged(name, "disabled", self.view(name)))
            return
        if old is None or old.schedule != schedule or self._job_next(name) is None:
            self._schedule(task, state)
        verb = "Loaded" if new else "Updated"
        when = self._job_next(name)
        suffix = f", next at {when.astimezone():%Y-%m-%d %H:%M:%S}" if when else ", nothing due"
        self._say("info", f"{verb} task: {name} ({words}{suffix})", name)
        self.emit(TaskChanged(name, "loaded" if new else "updated", self.view(name)))

    def _schedule(self, task: Task, state: dict[str, Any]) -> None:
        assert self._scheduler is not None and task.schedule is not None
        self._unschedule(task.name)
        if task.schedule.type == "once" and state.get("once_fired"):
            return  # a once task runs at most once, ever
        anchor = parse_time(state.get("last_scheduled_fire"))
        trigger = build_trigger(task.schedule, anchor=anchor)
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            return
        self._scheduler.add_job(self._fire, trigger, args=[task.name], id=task.name, name=task.name)

    def _job_next(self, name: str) -> datetime | None:
        job = self._scheduler.get_job(name) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    # -- views --------------------------------------------------------------------------------

    def view(self, name: str) -> TaskView | None:
        """A snapshot of one task for a UI, or None when there is no such task."""
        task = self._tasks.get(name)
        if task is None:
            return None
        state = self._states.get(name, {})
        schedule = task.schedule
        return TaskView(
            name=name,
            path=task.path,
            description=describe_schedule(schedule) if schedule else "not scheduled",
            enabled=bool(schedule and schedule.enabled),
            next_run=self._job_next(name),
            problems=task.problems,
            last_run=parse_time(state.get("last_run")),
            last_status=state.get("last_status"),
            last_duration=state.get("last_duration_seconds"),
            run_count=int(state.get("run_count") or 0),
            success_count=int(state.get("success_count") or 0),
            failure_count=int(state.get("failure_count") or 0),
            running_since=self._running_since.get(name),
            executor=task.config.executor,
        )

    def views(self) -> list[TaskView]:
        """Snapshots of every task, sorted by name."""
        return [v for name in sorted(self._tasks) if (v := self.view(name)) is not None]

    def task(self, name: str) -> Task | None:
        """The task as last read from disk."""
        return self._tasks.get(name)

    def results(self, name: str) -> list[ResultRecord]:
        """A task's runs, newest first (blocking I/O: call from a worker for big histories)."""
        task = self._tasks.get(name)
        return list_results(task.results_dir) if task else []

    def is_running(self, name: str) -> bool:
        """True while a run of ``name`` is in flight."""
        return bool(self._running.get(name))

    # -- runs ---------------------------------------------------------------------------------

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        # Runs before the job's coroutine starts, so _fire knows which slot it is for.
        if event.scheduled_run_times:
            self._slots[event.job_id] = event.scheduled_run_times[-1]

    async def _fire(self, name: str) -> None:
        slot = self._slots.pop(name, None) or datetime.now(UTC)
        self.start_run(name, "scheduled", scheduled_for=slot)

    def run_now(self, name: str) -> bool:
        """Run a task now (the ``r`` key); False when there is no runnable task of that name."""
        return self.start_run(name, "manual")

    def start_run(
        self, name: str, trigger: Trigger, *, scheduled_for: datetime | None = None
    ) -> bool:
        """Start a run subject to the task's overlap policy; True when it started or queued."""
        task = self._tasks.get(name)
        if task is None or not task.ok or task.schedule is None:
            self._say("warning", f"Task {name} cannot run: it is missing or broken", name)
            return False
        ctx = RunContext(trigger, scheduled_for, once=task.schedule.type == "once")
        if self._running.get(name):
            policy = task.config.overlap
            if policy == "skip":
                self._record_skip(task, ctx)
                return False
            if policy == "queue":
                self._queued[name] = ctx  # at most one waiting: a newer fire replaces it
                self._say("info", f"Task {name} queued behind its running run", name)
                return True
        run = asyncio.get_running_loop().create_task(self._run(task, ctx), name=f"run:{name}")
        self._running.setdefault(name, set()).add(run)
        return True

    def _record_skip(self, task: Task, ctx: RunContext) -> None:
        self._say("warning", f"Task {task.name} skipped ({ctx.trigger}): still running", task.name)
        now = datetime.now().astimezone()
        state = apply_run(
            read_state(task.path).state,
            timestamp=now,
            status="skipped",
            duration=0.0,
            result_file=None,
            error="previous run still in progress",
            next_run=self._job_next(task.name),
        )
        write_state(task.path, state)
        self._states[task.name] = state

    async def _run(self, task: Task, ctx: RunContext) -> RunFinished:
        name = task.name
        self._running_since.setdefault(name, datetime.now().astimezone())
        ctx.next_run = self._job_next(name)
        self._say("info", f"Running task: {name} ({ctx.trigger})", name)
        self.emit(TaskChanged(name, "updated", self.view(name)))
        try:
            finished = await execute_run(task, ctx, self.emit)
        finally:
            group = self._running.get(name, set())
            for done in [t for t in group if t is asyncio.current_task()]:
                group.discard(done)
            if not group:
                self._running.pop(name, None)
                self._running_since.pop(name, None)
        if finished.status == "success":
            self._say("info", f"Task {name} finished in {finished.duration:.1f} s", name)
        else:
            self._say("error", f"Task {name} {finished.status}: {finished.error}", name)
        self._states[name] = read_state(task.path).state
        self.emit(TaskChanged(name, "updated", self.view(name)))
        self._after_run(task)
        return finished

    def _after_run(self, task: Task) -> None:
        queued = self._queued.pop(task.name, None)
        if queued is not None and task.name in self._tasks:
            self.start_run(task.name, queued.trigger, scheduled_for=queued.scheduled_for)
        output = task.config.output
        if output.auto_cleanup:
            # prune_results never touches a run whose metadata still says "running".
            self._spawn(
                asyncio.to_thread(
                    prune_results,
                    task.results_dir,
                    keep_days=output.keep_history,
                    now=datetime.now().astimezone(),
                ),
                f"prune:{task.name}",
            )

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Pause or resume a task by editing its schedule.yaml (the watcher applies it)."""
        task = self._tasks.get(name)
        if task is None:
            raise KeyError(name)
        edit.set_enabled(task.path, enabled)

    async def wait_idle(self) -> None:
        """Wait until no run is in flight or queued (for tests and clean shutdowns)."""
        while self._running or self._queued:
            runs = [t for group in self._running.values() for t in group]
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.gather(*runs, return_exceptions=True)
            await asyncio.sleep(0)
