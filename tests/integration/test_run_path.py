"""The one path of a run: never left "running", refused once stopping, clock and anchors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.commands import check_command, next_command
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished, RunStarted, TaskChanged
from bassi_tui.scheduler.requests import REQUESTS_DIR, withdraw_request, write_request
from bassi_tui.scheduler.triggers import schedule_key
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import TaskState
from bassi_tui.store.results import list_results
from bassi_tui.store.state import write_state
from tests.helpers import EventLog, make_task, write_atomic

LONG = "executor: command\ncommand: ['sh', '-c', 'echo started; sleep 60']\n"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    yield Engine(tmp_path / "tasks", watch=False)


def statuses(folder: Path) -> list[str]:
    return [r.status for r in list_results(folder / "results")]


async def test_a_fire_that_slips_through_a_stop_is_refused(engine: Engine) -> None:
    folder = make_task(engine.tasks_dir, "slow", config=LONG)
    other = make_task(engine.tasks_dir, "other")
    events = EventLog(engine)
    await engine.start()
    engine.run_now("slow")
    await events.wait_for(lambda e: getattr(e, "text", None) == "started\n")
    stopping = asyncio.create_task(engine.stop())
    await asyncio.sleep(0)  # stop() has begun: what APScheduler's queued wakeup would do now
    assert not engine.start_run("other", "scheduled", scheduled_for=datetime.now(UTC))
    await stopping
    assert statuses(folder) == ["interrupted"]  # none left "running"
    assert statuses(other) == []  # refused: a missed fire for the next start, not a run


async def test_a_run_asked_for_just_before_stop_is_recorded(engine: Engine) -> None:
    folder = make_task(engine.tasks_dir, "quick")
    events = EventLog(engine)
    await engine.start()
    assert engine.run_now("quick")
    await engine.stop()  # before the run's task has taken a single step
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    assert isinstance(done, RunFinished)
    assert statuses(folder) == [done.status] and done.status in ("interrupted", "success")


async def test_run_events_carry_the_record_and_the_new_view(engine: Engine) -> None:
    make_task(engine.tasks_dir, "told")
    events = EventLog(engine)
    await engine.start()
    engine.run_now("told")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    began = next(e for e in events.events if isinstance(e, RunStarted))
    assert began.record.running and began.view is not None and began.view.running_since
    assert isinstance(done, RunFinished) and done.view is not None
    assert done.view.running_since is None and done.view.run_count == 1
    assert done.record.meta_file == began.record.meta_file and not done.record.running
    # A run is told by its own two events, not once more as a task change.
    assert not any(isinstance(e, TaskChanged) for e in events.events)


async def test_records_are_stamped_with_the_engines_clock(tmp_path: Path) -> None:
    when = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    folder = make_task(tmp_path, "clocked")
    engine = Engine(tmp_path, watch=False, clock=lambda: when)
    events = EventLog(engine)
    await engine.start()
    engine.run_now("clocked")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.record.start == when
    assert done.record.meta_file.name == "2031-02-03_04-05-06.json"
    state = json.loads((folder / "last_run.json").read_text())
    assert datetime.fromisoformat(state["last_run"]) == when


def next_in(engine: Engine, name: str) -> float:
    view = engine.view(name)
    assert view is not None and view.next_run is not None
    return (view.next_run - datetime.now(UTC)).total_seconds()


async def test_an_edited_interval_anchors_anew(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "edited", schedule="type: interval\nhours: 1\n")
    engine = Engine(tmp_path)
    events = EventLog(engine)
    await engine.start()
    try:
        await engine.wait_watching()
        assert next_in(engine, "edited") > 3000
        mark = events.mark()
        write_atomic(folder / "schedule.yaml", "type: interval\nseconds: 2\n")
        await events.wait_for(
            lambda e: isinstance(e, TaskChanged) and e.name == "edited", after=mark
        )
        assert next_in(engine, "edited") <= 2.5
    finally:
        await engine.stop()


@pytest.mark.parametrize(
    "old",
    ["type: interval\nhours: 1\n", "type: weekly\nday: monday\ntime: '09:00'\n"],
)
async def test_a_schedule_changed_while_down_anchors_anew(tmp_path: Path, old: str) -> None:
    folder = make_task(tmp_path, "changed", schedule=old)
    first = Engine(tmp_path, watch=False)
    await first.start()
    await first.stop()
    promised = json.loads((folder / "last_run.json").read_text())["next_run"]
    assert promised is not None
    write_atomic(folder / "schedule.yaml", "type: interval\nseconds: 30\n")
    second = Engine(tmp_path, watch=False)
    await second.start()
    try:
        assert next_in(second, "changed") <= 31
    finally:
        await second.stop()


async def test_a_clock_that_ran_years_ahead_does_not_hold_an_interval_back(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "ahead", schedule="type: interval\nminutes: 1\n")
    task = load_task(folder)
    assert task.schedule is not None
    future = datetime.now(UTC) + timedelta(days=3650)
    state = TaskState("ahead", last_scheduled_fire=future, schedule_key=schedule_key(task.schedule))
    write_state(folder, state)
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    try:
        assert next_in(engine, "ahead") <= 61
    finally:
        await engine.stop()


async def test_next_agrees_with_the_engine_after_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "grid", schedule="type: interval\nminutes: 7\n")
    first = Engine(tmp_path, watch=False)
    await first.start()
    promised = first.view("grid").next_run  # type: ignore[union-attr]
    await first.stop()
    second = Engine(tmp_path, watch=False)
    await second.start()
    engine_next = second.view("grid").next_run  # type: ignore[union-attr]
    await second.stop()
    assert next_command(tmp_path, "grid", 1) == 0
    printed = datetime.fromisoformat(capsys.readouterr().out.strip())
    assert promised is not None and engine_next == promised
    assert printed == promised.replace(microsecond=0)  # `next` prints whole seconds


def once_at(when: datetime) -> str:
    return f"type: once\ndatetime: '{when.astimezone():%Y-%m-%d %H:%M:%S}'\n"


async def test_a_once_task_first_seen_just_after_its_time_runs(engine: Engine) -> None:
    folder = make_task(
        engine.tasks_dir, "now", schedule=once_at(datetime.now(UTC) - timedelta(minutes=10))
    )
    events = EventLog(engine)
    await engine.start()
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success"
    assert done.record.trigger == "scheduled"
    assert json.loads((folder / "last_run.json").read_text())["once_fired"] is True
    view = engine.view("now")
    assert view is not None and view.note == "ran once: it will not run again"


async def test_a_once_task_first_seen_long_after_its_time_says_it_never_runs(
    engine: Engine,
) -> None:
    folder = make_task(
        engine.tasks_dir, "stale", schedule=once_at(datetime.now(UTC) - timedelta(hours=3))
    )
    await engine.start()
    await engine.wait_idle()
    view = engine.view("stale")
    await engine.stop()
    assert view is not None and view.next_run is None
    assert view.note is not None and "will never run" in view.note
    assert statuses(folder) == []


async def test_a_request_the_watcher_never_saw_is_still_taken(tmp_path: Path) -> None:
    make_task(tmp_path, "asked")
    engine = Engine(tmp_path, watch=False)  # no watcher at all: only the poll can see it
    events = EventLog(engine)
    await engine.start()
    try:
        assert (tmp_path / REQUESTS_DIR).is_dir()  # made before any request can be written
        request_id = write_request(tmp_path, "asked")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.record.run_request == request_id
    finally:
        await engine.stop()


def test_a_request_not_taken_yet_can_be_withdrawn(tmp_path: Path) -> None:
    request_id = write_request(tmp_path, "t")
    assert withdraw_request(tmp_path, request_id)
    assert not withdraw_request(tmp_path, request_id)  # gone: taken or withdrawn
    assert list((tmp_path / REQUESTS_DIR).iterdir()) == []


def test_check_says_a_stale_once_task_will_never_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "stale", schedule=once_at(datetime.now(UTC) - timedelta(days=2)))
    make_task(tmp_path, "soon", schedule=once_at(datetime.now(UTC) + timedelta(days=2)))
    assert check_command(tmp_path) == 0  # a valid task all the same
    out = capsys.readouterr().out
    stale = next(line for line in out.splitlines() if "stale" in line)
    assert "warning" in stale and "will never run" in stale
    soon = next(line for line in out.splitlines() if "soon" in line)
    assert "warning" not in soon


async def test_a_prompt_file_that_cannot_be_written_leaves_no_running_record(
    tmp_path: Path,
) -> None:
    # The output and the running record are made, then the prompt beside them cannot be (a
    # folder stands where it goes): the run fails, and no file of it is left saying "running".
    when = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    folder = make_task(tmp_path, "blocked")
    (folder / "results" / "2031-02-03_04-05-06.prompt.txt").mkdir(parents=True)
    engine = Engine(tmp_path, watch=False, clock=lambda: when)
    events = EventLog(engine)
    await engine.start()
    engine.run_now("blocked")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "failed"
    assert done.error is not None and "cannot create the run's files" in done.error
    left = sorted(p.name for p in (folder / "results").iterdir())
    assert left == ["2031-02-03_04-05-06.prompt.txt"], left
    assert statuses(folder) == []
