"""A monitor is as live as the scheduler: the running output as it grows, the scheduler's lines.

Two real engines on one tasks dir (one schedules, one monitors); the run is a command whose
output steps are gated by files the test creates, so "live" means "before the run ended".
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import (
    EngineEvent,
    LogLine,
    RunFinished,
    RunOutput,
    RunStarted,
)
from bassi_tui.scheduler.following import Following, _Tail
from bassi_tui.scheduler.logbridge import STORY_LOGGER, log_events
from bassi_tui.scheduler.story import (
    SCHEDULER_MARK,
    STORY_FILE,
    SchedulerLine,
    StoryTail,
    StoryWriter,
    is_run_line,
)
from tests.helpers import EventLog, make_task, write_atomic

STEPS = """\
import pathlib, sys, time
out = sys.stdout.buffer
out.write("first line\\n".encode()); out.flush()
while not pathlib.Path({go1!r}).exists(): time.sleep(0.02)
out.write("é is two bytes: ".encode()[:1]); out.flush()
time.sleep(0.6)
out.write("é is two bytes: ".encode()[1:] + b"second line\\n"); out.flush()
while not pathlib.Path({go2!r}).exists(): time.sleep(0.02)
"""


def stepped_task(tasks_dir: Path, tmp_path: Path, name: str = "live") -> tuple[Path, Path]:
    """A command task printing a line, then (after go1) a split character and a line, then
    ending after go2; returns (go1, go2)."""
    go1, go2 = tmp_path / "go1", tmp_path / "go2"
    script = tmp_path / "steps.py"
    script.write_text(STEPS.format(go1=str(go1), go2=str(go2)))
    config = f'executor: command\ncommand: ["{sys.executable}", "{script}"]\n'
    make_task(tasks_dir, name, config=config)
    return go1, go2


def output_of(events: list[EngineEvent], run_id: str) -> str:
    return "".join(e.text for e in events if isinstance(e, RunOutput) and e.run_id == run_id)


def scheduler_lines(events: list[EngineEvent]) -> list[str]:
    return [e.message for e in events if isinstance(e, SchedulerLine)]


async def test_a_monitor_streams_the_running_output_as_the_scheduler_writes_it(
    tmp_path: Path,
) -> None:
    tasks = tmp_path / "tasks"
    go1, go2 = stepped_task(tasks, tmp_path)
    scheduler, monitor = Engine(tasks), Engine(tasks)
    mine, seen = EventLog(scheduler), EventLog(monitor)
    await scheduler.start()
    await monitor.start()
    try:
        assert (scheduler.role, monitor.role) == ("scheduler", "monitor")
        await monitor.wait_watching()
        assert monitor.run_now("live")  # through .requests/, as `r` in a monitor
        began = await seen.wait_for(lambda e: isinstance(e, RunStarted))
        assert isinstance(began, RunStarted) and began.streams  # RunOutput follows
        run_id = began.run_id
        await seen.wait_for(lambda e: "first line" in output_of(seen.events, run_id))
        assert not any(isinstance(e, RunFinished) for e in seen.events)  # live, not at the end
        go1.touch()
        await seen.wait_for(lambda e: "second line" in output_of(seen.events, run_id))
        assert not any(isinstance(e, RunFinished) for e in seen.events)
        go2.touch()
        ended = await seen.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(ended, RunFinished) and ended.status == "success"
        text = output_of(seen.events, run_id)
        # The character written in two halves, read in two looks, is one character.
        assert "\ufffd" not in text
        assert ended.result_file is not None and text == ended.result_file.read_text()
        assert text == output_of(mine.events, run_id)  # what the scheduler itself streamed
        last_output = max(i for i, e in enumerate(seen.events) if isinstance(e, RunOutput))
        assert last_output < seen.events.index(ended)  # every text before the end
    finally:
        go1.touch()
        go2.touch()
        await monitor.stop()
        await scheduler.stop()


async def test_a_monitor_shows_the_schedulers_run_lines_marked_and_never_twice(
    tmp_path: Path,
) -> None:
    tasks = tmp_path / "tasks"
    make_task(tasks, "t")
    scheduler, monitor = Engine(tasks), Engine(tasks)
    seen = EventLog(monitor)
    await scheduler.start()
    await monitor.start()
    try:
        await scheduler.wait_watching()
        await monitor.wait_watching()
        mark = seen.mark()
        write_atomic(tasks / "t" / "prompt.txt", "changed {task_name}")
        own = await seen.wait_for(
            lambda e: isinstance(e, LogLine) and e.message.startswith("Updated task: t"),
            after=mark,
        )
        assert not isinstance(own, SchedulerLine)  # the monitor's own line
        assert monitor.run_now("t")
        await seen.wait_for(
            lambda e: isinstance(e, SchedulerLine) and "Task t finished in" in e.message
        )
        lines = scheduler_lines(seen.events)
        assert all(line.startswith(SCHEDULER_MARK) for line in lines)
        assert f"{SCHEDULER_MARK}Run of t requested by another instance" in lines
        assert f"{SCHEDULER_MARK}Running task: t (manual)" in lines
        # The scheduler reloaded the edit too, and said so: the monitor said it itself.
        assert not [line for line in lines if "Updated task" in line or "Loaded" in line]
        own_lines = [e for e in seen.events if type(e) is LogLine]
        assert not [e for e in own_lines if "Running task" in e.message]
        # The file holds the scheduler's lines only, as JSON (inert whatever a name holds).
        story = [json.loads(raw) for raw in (tasks / STORY_FILE).read_text().splitlines()]
        assert {"Running task: t (manual)"} <= {entry["message"] for entry in story}
        assert not [entry for entry in story if entry["message"].startswith("Updated task")]
    finally:
        await monitor.stop()
        await scheduler.stop()


async def test_a_monitor_started_later_shows_the_latest_lines_then_follows(
    tmp_path: Path,
) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    writer = StoryWriter(tasks, writes=lambda: True)
    for n in range(50):
        writer.take(LogLine("info", f"old line {n}", "t"))
    writer.flush()
    tail = StoryTail(tasks)
    first = [line.message for line in tail.read()]
    assert first == [f"{SCHEDULER_MARK}old line {n}" for n in range(30, 50)]  # the last 20
    assert tail.read() == []  # nothing new
    writer.take(LogLine("error", "new line", "t"))
    writer.flush()
    (got,) = tail.read()
    assert got.message == f"{SCHEDULER_MARK}new line" and got.level == "error" and got.task == "t"


def test_the_story_rotates_and_a_tail_loses_no_line_across_it(tmp_path: Path) -> None:
    writer = StoryWriter(tmp_path, writes=lambda: True, max_bytes=2000)
    tail = StoryTail(tmp_path, backlog=0)
    assert tail.read() == []  # no story yet: what comes later is all new
    got: list[str] = []
    for n in range(100):
        writer.take(LogLine("info", f"line {n}"))
        writer.flush()
        if n % 7 == 0:
            got += [line.message for line in tail.read()]
    got += [line.message for line in tail.read()]
    assert got == [f"{SCHEDULER_MARK}line {n}" for n in range(100)]
    assert (tmp_path / f"{STORY_FILE}.1").exists()
    assert (tmp_path / STORY_FILE).stat().st_size <= 2000 + 200


def test_only_the_scheduler_writes_and_folder_lines_stay_out(tmp_path: Path) -> None:
    schedules = False
    writer = StoryWriter(tmp_path, writes=lambda: schedules)
    writer.take(LogLine("info", "Running task: t (manual)", "t"))  # a monitor: nothing
    schedules = True
    for message in (
        "Loaded task: t (every hour, next at 2026-05-01 10:00:00)",
        "Updated task: t (every hour)",
        "Removed task: t",
        "Task t: schedule.yaml:2: unknown key 'tiem'",
        "bassi.yaml changed: 1 of 1 task(s) updated",
        f"Loaded {tmp_path} (1 task) in 0.0 s",
        f"Watching {tmp_path} for changes",
    ):
        assert not is_run_line(LogLine("info", message, "t"))
        writer.take(LogLine("info", message, "t"))
    writer.take(SchedulerLine("info", "scheduler: from elsewhere"))  # never written back
    writer.take(LogLine("warning", "Task t skipped (scheduled): previous run still in progress"))
    writer.flush()
    story = (tmp_path / STORY_FILE).read_text().splitlines()
    assert [json.loads(raw)["message"] for raw in story] == [
        "Task t skipped (scheduled): previous run still in progress"
    ]


def test_a_broken_or_hostile_story_line_is_skipped(tmp_path: Path) -> None:
    good = {"time": "2026-05-01T09:00:00+02:00", "level": "info", "task": None, "message": "ok"}
    rows = [
        "not json",
        json.dumps({**good, "level": "shout"}),
        json.dumps({**good, "time": "2026-05-01T09:00:00"}),  # no zone
        json.dumps({**good, "message": "x" * 20_000}),
        json.dumps({**good, "message": "line\n\x1b]0;pwned\x07two"}),
        json.dumps(good),
    ]
    (tmp_path / STORY_FILE).write_text("\n".join(rows) + "\n")
    messages = [line.message for line in StoryTail(tmp_path).read()]
    # The escape stays in the message as data; the log pane shows messages inert (one_line).
    assert messages == [f"{SCHEDULER_MARK}line\n\x1b]0;pwned\x07two", f"{SCHEDULER_MARK}ok"]


def test_the_schedulers_lines_are_not_logged_again_by_a_monitor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=STORY_LOGGER):
        log_events(SchedulerLine("info", f"{SCHEDULER_MARK}Running task: t (manual)"))
        log_events(LogLine("info", "Asked the scheduling instance to run t"))
    assert [r.getMessage() for r in caplog.records] == ["Asked the scheduling instance to run t"]


def test_a_tail_decodes_across_reads_and_starts_over_when_the_file_shrinks(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes("abc é".encode()[:-1])
    tail = _Tail("t", "r1", out)
    assert tail.read() == ("abc ", False)  # half a character waits for its other half
    with out.open("ab") as handle:
        handle.write("é".encode()[1:] + b"\n")
    assert tail.read() == ("é\n", False)
    out.write_bytes(b"retry")  # a retry truncates and writes again
    assert tail.read() == ("retry", True)
    assert tail.attempt == 2
    with out.open("ab") as handle:
        handle.write("é".encode()[:1])
    assert tail.read(final=True) == ("\ufffd", False)  # the end: a cut character is said


async def test_following_forgets_a_run_once_it_ended(tmp_path: Path) -> None:
    """Only runs in flight are followed: the loop's work is one stat per running output."""
    tasks = tmp_path / "tasks"
    go1, go2 = stepped_task(tasks, tmp_path)
    go1.touch()
    scheduler, monitor = Engine(tasks), Engine(tasks)
    seen = EventLog(monitor)
    await scheduler.start()
    await monitor.start()
    try:
        await monitor.wait_watching()
        scheduler.run_now("live")
        await seen.wait_for(lambda e: isinstance(e, RunStarted))
        following: Following = monitor._following
        assert following.running("live") is not None
        go2.touch()
        await seen.wait_for(lambda e: isinstance(e, RunFinished))
        assert following.running("live") is None and not following._tails
    finally:
        go2.touch()
        await monitor.stop()
        await scheduler.stop()


async def test_a_monitor_started_mid_run_shows_a_silent_run_at_once(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    go = tmp_path / "go"
    script = tmp_path / "silent.py"
    script.write_text(
        f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists(): time.sleep(0.02)\n"
    )
    make_task(
        tasks, "silent", config=f'executor: command\ncommand: ["{sys.executable}", "{script}"]\n'
    )
    scheduler = Engine(tasks)
    mine = EventLog(scheduler)
    await scheduler.start()
    monitor = Engine(tasks)
    seen = EventLog(monitor)
    try:
        scheduler.run_now("silent")
        began = await mine.wait_for(lambda e: isinstance(e, RunStarted))
        await monitor.start()  # the run writes nothing: no change for the watcher to tell
        told = await seen.wait_for(lambda e: isinstance(e, RunStarted))
        assert isinstance(began, RunStarted) and isinstance(told, RunStarted)
        assert told.run_id == began.run_id
        view = monitor.view("silent")
        assert view is not None and view.running_since == began.started_at
    finally:
        go.touch()
        await monitor.stop()
        await scheduler.stop()
