"""Closing the terminal must not stop the schedules: hand-over, ``bassi-tui stop``, the header.

Real processes throughout: the app on a real pseudo-terminal, real SIGHUP, the real detached
successor it starts (``--headless --successor-of``), real flocks, ``bassi-tui stop`` as a
subprocess. A successor is not a child of the test (it is detached), so every test records
the pids it may leave and kills their process groups at the end. Waits are bounded polls.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bassi_tui import cli
from bassi_tui.scheduler import handover
from bassi_tui.scheduler.engine import TAKEOVER_POLL_S
from bassi_tui.scheduler.handover import scheduler_holder
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.store.settings import SettingsKeeper, parse_settings
from bassi_tui.ui.app import BassiApp
from tests.helpers import WAIT_S, dead_pid, make_task, poll_until
from tests.ui.conftest import wait_until

GUARD_S = 30.0  # hang guards, not performance checks
BASSI = [sys.executable, "-m", "bassi_tui"]


# -- helpers ----------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, ended but not reaped by init yet, does not count)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def lock_pid(tasks: Path) -> int | None:
    """The pid of the process that holds the instance lock now; None when it is free."""
    holder = scheduler_holder(tasks)
    return holder.pid if holder is not None else None


def successors_of(tasks: Path) -> list[int]:
    """Every running successor process on ``tasks`` (from /proc, whoever started it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--successor-of" in argv and str(tasks).encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def scheduled_runs_since(folder: Path, since: datetime) -> int:
    """Scheduled runs of ``folder`` that started after ``since``."""
    count = 0
    for meta in (folder / "results").glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = json.loads(meta.read_text())
            started = datetime.fromisoformat(data["start"])
            count += started > since and data.get("trigger") == "scheduled"
    return count


def history_statuses(folder: Path) -> list[str]:
    state = json.loads((folder / "last_run.json").read_text())
    return [entry["status"] for entry in state["history"]]


def bassi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``bassi-tui ARGS`` to its end."""
    return subprocess.run(
        [*BASSI, *args], env=env, capture_output=True, text=True, timeout=GUARD_S, check=False
    )


class PtyApp:
    """The app on a pseudo-terminal of its own, its screen output drained in a thread."""

    def __init__(self, tasks: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [*BASSI, "--tasks-dir", str(tasks)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.screen = bytearray()
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        while True:
            try:
                if select.select([self.master], [], [], 0.1)[0]:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        return
                    self.screen += chunk
                elif self.proc.poll() is not None:
                    return
            except OSError:  # EIO: the app closed the terminal
                return

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._drain.join(GUARD_S)
        os.close(self.master)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm-256color"}
    env.pop("BASSI_TASKS_DIR", None)
    return env


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Pids of detached processes (and their process groups) to kill when the test ends."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def apps() -> Iterator[list[PtyApp]]:
    started: list[PtyApp] = []
    yield started
    for app in started:
        app.close()


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def tick_task(tasks: Path) -> Path:
    """A task that runs every second, offline."""
    return make_task(tasks, "tick", schedule="type: interval\nseconds: 1\n")


def log_text(tmp_path: Path) -> str:
    path = tmp_path / ".bassi" / "bassi-tui.log"
    return path.read_text() if path.exists() else ""


def start_app_scheduling(
    tasks: Path, folder: Path, env: dict[str, str], apps: list[PtyApp]
) -> PtyApp:
    """The app on a pty, once it holds the lock and has run the task."""
    app = PtyApp(tasks, env)
    apps.append(app)
    started = poll_until(lambda: lock_pid(tasks) == app.proc.pid, GUARD_S) and poll_until(
        lambda: (folder / "last_run.json").exists(), GUARD_S
    )
    assert started, f"the app did not schedule (exit {app.proc.poll()}): {app.screen[-3000:]!r}"
    return app


# -- the hand-over ----------------------------------------------------------------------------


def test_sighup_hands_over_to_a_detached_successor_that_stop_ends(
    tmp_path: Path, env: dict[str, str], apps: list[PtyApp], leftovers: list[int]
) -> None:
    tasks = tmp_path / "tasks"
    folder = tick_task(tasks)
    app = start_app_scheduling(tasks, folder, env, apps)

    app.proc.send_signal(signal.SIGHUP)
    assert app.proc.wait(timeout=GUARD_S) == 128 + signal.SIGHUP
    exited = datetime.now(UTC)
    # The successor was started before the app quit, and now holds the lock.
    assert poll_until(lambda: lock_pid(tasks) not in (None, app.proc.pid), GUARD_S)
    successor = lock_pid(tasks)
    assert successor is not None
    leftovers.append(successor)
    argv = Path(f"/proc/{successor}/cmdline").read_bytes().split(b"\0")
    assert b"--headless" in argv and b"--successor-of" in argv
    assert str(app.proc.pid).encode() in argv and str(tasks).encode() in argv
    # Detached: a session of its own, no terminal; its stderr goes to the app's log file.
    assert os.getsid(successor) == successor
    log_file = tmp_path / ".bassi" / "bassi-tui.log"
    assert os.readlink(f"/proc/{successor}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{successor}/fd/1") == "/dev/null"
    assert Path(os.readlink(f"/proc/{successor}/fd/2")) == log_file

    # Schedules go on: runs keep coming, from the successor, and no fire was missed.
    assert poll_until(lambda: scheduled_runs_since(folder, exited) >= 2, GUARD_S)
    assert "missed" not in history_statuses(folder)
    log = log_text(tmp_path)
    assert f"handing the schedules over to a detached bassi-tui --headless (pid {successor}" in log
    assert f"Took over from the app (pid {app.proc.pid})" in log
    assert f"this detached bassi-tui (pid {successor}) schedules" in log

    # `bassi-tui stop` ends it, and says so; then there is nothing left to stop.
    stop = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert stop.returncode == 0, stop.stderr
    assert f"Stopped pid {successor}" in stop.stdout and "a hand-over" in stop.stdout
    assert scheduler_holder(tasks) is None
    assert poll_until(lambda: not alive(successor), GUARD_S)
    assert "SIGTERM: stopping" in log_text(tmp_path)
    again = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert again.returncode == 1
    assert f"nothing to stop: no bassi-tui schedules {tasks}" in again.stderr


def test_handover_false_in_bassi_yaml_stops_the_schedules(
    tmp_path: Path, env: dict[str, str], apps: list[PtyApp], leftovers: list[int]
) -> None:
    tasks = tmp_path / "tasks"
    folder = tick_task(tasks)
    (tasks / "bassi.yaml").write_text("handover: false\n")
    app = start_app_scheduling(tasks, folder, env, apps)
    app.proc.send_signal(signal.SIGHUP)
    assert app.proc.wait(timeout=GUARD_S) == 128 + signal.SIGHUP
    # A successor would have been started (and been ready) before the app exited.
    leftovers.extend(successors_of(tasks))
    assert successors_of(tasks) == []
    assert scheduler_holder(tasks) is None
    assert "schedules stop until bassi-tui starts again (handover: false" in log_text(tmp_path)


def test_a_monitoring_app_hands_nothing_over(
    tmp_path: Path,
    env: dict[str, str],
    apps: list[PtyApp],
    children: list[subprocess.Popen[bytes]],
    leftovers: list[int],
) -> None:
    tasks = tmp_path / "tasks"
    tick_task(tasks)
    headless = subprocess.Popen(
        [*BASSI, "--headless", "--tasks-dir", str(tasks)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    children.append(headless)
    assert poll_until(lambda: lock_pid(tasks) == headless.pid, GUARD_S)
    app = PtyApp(tasks, env)
    apps.append(app)
    assert poll_until(lambda: "schedules these tasks: monitoring" in log_text(tmp_path), GUARD_S)
    app.proc.send_signal(signal.SIGHUP)
    assert app.proc.wait(timeout=GUARD_S) == 128 + signal.SIGHUP
    leftovers.extend(successors_of(tasks))
    assert successors_of(tasks) == []
    assert lock_pid(tasks) == headless.pid

    # stop ends a plain --headless as well: cleanly (exit 0), the lock free.
    stop = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert stop.returncode == 0, stop.stderr
    assert "bassi-tui --headless that schedules" in stop.stdout
    assert headless.wait(timeout=GUARD_S) == 0
    assert scheduler_holder(tasks) is None


def test_stop_says_when_a_monitoring_instance_takes_over(
    tmp_path: Path, env: dict[str, str], children: list[subprocess.Popen[bytes]]
) -> None:
    """Stopping the scheduler while another instance monitors does not stop the schedules."""
    assert handover.TAKEOVER_WATCH_S > TAKEOVER_POLL_S  # stop watches long enough to see it
    tasks = tmp_path / "tasks"
    tick_task(tasks)
    first, second = (
        subprocess.Popen(
            [*BASSI, "--headless", "--tasks-dir", str(tasks), "--log-file", str(tmp_path / log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for log in ("first.log", "second.log")
    )
    children.extend((first, second))
    assert poll_until(lambda: lock_pid(tasks) in (first.pid, second.pid), GUARD_S)
    scheduler, monitor = (first, second) if lock_pid(tasks) == first.pid else (second, first)
    log = tmp_path / ("second.log" if monitor is second else "first.log")
    assert poll_until(lambda: log.exists() and "monitoring" in log.read_text(), GUARD_S)
    stop = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert stop.returncode == 0, stop.stderr
    assert f"another bassi-tui (pid {monitor.pid} on" in stop.stdout
    assert "was monitoring and schedules now" in stop.stdout
    assert scheduler.wait(timeout=GUARD_S) == 0
    assert lock_pid(tasks) == monitor.pid


def successor(tasks: Path, app_pid: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A successor as the app starts it, its stdout a pipe for the ready line."""
    return subprocess.Popen(
        [*BASSI, "--headless", "--tasks-dir", str(tasks), "--successor-of", str(app_pid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def test_the_successor_says_ready_then_takes_the_lock_the_moment_it_is_free(
    tmp_path: Path, env: dict[str, str], children: list[subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    folder = tick_task(tasks)
    first = subprocess.Popen(
        [*BASSI, "--headless", "--tasks-dir", str(tasks)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    children.append(first)
    assert poll_until(lambda: lock_pid(tasks) == first.pid, GUARD_S)
    heir = successor(tasks, first.pid, env)
    children.append(heir)
    assert heir.stdout is not None
    ready, _, _ = select.select([heir.stdout], [], [], GUARD_S)
    assert ready and heir.stdout.readline() == b"ready\n"
    assert lock_pid(tasks) == first.pid  # it waits while the app holds the lock

    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=GUARD_S) == 0
    since = datetime.now(UTC)
    assert poll_until(lambda: lock_pid(tasks) == heir.pid, GUARD_S)
    assert poll_until(lambda: scheduled_runs_since(folder, since) >= 1, GUARD_S)
    heir.send_signal(signal.SIGTERM)
    _, err = heir.communicate(timeout=GUARD_S)
    assert heir.returncode == 0
    assert err == b""  # with no --log-file it logs nowhere (its stderr is the log file)


def test_a_successor_not_needed_exits(
    tmp_path: Path, env: dict[str, str], children: list[subprocess.Popen[bytes]]
) -> None:
    """Another instance took the lock before it (a monitor's takeover, a service): it leaves."""
    tasks = tmp_path / "tasks"
    tick_task(tasks)
    other = subprocess.Popen(
        [*BASSI, "--headless", "--tasks-dir", str(tasks)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    children.append(other)
    assert poll_until(lambda: lock_pid(tasks) == other.pid, GUARD_S)
    log_file = tmp_path / "successor.log"
    argv = ["--headless", "--tasks-dir", str(tasks), "--successor-of", str(dead_pid())]
    heir = subprocess.Popen(
        [*BASSI, *argv, "--log-file", str(log_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    children.append(heir)
    assert heir.wait(timeout=GUARD_S) == 0
    assert f"not needed: pid {other.pid}" in log_file.read_text()
    assert lock_pid(tasks) == other.pid


def test_successor_of_goes_with_headless_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.SUCCESSOR_FLAG == handover.SUCCESSOR_FLAG
    with pytest.raises(SystemExit) as exc:
        cli.main(["--successor-of", "1"])
    assert exc.value.code == 2
    assert "--successor-of goes with --headless only" in capsys.readouterr().err


# -- stop, when there is nothing it may stop ---------------------------------------------------

HOLD = """
import fcntl, json, os, signal, sys, time
path = sys.stdin.readline().strip()
extra = json.loads(sys.stdin.readline())
if extra.pop("ignore_term", False):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, json.dumps({"pid": os.getpid(), **extra}).encode())
print("held", flush=True)
time.sleep(600)
"""


def hold_lock(
    tasks: Path, children: list[subprocess.Popen[bytes]], *, looks_bassi: bool, **extra: object
) -> subprocess.Popen[bytes]:
    """A process holding the instance lock of ``tasks`` as written by ``extra``; its command
    line names bassi only when ``looks_bassi`` (the code above does not)."""
    argv = [sys.executable, "-c", HOLD] + (["bassi-lookalike"] if looks_bassi else [])
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    children.append(proc)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{tasks / '.bassi.lock'}\n{json.dumps(extra)}\n".encode())
    proc.stdin.flush()
    assert proc.stdout.readline() == b"held\n"
    return proc


def test_stop_with_a_stale_lock_file_has_nothing_to_stop(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A killed scheduler's lock file names a pid (here: this test's own): never signalled."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / ".bassi.lock").write_text(json.dumps({"pid": os.getpid(), "host": os.uname()[1]}))
    done = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 1 and "nothing to stop" in done.stderr


def test_stop_refuses_what_it_cannot_or_must_not_stop(
    tmp_path: Path, env: dict[str, str], children: list[subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    host = os.uname()[1]
    stranger = hold_lock(tasks, children, looks_bassi=False, host=host)
    done = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 3 and "which is not a bassi-tui: not stopping it" in done.stderr
    assert stranger.poll() is None
    stranger.kill()
    stranger.wait()

    remote = hold_lock(tasks, children, looks_bassi=True, host="elsewhere.example")
    done = bassi("stop", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 3 and "it runs on another host" in done.stderr
    assert remote.poll() is None
    remote.kill()
    remote.wait()

    stubborn = hold_lock(tasks, children, looks_bassi=True, host=host, ignore_term=True)
    done = bassi("stop", "--tasks-dir", str(tasks), "--timeout", "0.5", env=env)
    assert done.returncode == 3
    assert f"pid {stubborn.pid} still schedules after 0.5 s" in done.stderr
    assert f"kill -9 {stubborn.pid}" in done.stderr


def test_stop_on_a_missing_tasks_dir_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    done = bassi("stop", "--tasks-dir", str(tmp_path / "nope"), env=env)
    assert done.returncode == 2 and "nope" in done.stderr


# -- the header says the role -----------------------------------------------------------------


async def test_the_header_says_this_instance_schedules(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    tick_task(tasks)
    app = BassiApp(tasks, show_log=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.engine.started, "the engine's start")
        await wait_until(pilot, lambda: "scheduling here" in app.sub_title, "the role")
        assert app.sub_title.endswith(" · scheduling here")


async def test_the_header_says_who_schedules_while_it_monitors(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    tick_task(tasks)
    holder = hold_lock(tasks, children, looks_bassi=True, host="box")
    app = BassiApp(tasks, show_log=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: "monitoring" in app.sub_title, "the role")
        assert f"monitoring: pid {holder.pid} on box schedules" in app.sub_title
        assert "scheduling here" not in app.sub_title
        holder.kill()  # the scheduler dies: this one takes over, and says so
        await wait_until(
            pilot, lambda: "scheduling here" in app.sub_title, "the takeover", timeout=WAIT_S
        )
        assert "monitoring" not in app.sub_title


# -- bassi.yaml -------------------------------------------------------------------------------


def test_handover_in_bassi_yaml() -> None:
    assert parse_settings("")[0].handover is True
    assert parse_settings("handover: true\n")[0].handover is True
    settings, problems = parse_settings("defaults:\n  timeout: 5\nhandover: false\n")
    assert settings.handover is False and problems == []
    _, problems = parse_settings("handover: sometimes\n")
    assert [(p.file, p.line) for p in problems] == [("bassi.yaml", 1)]
    assert "handover: expected true or false" in problems[0].message
    _, problems = parse_settings("handvoer: false\n")
    assert "did you mean 'handover'" in problems[0].message


def test_turning_handover_off_reloads_no_task(tmp_path: Path) -> None:
    keeper = SettingsKeeper(tmp_path)
    (tmp_path / "bassi.yaml").write_text("defaults:\n  timeout: 5\n")
    assert keeper.refresh() is not None
    (tmp_path / "bassi.yaml").write_text("defaults:\n  timeout: 5\nhandover: false\n")
    got = keeper.refresh()
    assert got is not None and not got.changed and keeper.settings.handover is False
    (tmp_path / "bassi.yaml").write_text("defaults:\n  timeout: 6\nhandover: false\n")
    got = keeper.refresh()
    assert got is not None and got.changed


def test_a_broken_bassi_yaml_leaves_handover_on(tmp_path: Path) -> None:
    (tmp_path / "bassi.yaml").write_text("handover: [\n")
    enabled, note = handover.handover_enabled(tmp_path)
    assert enabled and "bassi.yaml has problems" in note


def test_scheduler_holder_reads_only_a_held_lock(tmp_path: Path) -> None:
    assert scheduler_holder(tmp_path) is None  # no lock file at all
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    holder = scheduler_holder(tmp_path)
    assert holder is not None and holder.pid == os.getpid() and holder.here
    assert holder.describe().startswith(f"pid {os.getpid()} on {os.uname()[1]}, since ")
    lock.release()
    assert scheduler_holder(tmp_path) is None
