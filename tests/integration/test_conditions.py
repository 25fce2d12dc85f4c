"""when: conditions hold fires back, recorded as skipped with the reason (real engine, files)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bassi_tui.scheduler.conditions import unmet
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RunFinished
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import TaskState
from tests.helpers import EventLog, make_task

EVERY_SECOND = "type: interval\nseconds: 1\n"


def said(events: EventLog, text: str) -> bool:
    return any(isinstance(e, LogLine) and text in e.message for e in events.events)


async def test_a_fire_waits_for_its_file_and_runs_once_it_exists(tmp_path: Path) -> None:
    config = "executor: echo\nwhen:\n  file_exists: flag.txt\n"
    folder = make_task(tmp_path, "gated", schedule=EVERY_SECOND, config=config)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        await events.wait_for(
            lambda e: isinstance(e, LogLine) and "when.file_exists: flag.txt not found" in e.message
        )
        assert not any(isinstance(e, RunFinished) for e in events.events)  # no run, no API call
        (folder / "flag.txt").write_text("go")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "success"
    finally:
        await engine.stop()
    state = json.loads((folder / "last_run.json").read_text())
    skipped = [h for h in state["history"] if h["status"] == "skipped"]
    assert skipped and all(h["error"] == "when.file_exists: flag.txt not found" for h in skipped)
    assert state["failure_count"] == 0 and state["run_count"] >= 1  # a skip is not a failure


async def test_file_changed_runs_once_per_change(tmp_path: Path) -> None:
    config = "executor: echo\nwhen:\n  file_changed: [data.txt]\n"
    folder = make_task(tmp_path, "watcher", schedule=EVERY_SECOND, config=config)
    (folder / "data.txt").write_text("v1")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        first = await events.wait_for(lambda e: isinstance(e, RunFinished))
        mark = events.mark()
        await events.wait_for(
            lambda e: isinstance(e, LogLine) and "unchanged since the last run" in e.message,
            after=mark,
        )
        assert not any(isinstance(e, RunFinished) for e in events.events[mark:])
        (folder / "data.txt").write_text("v2")
        second = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    finally:
        await engine.stop()
    assert isinstance(first, RunFinished) and isinstance(second, RunFinished)
    assert first.run_id != second.run_id


async def test_a_person_s_run_is_not_held_back(tmp_path: Path) -> None:
    config = "executor: echo\nwhen:\n  file_exists: never.txt\n"
    make_task(tmp_path, "manual", config=config)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("manual")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success"


async def test_the_condition_command_decides(tmp_path: Path) -> None:
    script = tmp_path / "gate.py"
    script.write_text("import sys, pathlib; sys.exit(0 if pathlib.Path('open').exists() else 3)\n")
    argv = json.dumps([sys.executable, str(script)])
    folder = make_task(tmp_path, "cmd", config=f"executor: echo\nwhen:\n  command: {argv}\n")
    task = load_task(folder)
    assert task.ok, task.problems
    assert await unmet(task, TaskState("cmd")) == "when.command exited 3"
    (folder / "open").write_text("")  # the command runs in the task folder
    assert await unmet(task, TaskState("cmd")) is None


def test_check_names_a_bad_condition(tmp_path: Path) -> None:
    folder = make_task(
        tmp_path, "bad", config="executor: echo\nwhen:\n  file_exist: x\n  command: ls\n"
    )
    problems = [str(p) for p in load_task(folder).problems]
    assert any("config.yaml:3" in p and "file_exist" in p and "file_exists" in p for p in problems)
    assert any("config.yaml:4" in p and "when.command: expected a list" in p for p in problems)
