"""Budgets: a task (config.yaml) or every task (bassi.yaml) stops firing once its runs cost the
day's or the month's limit, says so once on its on_failure channels, and a new period lifts it.

Real engines fire on real time; the engine's injectable clock says which day and month it is.
Costs come from the fake Messages server's usage figures at the shipped prices.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RunFinished, TaskChanged
from tests.fake_anthropic import FakeAnthropicServer, Stream
from tests.helpers import WAIT_S, EventLog, make_task
from tests.receiver import Receiver, running_receiver

#: Haiku 4.5 at $1 in / $5 out per million tokens: 100,000 in + 20,000 out = $0.20 a run.
HAIKU = "claude-haiku-4-5"
RUN_COST = 0.2
EVERY_SECOND = "type: interval\nseconds: 1\n"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running_receiver() as r:
        yield r


class Clock:
    """The engine's wall clock: from ``start`` on at real speed, moved on by the test (fires
    follow real time)."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._began)


def costly(fake: FakeAnthropicServer, runs: int) -> None:
    for _ in range(runs):
        fake.enqueue(Stream(["Spent."], input_tokens=100_000, output_tokens=20_000))


def config(budget: str, notify: str = "") -> str:
    return (
        f"executor: anthropic\nmodel: {HAIKU}\nmax_tokens: 300\nretry_on_failure: false\n"
        f"{budget}{notify}"
    )


def said(text: str) -> object:
    return lambda e: isinstance(e, LogLine) and text in e.message


async def finished(events: EventLog, name: str, after: int = 0) -> RunFinished:
    done = await events.wait_for(
        lambda e: isinstance(e, RunFinished) and e.task == name, after=after
    )
    assert isinstance(done, RunFinished)
    assert done.status == "success", done.error
    return done


async def test_a_daily_budget_reached_mid_day_skips_fires_until_the_next_day(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer, receiver: Receiver
) -> None:
    costly(fake_anthropic, 3)
    notify = f"notify:\n  channels: ['{receiver.url()}']\n"
    folder = make_task(
        tmp_path, "spender", EVERY_SECOND, config=config("budget: {daily_usd: 0.3}\n", notify)
    )
    clock = Clock(datetime(2026, 12, 4, 14, 0).astimezone())
    engine = Engine(tmp_path, clock=clock, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        first = await finished(events, "spender")
        second = await finished(events, "spender", after=events.events.index(first) + 1)
        assert (first.record.cost_usd, second.record.cost_usd) == (RUN_COST, RUN_COST)
        # $0.40 of $0.30: the next fires are skipped, with the figures, and told about once.
        reason = "budget: $0.40 of $0.30 today"
        mark = events.mark()
        await events.wait_for(said(f"spender skipped (scheduled): {reason}"), after=mark)
        view = engine.view("spender")
        assert view is not None and view.budget_note is not None
        assert view.budget_note.startswith(reason) and view.budget_note.endswith("tomorrow")
        assert view.month_cost_usd == pytest.approx(0.4)
        await events.wait_for(said("notified via json"), after=mark)
        # Two more skipped fires, and still one message.
        assert await until(lambda: _skip_written(folder) >= 3)
        assert len(fake_anthropic.requests) == 2
        [message] = receiver.received
        assert "reached its budget" in message.body["title"]
        assert reason in message.body["message"]
        state = json.loads((folder / "last_run.json").read_text())
        assert state["spend"] == {
            "day": "2026-12-04",
            "day_usd": 0.4,
            "month": "2026-12",
            "month_usd": 0.4,
        }
        assert state["budget_told"] == "task day 2026-12-04"

        # Midnight: a new day lifts the daily budget; the month's spend goes on.
        mark = events.mark()
        clock.now += timedelta(days=1)
        third = await finished(events, "spender", after=mark)
        assert third.record.start is not None and third.record.start.day == 5
        assert third.view is not None and third.view.budget_note is None
        assert third.view.month_cost_usd == pytest.approx(0.6)
    finally:
        await engine.stop()


async def until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Look every 50 ms, on the loop, until ``predicate`` holds; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def _skip_written(folder: Path) -> int:
    try:
        state = json.loads((folder / "last_run.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for h in state["history"] if h.get("error", "").startswith("budget:"))


async def test_bassi_yaml_budget_stops_every_task_together_but_not_a_persons_run(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    costly(fake_anthropic, 3)
    (tmp_path / "bassi.yaml").write_text("budget:\n  monthly_usd: 0.35\n")
    make_task(tmp_path, "one", config=config(""))
    make_task(tmp_path, "two", config=config(""))
    engine = Engine(tmp_path, clock=Clock(datetime(2026, 12, 4, 9, 0).astimezone()), watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("one")
        await finished(events, "one")
        assert engine.run_now("two")  # $0.20 so far: under $0.35
        await finished(events, "two")
        # $0.40 in all: a fire of either is skipped, though each spent only $0.20.
        mark = events.mark()
        engine._runs.start_run("one", "scheduled")
        await events.wait_for(
            said("one skipped (scheduled): budget: $0.40 of $0.35 this month (all tasks"),
            after=mark,
        )
        view = engine.view("two")
        assert view is not None and view.budget_note is not None
        assert "next month" in view.budget_note
        # A person's run still goes, and the log says it is over budget.
        mark = events.mark()
        assert engine.run_now("two")
        await finished(events, "two", after=mark)
        await events.wait_for(said("two runs though over its budget"), after=mark)
    finally:
        await engine.stop()


async def test_a_new_day_redraws_a_card_held_by_its_budget_with_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task that fires once a day, over its daily budget since this morning: nothing runs
    # before tomorrow 09:00, yet at midnight its card must stop saying it is held, and at a new
    # month stop showing last month's cost.
    monkeypatch.setattr("bassi_tui.scheduler.periods.PERIOD_CHECK_S", 0.05)
    folder = make_task(
        tmp_path,
        "held",
        "type: daily\ntime: '09:00'\n",
        config=config("budget: {daily_usd: 0.3}\n"),
    )
    spend = {"day": "2026-12-31", "day_usd": 0.4, "month": "2026-12", "month_usd": 0.4}
    (folder / "last_run.json").write_text(json.dumps({"task_name": "held", "spend": spend}))
    clock = Clock(datetime(2026, 12, 31, 14, 0).astimezone())
    engine = Engine(tmp_path, clock=clock, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        view = engine.view("held")
        assert view is not None and view.budget_note is not None
        assert view.budget_note.startswith("budget: $0.40 of $0.30 today")
        assert view.month_cost_usd == pytest.approx(0.4)
        mark = events.mark()
        clock.now += timedelta(days=1)  # 2027-01-01 14:00: a new day and a new month
        changed = await events.wait_for(
            lambda e: isinstance(e, TaskChanged) and e.name == "held", after=mark
        )
        assert isinstance(changed, TaskChanged) and changed.view is not None
        assert changed.view.budget_note is None
        assert changed.view.month_cost_usd is None
        assert not [e for e in events.events if isinstance(e, RunFinished)]
    finally:
        await engine.stop()
