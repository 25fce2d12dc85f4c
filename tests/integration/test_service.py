"""``bassi-tui service install|uninstall|status``: the unit file, the systemctl calls, no systemd.

systemd cannot run in the sandbox these tests run in (no user manager: ``systemctl --user``
answers "Failed to connect to bus"), so the systemctl calls go to a *fake* ``systemctl``, a shell
script named by ``$BASSI_SYSTEMCTL`` that records its arguments and answers like the real one.
What is real: the command run as a subprocess, the unit file it writes (checked by the real
``systemd-analyze verify`` where installed), the unit's ``ExecStart`` started as a process that
schedules, and ``bassi-tui stop`` ending it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.service import unit_name, unit_text
from tests.helpers import make_task, poll_until

GUARD_S = 30.0
BASSI = [sys.executable, "-m", "bassi_tui"]

FAKE_SYSTEMCTL = """#!/bin/sh
# A stand-in for systemctl (see the module docstring): records its arguments, answers.
echo "$*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "$FAKE_FAIL" >&2; exit 1; fi
case "$2" in
  is-active) echo active ;;
  is-enabled) echo enabled ;;
esac
exit 0
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(tmp_path: Path, home: Path) -> dict[str, str]:
    """HOME in tmp_path, no XDG_CONFIG_HOME, and the fake systemctl."""
    fake = tmp_path / "bin" / "fake-systemctl"
    fake.parent.mkdir()
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    env = {**os.environ, "HOME": str(home), "FAKE_LOG": str(tmp_path / "calls.log")}
    env["BASSI_SYSTEMCTL"] = str(fake)
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("BASSI_TASKS_DIR", None)
    return env


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    folder = tmp_path / "my tasks"
    make_task(folder, "tick", schedule="type: interval\nseconds: 1\n")
    return folder


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def service(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BASSI, "service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )


def test_install_status_uninstall(
    tmp_path: Path, home: Path, env: dict[str, str], tasks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))  # unit_text here, as in the command
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    unit = unit_name(tasks)
    path = home / ".config" / "systemd" / "user" / unit
    assert unit.startswith("bassi-tui-my-tasks-") and unit.endswith(".service")

    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 0, done.stderr
    assert path.read_text() == unit_text(tasks)
    assert calls(tmp_path) == [
        "--user daemon-reload",  # the user manager answers: then the file is written
        "--user daemon-reload",
        f"--user enable --now {unit}",
    ]
    assert f"Installed and enabled {unit}" in done.stdout
    assert f"journalctl --user -u {unit}" in done.stdout
    assert "ANTHROPIC_API_KEY" in done.stdout  # where the service's key goes

    done = service("status", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 0, done.stderr
    assert "enabled:   enabled" in done.stdout and "active:    active" in done.stdout
    assert "scheduler: none" in done.stdout  # the fake started nothing

    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 0 and f"Reinstalled and enabled {unit}" in done.stdout

    (tmp_path / "calls.log").unlink()
    done = service("uninstall", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 0, done.stderr
    assert not path.exists()
    assert calls(tmp_path) == [f"--user disable --now {unit}", "--user daemon-reload"]

    done = service("uninstall", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 1 and "is not installed" in done.stderr
    done = service("status", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 1 and "not installed" in done.stdout


def test_xdg_config_home_is_honoured(tmp_path: Path, env: dict[str, str], tasks: Path) -> None:
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "xdg" / "systemd" / "user" / unit_name(tasks)
    assert f"EnvironmentFile=-{tmp_path}/xdg/bassi-tui/env" in unit.read_text()


def test_the_unit_file(tasks: Path) -> None:
    text = unit_text(tasks)
    lines = text.splitlines()
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    # The path has a space: one quoted word, as systemd splits ExecStart.
    assert shlex.split(exec_start.removeprefix("ExecStart=")) == [
        sys.executable,
        "-m",
        "bassi_tui",
        "--headless",
        "--tasks-dir",
        str(tasks),
    ]
    for setting in ("Restart=on-failure", "KillMode=mixed", "WantedBy=default.target"):
        assert setting in lines
    assert "ANTHROPIC_API_KEY=" not in text.replace("# ANTHROPIC_API_KEY=...", "")


def test_specifiers_and_dollars_stay_literal(tmp_path: Path) -> None:
    odd = tmp_path / 'a 100%$HOME "q"'
    text = unit_text(odd)
    assert "ExecStart=" in text
    assert '"' + str(tmp_path).replace("%", "%%") + '/a 100%%$$HOME \\"q\\""' in text
    assert f"Description=bassi-tui scheduler for {str(odd).replace('%', '%%')}" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", ["my tasks", 'a 100%$HOME "q"'])
def test_systemd_analyze_accepts_the_unit(tmp_path: Path, name: str) -> None:
    """The real systemd parser checks the file (system mode: it needs no user manager)."""
    unit = tmp_path / "bassi-tui-check.service"
    unit.write_text(unit_text(tmp_path / name))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bad" not in done.stderr.lower()


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_the_units_command_schedules_and_stop_ends_it(
    tmp_path: Path, env: dict[str, str], tasks: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """ExecStart as systemd would run it: a headless scheduler of the tasks dir."""
    exec_start = next(
        line for line in unit_text(tasks).splitlines() if line.startswith("ExecStart=")
    )
    err = tmp_path / "stderr.log"
    with err.open("wb") as sink:
        proc = subprocess.Popen(
            shlex.split(exec_start.removeprefix("ExecStart=")),
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=env,
        )
    started.append(proc)
    ran = lambda: len(list((tasks / "tick" / "results").glob("*.json"))) >= 2  # noqa: E731
    assert poll_until(ran), err.read_text()
    done = subprocess.run(
        [*BASSI, "stop", "--tasks-dir", str(tasks)],
        env=env,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert proc.wait(timeout=GUARD_S) == 0  # a clean stop: Restart=on-failure leaves it down


def test_no_systemctl_is_said_and_nothing_is_written(
    tmp_path: Path, home: Path, env: dict[str, str], tasks: Path
) -> None:
    env.pop("BASSI_SYSTEMCTL")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env["PATH"] = str(empty)  # the interpreter is started by its full path
    for action in ("install", "status", "uninstall"):
        done = service(action, "--tasks-dir", str(tasks), env=env)
        assert done.returncode == 3, (action, done.stdout, done.stderr)
        assert "no systemctl on PATH" in done.stderr
        assert "needs systemd's user manager" in done.stderr
    assert not (home / ".config").exists()


def test_a_missing_named_systemctl_is_said(env: dict[str, str], tasks: Path) -> None:
    env["BASSI_SYSTEMCTL"] = "/nonexistent/systemctl"
    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 3
    assert "BASSI_SYSTEMCTL=/nonexistent/systemctl was not found" in done.stderr


def test_systemctl_without_a_user_manager_installs_nothing(
    tmp_path: Path, home: Path, env: dict[str, str], tasks: Path
) -> None:
    env["FAKE_FAIL"] = "Failed to connect to bus: No medium found"
    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 3
    assert "`systemctl --user` does not work here (Failed to connect to bus" in done.stderr
    assert not (home / ".config" / "systemd").exists()
    assert calls(tmp_path) == ["--user daemon-reload"]


def real_user_manager_missing() -> bool:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    probe = subprocess.run(
        [systemctl, "--user", "show-environment"],
        capture_output=True,
        timeout=GUARD_S,
        check=False,
    )
    return probe.returncode != 0


@pytest.mark.skipif(
    not real_user_manager_missing(), reason="needs a systemctl with no user manager"
)
def test_the_real_systemctl_without_a_user_manager(
    home: Path, env: dict[str, str], tasks: Path
) -> None:
    """Here the real systemctl is on PATH but no user manager runs (containers, CI)."""
    env.pop("BASSI_SYSTEMCTL")
    done = service("install", "--tasks-dir", str(tasks), env=env)
    assert done.returncode == 3
    assert "`systemctl --user` does not work here" in done.stderr
    assert not (home / ".config" / "systemd").exists()


def test_install_on_a_missing_named_dir_is_a_usage_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = service("install", "--tasks-dir", str(tmp_path / "nope"), env=env)
    assert done.returncode == 2
    assert calls(tmp_path) == []
