"""The one-shot commands: ``check``, ``next`` and ``run`` (no UI, no scheduler).

Everything printed that comes from a task folder (its name, a problem, an error) goes through
:func:`~bassi_tui.store.inert.inert`: a folder named ``evil\x1b]0;x\x07\nFAKE`` must not retitle
the terminal or forge a line of ``bassi-tui check`` in a CI log. A run's own output is written
raw when stdout is a pipe or a file (scripts get the exact bytes of the result file) and inert
when it is a terminal (newlines and tabs kept; ESC ]52 could otherwise write the clipboard).
"""

from __future__ import annotations

import asyncio
import codecs
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bassi_tui.scheduler.events import EngineEvent, RunOutput, RunRetrying, RunStarted
from bassi_tui.scheduler.lock import InstanceLock, TaskRunLock, task_run_holder
from bassi_tui.scheduler.requests import withdraw_request, write_request
from bassi_tui.scheduler.signals import exit_code, on_stop_signals, signal_name
from bassi_tui.scheduler.triggers import (
    anchor_for,
    describe_schedule,
    next_fire_times,
    once_note,
    resolve_zone,
)
from bassi_tui.scheduler.views import KEY_MISSING_WARNING, key_missing
from bassi_tui.store.defaults import BASSI_FILE, Defaults
from bassi_tui.store.inert import inert, inert_output
from bassi_tui.store.loading import list_task_folders
from bassi_tui.store.models import Task, TaskProblem
from bassi_tui.store.parse import load_task, read_tasks
from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import iter_results_newest, read_run
from bassi_tui.store.settings import Settings, read_settings
from bassi_tui.store.state import local_now, read_state
from bassi_tui.store.templates import TEMPLATES_DIR, read_templates

if TYPE_CHECKING:
    from bassi_tui.scheduler.runs import Emit, Outcome

#: How long `run` waits for the scheduling instance to start a requested run.
PICKUP_TIMEOUT_S = 15.0
FOLLOW_POLL_S = 0.1


def _say(line: str) -> None:
    """Print one message line to stderr, inert (it may hold a name or an error from a folder)."""
    print(inert(line), file=sys.stderr)


def _find_task(tasks_dir: Path, name: str) -> Task | None:
    """Load TASK by folder name under the tasks dir (a path to a folder works too)."""
    candidate = Path(name)
    folder = candidate if candidate.is_dir() and ("/" in name) else tasks_dir / name
    if name.startswith(".") or not folder.is_dir():
        _say(f"bassi-tui: no task named '{name}' in {tasks_dir}")
        try:
            known = list_task_folders(tasks_dir)
        except OSError:
            known = []  # a missing or unreadable tasks dir: the line above said enough
        if known:
            _say(f"known tasks: {', '.join(known)}")
        return None
    return load_task(folder, _read_defaults(folder.parent)[0], read_templates(folder.parent))


def _read_defaults(tasks_dir: Path) -> tuple[Defaults | None, list[TaskProblem]]:
    """bassi.yaml's defaults (None when it is missing or broken) and its problems."""
    _, settings, problems = read_settings(tasks_dir)
    return (None if problems else settings.defaults), problems


def _print_problems(task: Task, shared: dict[TaskProblem, list[str]] | None = None) -> None:
    """``task``'s problems; with ``shared``, those in a template go there to be said once."""
    for problem in task.problems:
        if shared is not None and problem.file.startswith(f"{TEMPLATES_DIR}/"):
            key = TaskProblem("", problem.file, problem.line, problem.message)
            shared.setdefault(key, []).append(task.name)
        elif problem.file == BASSI_FILE or problem.file.startswith(f"{TEMPLATES_DIR}/"):
            # A default or a template's value that does not fit this task: its own file's line.
            _say(f"{problem.location()}: {problem.message} (in task {task.name})")
        else:
            _say(f"{task.name}/{problem.location()}: {problem.message}")


def _print_settings_problems(problems: list[TaskProblem]) -> None:
    for problem in problems:
        _say(f"{problem.location()}: {problem.message}")


def check_command(tasks_dir: Path) -> int:
    """Validate every task folder; print each problem as task/file:line; 1 if any, 2 if no dir.

    Only reads: it works on a read-only tasks dir (a CI checkout, a mounted share).
    """
    if not tasks_dir.exists():
        _say(f"bassi-tui check: no tasks dir at {tasks_dir}")
        return 2
    if not tasks_dir.is_dir():
        _say(f"bassi-tui check: {tasks_dir} is a file, not a tasks dir (a folder of task folders)")
        return 2
    try:
        names = list_task_folders(tasks_dir)
    except OSError as exc:
        _say(f"bassi-tui check: cannot read {tasks_dir}: {exc.strerror or exc}")
        return 2
    # Tasks are checked as the engine would load them: under bassi.yaml's defaults, or with
    # none while it is broken (as at a first start).
    defaults, settings_problems = _read_defaults(tasks_dir)
    _print_settings_problems(settings_problems)
    templates = read_templates(tasks_dir)  # once for all tasks, as the engine reads them
    shared: dict[TaskProblem, list[str]] = {}  # a template's problem: the tasks it breaks
    extended: set[str] = set()
    broken = 0
    for task, chain in read_tasks(tasks_dir, names, defaults, templates):
        name = task.name
        extended.update(chain)
        if task.problems:
            broken += 1
            _print_problems(task, shared)
        elif task.schedule is not None:
            line = f"ok  {name}: {describe_schedule(task.schedule)}"
            if task.schedule.type == "once":
                state = read_state(task.path, repair=False).state
                if note := once_note(task.schedule, state, datetime.now(UTC)):
                    line += f" (warning: {note})"
            if key_missing(task):  # a warning, not a problem: the folder itself is fine
                line += f" (warning: {KEY_MISSING_WARNING})"
            print(inert(line))
    for template in templates.names():  # one no task extends is checked all the same
        if template not in extended:
            for problem in templates.check(template):
                shared.setdefault(problem, [])
    for problem, users in shared.items():
        where = f" (in task {', '.join(users)})" if users else ""
        _say(f"{problem.location()}: {problem.message}{where}")
    summary = f"{len(names)} task(s), {broken} with problems"
    if shared:
        summary += f"; {len({p.file.split('/')[1] for p in shared})} template(s) with problems"
    if settings_problems:
        summary += f"; {BASSI_FILE} has problems (tasks checked without its defaults)"
    failed = bool(broken or settings_problems or shared)
    print(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def next_command(tasks_dir: Path, name: str, n: int) -> int:
    """Print the next N fire times of a task, ISO 8601 with offset, in the task's zone."""
    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok or task.schedule is None:
        _print_problems(task)
        return 1
    if n < 1:
        _say("bassi-tui next: -n must be at least 1")
        return 2
    state = read_state(task.path, repair=False).state
    if task.schedule.type == "once" and state.once_fired:
        _say(f"{name}: this once task has already fired; it will not fire again")
        return 0
    if task.schedule.type == "after":
        _say(f"{name} runs {describe_schedule(task.schedule)}: it has no fire times of its own")
        return 0
    now = datetime.now(UTC)
    anchor = anchor_for(task.schedule, state, now)  # as the engine anchors it
    zone = resolve_zone(task.schedule)
    times = next_fire_times(task.schedule, n, now=now, anchor=anchor)
    for when in times:
        print(when.astimezone(zone).isoformat(timespec="seconds"))
    if not task.schedule.enabled:
        _say(f"{name} is disabled (enabled: false): these fires will not happen")
    if not times:
        _say(f"{name}: no future fire times")
    return 0


def dry_run_command(tasks_dir: Path, name: str) -> int:
    """``run TASK --dry-run``: the prompt a run would send now (templates expanded, as the run
    expands them) on stdout, the config in effect on stderr; nothing is sent or written."""
    from bassi_tui.scheduler.details import config_lines
    from bassi_tui.scheduler.runs import RunContext, dry_prompt

    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok:
        _print_problems(task)
        return 1
    state = read_state(task.path, repair=False).state
    print(dry_prompt(task, RunContext("manual"), state, local_now()), end="")
    print(file=sys.stderr)
    for key, value in config_lines(task.config, task.path):
        _say(f"{key:<20}{value}")
    _say(f"{name}: dry run, nothing sent")
    return 0


def run_command(tasks_dir: Path, name: str) -> int:
    """Run one task now, streaming its output to stdout; 0 only when the run succeeded.

    When another bassi-tui schedules this tasks dir, the run is asked of it (a request file) and
    followed from its result files, so the task never runs twice at once. Otherwise the run
    happens here under the task's own run lock (not the instance lock: an app started meanwhile
    schedules everything else, and skips this task's fires until the run is over).
    """
    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok:
        _print_problems(task)
        return 1
    _, settings, settings_problems = read_settings(task.path.parent)
    if settings_problems:
        # Without its defaults the task may run without its channels or environment.
        _print_settings_problems(settings_problems)
        _say(f"{task.name}: not run: {BASSI_FILE} has problems; `bassi-tui check` lists them")
        return 1
    # The task's lock first, then a look for a scheduler: a scheduler takes the instance lock
    # first and looks at the task's lock before each run, so one of the two always sees the
    # other.
    run_lock = TaskRunLock(tasks_dir, task.name)
    if not run_lock.try_acquire():
        pid = task_run_holder(tasks_dir, task.name)
        _say(f"{task.name} is being run by another `bassi-tui run` (pid {pid}); not run twice")
        return 1
    try:
        instance = InstanceLock(tasks_dir)
        if not instance.try_acquire():
            run_lock.release()
            return _run_through_scheduler(tasks_dir, task, instance)
        instance.release()
        return _run_here(task, settings)
    finally:
        run_lock.release()


def _run_here(task: Task, settings: Settings) -> int:
    """Run ``task`` in this process; SIGINT, SIGTERM and SIGHUP record it as interrupted."""
    name = task.name
    output = _Output()

    def emit(event: EngineEvent) -> None:
        if isinstance(event, RunOutput):
            output.write(event.text)
        elif isinstance(event, RunStarted):
            _say(f"running {name} -> {event.result_file}")
        elif isinstance(event, RunRetrying):
            _say(f"attempt {event.attempt} failed ({event.error}); retrying in {event.delay:.1f} s")

    stopped_by: list[int] = []
    outcome = asyncio.run(_run_until_signal(task, emit, stopped_by, settings))
    finished = outcome.record
    if stopped_by:
        signum = stopped_by[0]
        _say(f"\n{signal_name(signum)}: the run is recorded as {finished.status}")
        return exit_code(signum)
    if outcome.problem:
        _say(f"{name}: the run is not fully recorded: {outcome.problem}")
    code = _report(name, finished.status, finished.error, finished.duration)
    asyncio.run(_tell(task, outcome))
    return code


async def _tell(task: Task, outcome: Outcome) -> None:
    """This run's notification, if one is due: the instance that ran a run tells about it."""
    from bassi_tui.scheduler.telling import tell

    def say(level: str, line: str, _task: str | None) -> None:
        _say(line)

    await tell(task, outcome.record, outcome.state, say=say, diff_head=outcome.diff_head)


async def _run_until_signal(
    task: Task, emit: Emit, stopped_by: list[int], settings: Settings
) -> Outcome:
    """The run, cancelled (and so recorded as interrupted) by a stop signal."""
    from bassi_tui.scheduler.runs import RunContext, execute_run  # the executors: only for `run`

    current = asyncio.current_task()
    assert current is not None

    def on_signal(signum: int) -> None:
        if not stopped_by:
            stopped_by.append(signum)
            current.cancel()

    from bassi_tui.scheduler.remote_runs import RemoteRuns

    remote = RemoteRuns()  # runs_on: the run goes to a worker, as the scheduler's would
    remote.configure(settings.workers_url)
    label = task.config.runs_on
    ctx = RunContext(
        "manual",
        keep_next_run=True,
        prices=settings.prices,
        runner=remote.runner(label) if label else None,
    )
    restore = on_stop_signals(on_signal)
    try:
        return await execute_run(
            task,
            ctx,
            emit,
            clock=local_now,
            on_started=lambda record: emit(RunStarted(task.name, record)),
        )
    finally:
        restore()
        await remote.aclose()


def _report(name: str, status: str, error: object, duration: object) -> int:
    print(file=sys.stderr)  # the output may not end with a newline
    if status != "success":
        _say(f"{name}: {status}: {error}")
        return 1
    seconds = float(duration) if isinstance(duration, int | float) else 0.0
    _say(f"{name}: success in {seconds:.1f} s")
    return 0


class _Output:
    """A run's text on stdout: the exact bytes when piped, inert text on a terminal.

    Piped (``bassi-tui run t > out.txt``, ``| jq``), the bytes are those of the result file
    (UTF-8), unchanged. On a terminal, control characters other than newline and tab are shown
    escaped (:func:`~bassi_tui.store.inert.inert_output`): model output is data, and
    ``ESC ]52`` (clipboard write) or ``ESC ]0`` (title) must not reach the terminal.
    """

    def __init__(self) -> None:
        self.stream = sys.stdout
        self.terminal = self.stream.isatty()
        # Bytes from a followed result file arrive in arbitrary cuts: decode incrementally so a
        # character split between two reads is not turned into U+FFFD.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, text: str) -> None:
        """Write streamed text (a RunOutput)."""
        if self.terminal:
            self._text(inert_output(text))
        else:
            self._bytes(text.encode("utf-8"), text)  # as the result writer encodes it

    def write_bytes(self, chunk: bytes, *, final: bool = False) -> None:
        """Write bytes read from a result file (following another instance's run)."""
        text = self._decoder.decode(chunk, final=final)
        if self.terminal:
            self._text(inert_output(text))
        else:
            self._bytes(chunk, text)

    def _text(self, text: str) -> None:
        buffer = getattr(self.stream, "buffer", None)
        if buffer is None:
            self.stream.write(text)
        else:  # a terminal in a legacy encoding gets "?" for what it cannot show, not a crash
            self.stream.flush()
            buffer.write(text.encode(self.stream.encoding or "utf-8", errors="replace"))
            buffer.flush()
        self.stream.flush()

    def _bytes(self, data: bytes, text: str) -> None:
        buffer = getattr(self.stream, "buffer", None)
        if buffer is None:  # a stdout replaced by a text-only object: text is all it takes
            self.stream.write(text)
        else:
            self.stream.flush()  # anything printed through the text layer goes first
            buffer.write(data)
            buffer.flush()
        self.stream.flush()


def _run_through_scheduler(tasks_dir: Path, task: Task, lock: InstanceLock) -> int:
    holder = lock.holder() or {}
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    request_id = write_request(tasks_dir, task.name)
    _say(f"asked the scheduling bassi-tui ({who}) to run {task.name}")
    deadline = time.monotonic() + PICKUP_TIMEOUT_S
    withdrawn = False
    try:
        while (record := _requested_run(task, request_id)) is None:
            if time.monotonic() > deadline and not withdrawn:
                if withdraw_request(tasks_dir, request_id):
                    print(
                        f"bassi-tui run: the scheduling instance ({who}) did not start the run "
                        f"within {PICKUP_TIMEOUT_S:.0f} s (is it busy or stuck?); "
                        "the request is withdrawn",
                        file=sys.stderr,
                    )
                    return 1
                # Taken meanwhile: the run is starting; wait for its record a while longer.
                withdrawn, deadline = True, time.monotonic() + PICKUP_TIMEOUT_S
            elif time.monotonic() > deadline:
                _say(f"{task.name}: the request was taken but no run record appeared")
                return 1
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        if withdraw_request(tasks_dir, request_id):
            _say("\nthe request is withdrawn: the task will not run")
        else:
            _say("\nstopped waiting; the scheduling instance runs the task")
        return 130
    return _follow(task.name, record)


def _requested_run(task: Task, request_id: str) -> RunRecord | None:
    """The run the scheduler started for ``request_id``, once its record exists."""
    return next((r for r in iter_results_newest(task.results_dir) if r.run_request == request_id),
                None)  # fmt: skip


def _follow(name: str, record: RunRecord) -> int:
    """Tail another instance's run to stdout until its metadata says it ended."""
    offset = 0
    meta = record
    output = _Output()
    try:
        while True:
            fresh = read_run(record.meta_file)
            if fresh is None and not record.meta_file.parent.exists():
                # The task folder (or its results/) was removed mid-run: nothing more will come.
                _say(f"{name}: the run's files were removed while it ran; stopped following")
                return 1
            meta = fresh or meta
            if record.output_file is not None and record.output_file.exists():
                with record.output_file.open("rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                offset += len(chunk)
                output.write_bytes(chunk, final=not meta.running)
            if not meta.running:
                break
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        print("\nstopped following; the run goes on in the scheduling instance", file=sys.stderr)
        return 130
    return _report(name, meta.status, meta.error, meta.duration)
