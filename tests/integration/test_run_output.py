"""`bassi-tui run` output: the exact bytes into a pipe, inert text on a terminal (a real pty).

The task uses the offline echo executor, whose output is the prompt itself, so the prompt
carries what a hostile model could answer: OSC 52 (writes the clipboard), OSC 0 (retitles the
terminal), a CSI clear-screen, a C1 CSI, tabs, CRLF and non-ASCII text.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import make_task

HOSTILE = (
    "Bonjour ☕ {task_name}\n"
    "\tclip\x1b]52;c;ZXZpbA==\x07 title\x1b]0;pwned\x07 clear\x1b[2J c1\x9b31m\r\n"
    "end"
)
WAIT_S = 30.0  # a hang guard for the subprocesses, not a performance check


def bassi_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bassi_tui", *args]


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home)}


def read_pty(master: int, proc: subprocess.Popen[bytes]) -> bytes:
    """Everything written to the pty until every writer closed it (EIO) or the guard ran out."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed everywhere
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def run_on_terminal(argv: list[str], home: Path) -> tuple[bytes, bytes, int]:
    """Run ``argv`` with stdout on a fresh pseudo-terminal; (terminal bytes, stderr, code)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env_for(home)
    )
    os.close(slave)
    try:
        shown = read_pty(master, proc)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return shown, err, proc.returncode


def assert_inert_on_terminal(shown: bytes) -> None:
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert "\x9b" not in shown.decode("utf-8")
    text = shown.decode("utf-8").replace("\r\n", "\n")  # the pty turns \n into \r\n
    assert "Bonjour ☕ t\n" in text  # newlines, and non-ASCII text, as they are
    assert "\tclip\\x1b]52;c;ZXZpbA==\\x07 title\\x1b]0;pwned\\x07 clear\\x1b[2J c1\\x9b31m" in text


def result_bytes(task: Path) -> bytes:
    [output] = [
        p for p in (task / "results").iterdir() if p.suffix == ".txt" and ".prompt" not in p.name
    ]
    return output.read_bytes()


def test_piped_output_is_the_exact_bytes_of_the_result(tmp_path: Path) -> None:
    task = make_task(tmp_path / "tasks", "t", prompt=HOSTILE)
    done = subprocess.run(
        bassi_argv("run", "t", "--tasks-dir", str(tmp_path / "tasks")),
        capture_output=True,
        env=env_for(tmp_path),
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = HOSTILE.replace("{task_name}", "t").encode("utf-8")
    assert done.stdout == expected  # scripts get exactly what the model said
    assert result_bytes(task) == expected


def test_terminal_output_is_inert(tmp_path: Path) -> None:
    task = make_task(tmp_path / "tasks", "t", prompt=HOSTILE)
    shown, err, code = run_on_terminal(
        bassi_argv("run", "t", "--tasks-dir", str(tmp_path / "tasks")), tmp_path
    )
    assert code == 0, err
    assert_inert_on_terminal(shown)
    assert result_bytes(task) == HOSTILE.replace("{task_name}", "t").encode()  # recorded as is


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A headless bassi-tui that holds the tasks dir, so `run` asks it and follows the files."""
    make_task(tmp_path / "tasks", "t", prompt=HOSTILE)
    log_file = tmp_path / "bassi.log"
    argv = bassi_argv("--headless", "--tasks-dir", str(tmp_path / "tasks"), "--log-file")
    proc = subprocess.Popen(
        [*argv, str(log_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env_for(tmp_path),
    )
    deadline = time.monotonic() + WAIT_S
    while not (log_file.exists() and "Watching" in log_file.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, "headless did not start"
        time.sleep(0.05)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_followed_run_is_inert_on_a_terminal(
    tmp_path: Path, scheduler: subprocess.Popen[bytes]
) -> None:
    shown, err, code = run_on_terminal(
        bassi_argv("run", "t", "--tasks-dir", str(tmp_path / "tasks")), tmp_path
    )
    assert code == 0, err
    assert b"asked the scheduling bassi-tui" in err  # it did go through the other instance
    assert_inert_on_terminal(shown)


def test_a_followed_run_is_exact_when_piped(
    tmp_path: Path, scheduler: subprocess.Popen[bytes]
) -> None:
    done = subprocess.run(
        bassi_argv("run", "t", "--tasks-dir", str(tmp_path / "tasks")),
        capture_output=True,
        env=env_for(tmp_path),
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"asked the scheduling bassi-tui" in done.stderr
    assert done.stdout == HOSTILE.replace("{task_name}", "t").encode("utf-8")
