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

from bassi_tui.scheduler.events import EngineEvent, RunOutput, RunRetrying, RunStarted
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.scheduler.requests import write_request
from bassi_tui.scheduler.triggers import (
    anchor_for,
    describe_schedule,
    next_fire_times,
    resolve_zone,
)
from bassi_tui.store.inert import inert, inert_output
from bassi_tui.store.loading import list_task_folders
from bassi_tui.store.models import Task
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import list_results, read_run
from bassi_tui.store.state import read_state

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
    return load_task(folder)


def _print_problems(task: Task) -> None:
    for problem in task.problems:
        _say(f"{task.name}/{problem.location()}: {problem.message}")


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
    broken = 0
    for name in names:
        task = load_task(tasks_dir / name)
        if task.problems:
            broken += 1
            _print_problems(task)
        elif task.schedule is not None:
            print(inert(f"ok  {name}: {describe_schedule(task.schedule)}"))
    summary = f"{len(names)} task(s), {broken} with problems"
    print(summary, file=sys.stderr if broken else sys.stdout)
    return 1 if broken else 0


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


def run_command(tasks_dir: Path, name: str) -> int:
    """Run one task now, streaming its output to stdout; 0 only when the run succeeded.

    When another bassi-tui schedules this tasks dir, the run is asked of it (a request file) and
    followed from its result files, so the task never runs twice at once. Otherwise this command
    holds the instance lock for the length of the run.
    """
    task = _find_task(tasks_dir, name)
    if task is None:
        return 2
    if not task.ok:
        _print_problems(task)
        return 1
    lock = InstanceLock(tasks_dir)
    if not lock.try_acquire():
        return _run_through_scheduler(tasks_dir, task, lock)
    try:
        return _run_here(task)
    finally:
        lock.release()


def _run_here(task: Task) -> int:
    from bassi_tui.scheduler.runs import RunContext, execute_run
    from bassi_tui.store.state import local_now

    name = task.name
    output = _Output()

    def emit(event: EngineEvent) -> None:
        if isinstance(event, RunOutput):
            output.write(event.text)
        elif isinstance(event, RunStarted):
            _say(f"running {name} -> {event.result_file}")
        elif isinstance(event, RunRetrying):
            _say(f"attempt {event.attempt} failed ({event.error}); retrying in {event.delay:.1f} s")

    try:
        outcome = asyncio.run(
            execute_run(
                task,
                RunContext("manual"),
                emit,
                clock=local_now,
                on_started=lambda record: emit(RunStarted(name, record)),
            )
        )
    except KeyboardInterrupt:
        print("\ninterrupted: the run is recorded as interrupted", file=sys.stderr)
        return 130
    finished = outcome.record
    return _report(name, finished.status, finished.error, finished.duration)


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
    record = None
    while record is None:
        record = next(
            (r for r in list_results(task.results_dir) if r.run_request == request_id),
            None,
        )
        if record is None:
            if time.monotonic() > deadline:
                print(
                    f"bassi-tui run: the scheduling instance ({who}) did not start the run "
                    f"within {PICKUP_TIMEOUT_S:.0f} s (is it busy or stuck?)",
                    file=sys.stderr,
                )
                return 1
            time.sleep(FOLLOW_POLL_S)
    return _follow(task.name, record)


def _follow(name: str, record: RunRecord) -> int:
    """Tail another instance's run to stdout until its metadata says it ended."""
    offset = 0
    meta = record
    output = _Output()
    try:
        while True:
            meta = read_run(record.meta_file) or meta
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
