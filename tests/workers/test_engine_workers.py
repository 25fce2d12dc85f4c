"""``runs_on`` through the engine: the scheduler hands runs to real ``bassi-tui worker``
processes over a real Redis and stays the only writer of the folder store.

The workers (conftest) run with their own environment; the engine's run path records what they
send back: the result file, the record with the worker's name, last_run.json, live output.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished, RunOutput, RunStarted
from tests.helpers import EventLog, make_task, write_atomic
from tests.workers.server import WorkerProcess, kill_tree, start_worker

LONG = 30.0  # hang guard for a remote run: not a performance check


def workers_yaml(tasks: Path, url: str) -> None:
    write_atomic(tasks / "bassi.yaml", f"workers:\n  url: '{url}'\n")


def command_config(label: str, script: str, extra: str = "") -> str:
    argv = json.dumps(["sh", "-c", script])
    return f"executor: command\ncommand: {argv}\nruns_on: {label}\nretry_on_failure: false\n{extra}"


async def test_a_runs_on_task_runs_on_its_worker_and_is_recorded_here(
    tmp_path: Path, redis_url: str, workers: dict[str, WorkerProcess]
) -> None:
    workers_yaml(tmp_path, redis_url)
    script = 'echo "on $(hostname) with $MY_TOKEN"; sleep 0.5; echo done'
    folder = make_task(tmp_path, "remote", config=command_config("b", script))
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("remote")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=LONG)
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success", done.error
    record = done.record
    assert record.worker is not None and record.worker.startswith("wb")
    assert record.output_file is not None
    text = record.output_file.read_text()
    # The worker's own environment, not this process's (which has no MY_TOKEN).
    assert "with worker-side-token" in text and text.rstrip().endswith("done")
    # The output streamed while it ran: the first chunk came before the run finished.
    chunks = [e for e in events.events if isinstance(e, RunOutput)]
    assert chunks and "".join(c.text for c in chunks) == text
    assert events.events.index(chunks[0]) < events.events.index(done)
    meta = json.loads(record.meta_file.read_text())
    assert meta["worker"] == record.worker and meta["status"] == "success"
    state = json.loads((folder / "last_run.json").read_text())
    assert state["last_status"] == "success" and state["run_count"] == 1


async def test_a_label_with_no_live_worker_says_so_on_the_card_and_fails_the_run(
    tmp_path: Path, redis_url: str, workers: dict[str, WorkerProcess]
) -> None:
    workers_yaml(tmp_path, redis_url)
    make_task(tmp_path, "orphan", config=command_config("nobody", "echo hi"))
    make_task(tmp_path, "served", config=command_config("a", "echo hi"))
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        await events.wait_for(
            lambda e: getattr(e, "message", "").startswith("no live worker for runs_on: nobody"),
            timeout=LONG,
        )
        view = engine.view("orphan")
        assert view is not None and view.note is not None
        assert "no live worker for runs_on: nobody" in view.note
        assert "bassi-tui worker --labels nobody" in view.note
        served = engine.view("served")
        assert served is not None and (served.note is None or "worker" not in served.note)
        assert engine.run_now("orphan")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=LONG)
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "failed"
    assert done.error is not None and "nobody" in done.error


async def test_runs_on_without_workers_in_bassi_yaml_fails_saying_what_to_add(
    tmp_path: Path,
) -> None:
    make_task(tmp_path, "nowhere", config=command_config("gpu", "echo never"))
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("nowhere")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=LONG)
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "failed"
    assert done.error is not None and "workers: {url: redis://" in done.error
    assert done.record.output_file is not None and done.record.output_file.read_text() == ""


async def test_a_slot_is_handed_to_a_worker_once_even_when_a_restart_fires_it_again(
    tmp_path: Path, redis_url: str, workers: dict[str, WorkerProcess]
) -> None:
    """The job id is made from the task and the slot: a second instance (a restart, a
    catch-up) firing the same slot follows the job already handed over, never a new one."""
    workers_yaml(tmp_path, redis_url)
    count = tmp_path / "executions.txt"  # the worker appends a line each time it runs it
    script = f"echo ran >> {count}; echo slot-output"
    make_task(tmp_path, "daily", config=command_config("a", script))
    slot = datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    finished = []
    for _ in range(2):  # the same slot, from two engines one after the other
        engine = Engine(tmp_path, watch=False)
        events = EventLog(engine)
        await engine.start()
        try:
            assert engine.start_run("daily", "catchup", scheduled_for=slot)
            done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=LONG)
        finally:
            await engine.stop()
        assert isinstance(done, RunFinished)
        finished.append(done)
    assert count.read_text() == "ran\n"
    assert [d.status for d in finished] == ["success", "success"]
    # The second run followed the first's job: its output replayed, from the same worker.
    for done in finished:
        assert done.record.output_file is not None
        assert done.record.output_file.read_text() == "slot-output\n"
    assert finished[0].record.worker == finished[1].record.worker
    started = [e for e in events.events if isinstance(e, RunStarted)]
    assert started and started[0].record.trigger == "catchup"


async def test_a_worker_killed_mid_run_leaves_the_run_lost_within_a_minute_not_rerun(
    tmp_path: Path, redis_url: str
) -> None:
    """kill -9 of the worker and all it started: the engine records the run ``lost`` (the
    default threshold, 30 s without a heartbeat), last_run.json says so, nothing runs again."""
    doomed = start_worker(redis_url, "doomed-e", "wdoomede", tmp_path / "worker")
    try:
        workers_yaml(tmp_path, redis_url)
        ran = tmp_path / "ran.txt"
        config = command_config("doomed-e", f"echo ran >> {ran}; echo started; sleep 120")
        folder = make_task(tmp_path, "fragile", config=config + "timeout: 600\n")
        engine = Engine(tmp_path, watch=False)
        events = EventLog(engine)
        await engine.start()
        try:
            assert engine.run_now("fragile")
            await events.wait_for(lambda e: isinstance(e, RunOutput), timeout=LONG)
            kill_tree(doomed.proc.pid)
            killed = time.monotonic()
            done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=90)
            took = time.monotonic() - killed
            await asyncio.sleep(1.0)  # time for anything to run it again
        finally:
            await engine.stop()
    finally:
        doomed.stop()
    assert isinstance(done, RunFinished) and done.status == "lost", done.error
    assert took < 60, f"recorded lost only after {took:.0f} s"
    assert done.error is not None and "wdoomede" in done.error
    assert done.record.worker is not None and done.record.worker.startswith("wdoomede@")
    assert done.record.output_file is not None
    assert done.record.output_file.read_text() == "started\n"
    assert ran.read_text() == "ran\n"
    state = json.loads((folder / "last_run.json").read_text())
    assert state["last_status"] == "lost" and state["failure_count"] == 1


async def test_workers_named_where_rq_is_not_installed_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a host installed without the workers extra: rq cannot be imported.
    monkeypatch.setitem(sys.modules, "rq", None)
    workers_yaml(tmp_path, "redis://127.0.0.1:9/0")
    make_task(tmp_path, "far", config=command_config("gpu", "echo never"))
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        said = await events.wait_for(
            lambda e: "rq is not installed here" in getattr(e, "message", ""), timeout=LONG
        )
        assert "pip install -e '.[workers]'" in getattr(said, "message", "")
        assert engine.run_now("far")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished), timeout=LONG)
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "failed"
    assert done.error is not None and "rq is not installed here" in done.error
