"""Never doubled, never lost: recovery, missed runs, overlap, instances (in-process engines)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RoleChanged, RunFinished, RunStarted
from bassi_tui.store.results import list_results
from tests.helpers import EventLog, dead_pid, make_task, write_run


def state_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "last_run.json").read_text())
    return data


def logged(events: EventLog, text: str) -> bool:
    return any(isinstance(e, LogLine) and text in e.message for e in events.events)


async def test_crashed_run_is_recorded_as_interrupted_with_partial_output(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "crashed")
    start = datetime.now().astimezone() - timedelta(minutes=5)
    meta_file = write_run(folder, start, "running", "half an ans", pid=dead_pid())
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    await engine.stop()
    meta = json.loads(meta_file.read_text())
    assert meta["status"] == "interrupted" and meta["partial"] is True
    assert "pid" not in meta and meta["end"] is not None
    assert (folder / "results" / meta["result_file"]).read_text() == "half an ans"
    state = state_of(folder)
    assert state["history"][0]["status"] == "interrupted"
    assert logged(events, "was interrupted")


async def test_a_run_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "live")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        meta_file = write_run(
            folder, datetime.now().astimezone(), "running", "still going", pid=proc.pid
        )
        engine = Engine(tmp_path, watch=False)
        await engine.start()
        await engine.stop()
        assert json.loads(meta_file.read_text())["status"] == "running"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("content", ["", '{"run_count": 3, ', "\x00\x00garbage"])
async def test_corrupt_state_is_set_aside_and_rebuilt_from_results(
    tmp_path: Path, content: str
) -> None:
    folder = make_task(tmp_path, "damaged")
    base = datetime.now().astimezone() - timedelta(days=1)
    write_run(folder, base, "success", "one")
    write_run(folder, base + timedelta(hours=1), "failed", "two", error="boom")
    write_run(folder, base + timedelta(hours=2), "success", "three")
    (folder / "last_run.json").write_text(content)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    await engine.stop()
    state = state_of(folder)
    assert (state["run_count"], state["success_count"], state["failure_count"]) == (3, 2, 1)
    assert [h["status"] for h in state["history"]] == ["success", "failed", "success"]
    aside = list(folder.glob("last_run.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == content
    assert logged(events, "set aside") and logged(events, "rebuilt")
    view = engine.view("damaged")
    assert view is not None and view.ok and view.run_count == 3


def daily_with_past_next_run(tmp_path: Path, policy: str, days: int) -> Path:
    now = datetime.now().astimezone()
    slot = (now - timedelta(minutes=1)).strftime("%H:%M")
    folder = make_task(
        tmp_path,
        f"missed-{policy}",
        schedule=f"type: daily\ntime: '{slot}'\n",
        config=f"executor: echo\nmissed_task_policy: {policy}\n",
    )
    expected = (now - timedelta(minutes=1, days=days)).replace(second=0, microsecond=0)
    (folder / "last_run.json").write_text(json.dumps({"next_run": expected.isoformat()}))
    return folder


@pytest.mark.parametrize(("policy", "runs"), [("skip", 0), ("catchup", 1), ("notify", 0)])
async def test_missed_fires_follow_the_policy_and_are_recorded(
    tmp_path: Path, policy: str, runs: int
) -> None:
    folder = daily_with_past_next_run(tmp_path, policy, days=3)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    if runs:
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "success"
        started = [e for e in events.events if isinstance(e, RunStarted)]
        assert [s.trigger for s in started] == ["catchup"]
    await engine.wait_idle()
    await engine.stop()
    state = state_of(folder)
    missed = [h for h in state["history"] if h["status"] == "missed"]
    assert len(missed) == 1 and "4 runs missed" in missed[0]["error"]
    assert f"missed_task_policy: {policy}" in missed[0]["error"]
    assert state["missed_count"] == 4
    assert state["run_count"] == runs
    assert len(list_results(folder / "results")) == runs
    level = "error" if policy == "notify" else "warning"
    assert any(
        isinstance(e, LogLine) and e.level == level and "4 runs missed" in e.message
        for e in events.events
    )
    # next_run now points at the future, so a restart records nothing new.
    assert datetime.fromisoformat(state["next_run"]) > datetime.now().astimezone()


async def test_a_ten_year_clock_jump_is_bounded(tmp_path: Path) -> None:
    folder = make_task(
        tmp_path,
        "jumpy",
        schedule="type: interval\nseconds: 1\n",
        config="executor: echo\nmissed_task_policy: catchup\n",
    )
    long_ago = datetime.now().astimezone() - timedelta(days=3650)
    (folder / "last_run.json").write_text(json.dumps({"next_run": long_ago.isoformat()}))
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    missed = [h for h in state_of(folder)["history"] if h["status"] == "missed"]
    assert len(missed) == 1 and "at least 1000 runs missed" in missed[0]["error"]
    catchups = [e for e in events.events if isinstance(e, RunStarted) and e.trigger == "catchup"]
    assert len(catchups) == 1


async def test_a_missed_once_task_is_consumed(tmp_path: Path) -> None:
    folder = make_task(
        tmp_path, "once-missed", schedule="type: once\ndatetime: '2026-01-01 10:00'\n"
    )
    (folder / "last_run.json").write_text(json.dumps({"next_run": "2026-01-01T10:00:00+00:00"}))
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    await engine.stop()
    state = state_of(folder)
    assert state["once_fired"] is True and state["history"][0]["status"] == "missed"
    assert state["run_count"] == 0


SLOW = "executor: command\ncommand: ['sh', '-c', 'cat >/dev/null; sleep 0.5; echo done']\n"


async def test_overlap_queue_keeps_at_most_one_waiting(tmp_path: Path) -> None:
    make_task(tmp_path, "q", config=SLOW + "overlap: queue\n")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    assert engine.run_now("q")
    await events.wait_for(lambda e: isinstance(e, RunStarted))
    assert engine.run_now("q") and engine.run_now("q") and engine.run_now("q")
    await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.wait_idle()
    await engine.stop()
    finished = [e for e in events.events if isinstance(e, RunFinished)]
    assert [f.status for f in finished] == ["success", "success"]
    starts = [e.started_at for e in events.events if isinstance(e, RunStarted)]
    ends = [e for e in events.events if isinstance(e, RunFinished)]
    assert len(starts) == 2 and ends[0].duration > 0
    # the queued run started only after the first ended: never two at once
    first_end = events.events.index(ends[0])
    second_start = [i for i, e in enumerate(events.events) if isinstance(e, RunStarted)][1]
    assert second_start > first_end


async def test_overlap_allow_runs_concurrently(tmp_path: Path) -> None:
    make_task(tmp_path, "a", config=SLOW + "overlap: allow\n")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    assert engine.run_now("a") and engine.run_now("a")
    await engine.wait_idle()
    await engine.stop()
    kinds = [type(e).__name__ for e in events.events if isinstance(e, RunStarted | RunFinished)]
    assert kinds[:2] == ["RunStarted", "RunStarted"]
    assert len(list_results(tmp_path / "a" / "results")) == 2


async def test_second_instance_monitors_forwards_runs_and_takes_over(tmp_path: Path) -> None:
    make_task(tmp_path, "shared")
    first, second = Engine(tmp_path), Engine(tmp_path)
    first_events, second_events = EventLog(first), EventLog(second)
    await first.start()
    await second.start()
    try:
        assert (first.role, second.role) == ("scheduler", "monitor")
        assert any(isinstance(e, RoleChanged) and e.role == "monitor" for e in second_events.events)
        assert second.run_now("shared")
        done = await first_events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "success"
        meta = json.loads(done.meta_file.read_text()) if done.meta_file else {}
        assert meta["trigger"] == "manual" and meta["run_request"]
        # The monitor follows the scheduler's writes and tells the run by the same events.
        seen = await second_events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(seen, RunFinished) and seen.record.run_request == meta["run_request"]
        assert seen.status == "success" and seen.view is not None and seen.view.run_count == 1
        assert seen.view.running_since is None
        await first.stop()
        await second_events.wait_for(lambda e: isinstance(e, RoleChanged) and e.role == "scheduler")
        assert second.role == "scheduler"
        mark = second_events.mark()
        assert second.run_now("shared")
        again = await second_events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
        assert isinstance(again, RunFinished) and again.status == "success"
    finally:
        await second.stop()
        await first.stop()
    assert len(list_results(tmp_path / "shared" / "results")) == 2


@pytest.mark.parametrize("name", ["with spaces", "ünïcödé-タスク", "x" * 200])
async def test_odd_task_names_work(tmp_path: Path, name: str) -> None:
    make_task(tmp_path, name, prompt="hi {task_name}")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    assert engine.run_now(name)
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success"
    assert done.result_file is not None and done.result_file.read_text() == f"hi {name}"


async def test_environment_values_never_reach_records_or_logs(tmp_path: Path) -> None:
    secret = "s3cr3t-value-4242"
    make_task(
        tmp_path,
        "env",
        config=(
            "executor: command\n"
            "command: ['sh', '-c', 'cat >/dev/null; echo \"$TOKEN\" >&2; exit 1']\n"
            f"environment:\n  TOKEN: {secret}\nmax_retries: 0\n"
        ),
    )
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    engine.run_now("env")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "failed"
    for path in (tmp_path / "env").rglob("*"):
        if path.is_file() and path.name != "config.yaml":
            assert secret not in path.read_text(errors="replace"), path
    assert all(secret not in repr(e) for e in events.events)


async def test_a_blocked_event_loop_does_not_drop_a_fire(tmp_path: Path) -> None:
    import time

    make_task(tmp_path, "patient", schedule="type: interval\nseconds: 2\n")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    # Block the loop so the one fire (at +2 s) is 1.5 s late when the loop is free again:
    # APScheduler's default misfire grace (1 s) would drop it.
    time.sleep(3.5)
    unblocked = datetime.now().astimezone()
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.meta_file is not None
    meta = json.loads(done.meta_file.read_text())
    assert datetime.fromisoformat(meta["scheduled_for"]) < unblocked - timedelta(seconds=1)


async def test_an_orphan_is_found_among_a_long_history(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "busy")
    base = datetime.now().astimezone() - timedelta(days=2)
    for i in range(120):
        write_run(folder, base + timedelta(minutes=i), "success", f"run {i}")
    orphan = write_run(folder, base + timedelta(hours=3), "running", "cut", pid=dead_pid())
    write_run(folder, base + timedelta(hours=4), "success", "after")  # overlap: allow
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    await engine.stop()
    assert json.loads(orphan.read_text())["status"] == "interrupted"
