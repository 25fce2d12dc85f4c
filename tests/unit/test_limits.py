"""RunGate: at most N through at once, due order with priority first, cancellation leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.scheduler.limits import RunGate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_at_most_the_limit_run_and_the_rest_go_in_due_order() -> None:
    gate = RunGate(2)
    order: list[str] = []
    release = {name: asyncio.Event() for name in "abcde"}
    inside = 0
    most = 0

    async def run(name: str, due_s: int, priority: int = 0) -> None:
        nonlocal inside, most
        await gate.enter(priority, T0 + timedelta(seconds=due_s))
        inside += 1
        most = max(most, inside)
        order.append(name)
        await release[name].wait()
        inside -= 1
        gate.leave()

    tasks = [asyncio.create_task(run("a", 0)), asyncio.create_task(run("b", 1))]
    await asyncio.sleep(0)
    tasks += [
        asyncio.create_task(run("c", 5)),
        asyncio.create_task(run("d", 3)),
        asyncio.create_task(run("e", 9, priority=1)),
    ]
    await asyncio.sleep(0)
    assert order == ["a", "b"] and gate.waiting == 3
    for name in "abcde":
        release[name].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "e", "d", "c"]  # priority first, then the earliest due
    assert most == 2 and gate.active == 0


async def test_a_cancelled_waiter_takes_no_place() -> None:
    gate = RunGate(1)
    await gate.enter(0, T0)
    waiter = asyncio.create_task(gate.enter(0, T0))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.leave()
    assert gate.active == 0 and gate.waiting == 0
    await asyncio.wait_for(gate.enter(0, T0), 1)  # free at once
    assert gate.active == 1


async def test_raising_the_limit_lets_waiters_in() -> None:
    gate = RunGate(1)
    await gate.enter(0, T0)
    waiter = asyncio.create_task(gate.enter(0, T0))
    await asyncio.sleep(0)
    assert not waiter.done()
    gate.set_limit(None)
    await asyncio.wait_for(waiter, 1)
    assert gate.active == 2


def test_check_names_a_bad_limit_and_a_bad_priority(tmp_path: Path) -> None:
    from bassi_tui.store.parse import load_task
    from bassi_tui.store.settings import parse_settings
    from tests.helpers import make_task

    _, problems = parse_settings("max_concurrent: 0\n")
    assert [(p.location(), p.message) for p in problems] == [
        ("bassi.yaml:1", "max_concurrent: expected a whole number >= 1, got '0'")
    ]
    settings, problems = parse_settings("max_concurrent: 4\n")
    assert not problems and settings.max_concurrent == 4
    folder = make_task(tmp_path, "t", config="executor: echo\npriority: high\n")
    assert any(
        p.location() == "config.yaml:2" and p.message.startswith("priority:")
        for p in load_task(folder).problems
    )
