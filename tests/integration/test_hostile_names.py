"""A task folder's name cannot forge log lines or drive the terminal (real folders, real processes).

The name holds a newline and escape sequences (ESC ] 0 ; title BEL retitles a terminal, ESC [ 2 J
clears it). Whatever bassi-tui prints or logs about it must be inert: no raw ESC or BEL, and no
line that starts with the text after the newline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_task, poll_until

EVIL = "evil\x1b]0;pwned\x07\nFAKE LINE"
EVIL_BROKEN = "broken\x1b[2J\nFAKE LINE too"
SHOWN = "evil\\x1b]0;pwned\\x07\\nFAKE LINE"  # how the name is printed: visibly escaped
WAIT_S = 30.0  # a hang guard for the subprocesses, not a performance check


def bassi(*args: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m bassi_tui ARGS`` to the end; bytes, so nothing is decoded away."""
    return subprocess.run(
        [sys.executable, "-m", "bassi_tui", *args],
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
        timeout=WAIT_S,
        check=False,
    )


def assert_inert(output: bytes) -> None:
    """No raw ESC, BEL or C1 control, and no forged line."""
    text = output.decode("utf-8")
    assert "\x1b" not in text and "\x07" not in text
    assert not any(0x80 <= ord(c) < 0xA0 for c in text)
    assert not any(line.startswith("FAKE LINE") for line in text.splitlines())


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    """A tasks dir with a valid task and a broken one, both with hostile names."""
    root = tmp_path / "tasks"
    make_task(root, EVIL)
    make_task(root, EVIL_BROKEN, schedule="type: daily\ntiem: '09:00'\n")
    make_task(root, "plain")
    return root


def test_check_prints_hostile_names_inert(tasks: Path, tmp_path: Path) -> None:
    done = bassi("check", str(tasks), home=tmp_path)
    assert done.returncode == 1  # the broken one
    assert_inert(done.stdout)
    assert_inert(done.stderr)
    assert f"ok  {SHOWN}: " in done.stdout.decode()
    assert "broken\\x1b[2J\\nFAKE LINE too/schedule.yaml:2: " in done.stderr.decode()


def test_next_and_run_print_hostile_names_inert(tasks: Path, tmp_path: Path) -> None:
    for args in (["next", EVIL], ["next", EVIL_BROKEN], ["next", "no\x1b]0;such\x07\nFAKE LINE"]):
        done = bassi(*args, "--tasks-dir", str(tasks), home=tmp_path)
        assert_inert(done.stdout)
        assert_inert(done.stderr)
    # The known-task list names every folder, hostile ones too.
    assert f"known tasks: {SHOWN}" in done.stderr.decode() or SHOWN in done.stderr.decode()
    done = bassi("run", EVIL, "--tasks-dir", str(tasks), home=tmp_path)
    assert done.returncode == 0
    assert_inert(done.stderr)  # stdout is the run's output, raw when piped (see test_run_output)
    assert f"{SHOWN}: success in" in done.stderr.decode()


def test_headless_logs_hostile_names_inert(tasks: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "bassi.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bassi_tui",
            "--headless",
            "--tasks-dir",
            str(tasks),
            "--log-file",
            str(log_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        assert poll_until(lambda: log_file.exists() and SHOWN in log_file.read_text())
        assert poll_until(lambda: "Loaded" in log_file.read_text())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    logged = log_file.read_bytes()
    for output in (out, err, logged):
        assert_inert(output)
    assert f"Loaded task: {SHOWN}".encode() in logged
    assert b"broken\\x1b[2J\\nFAKE LINE too" in err
