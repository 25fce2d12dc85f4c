"""Reproducible runs: the exact prompt beside each result, its hash, R, and run --dry-run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.task_list import TaskList
from tests.helpers import EventLog, make_task, write_atomic
from tests.ui.conftest import wait_until


async def run_once(engine: Engine, events: EventLog, name: str) -> RunFinished:
    mark = events.mark()
    assert engine.run_now(name)
    done = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    assert isinstance(done, RunFinished)
    return done


async def test_a_run_keeps_its_exact_prompt_and_hashes(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "greet", prompt="Hello {task_name} on {weekday}")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        first = (await run_once(engine, events, "greet")).record
        write_atomic(folder / "config.yaml", "executor: echo\ntimeout: 30\n")
        await engine.reload({"greet"})
        second = (await run_once(engine, events, "greet")).record
    finally:
        await engine.stop()
    sent = first.prompt_file.read_text()
    assert sent.startswith("Hello greet on ") and "{" not in sent
    assert first.output_file is not None and first.output_file.read_text() == sent
    meta = json.loads(first.meta_file.read_text())
    assert meta["prompt_sha256"] == hashlib.sha256(sent.encode()).hexdigest()
    assert second.prompt_sha256 == first.prompt_sha256  # same prompt...
    assert second.config_sha256 != first.config_sha256  # ...under another config


async def test_rerun_sends_a_saved_prompt_again(tmp_path: Path) -> None:
    make_task(tmp_path, "clock", prompt="it is {timestamp}")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        first = (await run_once(engine, events, "clock")).record
        saved = first.prompt_file.read_text()
        mark = events.mark()
        assert engine.rerun("clock", saved)
        done = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.record.trigger == "manual"
    assert done.record.prompt_file.read_text() == saved
    assert done.record.prompt_sha256 == first.prompt_sha256


async def test_shift_r_in_the_viewer_runs_the_shown_prompt_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_task(tmp_path, "clock", prompt="it is {timestamp}")
    engine = Engine(tmp_path, watch=False)
    sent: list[str] = []
    original = engine.rerun
    monkeypatch.setattr(
        engine, "rerun", lambda name, prompt: sent.append(prompt) or original(name, prompt)
    )
    app = BassiApp(tmp_path, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "clock", "the card")
        await pilot.press("r")
        results = tmp_path / "clock" / "results"
        await wait_until(pilot, lambda: len(list(results.glob("*.prompt.txt"))) == 1, "a run")
        await app.workers.wait_for_complete()
        await pilot.press("R")
        await wait_until(pilot, lambda: len(list(results.glob("*.prompt.txt"))) == 2, "again")
    [first] = [p.read_text() for p in sorted(results.glob("*.prompt.txt"))][:1]
    assert sent == [first]


def test_run_dry_run_prints_the_prompt_and_sends_nothing(tmp_path: Path) -> None:
    folder = make_task(
        tmp_path, "report", prompt="Report for {task_name}", config="executor: agent\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "bassi_tui", "run", "report", "--dry-run"],
        env={**os.environ, "BASSI_TASKS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Report for report"
    assert "executor" in done.stderr and "agent" in done.stderr and "dry run" in done.stderr
    assert not (folder / "results").exists() and not (folder / "last_run.json").exists()
