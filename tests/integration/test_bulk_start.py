"""Starts over many tasks: next runs promised and missed fires recorded in bulk, none skipped."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished
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
