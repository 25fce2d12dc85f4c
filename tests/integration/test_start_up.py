"""Starts: folders read ahead, edits made during a start, and bulk writes over many tasks."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, RunFinished, TaskChanged
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.store.loading import Loaded
from bassi_tui.store.preload import Preload
from bassi_tui.store.state import FSYNC_EACH_UP_TO
from tests.helpers import EventLog, make_task

MANY = FSYNC_EACH_UP_TO * 2 + 3  # past the one-fsync-each path


def state_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "last_run.json").read_text())
    return data


async def test_a_first_start_promises_every_next_run(tmp_path: Path) -> None:
    folders = [make_task(tmp_path, f"t{n:03d}") for n in range(MANY)]
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    promised = {f.name: engine.next_run(f.name) for f in folders}
    await engine.stop()  # lets the bulk write finish
    for folder in folders:
        when = promised[folder.name]
        assert when is not None
        assert datetime.fromisoformat(state_of(folder)["next_run"]) == when


async def test_missed_fires_of_many_tasks_are_all_recorded(tmp_path: Path) -> None:
    now = datetime.now().astimezone()
    slot = (now - timedelta(minutes=1)).strftime("%H:%M")
    expected = (now - timedelta(minutes=1, days=2)).replace(second=0, microsecond=0)
    folders = []
    for n in range(MANY):
        policy = "catchup" if n % 5 == 0 else "skip"
        folder = make_task(
            tmp_path,
            f"{policy}-{n:03d}",
            schedule=f"type: daily\ntime: '{slot}'\n",
            config=f"executor: echo\nmissed_task_policy: {policy}\n",
        )
        (folder / "last_run.json").write_text(json.dumps({"next_run": expected.isoformat()}))
        folders.append(folder)
    catchups = sum(f.name.startswith("catchup") for f in folders)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    await events.wait_for(
        lambda _: sum(isinstance(e, RunFinished) for e in events.events) == catchups
    )
    await engine.wait_idle()
    await engine.stop()
    for folder in folders:
        state = state_of(folder)
        missed = [h for h in state["history"] if h["status"] == "missed"]
        assert len(missed) == 1 and "3 runs missed" in missed[0]["error"], folder.name
        assert state["missed_count"] == 3
        assert state["run_count"] == (1 if folder.name.startswith("catchup") else 0)
        assert datetime.fromisoformat(state["next_run"]) > now


def changed(name: str, change: str) -> Callable[[EngineEvent], bool]:
    return lambda e: isinstance(e, TaskChanged) and e.name == name and e.change == change


def in_place(path: Path, text: str) -> None:
    """Rewrite a file in place (same inode), as `echo > file` does."""
    with path.open("r+") as handle:
        handle.truncate(0)
        handle.write(text)


EDITS: dict[str, tuple[Callable[[Path], None], str]] = {
    "schedule edited in place": (
        lambda f: in_place(f / "schedule.yaml", "type: interval\nhours: 2\n"),
        "updated",
    ),
    "schedule broken by an editor": (
        lambda f: (f / "schedule.yaml").write_text("type: interval\nhourz: 2\n"),
        "broken",
    ),
    "prompt appended to": (lambda f: f.joinpath("prompt.txt").open("a").write(" more"), "updated"),
}
# (A folder removed after the read-ahead: test_folders_read_ahead_are_taken_and_edits_since_...)


@pytest.mark.parametrize("edit", EDITS)
async def test_an_edit_made_while_the_tasks_load_is_not_missed(tmp_path: Path, edit: str) -> None:
    for n in range(20):
        make_task(tmp_path, f"t{n:02d}")
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    # The folders are read ahead (as the command line does from launch); the edit comes after
    # that read and before the engine's watcher is armed.
    preload = Preload.begin(tmp_path, recover=True, force=True)
    assert preload is not None
    preload.wait()
    apply, expected = EDITS[edit]
    apply(tmp_path / "t07")
    eng = Engine(tmp_path, lock=lock, preload=preload)
    events = EventLog(eng)
    await eng.start()
    try:
        await events.wait_for(changed("t07", expected))
        await eng.wait_watching()
        task = eng.task("t07")
        if edit == "prompt appended to":
            assert task is not None and task.prompt is not None and task.prompt.endswith(" more")
    finally:
        await eng.stop()


async def test_folders_read_ahead_are_taken_and_edits_since_are_read_again(
    tmp_path: Path,
) -> None:
    for n in range(30):
        make_task(tmp_path, f"t{n:02d}")
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    preload = Preload.begin(tmp_path, recover=True, force=True)
    assert preload is not None
    preload.wait()
    # Edits after the worker read the folders: every one must show once the engine is up.
    in_place(tmp_path / "t03" / "schedule.yaml", "type: interval\nminutes: 7\n")
    shutil.rmtree(tmp_path / "t04")
    make_task(tmp_path, "t99")
    eng = Engine(tmp_path, lock=lock, preload=preload)
    try:
        await eng.start()
        await eng.wait_watching()
        names = [v.name for v in eng.views()]
        assert "t04" not in names and "t99" in names and len(names) == 30
        schedule = eng.task("t03").schedule  # type: ignore[union-attr]
        assert schedule is not None and schedule.interval_seconds == 7 * 60
    finally:
        await eng.stop()


async def test_stopping_during_a_long_load_ends_the_start(tmp_path: Path) -> None:
    for n in range(10):
        make_task(tmp_path, f"t{n}")
    eng = Engine(tmp_path)
    original = eng._load_many
    loading = threading.Event()

    def slow_load(names: list[str], recover: bool) -> list[Loaded]:
        loading.set()
        eng._abort.wait(30)  # the load is still going when the app quits
        return original(names, recover)

    eng._load_many = slow_load  # type: ignore[method-assign]
    start = asyncio.create_task(eng.start())
    await asyncio.to_thread(loading.wait, 30)
    await eng.stop()
    await asyncio.wait_for(start, 10)  # returns, without scheduling anything
    assert not eng.started and eng.views() == []
