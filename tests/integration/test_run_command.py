"""`bassi-tui run TASK` beside schedulers and other runs, and when stopped: real processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui import commands
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunStarted
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.scheduler.requests import REQUESTS_DIR
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import TaskState
from bassi_tui.store.results import list_results
from bassi_tui.store.state import read_state, write_state
from tests.helpers import EventLog, make_task, poll_until

GUARD_S = 30.0


def waiting_task(tasks: Path, name: str, go: Path, pid_file: Path | None = None) -> Path:
    """A task whose command prints, (records its pid,) and waits for ``go`` to exist."""
    record = f"echo $$ > {pid_file}; " if pid_file else ""
    script = f"echo begun; {record}while [ ! -e {go} ]; do sleep 0.02; done; echo end"
    config = f"executor: command\ncommand: ['sh', '-c', {json.dumps(script)}]\n"
    return make_task(tasks, name, config=config)


@pytest.fixture
def run_proc(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    env = {**os.environ, "HOME": str(tmp_path)}

    def start(tasks: Path, name: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bassi_tui", "run", name, "--tasks-dir", str(tasks)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def first_run_started(folder: Path) -> bool:
    return any(r.running for r in list_results(folder / "results"))


async def test_a_run_leaves_the_scheduling_to_an_app_started_meanwhile(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]]
) -> None:
    tasks, go = tmp_path / "tasks", tmp_path / "go"
    folder = waiting_task(tasks, "manual", go)
    make_task(tasks, "other")
    proc = run_proc(tasks, "manual")
    assert await asyncio.to_thread(poll_until, lambda: first_run_started(folder))
    engine = Engine(tasks, watch=False)
    await engine.start()
    try:
        assert engine.role == "scheduler"  # `run` does not hold the instance lock
        # The task `run` is running is an overlap for this scheduler: skipped, with why.
        assert not engine.start_run("manual", "scheduled", scheduled_for=datetime.now(UTC))
        await engine.wait_idle()
        go.touch()
        _, err = await asyncio.to_thread(proc.communicate, timeout=GUARD_S)
        assert proc.returncode == 0, err
        assert "asked the scheduling" not in err
    finally:
        await engine.stop()
    history = read_state(folder).state.history
    skipped = [h for h in history if h.status == "skipped"]
    assert skipped and skipped[0].error == f"running in `bassi-tui run` (pid {proc.pid})"


def test_two_runs_of_different_tasks_both_run_here(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]]
) -> None:
    tasks, go = tmp_path / "tasks", tmp_path / "go"
    first, second = waiting_task(tasks, "a", go), waiting_task(tasks, "b", go)
    one = run_proc(tasks, "a")
    assert poll_until(lambda: first_run_started(first))
    two = run_proc(tasks, "b")
    assert poll_until(lambda: first_run_started(second))
    go.touch()
    for proc in (one, two):
        _, err = proc.communicate(timeout=GUARD_S)
        assert proc.returncode == 0, err
        assert "asked the scheduling" not in err


def test_a_second_run_of_the_same_task_is_refused(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]]
) -> None:
    tasks, go = tmp_path / "tasks", tmp_path / "go"
    folder = waiting_task(tasks, "once-at-a-time", go)
    first = run_proc(tasks, "once-at-a-time")
    assert poll_until(lambda: first_run_started(folder))
    second = run_proc(tasks, "once-at-a-time")
    _, err = second.communicate(timeout=GUARD_S)
    assert second.returncode == 1
    assert f"being run by another `bassi-tui run` (pid {first.pid})" in err
    go.touch()
    first.communicate(timeout=GUARD_S)
    assert first.returncode == 0
    assert len(list_results(folder / "results")) == 1


def test_a_run_keeps_the_next_run_a_scheduler_promised(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]]
) -> None:
    tasks = tmp_path / "tasks"
    folder = make_task(tasks, "promised")
    promise = datetime.now(UTC) - timedelta(hours=3)  # a fire missed while nothing scheduled
    write_state(folder, TaskState("promised", next_run=promise))
    proc = run_proc(tasks, "promised")
    _, err = proc.communicate(timeout=GUARD_S)
    assert proc.returncode == 0, err
    state = read_state(folder).state
    assert state.run_count == 1 and state.next_run == promise


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stopped_run_is_recorded_and_its_command_killed(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]], sig: int
) -> None:
    tasks, go, pid_file = tmp_path / "tasks", tmp_path / "go", tmp_path / "pid"
    folder = waiting_task(tasks, "stopped", go, pid_file)
    proc = run_proc(tasks, "stopped")
    assert proc.stdout is not None
    assert proc.stdout.readline() == "begun\n"  # the output is in the result file by now
    assert poll_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=GUARD_S)
    assert proc.returncode == 128 + sig, err
    [record] = list_results(folder / "results")
    assert record.status == "interrupted" and record.partial
    assert record.duration is not None and record.duration > 0
    child = int(pid_file.read_text())
    assert poll_until(lambda: not os.path.exists(f"/proc/{child}"), timeout=5)


def test_a_request_nobody_takes_is_withdrawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks"
    make_task(tasks, "unheard")
    stuck = InstanceLock(tasks)  # a "scheduler" that never looks at its requests
    assert stuck.try_acquire()
    try:
        monkeypatch.setattr(commands, "PICKUP_TIMEOUT_S", 0.3)
        assert commands.run_command(tasks, "unheard") == 1
    finally:
        stuck.release()
    assert "the request is withdrawn" in capsys.readouterr().err
    assert list((tasks / REQUESTS_DIR).iterdir()) == []  # it will not run later by surprise


async def test_following_a_run_whose_folder_is_removed_ends(
    tmp_path: Path, run_proc: Callable[..., subprocess.Popen[str]]
) -> None:
    tasks, go = tmp_path / "tasks", tmp_path / "go"
    folder = waiting_task(tasks, "vanishing", go)
    assert load_task(folder).ok
    engine = Engine(tasks)
    events = EventLog(engine)
    await engine.start()
    try:
        proc = run_proc(tasks, "vanishing")  # asks the engine, then follows its files
        await events.wait_for(lambda e: isinstance(e, RunStarted))
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)  # the follower has the run
        assert line == "begun\n"
        shutil.rmtree(folder)
        go.touch()
        _, err = await asyncio.to_thread(proc.communicate, timeout=GUARD_S)
        assert proc.returncode == 1
        assert "removed while it ran" in err
    finally:
        await engine.stop()
