"""Snapshot tests: the main screen, the result viewer and the help, at fixed sizes and time.

The tasks are fixed folders whose runs are written as files (``fixture_tasks``); the UI's clock
and the engine's next runs are frozen at ``FROZEN_NOW``; the log pane (real times) is hidden.
Update the baselines with ``pytest tests/ui/test_snapshots.py --snapshot-update``, then look.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.task_list import TaskList
from tests.ui.conftest import wait_until
from tests.ui.fixture_tasks import FrozenEngine, frozen_clock, write_fixture_tasks

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Coroutine[Any, Any, None]]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BassiApp:
    monkeypatch.setenv("HOME", str(tmp_path))  # the header shows ~/tasks, whatever tmp_path is
    tasks = write_fixture_tasks(tmp_path / "tasks")
    engine = FrozenEngine(tasks, watch=False)
    return BassiApp(tasks, engine=engine, clock=frozen_clock, show_log=False)


def showing(task: str, *keys: str, theme: str | None = None) -> RunBefore:
    """A run_before that selects ``task``, waits for its result, then presses ``keys``."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        if theme:
            app.theme = theme
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 6, "the fixture cards")
        cards.select(task)
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: text.document is not None, "the result")
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def test_main_screen(app: BassiApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(120, 36), run_before=showing("daily-digest"))


def test_main_screen_narrow_stacks_the_panes(app: BassiApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing("daily-digest"))


def test_main_screen_wide(app: BassiApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(200, 60), run_before=showing("daily-digest"))


def test_main_screen_light_theme(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", theme="textual-light")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_result_viewer_on_an_older_failed_run(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", "left_square_bracket", "enter")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_help_screen(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", "question_mark")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_help_screen_narrow(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", "f1")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
