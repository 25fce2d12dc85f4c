"""The real engine over real folders: APScheduler, watchfiles, executors, files on disk."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RunFinished, RunStarted, TaskChanged
from tests.helpers import EventLog, make_task, write_atomic

ORIGINAL_KEYS = {
    "task_name",
    "last_run",
    "next_run",
    "run_count",
    "success_count",
    "failure_count",
    "last_status",
    "last_duration_seconds",
    "last_result_file",
    "history",
}
META_KEYS = {
    "status",
    "trigger",
    "start",
    "end",
    "duration",
    "attempts",
    "model",
    "input_tokens",
    "output_tokens",
    "request_id",
    "error",
}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(tmp_path / "tasks")
    yield eng
    await eng.stop()


def finished(name: str) -> object:
    return lambda e: isinstance(e, RunFinished) and e.task == name


def changed(name: str, change: str) -> object:
    return lambda e: isinstance(e, TaskChanged) and e.name == name and e.change == change


async def test_scheduled_run_writes_result_metadata_and_state(engine: Engine) -> None:
    make_task(
        engine.tasks_dir,
        "ticker",
        schedule="type: interval\nseconds: 1\n",
        prompt='Report for {task_name} on {date}: {"keep": "braces"}',
    )
    events = EventLog(engine)
    await engine.start()
    done = await events.wait_for(finished("ticker"))
    assert isinstance(done, RunFinished) and done.status == "success"
    started = next(e for e in events.events if isinstance(e, RunStarted))
    assert started.trigger == "scheduled"
    assert done.result_file is not None and done.meta_file is not None
    text = done.result_file.read_text()
    today = datetime.now().astimezone().strftime("%Y-%m-%d")
    assert text == f'Report for ticker on {today}: {{"keep": "braces"}}'
    meta = json.loads(done.meta_file.read_text())
    assert meta.keys() >= META_KEYS
    assert meta["status"] == "success" and meta["trigger"] == "scheduled"
    assert meta["attempts"] == 1 and meta["result_file"] == done.result_file.name
    state = json.loads((engine.tasks_dir / "ticker" / "last_run.json").read_text())
    assert state.keys() >= ORIGINAL_KEYS
    assert state["run_count"] >= 1 and state["last_status"] == "success"
    # Relative to the task folder, as in the original design.
    assert state["history"][0]["result_file"] == f"results/{done.result_file.name}"
    assert state["last_result_file"] == f"results/{done.result_file.name}"
    assert state["next_run"] is not None


async def test_new_edited_renamed_deleted_folders_take_effect(engine: Engine) -> None:
    events = EventLog(engine)
    await engine.start()
    mark = events.mark()
    make_task(engine.tasks_dir, "fresh", schedule="type: daily\ntime: '07:00'\n")
    loaded = await events.wait_for(changed("fresh", "loaded"), after=mark)
    assert isinstance(loaded, TaskChanged) and loaded.view is not None
    assert loaded.view.description.startswith("daily at 07:00")

    mark = events.mark()
    write_atomic(engine.tasks_dir / "fresh" / "schedule.yaml", "type: daily\ntime: '08:15'\n")
    updated = await events.wait_for(changed("fresh", "updated"), after=mark)
    assert isinstance(updated, TaskChanged) and updated.view is not None
    assert updated.view.next_run is not None
    assert updated.view.next_run.astimezone().strftime("%H:%M") == "08:15"

    mark = events.mark()
    (engine.tasks_dir / "fresh").rename(engine.tasks_dir / "renamed")
    await events.wait_for(changed("fresh", "removed"), after=mark)
    await events.wait_for(changed("renamed", "loaded"), after=mark)
    assert [v.name for v in engine.views()] == ["renamed"]

    mark = events.mark()
    write_atomic(
        engine.tasks_dir / "renamed" / "schedule.yaml", "type: daily\ntime: '08:15'\nenabled: no\n"
    )
    await events.wait_for(changed("renamed", "disabled"), after=mark)
    view = engine.view("renamed")
    assert view is not None and not view.enabled and view.next_run is None

    mark = events.mark()
    shutil.rmtree(engine.tasks_dir / "renamed")
    await events.wait_for(changed("renamed", "removed"), after=mark)
    assert engine.views() == []


async def test_dot_folders_are_ignored(engine: Engine) -> None:
    make_task(engine.tasks_dir, ".paused", schedule="type: interval\nseconds: 1\n")
    make_task(engine.tasks_dir, "visible")
    events = EventLog(engine)
    await engine.start()
    mark = events.mark()
    make_task(engine.tasks_dir, ".also-hidden")
    make_task(engine.tasks_dir, "barrier")
    await events.wait_for(changed("barrier", "loaded"), after=mark)
    assert [v.name for v in engine.views()] == ["barrier", "visible"]


async def test_broken_task_is_reported_and_recovers_while_others_run(engine: Engine) -> None:
    make_task(engine.tasks_dir, "good", schedule="type: interval\nseconds: 1\n")
    make_task(engine.tasks_dir, "bad", schedule="type: daily\ntiem: '07:30'\n")
    events = EventLog(engine)
    await engine.start()
    bad = engine.view("bad")
    assert bad is not None and bad.problems
    problem = bad.problems[0]
    assert (problem.file, problem.line) == ("schedule.yaml", 2)
    assert "tiem" in problem.message
    assert any(
        isinstance(e, LogLine) and e.level == "error" and "schedule.yaml:2" in e.message
        for e in events.events
    )
    await events.wait_for(finished("good"))
    mark = events.mark()
    write_atomic(engine.tasks_dir / "bad" / "schedule.yaml", "type: daily\ntime: '07:30'\n")
    fixed = await events.wait_for(changed("bad", "updated"), after=mark)
    assert isinstance(fixed, TaskChanged) and fixed.view is not None and fixed.view.ok


async def test_engine_writes_never_trigger_a_reload(engine: Engine) -> None:
    make_task(engine.tasks_dir, "quiet")
    reloads: list[set[str]] = []
    real_reload = engine.reload

    async def counting_reload(names: set[str]) -> None:
        reloads.append(set(names))
        await real_reload(names)

    engine.reload = counting_reload  # type: ignore[method-assign]
    events = EventLog(engine)
    await engine.start()
    for _ in range(3):
        assert engine.run_now("quiet")
        await events.wait_for(finished("quiet"), after=events.mark())
    # Each run writes its output, its metadata and the prompt it sent.
    assert len(list((engine.tasks_dir / "quiet" / "results").iterdir())) == 9
    # A real edit is the barrier: any reload caused by the runs' writes would come before it.
    mark = events.mark()
    write_atomic(engine.tasks_dir / "quiet" / "prompt.txt", "changed")
    await events.wait_for(changed("quiet", "updated"), after=mark)
    assert reloads == [{"quiet"}]


async def test_manual_run_while_running_is_skipped_and_recorded(engine: Engine) -> None:
    make_task(
        engine.tasks_dir,
        "slow",
        config="executor: command\ncommand: ['sh', '-c', 'cat >/dev/null; sleep 1; echo done']\n",
    )
    events = EventLog(engine)
    await engine.start()
    assert engine.run_now("slow")
    await events.wait_for(lambda e: isinstance(e, RunStarted) and e.task == "slow")
    assert not engine.run_now("slow")  # overlap: skip
    done = await events.wait_for(finished("slow"))
    assert isinstance(done, RunFinished) and done.status == "success"
    state = json.loads((engine.tasks_dir / "slow" / "last_run.json").read_text())
    assert [h["status"] for h in state["history"]] == ["success", "skipped"]
    assert state["run_count"] == 1


async def test_hung_command_is_stopped_at_its_timeout(engine: Engine) -> None:
    make_task(
        engine.tasks_dir,
        "hang",
        config="executor: command\ncommand: ['sleep', '60']\ntimeout: 0.5\nmax_retries: 0\n",
    )
    events = EventLog(engine)
    await engine.start()
    engine.run_now("hang")
    done = await events.wait_for(finished("hang"))
    assert isinstance(done, RunFinished)
    assert done.status == "timeout" and done.error == "timed out after 0.5 s"
    meta = json.loads(done.meta_file.read_text()) if done.meta_file else {}
    assert meta["status"] == "timeout"


async def test_once_task_runs_once_ever(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    at = (datetime.now() + timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S")
    make_task(tasks, "one-shot", schedule=f"type: once\ndatetime: '{at}'\n")
    first = Engine(tasks)
    events = EventLog(first)
    await first.start()
    await events.wait_for(finished("one-shot"))
    await first.stop()
    state = json.loads((tasks / "one-shot" / "last_run.json").read_text())
    assert state["once_fired"] is True and state["run_count"] == 1
    second = Engine(tasks, watch=False)
    await second.start()
    view = second.view("one-shot")
    assert view is not None and view.next_run is None
    await second.stop()


async def test_stop_mid_run_records_interrupted(engine: Engine) -> None:
    make_task(
        engine.tasks_dir,
        "long",
        config="executor: command\ncommand: ['sh', '-c', 'echo partial; sleep 60']\n",
    )
    events = EventLog(engine)
    await engine.start()
    engine.run_now("long")
    await events.wait_for(lambda e: getattr(e, "text", None) == "partial\n")
    await engine.stop()
    done = await events.wait_for(finished("long"))
    assert isinstance(done, RunFinished) and done.status == "interrupted"
    meta = json.loads(done.meta_file.read_text()) if done.meta_file else {}
    assert meta["partial"] is True
    assert done.result_file is not None and done.result_file.read_text() == "partial\n"


async def test_stop_while_a_run_opens_its_files_records_it_interrupted(engine: Engine) -> None:
    make_task(engine.tasks_dir, "starting")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    await engine.wait_promised()  # from here, stop() reaches the runs without yielding
    engine.run_now("starting")
    await engine.stop()  # the run begins as stop() starts, and is opening its files
    done = await events.wait_for(finished("starting"))
    assert isinstance(done, RunFinished) and done.status == "interrupted"
    assert done.meta_file is not None
    assert json.loads(done.meta_file.read_text())["status"] == "interrupted"  # not "running"


async def test_pause_edits_enabled_and_keeps_comments(engine: Engine) -> None:
    make_task(engine.tasks_dir, "p", schedule="# keep me\ntype: interval\nminutes: 5  # why\n")
    events = EventLog(engine)
    await engine.start()
    mark = events.mark()
    engine.set_enabled("p", False)
    await events.wait_for(changed("p", "disabled"), after=mark)
    text = (engine.tasks_dir / "p" / "schedule.yaml").read_text()
    assert text == "# keep me\ntype: interval\nminutes: 5  # why\nenabled: false\n"
    mark = events.mark()
    engine.set_enabled("p", True)
    await events.wait_for(changed("p", "updated"), after=mark)
    assert engine.view("p") is not None and engine.view("p").next_run is not None  # type: ignore[union-attr]


async def test_stray_temp_files_are_cleaned_at_start(engine: Engine) -> None:
    folder = make_task(engine.tasks_dir, "t")
    stray = folder / ".last_run.json.999.abcd.tmp"
    stray.write_text("half")
    await engine.start()
    assert not stray.exists()
    assert os.path.exists(folder / "schedule.yaml")


async def test_polling_mode_sees_new_folders(tmp_path: Path) -> None:
    eng = Engine(tmp_path / "tasks", force_polling=True)
    events = EventLog(eng)
    await eng.start()
    try:
        await eng.wait_watching()
        assert any(isinstance(e, LogLine) and "Polling" in e.message for e in events.events)
        make_task(eng.tasks_dir, "polled")
        await events.wait_for(changed("polled", "loaded"))
    finally:
        await eng.stop()


async def test_a_folder_created_during_start_is_not_missed(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    for i in range(200):
        make_task(tasks, f"bulk-{i:03d}")
    eng = Engine(tasks)
    events = EventLog(eng)
    original = eng._load_many

    def load_then_create(names: list[str], recover: bool) -> object:
        loaded = original(names, recover)
        make_task(tasks, "late-comer")  # appears after the listing, before start() returns
        return loaded

    eng._load_many = load_then_create  # type: ignore[assignment,method-assign]
    await eng.start()
    try:
        await events.wait_for(changed("late-comer", "loaded"))
    finally:
        await eng.stop()


async def test_an_interval_keeps_its_promised_time_across_restarts(tmp_path: Path) -> None:
    make_task(tmp_path, "hourly", schedule="type: interval\nhours: 1\n")
    first = Engine(tmp_path, watch=False)
    await first.start()
    promised = first.view("hourly").next_run  # type: ignore[union-attr]
    await first.stop()
    state = json.loads((tmp_path / "hourly" / "last_run.json").read_text())
    assert promised is not None and datetime.fromisoformat(state["next_run"]) == promised
    second = Engine(tmp_path, watch=False)
    await second.start()
    try:
        # Restarting does not push the fire back: a task restarted more often than its
        # interval would otherwise never run.
        assert second.view("hourly").next_run == promised  # type: ignore[union-attr]
    finally:
        await second.stop()
