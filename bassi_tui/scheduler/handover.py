"""Hand-over: the scheduling app that loses its terminal leaves a detached scheduler behind.

The app *is* the scheduler, so a dropped SSH connection (SIGHUP) would end every schedule. On
SIGHUP the scheduling app starts a successor before it lets go of the instance lock::

    python -m bassi_tui --headless --tasks-dir DIR --successor-of APP_PID [--log-file LOG]

in a session of its own (``setsid``: no controlling terminal, so no SIGHUP of the dying one), its
stdin ``/dev/null``, its stderr appended to the app's log file (a crash before logging starts
still leaves its traceback there) and its log records written to that file only. Its stdout is a
pipe to the app: once it has imported the engine it writes ``ready`` there (and points stdout at
``/dev/null``). The app waits for that line (at most :data:`READY_TIMEOUT_S`), so the
successor's start-up (a Python interpreter and its imports, a few hundred ms) happens while the
app still schedules, not in the gap. The wait blocks the app's event loop on purpose: the
terminal is gone and a Textual app that went on drawing into it could fill its writer's queue and
hang. The app then quits as on any stop signal: runs in flight are recorded as interrupted and
the lock is released. The successor meanwhile tries the lock every :data:`AWAIT_POLL_S`
(:func:`await_lock`) and starts scheduling the moment it has it. The gap between the two is the
app's stop, one poll and the successor's reading of the task folders; a fire due in it is run
late by the successor (a promised fire less than ``missed.GRACE``, 2 s, in the past is not
missed), and a longer gap is covered by the missed-fire policy, as at any start.
If another instance takes the lock first (a monitor's takeover, a systemd service), the
successor is not needed and exits, so no detached process is left waiting unseen.

Only SIGHUP hands over (SIGTERM and SIGINT are a deliberate stop), only the scheduling instance
does (a monitor has nothing to hand over), never the ``--demo`` (its model stand-in dies with
the app), and not when bassi.yaml says ``handover: false``.

``bassi-tui stop`` finds the scheduler through the lock file (the holder writes its pid, host and
start time into ``<tasks dir>/.bassi.lock``): :func:`scheduler_holder` checks that the lock is
really held (a stale file left by a ``kill -9`` names a dead, maybe reused, pid) and
:func:`stop_scheduler` sends SIGTERM and waits until the lock is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bassi_tui.scheduler.events import LogLevel
from bassi_tui.scheduler.lock import LOCK_FILE, InstanceLock
from bassi_tui.store.defaults import BASSI_FILE
from bassi_tui.store.settings import read_settings

__all__ = [
    "AWAIT_POLL_S",
    "AWAIT_TIMEOUT_S",
    "SUCCESSOR_FLAG",
    "HandOver",
    "Holder",
    "StopOutcome",
    "await_lock",
    "hand_over",
    "handover_enabled",
    "log_file_in_use",
    "pid_alive",
    "scheduler_holder",
    "signal_ready",
    "start_successor",
    "stop_scheduler",
    "successor_argv",
    "wait_ready",
]

SUCCESSOR_FLAG = "--successor-of"
"""The (hidden) command-line option that makes a ``--headless`` a successor of the app's pid."""

AWAIT_POLL_S = 0.02
"""How often a successor tries the lock while the app quits (a try is one flock call)."""

READY_TIMEOUT_S = 5.0
"""How long the app waits for its successor to say it is ready before it quits anyway."""

READY_LINE = b"ready\n"
"""What a successor writes to its stdout (a pipe to the app) once it waits for the lock."""

AWAIT_TIMEOUT_S = 120.0
"""How long a successor waits for the app to let go of the lock before it starts anyway, as a
monitor that takes over when the app finally exits (the engine's takeover loop)."""

STOP_POLL_S = 0.05
"""How often ``stop`` looks whether the stopped scheduler has let go of the lock."""

TAKEOVER_WATCH_S = 1.5
"""How long ``stop`` watches the freed lock for a monitor taking over (monitors try it every
``engine.TAKEOVER_POLL_S``, 1 s), so that it can say whether anything schedules now."""

EXIT_AFTER_RELEASE_S = 5.0
"""How long ``stop`` waits for the process to end once it has let go of the lock."""

#: Successors started by this process (kept so that Popen never warns it was dropped running).
_started: list[subprocess.Popen[bytes]] = []


# -- the app's side ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandOver:
    """What a SIGHUP came to: the line for the log, and the successor's pid if one started."""

    level: LogLevel
    message: str
    pid: int | None = None


def handover_enabled(tasks_dir: Path) -> tuple[bool, str]:
    """bassi.yaml's ``handover`` (default true), and a note when the file could not be used.

    Read afresh (one small file): a broken bassi.yaml leaves the default, hand-over on, and
    says so.
    """
    _, settings, problems = read_settings(tasks_dir)
    if problems:
        return True, f"{BASSI_FILE} has problems, so handover is taken as true"
    return settings.handover, ""


def log_file_in_use() -> str | None:
    """The file the root logger writes to (the app's log file), if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):  # the rotating one is one too
            return str(handler.baseFilename)
    return None


def successor_argv(
    tasks_dir: Path, *, parent_pid: int, log_file: str | None, poll: bool
) -> list[str]:
    """The successor's command line: this interpreter's bassi-tui, headless, on ``tasks_dir``."""
    argv = [sys.executable, "-m", "bassi_tui", "--headless", "--tasks-dir", str(tasks_dir)]
    argv += [SUCCESSOR_FLAG, str(parent_pid)]
    if log_file:
        argv += ["--log-file", log_file]
    if poll:
        argv.append("--poll")
    return argv


def start_successor(
    tasks_dir: Path, *, poll: bool, log_file: str | None
) -> subprocess.Popen[bytes]:
    """Start the detached successor of this process (see the module docstring); its stdout is
    a pipe to read its ready line from (:func:`wait_ready`). Raises OSError on failure."""
    argv = successor_argv(tasks_dir, parent_pid=os.getpid(), log_file=log_file, poll=poll)
    err: int | None = None
    if log_file:
        err = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err if err is not None else subprocess.DEVNULL,
            start_new_session=True,  # no controlling terminal: the dying one's SIGHUP stays here
            close_fds=True,  # the instance lock's fd above all (it is close-on-exec anyway)
        )
    finally:
        if err is not None:
            os.close(err)
    _started.append(proc)
    return proc


def wait_ready(proc: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT_S) -> str | None:
    """Wait for a successor's ready line; None when it came, else what happened instead.

    Blocking (see the module docstring for why the app blocks here).
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    got = b""
    deadline = time.monotonic() + timeout
    try:
        while READY_LINE not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return f"not ready after {timeout:g} s"
            chunk = os.read(fd, 64)
            if not chunk:
                code = proc.poll()
                return "it exited at once" + (f" (exit {code})" if code is not None else "")
            got += chunk
        return None
    finally:
        proc.stdout.close()


def signal_ready() -> None:
    """In the successor: tell the app it is ready, then point stdout at /dev/null.

    The app may have given up waiting (its end of the pipe closed): nothing to tell then.
    """
    with contextlib.suppress(OSError):
        os.write(1, READY_LINE)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def hand_over(tasks_dir: Path, *, role: str, poll: bool, demo: bool) -> HandOver | None:
    """On SIGHUP: start a detached successor if this instance schedules and may hand over.

    None when there is nothing to hand over (this instance monitors); otherwise what to log.
    """
    if role != "scheduler":
        return None
    stops = "schedules stop until bassi-tui starts again"
    if demo:
        return HandOver("warning", f"SIGHUP: the demo does not hand over; {stops}")
    enabled, note = handover_enabled(tasks_dir)
    if not enabled:
        return HandOver(
            "warning",
            f"SIGHUP: quitting, runs in flight are recorded; {stops} "
            f"(handover: false in {BASSI_FILE})",
        )
    began = time.monotonic()
    try:
        proc = start_successor(tasks_dir, poll=poll, log_file=log_file_in_use())
    except OSError as exc:
        return HandOver("error", f"SIGHUP: could not start a successor ({exc}); {stops}")
    trouble = wait_ready(proc)
    if trouble is not None and proc.poll() is not None:
        return HandOver(
            "error",
            f"SIGHUP: the successor (pid {proc.pid}) failed: {trouble}, see the log; {stops}",
        )
    ready = f"ready in {time.monotonic() - began:.2f} s" if trouble is None else trouble
    extra = f"; {note}" if note else ""
    return HandOver(
        "warning",
        f"SIGHUP: the terminal is gone; handing the schedules over to a detached "
        f"bassi-tui --headless (pid {proc.pid}, {ready}{extra}). Runs in flight are recorded "
        f"as interrupted; `bassi-tui stop` ends it",
        proc.pid,
    )


# -- the successor's side ---------------------------------------------------------------------

Awaited = Literal["taken", "other", "timeout"]


def await_lock(
    lock: InstanceLock,
    parent_pid: int,
    *,
    timeout: float = AWAIT_TIMEOUT_S,
    poll: float = AWAIT_POLL_S,
) -> Awaited:
    """Wait for the app ``parent_pid`` to let go of the lock, and take it.

    ``"taken"``: this process holds it now. ``"other"``: another process took it first (the
    successor is not needed). ``"timeout"``: the app still holds it after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if lock.try_acquire():
            return "taken"
        pid = (lock.holder() or {}).get("pid")
        if isinstance(pid, int) and pid != parent_pid:
            return "other"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(poll)


# -- stop -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holder:
    """The process that holds a tasks dir's instance lock, as it wrote itself down."""

    pid: int | None
    host: str
    since: str

    @property
    def here(self) -> bool:
        """True when it runs on this machine (only then can it be signalled)."""
        return self.host == socket.gethostname()

    def describe(self) -> str:
        """``pid 123 on host, since 2026-01-02T09:00:00+01:00``."""
        since = f", since {self.since}" if self.since else ""
        return f"pid {self.pid if self.pid is not None else '?'} on {self.host or '?'}{since}"


def scheduler_holder(tasks_dir: Path) -> Holder | None:
    """Who schedules ``tasks_dir``: None when nobody holds its instance lock.

    The lock is tried shared and let go at once (microseconds): a stale lock file from a killed
    scheduler names a pid that is gone, or worse, reused by another process.
    """
    path = tasks_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # never locked here
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 4096, 0)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    try:
        data = json.loads(text or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):  # held, but not written yet (a holder taking it right now)
        return Holder(None, "", "")
    pid = data.get("pid")
    return Holder(
        pid if isinstance(pid, int) and pid > 0 else None,
        str(data.get("host", "")),
        str(data.get("since", "")),
    )


def pid_alive(pid: int) -> bool:
    """True while a process ``pid`` exists (a zombie counts: it is on its way out)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_line(pid: int) -> list[str] | None:
    """A process's argv (Linux ``/proc``); None where it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def looks_like_bassi(pid: int) -> bool:
    """True unless /proc shows ``pid`` is something other than bassi-tui (a safety net against
    signalling a stranger; where /proc is missing, the lock alone is trusted)."""
    argv = command_line(pid)
    return argv is None or any("bassi" in part for part in argv)


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """What ``stop`` came to."""

    #: "stopped": the lock is free (or another instance took it over); "timeout": the process
    #: still holds it; "gone": it ended before the signal.
    result: Literal["stopped", "timeout", "gone"]
    #: Who holds the lock now, when another instance took over.
    successor: Holder | None = None
    waited_s: float = 0.0


def stop_scheduler(tasks_dir: Path, pid: int, *, timeout: float) -> StopOutcome:
    """SIGTERM ``pid`` (the lock holder of ``tasks_dir``) and wait until it let go of the lock.

    Raises PermissionError when the process belongs to someone else.
    """
    began = time.monotonic()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return StopOutcome("gone")
    deadline = began + timeout
    while True:
        holder = scheduler_holder(tasks_dir)
        if holder is None or (holder.pid is not None and holder.pid != pid):
            # The lock is let go last: wait (briefly) for the process itself to end too.
            end = min(deadline, time.monotonic() + EXIT_AFTER_RELEASE_S)
            while pid_alive(pid) and not _reaped(pid) and time.monotonic() < end:
                time.sleep(STOP_POLL_S)
            waited = time.monotonic() - began
            return StopOutcome("stopped", holder or _taken_over(tasks_dir, pid), waited)
        if time.monotonic() >= deadline:
            return StopOutcome("timeout", None, time.monotonic() - began)
        time.sleep(STOP_POLL_S)


def _taken_over(tasks_dir: Path, pid: int) -> Holder | None:
    """Who took the lock over within :data:`TAKEOVER_WATCH_S` (a monitor), or None."""
    end = time.monotonic() + TAKEOVER_WATCH_S
    while time.monotonic() < end:
        holder = scheduler_holder(tasks_dir)
        if holder is not None and holder.pid != pid:
            return holder
        time.sleep(STOP_POLL_S)
    return None


def _reaped(pid: int) -> bool:
    """True when ``pid`` is a zombie (exited, not yet reaped by its parent): it has ended."""
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] == "Z"
    return False
