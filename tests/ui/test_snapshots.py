"""Snapshot tests: the main screen, the result viewer and the help, at fixed sizes and time.

The tasks are fixed folders whose runs are written as files (``fixture_tasks``); the UI's clock
and the engine's next runs are frozen at ``FROZEN_NOW``; the log pane (real times) is hidden.
Update the baselines with ``pytest tests/ui/test_snapshots.py --snapshot-update``, then look.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from bassi_tui.store.records import HistoryEntry
from bassi_tui.store.state import read_state, write_state
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.styles import Look
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import wait_until
from tests.ui.fixture_tasks import FrozenEngine, frozen_clock, write_fixture_tasks

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Coroutine[Any, Any, None]]
SKIP_REASON = "previous run still in progress"
MISSED = "1 fire missed while no bassi-tui was scheduling; skipped (missed_task_policy: skip)"


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


def test_details_of_a_task(app: BassiApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(120, 36), run_before=showing("daily-digest", "d"))


def test_searching_the_result(app: BassiApp, snap_compare: SnapCompare) -> None:
    keys = ("enter", "slash", *"morning", "enter")
    assert snap_compare(app, terminal_size=(120, 36), run_before=showing("daily-digest", *keys))


def test_help_screen(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", "question_mark")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_help_screen_narrow(app: BassiApp, snap_compare: SnapCompare) -> None:
    run_before = showing("daily-digest", "f1")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


# -- a daily driver over SSH: compact cards, ASCII, empty states, a missing key, skipped fires --


def fixture_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    extra: Callable[[Path], None] | None = None,
    look: Look | None = None,
) -> BassiApp:
    """The fixture tasks (and ``extra`` ones) in a frozen app, as ``app`` builds it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    tasks = write_fixture_tasks(tmp_path / "tasks")
    if extra is not None:
        extra(tasks)
    engine = FrozenEngine(tasks, watch=False)
    return BassiApp(tasks, engine=engine, clock=frozen_clock, show_log=False, look=look)


def selecting(task: str, count: int, *keys: str) -> RunBefore:
    """A run_before that waits for ``count`` cards, selects ``task``, then presses ``keys``."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == count, "the cards")
        cards.select(task)
        for key in keys:
            await pilot.press(key)
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def test_compact_cards_failures_first_at_80x24(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = fixture_app(tmp_path, monkeypatch)
    run_before = selecting("server-health", 6, "s", "s")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_ascii_without_a_utf8_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = fixture_app(tmp_path, monkeypatch, look=Look(ascii=True))
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing("daily-digest"))


def test_an_empty_tasks_dir_says_how_to_make_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    app = BassiApp(tasks, engine=FrozenEngine(tasks, watch=False), clock=frozen_clock)
    assert snap_compare(app, terminal_size=(80, 24), run_before=selecting("", 0))


def test_an_empty_task_folder_names_the_missing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = fixture_app(tmp_path, monkeypatch, extra=lambda tasks: (tasks / "new-task").mkdir())
    assert snap_compare(app, terminal_size=(80, 24), run_before=selecting("new-task", 7))


def test_a_task_without_its_api_key_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    def ask_claude(tasks: Path) -> None:
        make_task(tasks, "ask-claude", 'type: daily\ntime: "08:00"\ntimezone: UTC\n', config="")

    app = fixture_app(tmp_path, monkeypatch, extra=ask_claude)  # conftest drops the key
    assert snap_compare(app, terminal_size=(120, 36), run_before=selecting("ask-claude", 7))


def test_skipped_and_missed_fires_in_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    def skips(tasks: Path) -> None:
        folder = tasks / "daily-digest"
        state = read_state(folder, repair=False).state
        newest = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
        entries = (
            HistoryEntry(newest + timedelta(seconds=3), "skipped", 0.0, None, SKIP_REASON),
            HistoryEntry(newest - timedelta(hours=12), "missed", 0.0, None, MISSED),
        )
        merged = sorted((*state.history, *entries), key=lambda h: h.timestamp, reverse=True)
        write_state(folder, state.replace(history=tuple(merged)))

    app = fixture_app(tmp_path, monkeypatch, extra=skips)
    assert snap_compare(app, terminal_size=(120, 36), run_before=showing("daily-digest"))
