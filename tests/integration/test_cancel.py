"""A person cancels a run in flight: recorded ``cancelled`` (not interrupted), not notified, and
from a monitor through the scheduling instance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import (
    RunFinished,
    RunNotified,
    RunStarted,
)
from bassi_tui.scheduler.requests import REQUESTS_DIR, write_cancel_request
from bassi_tui.scheduler.story import SchedulerLine
from bassi_tui.store.results import list_results
from bassi_tui.store.state import read_state
from tests.helpers import EventLog, make_task

#: Prints a line, then waits until it is killed (or ``go`` exists).
WAITS = """\
import pathlib, sys, time
print("started", flush=True)
while not pathlib.Path({go!r}).exists(): time.sleep(0.02)
"""
#: Told of every end, failures included: a cancel must still not be told.
NOTIFY = "notify:\n  on_success: true\n  on_failure: true\n  channels: [log]\n"


def waiting_task(tasks: Path, tmp_path: Path, name: str = "long") -> Path:
    """A command task that runs until ``go`` exists; returns ``go``."""
    go = tmp_path / f"go-{len(list(tmp_path.iterdir()))}"
    script = tmp_path / f"{name}.py"
    script.write_text(WAITS.format(go=str(go)))
    config = f'executor: command\ncommand: ["{sys.executable}", "{script}"]\n{NOTIFY}'
    make_task(tasks, name, config=config)
    return go


async def test_a_cancelled_run_is_recorded_cancelled_and_not_notified(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    go = waiting_task(tasks, tmp_path)
    engine = Engine(tasks, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.cancel_run("long") is False  # nothing in flight
        assert engine.run_now("long")
        began = await events.wait_for(lambda e: isinstance(e, RunStarted))
        assert isinstance(began, RunStarted)
        assert engine.run_ids("long") == (began.run_id,)
        assert engine.open_runs() == 1
        assert engine.cancel_run("long", ("someone-else",)) is False  # another run's id
        assert engine.cancel_run("long", (began.run_id,))
        ended = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(ended, RunFinished)
        assert ended.status == "cancelled" and ended.error == "cancelled by a person"
        assert ended.view is not None and ended.view.running_since is None
        await engine.wait_idle()
        await engine.wait_told()
        assert not [e for e in events.events if isinstance(e, RunNotified)]
        assert engine.open_runs() == 0
        (record,) = list_results(tasks / "long" / "results")
        assert record.status == "cancelled" and record.error == "cancelled by a person"
        assert not record.notifications
        state = read_state(tasks / "long").state
        assert state.last_status == "cancelled"
        assert state.history[0].error == "cancelled by a person"
        # The engine goes on: the next run is an ordinary one, told as usual.
        mark = events.mark()
        go.touch()
        assert engine.run_now("long")
        again = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
        assert isinstance(again, RunFinished) and again.status == "success"
        await engine.wait_told()
        assert [e for e in events.events[mark:] if isinstance(e, RunNotified)]
    finally:
        go.touch()
        await engine.stop()


async def test_stopping_the_engine_still_records_interrupted(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    go = waiting_task(tasks, tmp_path)
    engine = Engine(tasks, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        engine.run_now("long")
        await events.wait_for(lambda e: isinstance(e, RunStarted))
    finally:
        await engine.stop()
        go.touch()
    ended = await events.wait_for(lambda e: isinstance(e, RunFinished))
    assert isinstance(ended, RunFinished) and ended.status == "interrupted"


async def test_x_in_a_monitor_cancels_through_the_scheduling_instance(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    go = waiting_task(tasks, tmp_path)
    scheduler, monitor = Engine(tasks), Engine(tasks)
    mine, seen = EventLog(scheduler), EventLog(monitor)
    await scheduler.start()
    await monitor.start()
    try:
        assert (scheduler.role, monitor.role) == ("scheduler", "monitor")
        await monitor.wait_watching()
        assert monitor.cancel_run("long") is False  # nothing in flight: no request written
        assert list((tasks / REQUESTS_DIR).iterdir()) == []
        assert monitor.run_now("long")
        began = await seen.wait_for(lambda e: isinstance(e, RunStarted))
        assert isinstance(began, RunStarted)
        assert monitor.run_ids("long") == (began.run_id,)
        assert monitor.open_runs() == 0  # the scheduler's runs: quitting a monitor stops none
        assert monitor.cancel_run("long", monitor.run_ids("long"))
        ended = await mine.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(ended, RunFinished) and ended.status == "cancelled"
        assert ended.error is not None and ended.error.startswith("cancelled by a person (pid ")
        told = await seen.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(told, RunFinished) and told.status == "cancelled"
        assert told.run_id == began.run_id
        line = await seen.wait_for(
            lambda e: isinstance(e, SchedulerLine) and "cancelled by a person" in e.message
        )
        assert isinstance(line, SchedulerLine)
        assert line.message.startswith("scheduler: Task long cancelled by a person")
        await scheduler.wait_told()
        assert not [e for e in mine.events if isinstance(e, RunNotified)]
    finally:
        go.touch()
        await monitor.stop()
        await scheduler.stop()


async def test_a_cancel_request_for_a_run_that_ended_cancels_no_other(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    go = waiting_task(tasks, tmp_path)
    scheduler = Engine(tasks)
    mine = EventLog(scheduler)
    await scheduler.start()
    try:
        await scheduler.wait_watching()
        scheduler.run_now("long")
        await mine.wait_for(lambda e: isinstance(e, RunStarted))
        write_cancel_request(tasks, "long", "an-old-run")  # the asker saw an earlier run
        said = await mine.wait_for(
            lambda e: getattr(e, "message", "").endswith("is not in flight any more")
        )
        assert said is not None
        assert scheduler.is_running("long")
        go.touch()
        ended = await mine.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(ended, RunFinished) and ended.status == "success"
    finally:
        go.touch()
        await scheduler.stop()


def test_a_cancel_request_file_names_the_run_and_the_asker(tmp_path: Path) -> None:
    request_id = write_cancel_request(tmp_path, "t", "r1")
    (path,) = (tmp_path / REQUESTS_DIR).iterdir()
    data = json.loads(path.read_text())
    assert data["id"] == request_id and data["action"] == "cancel" and data["run_id"] == "r1"
    assert isinstance(data["pid"], int) and isinstance(data["host"], str)
