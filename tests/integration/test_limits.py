"""bassi.yaml max_concurrent: never more runs at once than it says, every fire still runs."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished, RunStarted, TaskChanged
from bassi_tui.store.results import list_results
from tests.helpers import EventLog, make_task

COUNT, LIMIT = 20, 3


async def test_twenty_due_at_once_run_three_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "bassi.yaml").write_text(f"max_concurrent: {LIMIT}\n")
    slot = float(math.ceil(time.time() + 3))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(slot))
    argv = json.dumps([sys.executable, "-c", "import time; time.sleep(0.3); print('done')"])
    for n in range(COUNT):
        priority = "priority: 5\n" if n == COUNT - 1 else ""
        make_task(
            tmp_path,
            f"t{n:02d}",
            schedule=f'type: once\ndatetime: "{when}"\ntimezone: UTC\n',
            config=f"executor: command\ncommand: {argv}\n{priority}",
        )
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    inside = most = 0
    order: list[str] = []

    def count(event: object) -> None:
        nonlocal inside, most
        if isinstance(event, RunStarted):
            inside += 1
            most = max(most, inside)
            order.append(event.task)
        elif isinstance(event, RunFinished):
            inside -= 1

    engine.subscribe(count)
    await engine.start()
    try:
        async with asyncio.timeout(60):
            while sum(isinstance(e, RunFinished) for e in events.events) < COUNT:
                await events.wait_for(
                    lambda e: isinstance(e, RunFinished), after=len(events.events)
                )
    finally:
        await engine.stop()
    assert most == LIMIT
    assert sorted(order) == [f"t{n:02d}" for n in range(COUNT)]  # every fire ran
    records = [r for n in range(COUNT) for r in list_results(tmp_path / f"t{n:02d}" / "results")]
    # A run's start is stamped as it leaves the gate (RunStarted comes later, after a thread
    # hop, so its order is not the gate's): the priority one went first among the waiters.
    admitted = [
        r.task_name
        for r in sorted(records, key=lambda r: r.start.timestamp() if r.start else math.inf)
    ]
    assert admitted.index(f"t{COUNT - 1:02d}") <= LIMIT
    waited = [r.waited for r in records]
    assert sum(w is not None and w > 0 for w in waited) >= COUNT - LIMIT
    shown_waiting = {
        e.name
        for e in events.events
        if isinstance(e, TaskChanged) and e.view and e.view.waiting_since
    }
    assert len(shown_waiting) >= COUNT - LIMIT  # their cards said "waiting"
