"""Fault injection with real processes: racing instances, kill -9, SIGSTOP/SIGCONT.

Each test fails without its mechanism: without the flock every instance schedules and fires are
doubled; without recovery a killed run stays "running"; without coalescing a resumed process runs
every missed fire at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bassi_tui.scheduler.engine import Engine
from tests.helpers import make_task, poll_until


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "HOME": str(tmp_path)}

    def start(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bassi_tui", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def metas(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((folder / "results").glob("*.json")):
        if not path.name.endswith(".output.json"):
            found.append(json.loads(path.read_text()))
    return found


def lock_holder(tasks: Path) -> int | None:
    try:
        return int(json.loads((tasks / ".bassi.lock").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def test_three_instances_never_double_a_fire_even_when_the_scheduler_is_killed(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    folder = make_task(tasks, "race", schedule="type: interval\nseconds: 0.5\n")
    procs = [spawn("--headless", "--tasks-dir", str(tasks)) for _ in range(3)]
    assert poll_until(lambda: len(metas(folder)) >= 4)
    holder = lock_holder(tasks)
    victim = next(p for p in procs if p.pid == holder)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = datetime.now().astimezone()
    assert poll_until(lambda: lock_holder(tasks) not in (None, holder))
    assert poll_until(
        lambda: sum(datetime.fromisoformat(m["start"]) > killed_at for m in metas(folder)) >= 4
    )
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    runs = [m for m in metas(folder) if m["trigger"] == "scheduled"]
    slots = Counter(m["scheduled_for"] for m in runs)
    assert slots.most_common(1)[0][1] == 1, f"a fire ran twice: {slots.most_common(3)}"
    # Every run of the killed scheduler is accounted for: none is left "running".
    assert all(m["status"] in ("success", "interrupted") for m in metas(folder))


def _kill_orphans(marker: str) -> None:
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(pid_dir.name), signal.SIGKILL)


async def test_kill_9_mid_stream_leaves_an_interrupted_partial_run(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    marker = "31.4159"  # a sleep length no other process uses, to find the orphan later
    folder = make_task(
        tmp_path,
        "streaming",
        config=f"executor: command\ncommand: ['sh', '-c', 'printf partial; sleep {marker}']\n",
    )
    proc = spawn("run", "streaming", "--tasks-dir", str(tmp_path))
    try:
        assert poll_until(
            lambda: any(p.read_text() == "partial" for p in folder.glob("results/*.txt"))
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        _kill_orphans(marker)
    [meta] = metas(folder)
    assert meta["status"] == "running"  # what the crash left behind
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    await engine.stop()
    [meta] = metas(folder)
    assert meta["status"] == "interrupted" and meta["partial"] is True
    assert (folder / "results" / meta["result_file"]).read_text() == "partial"
    state = json.loads((folder / "last_run.json").read_text())
    assert state["last_status"] == "interrupted"


def test_kill_9_at_random_moments_leaves_every_file_valid(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    folders = [
        make_task(tasks, f"busy-{i}", schedule="type: interval\nseconds: 0.1\n") for i in range(4)
    ]
    for delay in (0.7, 1.1, 0.9, 1.3):
        proc = spawn("--headless", "--tasks-dir", str(tasks))
        pid = proc.pid
        assert poll_until(lambda: lock_holder(tasks) == pid)  # noqa: B023 (used at once)
        time.sleep(delay)  # let it fire a few times, then pull the plug at an arbitrary moment
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for folder in folders:
            state_file = folder / "last_run.json"
            if state_file.exists():
                json.loads(state_file.read_text())  # never half-written
            for meta in metas(folder):
                assert meta["status"] in ("running", "success", "interrupted")
    log = tmp_path / "final.log"
    final = spawn("--headless", "--tasks-dir", str(tasks), "--log-file", str(log))
    # Up, its recovery done: the lock alone is taken before the engine even loads.
    assert poll_until(lambda: log.exists() and "Loaded" in log.read_text())
    final.send_signal(signal.SIGTERM)
    final.wait(timeout=20)
    for folder in folders:
        statuses = {m["status"] for m in metas(folder)}
        assert statuses <= {"success", "interrupted"}, statuses
        assert not list(folder.glob(".*.tmp")) and not list(folder.glob("results/.*.tmp"))


def test_suspend_and_resume_runs_an_overdue_fire_once(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    folder = make_task(tasks, "sleeper", schedule="type: interval\nseconds: 2\n")
    proc = spawn("--headless", "--tasks-dir", str(tasks))
    # Stop it between runs: a run still in flight at resume would make the overdue fire a
    # (correctly) skipped overlap instead of a run.
    assert poll_until(lambda: any(m["status"] == "success" for m in metas(folder)))
    assert poll_until(lambda: all(m["status"] == "success" for m in metas(folder)))
    proc.send_signal(signal.SIGSTOP)
    time.sleep(7.0)  # three fires fall due while the process is stopped
    resumed = datetime.now().astimezone()
    proc.send_signal(signal.SIGCONT)
    assert poll_until(
        lambda: any(datetime.fromisoformat(m["start"]) >= resumed for m in metas(folder))
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    overdue = [
        m
        for m in metas(folder)
        if datetime.fromisoformat(m["start"]) >= resumed
        and datetime.fromisoformat(m["scheduled_for"]) < resumed
    ]
    # Exactly one run for the three fires that fell due. (Should SIGSTOP still land mid-run, the
    # overdue fire is an overlap and is recorded as skipped instead: still handled exactly once.)
    history = json.loads((folder / "last_run.json").read_text())["history"]
    skipped = [
        h
        for h in history
        if h["status"] == "skipped" and datetime.fromisoformat(h["timestamp"]) >= resumed
    ]
    assert len(overdue) + len(skipped) == 1, (overdue, skipped)


def test_run_command_goes_through_the_scheduling_instance(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    tasks = tmp_path / "tasks"
    folder = make_task(
        tasks,
        "asked",
        config="executor: command\ncommand: ['sh', '-c', 'printf one; sleep 0.3; printf two']\n",
    )
    scheduler = spawn("--headless", "--tasks-dir", str(tasks))
    assert poll_until(lambda: lock_holder(tasks) == scheduler.pid)
    result = subprocess.run(
        [sys.executable, "-m", "bassi_tui", "run", "asked", "--tasks-dir", str(tasks)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("onetwo")
    assert "asked the scheduling bassi-tui" in result.stderr
    [meta] = metas(folder)
    assert meta["run_request"] and meta["trigger"] == "manual" and meta["status"] == "success"
    assert lock_holder(tasks) == scheduler.pid
