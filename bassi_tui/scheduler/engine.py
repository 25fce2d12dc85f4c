"""The engine: task folders in, on-time runs and records out, in the caller's event loop.

One ``Engine`` serves both the Textual app and ``--headless``: it loads every task folder, keeps
an APScheduler job per runnable task, re-reads only the folders the watcher names, starts runs
(scheduled or manual) and reports everything through plain events.

It holds the tasks and their states as last read, takes the role (scheduler or monitor) and
composes the parts that do the rest: :class:`~bassi_tui.scheduler.jobs.Jobs` (APScheduler),
:class:`~bassi_tui.scheduler.run_manager.RunManager` (runs), :class:`~bassi_tui.scheduler.
downtime.Promises` (next-run promises, missed fires), :class:`~bassi_tui.scheduler.watching.
FolderWatch` (the watcher), :class:`~bassi_tui.scheduler.requests.RequestDesk` (run requests)
and :class:`~bassi_tui.scheduler.following.Following` (a monitor's view of another instance).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bassi_tui.executor.runners import close_runners, warm_runners
from bassi_tui.scheduler.budgets import Budgets
from bassi_tui.scheduler.conditions import last_real_run
from bassi_tui.scheduler.details import TaskDetails, task_details
from bassi_tui.scheduler.downtime import Promises
from bassi_tui.scheduler.events import (
    EngineEvent,
    LogLevel,
    LogLine,
    Role,
    RoleChanged,
    TaskChanged,
    TaskView,
)
from bassi_tui.scheduler.following import Following
from bassi_tui.scheduler.jobs import Jobs
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.scheduler.periods import watch_periods
from bassi_tui.scheduler.remote_runs import worker_note
from bassi_tui.scheduler.requests import (
    CANCELLED_BY,
    RequestDesk,
    write_cancel_request,
    write_request,
)
from bassi_tui.scheduler.run_manager import RunManager
from bassi_tui.scheduler.story import StoryWriter
from bassi_tui.scheduler.telling import tell_missed
from bassi_tui.scheduler.triggers import (
    anchor_for,
    build_trigger,
    describe_schedule,
    once_runs_late,
)
from bassi_tui.scheduler.views import task_view
from bassi_tui.scheduler.watching import Changes, FolderWatch, clock_watchdog
from bassi_tui.store import edit
from bassi_tui.store.dependencies import dependency_problems, upstream_counts, upstreams
from bassi_tui.store.loading import (
    LoadAborted,
    Loaded,
    list_task_folders,
    load_folder,
    load_folders,
)
from bassi_tui.store.models import Task, TaskProblem, Trigger
from bassi_tui.store.preload import Preload
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import list_results
from bassi_tui.store.settings import BASSI_FILE, SettingsKeeper
from bassi_tui.store.spend import BudgetHit
from bassi_tui.store.state import local_now
from bassi_tui.store.templates import TEMPLATES_DIR, TemplateKeeper

log = logging.getLogger(__name__)

Subscriber = Callable[[EngineEvent], None]
#: How often, while bassi.yaml names workers, the engine asks which labels have a live one.
WORKERS_POLL_S = 10.0
#: A folder that is broken right after a change is re-read once more after this delay: watchfiles
#: can miss files created inside a brand-new folder.
SETTLE_RECHECK_S = 0.3
#: Above this many tasks, start-up logs one summary line instead of a line per task (errors
#: are always logged one by one).
QUIET_START_OVER = 100
#: How often a monitor tries to take the lock over from the scheduling instance.
TAKEOVER_POLL_S = 1.0


class Engine:
    """Scheduler and store in one: see the module docstring."""

    def __init__(
        self,
        tasks_dir: Path,
        *,
        watch: bool = True,
        force_polling: bool = False,
        lock: InstanceLock | None = None,
        preload: Preload | None = None,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        self.tasks_dir = tasks_dir
        #: The wall clock every record is stamped with (tests set it); fires follow real time.
        self._clock = clock
        self._watch = watch
        self._tasks: dict[str, Task] = {}
        self._states: dict[str, TaskState] = {}
        self.budgets = Budgets(self._states, self.clock)
        self._worker_watch: asyncio.Task[None] | None = None
        self._runs = RunManager(self)
        self._subscribers: list[Subscriber] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._jobs = Jobs(self._fire)
        self._promises = Promises(self)
        self._folders = FolderWatch(self, self._on_files_changed, force_polling=force_polling)
        self._desk = RequestDesk(self)
        #: The scheduler's run lines, for monitors to show (``<tasks dir>/.bassi-story.log``).
        self._story = StoryWriter(
            tasks_dir, writes=lambda: self.role == "scheduler" and self._lock.held
        )
        self.subscribe(self._story.take)
        self._lock = lock if lock is not None else InstanceLock(tasks_dir)
        #: What is wrong with each task's ``after:`` (needs every task), and who runs after whom.
        self._dep_problems: dict[str, tuple[TaskProblem, ...]] = {}
        self._dependents: dict[str, list[str]] = {}
        self._deps_pending = False
        #: bassi.yaml as last read well: its defaults go under every task's config.yaml.
        self._settings = SettingsKeeper(tasks_dir)
        #: .templates/ as last read, and which tasks extend which template.
        self._templates = TemplateKeeper(tasks_dir)
        #: Folders being read ahead since launch (the command line starts it), used by start().
        self._preload = preload
        #: Set by stop(): a load still going in a thread gives up (quitting during a long start).
        self._abort = threading.Event()
        #: "scheduler" runs tasks; "monitor" shows another instance's runs and forwards `r`.
        self.role: Role = "monitor"
        #: Monitors: runs in flight in the scheduling instance, seen in results/ metadata.
        self._following = Following()
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

    def say(self, level: LogLevel, message: str, task: str | None = None) -> None:
        """Tell the engine's story: a LogLine event for the log pane, log file and stderr."""
        self.emit(LogLine(level, message, task))

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the role, load every task, start the scheduler and (unless disabled) the watcher.

        The first instance on a tasks dir schedules; later ones monitor and take over when it
        stops (even by kill -9: the kernel drops its lock).

        Returns once every task is loaded and scheduled; the watcher is armed right after, in
        the background (on 10,000 folders that takes a while), and then every folder is checked
        against what was loaded, so an edit made during the start is not missed either.
        """
        began = time.monotonic()
        self._abort.clear()
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        self.role = "scheduler" if self._lock.try_acquire() else "monitor"
        await self._read_settings()
        await asyncio.to_thread(self._templates.refresh)
        names = list_task_folders(self.tasks_dir)
        try:
            loaded = await asyncio.to_thread(self._load_many, names, self.role == "scheduler")
        except LoadAborted:
            return  # stop() was called while loading (quit during a long start)
        if self._abort.is_set():
            return
        self._jobs.start()
        quiet = len(loaded) > QUIET_START_OVER
        for got in loaded:
            self._say_notes(got.task.name, got.notes)
            self._apply(got.task, got.state, new=True, sync=False, quiet=quiet, announce=False)
        self._jobs.resume()
        self.started = True
        took = time.monotonic() - began
        self.say("info", f"Loaded {self.tasks_dir} ({self._summary()}) in {took:.1f} s")
        self.spawn(clock_watchdog(self, self._jobs.wakeup), "clock-watchdog")
        self.spawn(watch_periods(self.clock, self._period_turned), "periods")
        executors = {got.task.config.executor for got in loaded if got.task.ok}
        if self.role == "scheduler" and executors & {"agent", "anthropic"}:
            self.spawn(warm_runners(executors), "import the Anthropic SDK")
        if self.role == "scheduler":
            await self._promises.settle_downtime()
            await self._desk.open()
        else:
            self._announce_monitor()
            self.spawn(self._takeover_loop(), "takeover")
            self.spawn(self._following.follow(self), "follow")  # live output, run lines
        if self._watch:
            self._folders.arm(loaded)

    @property
    def force_polling(self) -> bool:
        """True when the watcher polls (``--poll``, or found a network filesystem)."""
        return self._folders.force_polling

    @property
    def stopping(self) -> bool:
        """True once stop() began: no run starts any more."""
        return self._runs.closed

    def _summary(self) -> str:
        """'12 tasks (1 broken, 2 disabled)'."""
        tasks = list(self._tasks.values())
        broken = sum(not t.ok for t in tasks)
        disabled = sum(t.ok and t.schedule is not None and not t.schedule.enabled for t in tasks)
        text = f"{len(tasks)} task" + ("" if len(tasks) == 1 else "s")
        extra = [f"{n} {word}" for n, word in ((broken, "broken"), (disabled, "disabled")) if n]
        return text + (f" ({', '.join(extra)})" if extra else "")

    def _announce_monitor(self) -> None:
        holder = self._lock.holder() or {}
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        self.say("info", f"Another bassi-tui ({who}) schedules these tasks: monitoring")
        self.emit(RoleChanged("monitor", who))

    def _period_turned(self) -> None:
        """A new day (see :mod:`.periods`): redraw the cards a spend or a budget is on."""
        self.budgets.changed()
        for name, task in self._tasks.items():
            state = self._states.get(name)
            spent = state is not None and state.spend is not None
            if spent or not task.config.budget.empty or not self.budgets.total.empty:
                self.emit(TaskChanged(name, "updated", self.view(name)))

    async def _watch_workers(self) -> None:
        """While bassi.yaml names workers: which ``runs_on`` labels have a live worker, every
        :data:`WORKERS_POLL_S`; a card whose label lost (or regained) its workers is redrawn."""
        try:
            while self._runs.remote.url is not None:
                labels = {
                    t.config.runs_on for t in self._tasks.values() if t.ok and t.config.runs_on
                }
                changed = await self._runs.remote.look(labels)
                for name, task in self._tasks.items():
                    if task.config.runs_on in changed:
                        self.emit(TaskChanged(name, "updated", self.view(name)))
                for label in sorted(changed):
                    if label in self._runs.remote.dead:
                        self.say("warning", worker_note(label))
                    else:
                        self.say("info", f"A worker for runs_on: {label} is up")
                await asyncio.sleep(WORKERS_POLL_S)
        finally:
            self._worker_watch = None

    async def _takeover_loop(self) -> None:
        while self.role == "monitor":
            await asyncio.sleep(TAKEOVER_POLL_S)
            if self._lock.try_acquire():
                await self._become_scheduler()

    async def _become_scheduler(self) -> None:
        self.role = "scheduler"
        self._following.clear()
        self.say("warning", "The scheduling instance stopped: this one schedules now")
        names = list_task_folders(self.tasks_dir)
        try:
            loaded = await asyncio.to_thread(self._load_many, names, True)
        except LoadAborted:
            return
        for got in loaded:
            self._say_notes(got.task.name, got.notes)
            self._tasks.pop(got.task.name, None)  # re-apply as new so a job is created
            self._apply(got.task, got.state, new=True, sync=False, quiet=True)
        for gone in set(self._tasks) - set(names):
            self._remove(gone)
        await self._promises.settle_downtime()
        self.emit(RoleChanged("scheduler"))
        await self._desk.open()

    async def stop(self) -> None:
        """Stop watching and scheduling; runs in flight are recorded as interrupted.

        Runs are refused first: APScheduler's shutdown is queued on the loop, so a wakeup
        already due can still submit a fire after it; that fire now finds the door closed
        (the fire is missed, and the next start records it as such).
        """
        self._abort.set()
        self._folders.stop()
        await self._runs.close()
        self._jobs.shutdown()
        await self.wait_promised()
        if self._preload is not None:
            self._preload.close()
        for bg in list(self._background):
            bg.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._runs.close()  # nothing can have started meanwhile; checked all the same
        await close_runners()
        await self._runs.remote.aclose()
        self._story.flush()  # the runs' last lines, while this instance still schedules
        self._lock.release()
        self.started = False

    def clock(self) -> datetime:
        """The engine's wall clock, time-zone aware (see ``clock=``)."""
        return self._clock()

    def budget_hit(self, task: Task) -> BudgetHit | None:
        """The budget a fire of ``task`` would break now (see :mod:`.budgets`), or None."""
        return self.budgets.hit(task)

    def names(self) -> list[str]:
        """The names of every task, sorted."""
        return sorted(self._tasks)

    def knows(self, name: str) -> bool:
        """True when there is a task of that name (broken or not)."""
        return name in self._tasks

    def state(self, name: str) -> TaskState:
        """The task's last_run.json as last read or written (empty for an unknown task)."""
        return self._states.get(name) or TaskState(name)

    def keep_state(self, name: str, state: TaskState) -> None:
        """A run or a skip wrote ``state`` to ``name``'s last_run.json: keep it as current."""
        if name in self._tasks:
            self._states[name] = state
            self.budgets.changed()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; a failure becomes a log line, not a crash."""
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self.report_crash)
        return task

    def report_crash(self, task: asyncio.Task[Any]) -> None:
        """Done callback of background work: a failure becomes a log line, not a crash."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background job %s failed", task.get_name(), exc_info=exc)
            self.say("error", f"internal error in {task.get_name()}: {exc}")

    # -- loading ------------------------------------------------------------------------------

    def _load_one(self, name: str, recover: bool = False) -> tuple[Task, TaskState, list[str]]:
        """Read a task folder (in a thread); as scheduler, also put a crashed run right."""
        folder, defaults = self.tasks_dir / name, self._settings.defaults
        templates = self._templates.current
        got = load_folder(
            folder, recover=recover, now=self.clock(), defaults=defaults, templates=templates
        )
        self._templates.note(name, got.templates)
        return got.task, got.state, got.notes

    def _load_many(self, names: list[str], recover: bool) -> list[Loaded]:
        """Read many folders (in a thread): read ahead since launch, or on every core now."""
        preload, self._preload = self._preload, None
        defaults, templates = self._settings.defaults, self._templates.current
        ahead = None if preload is None else (preload.recover, preload.defaults, preload.templates)
        if preload is not None and ahead == (recover, defaults, templates):
            loaded = preload.take(names, self._abort)
        else:
            if preload is not None:  # read for another role, or bassi.yaml changed meanwhile
                preload.close()
            loaded = load_folders(
                self.tasks_dir,
                names,
                recover=recover,
                now=self.clock(),
                abort=self._abort,
                defaults=defaults,
                templates=templates,
            )
        for got in loaded:
            self._templates.note(got.task.name, got.templates)
        return loaded

    def _say_notes(self, name: str, notes: list[str]) -> None:
        for note in notes:
            self.say("warning", f"Task {name}: {note}", name)

    async def _on_files_changed(self, changes: Changes) -> None:
        # Templates first: any task read again below is read with them as they are now.
        templates: set[str] = set()
        if "template" in changes:
            templates = await asyncio.to_thread(self._templates.refresh)
        if "settings" in changes and await self._read_settings():
            await self._reload_every_task()  # the folders named below are among them
        else:
            users = self._templates.users_of(templates)
            if "task" in changes and (edited := changes["task"] - users):
                await self.reload(edited)
            if templates:
                await self._reload_users(templates, users)
        if "state" in changes and self.role == "monitor":
            await self._following.refresh(self, changes["state"])
        if "request" in changes and self.role == "scheduler":
            await self._desk.take()

    async def reload(self, names: set[str]) -> None:
        """Re-read the named task folders from disk and apply what changed."""
        for name in sorted(names):
            folder = self.tasks_dir / name
            if name.startswith(".") or not folder.is_dir():
                if name in self._tasks:
                    self._remove(name)
                continue
            task, state, notes = await asyncio.to_thread(self._load_one, name)
            self._say_notes(name, notes)
            old = self._tasks.get(name)
            if old == task and self._states.get(name) == state:
                continue
            self._apply(task, state, new=old is None)
            if not task.ok:
                self.spawn(self._settle(name), f"settle:{name}")

    async def _read_settings(self) -> bool:
        """Read bassi.yaml again and say what came of it; True when its defaults changed.

        A broken one is an error in the log and changes nothing: the defaults last read well
        stay in force (none at a first start).
        """
        got = await asyncio.to_thread(self._settings.refresh)
        if got is None:
            return False
        for problem in got.problems:
            self.say("error", f"{problem.location()}: {problem.message}")
        if got.problems:
            keeps = self._settings.defaults is not None
            kept = "the previous defaults stay" if keeps else "no defaults apply"
            summary = f"{BASSI_FILE} has problems: {kept} until it is fixed"
            self.emit(LogLine("error", summary, None, alert=True))
        elif got.recovered:
            self.say("info", f"{BASSI_FILE} is valid again")
        self._runs.gate.set_limit(self._settings.settings.max_concurrent)
        self._runs.prices = self._settings.settings.prices
        self.budgets.total = self._settings.settings.budget
        url = self._settings.settings.workers_url
        if self._runs.remote.configure(url) and url is not None:
            if self._runs.remote.missing:
                self.say("error", self._runs.remote.missing)
            if self._worker_watch is None:
                self._worker_watch = self.spawn(self._watch_workers(), "workers")
        return got.changed

    async def _reload_every_task(self) -> None:
        """bassi.yaml's defaults changed: read every folder again at once, apply what changed."""
        await self._reload_many(None, f"{BASSI_FILE} changed")

    async def _reload_users(self, templates: set[str], users: set[str]) -> None:
        """Templates changed: read exactly the tasks extending them again (through a chain too)."""
        changed = ", ".join(f"{TEMPLATES_DIR}/{name}" for name in sorted(templates))
        if not users:
            self.say("info", f"{changed} changed: no task extends it")
            return
        await self._reload_many(users, f"{changed} changed")

    async def _reload_many(self, only: set[str] | None, why: str) -> None:
        """Read many folders again in one go (``only`` those, or every one), apply what changed."""
        names = list_task_folders(self.tasks_dir)
        known = set(self._tasks)
        if only is not None:
            names, known = [n for n in names if n in only], known & only
        try:
            loaded = await asyncio.to_thread(
                load_folders,
                self.tasks_dir,
                names,
                now=self.clock(),
                abort=self._abort,
                defaults=self._settings.defaults,
                templates=self._templates.current,
            )
        except LoadAborted:
            return
        for gone in known - set(names):
            self._remove(gone)
        for got in loaded:
            self._templates.note(got.task.name, got.templates)
        quiet = len(loaded) > QUIET_START_OVER  # one line for all, not a line a task
        updated = 0
        for got in loaded:
            name = got.task.name
            old = self._tasks.get(name)
            if old != got.task or self._states.get(name) != got.state:
                updated += 1
                self._apply(got.task, got.state, new=old is None, quiet=quiet)
        self.say("info", f"{why}: {updated} of {len(loaded)} task(s) updated")

    async def _settle(self, name: str) -> None:
        await asyncio.sleep(SETTLE_RECHECK_S)
        folder = self.tasks_dir / name
        if folder.is_dir():
            task, state, _ = await asyncio.to_thread(self._load_one, name)
            if task != self._tasks.get(name):
                self._apply(task, state, new=name not in self._tasks)

    def _remove(self, name: str) -> None:
        self._templates.forget(name)
        self._tasks.pop(name, None)
        self._deps_changed()
        self._states.pop(name, None)
        self.budgets.changed()
        self._unschedule(name)
        self.say("info", f"Removed task: {name}", name)
        self.emit(TaskChanged(name, "removed", None))

    def _unschedule(self, name: str) -> None:
        self._jobs.remove(name)

    # -- dependencies (type: after) -----------------------------------------------------------

    def _deps_changed(self) -> None:
        """A task came, went or changed its ``after:``: look at every chain again, once, soon
        (a start applies thousands of tasks; one look after them all is enough)."""
        if not self._deps_pending:
            self._deps_pending = True
            asyncio.get_running_loop().call_soon(self._check_dependencies)

    def _check_dependencies(self) -> None:
        self._deps_pending = False
        dependents: dict[str, list[str]] = {}
        for name, task in self._tasks.items():
            for upstream in upstreams(task):
                dependents.setdefault(upstream, []).append(name)
        self._dependents = dependents
        found = dependency_problems(self._tasks) if dependents else {}
        old, self._dep_problems = self._dep_problems, found
        for name in sorted(set(old) | set(found)):
            if old.get(name) == found.get(name) or name not in self._tasks:
                continue
            for problem in found.get(name, ()):
                self.say("error", f"Task {name}: {problem.location()}: {problem.message}", name)
            self.emit(TaskChanged(name, "broken" if name in found else "updated", self.view(name)))

    def upstream_ended(self, name: str, record: RunRecord) -> None:
        """A run of ``name`` is recorded: start the tasks that run after it (``type: after``).

        Each counts the end its ``on:`` names (success, failure or always; a cancelled run
        starts nothing). With several upstream tasks, every one must have run since the
        dependent's last run. The dependent goes through overlap and ``when:`` like any fire.
        """
        for dependent in self._dependents.get(name, ()):
            task = self.task(dependent)
            if task is None or not task.ok or task.schedule is None or not task.schedule.enabled:
                continue
            if not upstream_counts(task.schedule.after_on, record.status):
                continue
            since = last_real_run(self.state(dependent))
            waiting_for = [
                other
                for other in task.schedule.after
                if other != name
                and ((ran := last_real_run(self.state(other))) is None or (since and ran <= since))
            ]
            if waiting_for:
                self.say(
                    "info", f"Task {dependent}: {name} ended; waits for {', '.join(waiting_for)}"
                )
                continue
            self.say("info", f"Task {dependent}: {name} {record.status}, so it runs now", dependent)
            self._runs.start_run(dependent, "after", upstream=record)

    def _apply(
        self,
        task: Task,
        state: TaskState,
        *,
        new: bool,
        sync: bool = True,
        quiet: bool = False,
        announce: bool = True,
    ) -> None:
        """Take a freshly read task into the engine: (re)schedule it, log it, tell subscribers.

        ``announce=False`` (start-up) sends no TaskChanged: subscribers read ``views()`` once
        start() returns, instead of receiving 10,000 events.
        """
        name = task.name
        old = self._tasks.get(name)
        self._tasks[name] = task
        self._states[name] = state
        self.budgets.changed()
        if old is None or upstreams(task) or upstreams(old) or name in self._dependents:
            self._deps_changed()
        schedule = task.schedule
        if not task.ok or schedule is None:
            self._unschedule(name)
            for problem in task.problems:
                self.say("error", f"Task {name}: {problem.location()}: {problem.message}", name)
            change: Any = "broken"
        elif not schedule.enabled:
            self._unschedule(name)
            if not quiet:
                self.say("info", f"Disabled task: {name} ({describe_schedule(schedule)})", name)
            change = "disabled"
        else:
            if old is None or old.schedule != schedule or self.job_next(name) is None:
                self._schedule(task, state)
            when = self.next_run(name)
            suffix = f", next at {when.astimezone():%Y-%m-%d %H:%M:%S}" if when else ""
            if not quiet:
                verb = "Loaded" if new else "Updated"
                words = describe_schedule(schedule)
                self.say("info", f"{verb} task: {name} ({words}{suffix})", name)
            change = "loaded" if new else "updated"
        if sync:
            self._promises.sync_next_run(name)
        if announce:
            self.emit(TaskChanged(name, change, self.view(name)))

    def _schedule(self, task: Task, state: TaskState) -> None:
        assert task.schedule is not None
        self._unschedule(task.name)
        if self.role != "scheduler":
            return  # monitors show the scheduler's next_run from last_run.json
        if task.schedule.type == "once" and state.once_fired:
            return  # a once task runs at most once, ever
        # An interval keeps its grid across restarts (see anchor_for, shared with `next`).
        now = datetime.now(UTC)
        trigger = build_trigger(task.schedule, anchor=anchor_for(task.schedule, state, now))
        if trigger.get_next_fire_time(None, now) is None:
            if once_runs_late(task.schedule, state, now):
                self.say("info", f"Task {task.name}: its once time passed just now: running it")
                self.start_run(task.name, "scheduled", scheduled_for=task.schedule.run_at)
            return
        self._jobs.add(task.name, trigger)

    def job_next(self, name: str) -> datetime | None:
        """When the task's job fires next (None: no job; monitors have none)."""
        return self._jobs.next(name)

    def next_run(self, name: str) -> datetime | None:
        """When the task fires next: the job's time, or (monitors) what the scheduler wrote."""
        if self.role == "scheduler":
            return self.job_next(name)
        task = self._tasks.get(name)
        if task is None or not task.ok or task.schedule is None or not task.schedule.enabled:
            return None
        state = self._states.get(name)
        return state.next_run if state is not None else None

    # -- views --------------------------------------------------------------------------------

    def view(self, name: str) -> TaskView | None:
        """A snapshot of one task for a UI, or None when there is no such task."""
        task = self.task(name)
        if task is None:
            return None
        waiting = self._runs.waiting_since(name)
        running = self._runs.running_since(name) or self._following.running_since(name)
        return task_view(
            task,
            self.state(name),
            next_run=self.next_run(name),
            running_since=None if waiting is not None else running,
            waiting_since=waiting,
            now=self.clock(),
            budget=self.budgets.hit(task),
            worker_note=worker_note(label)
            if (label := task.config.runs_on) in self._runs.remote.dead
            else None,
        )

    def views(self) -> list[TaskView]:
        """Snapshots of every task, sorted by name."""
        return [v for name in sorted(self._tasks) if (v := self.view(name)) is not None]

    def task(self, name: str) -> Task | None:
        """The task as last read from disk, with what is wrong with its ``after:`` (an unknown
        task, a cycle) among its problems."""
        task = self._tasks.get(name)
        extra = self._dep_problems.get(name)
        if task is None or not extra:
            return task
        return dataclasses.replace(task, problems=task.problems + extra)

    def results(self, name: str) -> list[RunRecord]:
        """A task's runs, newest first (blocking I/O: call from a worker for big histories)."""
        task = self._tasks.get(name)
        return list_results(task.results_dir) if task else []

    def is_running(self, name: str) -> bool:
        """True while a run of ``name`` is in flight."""
        return self._runs.is_running(name)

    def open_runs(self) -> int:
        """This instance's runs in flight (a monitor has none: the scheduler runs them)."""
        return self._runs.open_runs()

    def run_ids(self, name: str) -> tuple[str, ...]:
        """The ids of the runs of ``name`` in flight, here or (monitors) in the scheduler."""
        if self.role == "monitor":
            record = self._following.running(name)
            return (record.run_id,) if record is not None else ()
        return self._runs.run_ids(name)

    def cancel_run(
        self, name: str, run_ids: Collection[str] | None = None, *, by: str | None = None
    ) -> bool:
        """Cancel the runs of ``name`` in flight (``x``), or only ``run_ids`` (the runs a person
        saw: one that ended meanwhile is not confused with the next); False when none is.

        Each is recorded ``cancelled`` (``by`` is its error: "cancelled by a person"), not
        interrupted, and not notified. A monitor asks the scheduling instance through a cancel
        request (:mod:`.requests`): True means asked, and the run's end follows as usual.
        """
        if self.role == "monitor":
            record = self._following.running(name)
            if record is None or (run_ids is not None and record.run_id not in run_ids):
                return False
            try:
                write_cancel_request(self.tasks_dir, name, record.run_id)
            except OSError as exc:
                self.say("error", f"Cannot ask to cancel the run of {name}: {exc}", name)
                return False
            self.say("info", f"Asked the scheduling instance to cancel the run of {name}", name)
            return True
        return self._runs.cancel(name, by or CANCELLED_BY, run_ids) > 0

    # -- runs ---------------------------------------------------------------------------------

    async def _fire(self, name: str, slot: datetime) -> None:
        self.start_run(name, "scheduled", scheduled_for=slot)

    def run_now(self, name: str) -> bool:
        """Run a task now (the ``r`` key); False when there is no runnable task of that name.

        A monitor asks the scheduling instance through a request file, so the task runs once.
        """
        if self.role == "monitor":
            task = self._tasks.get(name)
            if task is None or not task.ok:
                self.say("warning", f"Task {name} cannot run: it is missing or broken", name)
                return False
            write_request(self.tasks_dir, name)
            self.say("info", f"Asked the scheduling instance to run {name}", name)
            return True
        return self.start_run(name, "manual")

    def start_run(
        self,
        name: str,
        trigger: Trigger,
        *,
        scheduled_for: datetime | None = None,
        request_id: str | None = None,
    ) -> bool:
        """Start a run subject to the task's overlap policy; True when it started or queued."""
        return self._runs.start_run(
            name, trigger, scheduled_for=scheduled_for, request_id=request_id
        )

    def rerun(self, name: str, prompt: str) -> bool:
        """Run ``name`` now with ``prompt`` as it is (``R``: a run's saved prompt again), as a
        new manual run; False when it cannot run here (a monitor cannot pass a prompt on)."""
        if self.role == "monitor":
            self.say("warning", f"Task {name}: R works in the scheduling instance only", name)
            return False
        return self._runs.start_run(name, "manual", prompt=prompt)

    def run_catch_up(self, name: str, slot: datetime) -> None:
        """Run a fire missed while no instance scheduled (missed_task_policy: catchup)."""
        self.start_run(name, "catchup", scheduled_for=slot)

    def details(self, name: str) -> TaskDetails | None:
        """Everything about task ``name`` (blocking: it lists the workdir; call in a thread)."""
        task = self._tasks.get(name)
        return None if task is None else task_details(task, self.state(name), now=self.clock())

    def tell_missed(self, name: str, what: str, count: int) -> None:
        """Tell the task's channels about fires it missed (missed_task_policy: notify)."""
        task = self._tasks.get(name)
        if task is not None:
            self.spawn(self._tell_missed(task, what, count), f"notify:{name}")

    async def _tell_missed(self, task: Task, what: str, count: int) -> None:
        state = await tell_missed(task, what, count, self.state(task.name), say=self.say)
        if state is not None:
            self.keep_state(task.name, state)
            self.emit(TaskChanged(task.name, "updated", self.view(task.name)))

    async def wait_watching(self) -> None:
        """Wait until the watcher is armed and the changes made during start() are applied."""
        await self._folders.wait_armed()

    async def wait_promised(self) -> None:
        """Wait until the next runs promised after a start are written (bench, tests)."""
        await self._promises.wait_written()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Pause or resume a task by editing its schedule.yaml (the watcher applies it)."""
        task = self._tasks.get(name)
        if task is None:
            raise KeyError(name)
        edit.set_enabled(task.path, enabled)

    async def wait_idle(self) -> None:
        """Wait until no run is in flight or queued (for tests and clean shutdowns)."""
        await self._runs.wait_idle()

    async def wait_told(self) -> None:
        """Wait until the notifications being sent are sent (for tests and benches)."""
        while sending := [t for t in self._background if t.get_name().startswith("notify:")]:
            await asyncio.gather(*sending, return_exceptions=True)
