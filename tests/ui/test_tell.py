"""What the app shows of checks, changes and notifications: the diff key, toasts, the card."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Static

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.details_screen import DetailsScreen
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_until
from tests.ui.fixture_tasks import write_run

SIZE = (120, 36)


def make_app(tasks_dir: Path) -> BassiApp:
    return BassiApp(tasks_dir, engine=Engine(tasks_dir), show_log=True)


def screen_text(app: BassiApp) -> str:
    return "\n".join(str(static.render()) for static in app.screen.query(Static))


async def test_d_shows_what_changed_since_the_previous_success(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "prices")
    now = datetime.now().astimezone().replace(microsecond=0)
    write_run(folder, now - timedelta(hours=3), "widget 10\ngadget 5\n")
    write_run(folder, now - timedelta(hours=2), "oops\n", status="failed", error="boom")
    write_run(folder, now - timedelta(hours=1), "widget 12\ngadget 5\n")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "widget 12" in text_of(text), "the newest output")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), "the details")
        shown = screen_text(app)
        assert "-widget 10" in shown and "+widget 12" in shown and "oops" not in shown
        assert "Config in effect" in shown
        assert any(line.split() == ["executor", "echo"] for line in shown.splitlines())
        assert sum(line.startswith(("next  ", "      ")) for line in shown.splitlines()) >= 5
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DetailsScreen), "closed")
        # The oldest run has nothing before it.
        await pilot.press("left_square_bracket", "left_square_bracket", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), "the details")
        assert "No earlier successful run to compare with." in screen_text(app)


async def test_d_says_when_nothing_changed(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "steady")
    now = datetime.now().astimezone().replace(microsecond=0)
    write_run(folder, now - timedelta(hours=2), "same\n")
    write_run(folder, now - timedelta(hours=1), "same\n")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "same" in text_of(text), "the output")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), "the details")
        assert "No change since the run of" in screen_text(app)


async def test_d_shows_a_broken_task_s_whole_error(tasks_dir: Path) -> None:
    long = "x" * 150
    make_task(tasks_dir, "broken", schedule=f"type: daily\ntiem: '07:30'\n# {long}\n")
    app = make_app(tasks_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "broken", "the card")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), "the details")
        shown = screen_text(app)
        assert "schedule.yaml:2: unknown key 'tiem'" in shown
        assert "none while the task is broken" in shown


async def test_a_failed_run_shows_a_toast(tasks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_task(
        tasks_dir,
        "sales",
        prompt="nothing here",
        config="executor: echo\nexpect:\n  contains: Total revenue\n",
    )
    app = make_app(tasks_dir)
    toasts: list[tuple[str, str]] = []

    def notify(message: str, **kwargs: object) -> None:
        toasts.append((message, str(kwargs.get("severity", "information"))))

    monkeypatch.setattr(app, "notify", notify)
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "sales", "the card")
        await pilot.press("r")
        await wait_until(pilot, lambda: any(s == "error" for _, s in toasts), "the toast")
        [(message, _)] = [t for t in toasts if t[1] == "error"]
        assert message == "sales check failed: expect.contains 'Total revenue' not found"
        await wait_until(pilot, lambda: "≠ check_failed" in text_of(cards), "the card")


async def test_a_card_shows_a_channel_that_fails(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "daily")
    state = {"task_name": "daily", "notify_error": "ntfy://ntfy.sh/***: HTTP 500"}
    (folder / "last_run.json").write_text(json.dumps(state))
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: "notify failed" in text_of(cards), "the warning")
        assert "notify failed: ntfy://ntfy.sh/" in text_of(cards)  # cut to the card's width


async def test_a_broken_bassi_yaml_shows_a_toast(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_task(tasks_dir, "one")
    (tasks_dir / "bassi.yaml").write_text("defaults:\n  timeout: soon\n")
    app = make_app(tasks_dir)
    toasts: list[str] = []

    def notify(message: str, **kwargs: object) -> None:
        if kwargs.get("severity") == "error":
            toasts.append(message)

    monkeypatch.setattr(app, "notify", notify)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(toasts), "the toast")
    assert toasts == ["bassi.yaml has problems: no defaults apply until it is fixed"]
