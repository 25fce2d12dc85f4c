"""SIGHUP, SIGTERM and SIGINT: the app and --headless record runs in flight and exit cleanly.

Real processes: ``python -m bassi_tui`` headless, and the app on a real pseudo-terminal. A task
runs a shell command that prints, records its pid and sleeps; the signal must leave the run
recorded as interrupted (its real duration, its partial output), the command's process group
killed, and (the app) the terminal restored.
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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_task, poll_until

GUARD_S = 30.0  # hang guards, not performance checks


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def only_meta(folder: Path) -> dict[str, Any] | None:
    metas = [p for p in (folder / "results").glob("*.json") if not p.name.endswith(".output.json")]
    return json.loads(metas[0].read_text()) if len(metas) == 1 else None


def under_way(folder: Path, pid_file: Path) -> bool:
    """The command runs (its pid is written) and its first line is in the result file."""
    if not pid_file.exists() or pid_file.read_text().strip() == "":
        return False
    return any(p.read_text() == "partial\n" for p in (folder / "results").glob("*.txt"))


def long_task(tasks: Path, pid_file: Path) -> Path:
    command = f"echo partial; echo $$ > {pid_file}; exec sleep 120"
    return make_task(
        tasks,
        "long",
        schedule="type: interval\nseconds: 1\n",
        config=f"executor: command\ncommand: ['sh', '-c', {json.dumps(command)}]\ntimeout: 300\n",
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "TERM": "xterm-256color"}


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def check_recorded_interrupted(folder: Path, pid_file: Path) -> None:
    meta = only_meta(folder)
    assert meta is not None and meta["status"] == "interrupted", meta
    assert meta["partial"] is True and meta["duration"] > 0
    assert (folder / "results" / meta["result_file"]).read_text() == "partial\n"
    state = json.loads((folder / "last_run.json").read_text())
    assert state["history"][0]["status"] == "interrupted"
    assert not alive(int(pid_file.read_text()))  # the command's group was killed


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_headless_records_the_run_in_flight_and_exits(
    tmp_path: Path, env: dict[str, str], procs: list[subprocess.Popen[bytes]], sig: int
) -> None:
    tasks, pid_file = tmp_path / "tasks", tmp_path / "child.pid"
    folder = long_task(tasks, pid_file)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bassi_tui", "--headless", "--tasks-dir", str(tasks)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    procs.append(proc)
    assert poll_until(lambda: under_way(folder, pid_file))
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=GUARD_S)
    assert proc.returncode == 0, err.decode()
    assert signal.Signals(sig).name in err.decode()
    check_recorded_interrupted(folder, pid_file)


def read_until_exit(master: int, proc: subprocess.Popen[bytes]) -> bytes:
    """Everything the app wrote to its terminal until it exited (and closed the pty)."""
    out = bytearray()
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the pty
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return bytes(out)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_the_app_records_the_run_restores_the_terminal_and_exits(
    tmp_path: Path, env: dict[str, str], procs: list[subprocess.Popen[bytes]], sig: int
) -> None:
    tasks, pid_file = tmp_path / "tasks", tmp_path / "child.pid"
    folder = long_task(tasks, pid_file)
    # The plain stop: no detached successor (the hand-over on SIGHUP is test_handover.py's).
    (tasks / "bassi.yaml").write_text("handover: false\n")
    master, slave = pty.openpty()
    with contextlib.ExitStack() as stack:
        stack.callback(os.close, master)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bassi_tui", "--tasks-dir", str(tasks)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        procs.append(proc)
        screen = bytearray()

        def started() -> bool:
            with contextlib.suppress(OSError):
                while select.select([master], [], [], 0)[0]:
                    screen.extend(os.read(master, 65536))
            return under_way(folder, pid_file)

        assert poll_until(started)
        assert b"\x1b[?1049h" in screen  # the app is on the alternate screen
        proc.send_signal(sig)
        tail = read_until_exit(master, proc)
        assert proc.wait(timeout=GUARD_S) == 128 + sig
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail  # main screen back, cursor shown
    check_recorded_interrupted(folder, pid_file)
