"""The tasks dir: the default is created, a mistyped or unusable one is one line and exit 2.

Real processes (``python -m bassi_tui``) on real folders: the point is what a person sees, and
that no case ends in a traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_task, poll_until

WAIT_S = 30.0  # a hang guard for the subprocesses, not a performance check

# Every way to start bassi-tui on a tasks dir given with --tasks-dir.
MODES = {
    "app": [],
    "headless": ["--headless"],
    "run": ["run", "t"],
    "next": ["next", "t"],
}


def bassi(
    args: list[str], home: Path, env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run bassi-tui to its end with stdin, stdout and stderr not on a terminal."""
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "bassi_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), **(env or {})},
        timeout=WAIT_S,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for text in expected:
        assert text in done.stderr


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_a_given_tasks_dir_that_does_not_exist_is_an_error(tmp_path: Path, mode: list[str]) -> None:
    missing = tmp_path / "tsaks"  # a typo
    done = bassi([*mode, "--tasks-dir", str(missing)], home=tmp_path)
    assert_one_line_error(
        done, f"bassi-tui: no tasks dir at {missing} (create it with mkdir -p {missing})"
    )
    assert not missing.exists()


def test_a_missing_dir_from_the_environment_is_an_error_too(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    done = bassi(["--headless"], home=tmp_path, env={"BASSI_TASKS_DIR": str(missing)})
    assert_one_line_error(done, f"no tasks dir at {missing}")
    assert not missing.exists()


def test_check_of_a_missing_dir_says_so(tmp_path: Path) -> None:
    done = bassi(["check", str(tmp_path / "nope")], home=tmp_path)
    assert_one_line_error(done, f"no tasks dir at {tmp_path / 'nope'}")


@pytest.mark.parametrize("mode", [*MODES.values(), ["check"]], ids=[*MODES.keys(), "check"])
def test_a_tasks_dir_that_is_a_file_is_an_error(tmp_path: Path, mode: list[str]) -> None:
    file = tmp_path / "tasks.txt"
    file.write_text("not a folder\n")
    args = [*mode, str(file)] if mode == ["check"] else [*mode, "--tasks-dir", str(file)]
    done = bassi(args, home=tmp_path)
    assert_one_line_error(done, f"{file} is a file, not a tasks dir")
    assert file.read_text() == "not a folder\n"


def read_only_prefix(folder: Path) -> list[str]:
    """How to run a command that sees ``folder`` read-only, really (not just by os.access).

    Not root: chmod 555 is enough. Root writes through any mode, so the command runs in its
    own mount namespace with ``folder`` bind-mounted read-only (EROFS refuses root too).
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without unshare(1): no way to make a folder read-only")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", script, str(folder), "touch", str(folder / "probe")],
        capture_output=True,
        text=True,
        check=False,
    )
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"running as root and a read-only bind mount is not allowed: {probe.stderr}")
    return [unshare, "-m", "sh", "-c", script, str(folder)]


@pytest.mark.parametrize("mode", ["headless", "app", "run"])
def test_a_read_only_tasks_dir_is_an_error_but_check_works(tmp_path: Path, mode: str) -> None:
    tasks = tmp_path / "tasks"
    make_task(tasks, "t")
    prefix = read_only_prefix(tasks)
    try:
        done = bassi([*MODES[mode], "--tasks-dir", str(tasks)], home=tmp_path, prefix=prefix)
        assert_one_line_error(
            done,
            f"cannot write to the tasks dir {tasks}: bassi-tui needs to write there",
            "`bassi-tui check` works on a read-only dir",
        )
        checked = bassi(["check", str(tasks)], home=tmp_path, prefix=prefix)
        assert checked.returncode == 0, checked.stderr
        assert "ok  t: " in checked.stdout
        nxt = bassi(["next", "t", "--tasks-dir", str(tasks)], home=tmp_path, prefix=prefix)
        assert nxt.returncode == 0, nxt.stderr  # next only reads too
    finally:
        tasks.chmod(0o755)
    assert sorted(p.name for p in tasks.iterdir()) == ["t"]  # nothing was written


def run_headless_until_watching(args: list[str], home: Path) -> tuple[int, str]:
    """Start headless, wait until its log says it is watching, SIGTERM it; (code, stderr)."""
    log_file = home / "headless.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bassi_tui", "--headless", "--log-file", str(log_file), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(home)},
    )
    try:
        assert poll_until(lambda: log_file.exists() and "Watching" in log_file.read_text())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_the_default_tasks_dir_is_created_and_the_log_says_so(tmp_path: Path) -> None:
    default = tmp_path / ".bassi" / "tasks-scheduler"
    code, err = run_headless_until_watching([], tmp_path)
    assert code == 0, err
    assert default.is_dir()
    assert f"Created the tasks dir {default} (it did not exist)" in err
    assert "Created the tasks dir" in (tmp_path / "headless.log").read_text()


def test_demo_creates_the_dir_it_is_given(tmp_path: Path) -> None:
    demo = tmp_path / "my-demo"
    code, err = run_headless_until_watching(["--demo", "--tasks-dir", str(demo)], tmp_path)
    assert code == 0, err
    assert (demo / "hello-every-5s" / "schedule.yaml").is_file()
    assert "Traceback" not in err


def test_a_log_file_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    make_task(tmp_path / "tasks", "t")
    log_file = tmp_path / "no-such-dir" / "bassi.log"
    args = ["--headless", "--tasks-dir", str(tmp_path / "tasks"), "--log-file", str(log_file)]
    done = bassi(args, home=tmp_path)
    assert_one_line_error(done, f"bassi-tui: cannot open the log file {log_file}: ")
