"""The command line, in process (check, next, run) and as a real subprocess (--headless)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bassi_tui import __version__
from bassi_tui.cli import main, resolve_tasks_dir
from bassi_tui.store.results import list_results
from tests.helpers import make_task, poll_until


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"bassi-tui {__version__}"


def test_tasks_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_tasks_dir(None) == tmp_path / ".bassi" / "tasks-scheduler"
    monkeypatch.setenv("BASSI_TASKS_DIR", str(tmp_path / "env"))
    assert resolve_tasks_dir(None) == tmp_path / "env"
    assert resolve_tasks_dir(str(tmp_path / "arg")) == tmp_path / "arg"


def test_check_reports_each_problem_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "good", schedule="type: weekly\nday: monday\ntime: '09:00'\n")
    make_task(tmp_path, "typo", schedule="type: daily\ntiem: '07:30'\n")
    make_task(tmp_path, "badday", schedule="type: weekly\ntime: '09:00'\nday: funday\n")
    (tmp_path / "noprompt").mkdir()
    (tmp_path / "noprompt" / "schedule.yaml").write_text("type: interval\nminutes: 5\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "ok  good: every Monday at 09:00" in out.out
    assert "typo/schedule.yaml:2:" in out.err and "did you mean 'time'" in out.err
    assert "badday/schedule.yaml:3:" in out.err and "funday" in out.err
    assert "noprompt/prompt.txt" in out.err
    assert "4 task(s), 3 with problems" in out.err


def test_check_passes_a_clean_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_task(tmp_path, "good")
    assert main(["check", str(tmp_path)]) == 0
    assert "1 task(s), 0 with problems" in capsys.readouterr().out


def test_next_prints_iso_times_in_the_task_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "berlin", schedule="type: daily\ntime: '02:30'\ntimezone: Europe/Berlin\n")
    assert main(["next", "berlin", "-n", "3", "--tasks-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 3
    for line in lines:
        when = datetime.fromisoformat(line)
        assert when.strftime("%H:%M:%S") in ("02:30:00", "03:00:00")  # 03:00 on spring day
        assert line.endswith(("+01:00", "+02:00"))


def test_next_unknown_task_lists_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "real")
    assert main(["next", "nope", "--tasks-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no task named 'nope'" in err and "known tasks: real" in err


def test_run_streams_output_and_records_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "hello", prompt="Hi from {task_name}")
    assert main(["run", "hello", "--tasks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Hi from hello")
    state = json.loads((tmp_path / "hello" / "last_run.json").read_text())
    assert state["run_count"] == 1 and state["last_status"] == "success"
    meta = sorted((tmp_path / "hello" / "results").glob("*.json"))
    assert json.loads(meta[0].read_text())["trigger"] == "manual"


def test_run_exit_code_is_nonzero_on_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = "executor: command\ncommand: ['sh', '-c', 'exit 3']\nretry_on_failure: false\n"
    make_task(tmp_path, "fails", config=config)
    assert main(["run", "fails", "--tasks-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "exited with code 3" in err
    assert "retrying" not in err


def test_run_retries_a_failing_command_as_config_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = tmp_path / "attempts"
    script = (
        f'n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{counter}"; '
        'if [ $n -lt 3 ]; then exit 1; fi; printf "ok on %s" $n'
    )
    config = f"executor: command\ncommand: ['sh', '-c', '{script}']\nretry_delay: 0\n"
    make_task(tmp_path / "tasks", "flaky", config=config)
    assert main(["run", "flaky", "--tasks-dir", str(tmp_path / "tasks")]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("ok on 3")
    assert out.err.count("failed (command exited with code 1); retrying") == 2


def test_run_without_api_key_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "needs-key", config=None)
    assert main(["run", "needs-key", "--tasks-dir", str(tmp_path)]) == 1
    assert "ANTHROPIC_API_KEY is not set" in capsys.readouterr().err


def test_headless_runs_tasks_hot_reloads_and_stops_on_sigterm(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    log_file = tmp_path / "bassi.log"
    env = {**os.environ, "HOME": str(tmp_path)}
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
        text=True,
        env=env,
    )
    try:
        assert poll_until(lambda: log_file.exists() and "Watching" in log_file.read_text())
        make_task(tasks, "tick", schedule="type: interval\nseconds: 1\n", prompt="tick")
        results = tasks / "tick" / "results"
        # Two runs recorded (not just begun: a run in flight at SIGTERM is, rightly, interrupted).
        assert poll_until(lambda: sum(r.status == "success" for r in list_results(results)) >= 2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Loaded task: tick (every second" in err
    assert "Task tick finished in" in err
    assert "bassi-tui stopped" in err
    assert "Loaded task: tick" in log_file.read_text()
    done = [r for r in reversed(list_results(results)) if r.status == "success"]
    assert [r.output_file.read_text() for r in done if r.output_file][:2] == ["tick", "tick"]


def test_demo_headless_creates_demo_tasks_outside_the_real_dir(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bassi_tui", "--demo", "--headless"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    demo = tmp_path / ".bassi" / "demo-tasks"
    try:
        assert poll_until(lambda: len(list(demo.glob("hello-every-5s/results/*.txt"))) >= 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert not (tmp_path / ".bassi" / "tasks-scheduler").exists()
    assert "broken-on-purpose: schedule.yaml:4" in err or "schedule.yaml:4" in err


def test_headless_reads_many_folders_ahead_and_loads_them_all(tmp_path: Path) -> None:
    from bassi_tui.store.preload import PRELOAD_OVER

    tasks = tmp_path / "tasks"
    count = PRELOAD_OVER + 20  # enough to be read ahead in a worker process
    for n in range(count):
        make_task(tasks, f"t{n:04d}", schedule="type: interval\nhours: 1\n")
    make_task(tasks, "broken", schedule="type: interval\nhourz: 1\n")
    script = Path(sys.executable).with_name("bassi-tui")  # the installed entry point
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "bassi_tui"]
    log_file = tmp_path / "bassi.log"
    proc = subprocess.Popen(
        [*argv, "--headless", "--tasks-dir", str(tasks), "--log-file", str(log_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        assert poll_until(lambda: log_file.exists() and "Watching" in log_file.read_text())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"({count + 1} tasks (1 broken)) in " in err
    assert "Task broken: schedule.yaml:2: unknown key 'hourz'" in err
    assert "Traceback" not in err
    assert "reading ahead failed" not in err and "could not read the task folders ahead" not in err
