"""Task actions in the command palette, and the one Engine class behind app and headless."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from bassi_tui import cli
from bassi_tui.scheduler import engine as engine_module
from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.commands import task_commands
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_until


async def test_the_palette_lists_task_actions_and_runs_them(tasks_dir: Path) -> None:
    make_task(tasks_dir, "greeter", prompt="Hi from {task_name}")
    make_task(tasks_dir, "nightly", schedule='type: daily\ntime: "03:00"\nenabled: false\n')
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 2, "the cards")
        titles = [title for title, _, _ in task_commands(app, cards.view)]
        assert titles == [
            "Run greeter now",
            "Pause greeter",
            "Edit the prompt of greeter",
            "Show greeter",
            "Run nightly now",
            "Resume nightly",
            "Edit the prompt of nightly",
            "Show nightly",
        ]
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"run greeter now")
        hits = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: "Run greeter now" in text_of(hits), "the palette's hit")
        await pilot.press("enter")
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "Hi from greeter" in text_of(text), "the palette's run")


class _Stop(Exception):
    pass


def test_app_and_headless_drive_the_same_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = BassiApp(tmp_path)
    assert type(app.engine) is engine_module.Engine

    built: list[Engine] = []

    class Spy(engine_module.Engine):
        async def start(self) -> None:
            built.append(self)
            raise _Stop

    monkeypatch.setattr(engine_module, "Engine", Spy)
    with pytest.raises(_Stop):
        asyncio.run(cli._headless(tmp_path, False, *cli._read_ahead(tmp_path)))
    assert len(built) == 1 and isinstance(built[0], Engine)
    assert built[0].tasks_dir == tmp_path


async def test_an_engine_started_before_the_app_shows_its_tasks(tasks_dir: Path) -> None:
    make_task(tasks_dir, "early")
    engine = Engine(tasks_dir, watch=False)
    await engine.start()
    app = BassiApp(tasks_dir, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.names == ["early"], "the card")
    assert not engine.started  # the app owns it now: it stopped it on the way out


async def test_an_engine_that_cannot_start_is_reported_not_fatal(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(Engine):
        async def start(self) -> None:
            raise OSError("tasks dir unreadable")

    app = BassiApp(tasks_dir, engine=Broken(tasks_dir))
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(message))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: bool(said), "the report")
        assert "tasks dir unreadable" in said[0]
        await pilot.press("question_mark")  # still alive
        assert app.is_running


async def test_a_slow_start_says_it_is_loading_then_shows_the_count(tasks_dir: Path) -> None:
    for n in range(3):
        make_task(tasks_dir, f"t{n}")
    gate = asyncio.Event()

    class Gated(Engine):  # a real engine whose start waits until the test lets it go
        async def start(self) -> None:
            await gate.wait()
            await super().start()

    app = BassiApp(tasks_dir, engine=Gated(tasks_dir, watch=False))
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        pane = app.query_one("#cards-pane")
        await pilot.pause()
        assert "Loading task folders…" in text_of(cards)
        assert str(pane.border_title) == "Tasks · loading…"
        gate.set()
        await wait_until(pilot, lambda: len(cards.names) == 3, "the cards")
        assert str(pane.border_title) == "Tasks · 3"


async def test_an_empty_tasks_dir_says_so_once_loaded(tasks_dir: Path) -> None:
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: "No task folders yet" in text_of(cards), "the empty text")
        assert "Loading" not in text_of(cards)
