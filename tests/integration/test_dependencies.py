"""type: after: chains run in order through the real engine; unknown tasks and cycles are broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished, RunStarted
from tests.helpers import EventLog, make_task

FAIL_ECHOING = json.dumps(
    [sys.executable, "-c", "import sys; print(sys.stdin.read()); sys.exit(1)"]
)


def after(names: str, on: str = "success") -> str:
    return f"type: after\nafter: {names}\non: {on}\n"


async def test_a_chain_of_three_stops_at_the_failure_and_the_failure_branch_runs(
    tmp_path: Path,
) -> None:
    make_task(tmp_path, "fetch", prompt="fetched 42 rows")
    make_task(
        tmp_path,
        "report",
        schedule=after("fetch"),
        prompt="fetch {after_status}: {after_output} ({after_result_file})",
        config=f"executor: command\ncommand: {FAIL_ECHOING}\nretry_on_failure: false\n",
    )
    make_task(tmp_path, "publish", schedule=after("report"))
    make_task(tmp_path, "alert", schedule=after("report", "failure"), prompt="{after_status}")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("fetch")  # a manual run triggers its dependents too
        alert = await events.wait_for(lambda e: isinstance(e, RunFinished) and e.task == "alert")
        await engine.wait_idle()
    finally:
        await engine.stop()
    finished = {e.task: e for e in events.events if isinstance(e, RunFinished)}
    started = [e.task for e in events.events if isinstance(e, RunStarted)]
    assert started == ["fetch", "report", "alert"]  # in order; publish never ran
    assert finished["report"].status == "failed"
    assert finished["report"].record.trigger == "after"
    output = finished["report"].record.output_file
    assert output is not None
    text = output.read_text()
    fetch_out = finished["fetch"].record.output_file
    assert f"fetch success: fetched 42 rows ({fetch_out})" in text
    assert isinstance(alert, RunFinished) and alert.record.output_file is not None
    assert alert.record.output_file.read_text() == "failed"


async def test_with_two_upstreams_it_runs_once_both_have_run(tmp_path: Path) -> None:
    make_task(tmp_path, "a")
    make_task(tmp_path, "b")
    make_task(tmp_path, "both", schedule="type: after\nafter: [a, b]\n")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        engine.run_now("a")
        await events.wait_for(lambda e: isinstance(e, RunFinished) and e.task == "a")
        await engine.wait_idle()
        assert not any(isinstance(e, RunStarted) and e.task == "both" for e in events.events)
        engine.run_now("b")
        await events.wait_for(lambda e: isinstance(e, RunFinished) and e.task == "both")
        mark = events.mark()
        engine.run_now("b")  # a has not run again since: both waits
        await events.wait_for(lambda e: isinstance(e, RunFinished) and e.task == "b", after=mark)
        await engine.wait_idle()
    finally:
        await engine.stop()
    runs = [e.task for e in events.events if isinstance(e, RunStarted)]
    assert runs.count("both") == 1
    view = engine.view("both")
    assert view is not None and view.description == "after a and b succeed (all of them)"


async def test_unknown_tasks_and_cycles_are_broken_on_the_card(tmp_path: Path) -> None:
    make_task(tmp_path, "ghostly", schedule=after("nobody"))
    make_task(tmp_path, "ping", schedule=after("pong"))
    make_task(tmp_path, "pong", schedule=after("ping"))
    make_task(tmp_path, "fine")
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    try:
        await engine.wait_watching()
        views = {v.name: v for v in engine.views()}
    finally:
        await engine.stop()
    assert [p.message for p in views["ghostly"].problems] == [
        "after: no task 'nobody' (tasks: fine, ping, pong)"
    ]
    assert "a cycle, ping -> pong -> ping" in views["ping"].problems[0].message
    assert "a cycle, pong -> ping -> pong" in views["pong"].problems[0].message
    assert views["fine"].ok
    assert not engine.run_now("ping")  # broken: it cannot run


def test_check_reports_unknown_tasks_and_cycles(tmp_path: Path) -> None:
    make_task(tmp_path, "ghostly", schedule=after("nobody"))
    make_task(tmp_path, "ping", schedule=after("pong"))
    make_task(tmp_path, "pong", schedule=after("ping"))
    make_task(tmp_path, "fine", schedule=after("ghostly", "always"))
    done = subprocess.run(
        [sys.executable, "-m", "bassi_tui", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert done.returncode == 1
    assert "ghostly/schedule.yaml: after: no task 'nobody'" in done.stderr
    assert "ping/schedule.yaml: after: a cycle, ping -> pong -> ping" in done.stderr
    assert "ok  fine: after ghostly ends" in done.stdout
