"""The keys, driven through Pilot over real task folders and the echo executor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.binding import Binding

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui.actions import editor_command
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.help_screen import HelpScreen
from bassi_tui.ui.log_pane import LogPane
from bassi_tui.ui.result_view import ResultView
from bassi_tui.ui.run_history import RunHistory
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_started, wait_until
from tests.ui.fixture_tasks import write_run, write_state

SIZE = (120, 36)


def make_app(tasks_dir: Path) -> BassiApp:
    return BassiApp(tasks_dir, engine=Engine(tasks_dir), show_log=True)


async def test_r_runs_the_selected_task_and_shows_its_result(tasks_dir: Path) -> None:
    make_task(tasks_dir, "greeter", prompt="Hello from {task_name}")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        cards, viewer = app.query_one(TaskList), app.query_one(ResultView)
        await wait_until(pilot, lambda: cards.selected == "greeter", "the card")
        await pilot.press("r")
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "Hello from greeter" in text_of(text), "the result")
        # The text streams in before the run's end is told: wait for the end, not just the text.
        await wait_until(pilot, lambda: viewer.records[0].status == "success", "the run's end")
        await wait_until(pilot, lambda: "✓ success" in text_of(cards), "the card's last run")
        assert "1 run · 100% ok" in text_of(cards)


async def test_p_pauses_and_resumes_through_schedule_yaml(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "nightly", schedule='# keep me\ntype: daily\ntime: "03:00"\n')
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "nightly", "the card")
        await wait_started(app)
        await pilot.press("p")
        await wait_until(pilot, lambda: "paused" in text_of(cards), "the paused card")
        schedule = (folder / "schedule.yaml").read_text()
        assert "enabled: false" in schedule and "# keep me" in schedule
        view = cards.view("nightly")
        assert view is not None and not view.enabled
        assert "⏸ nightly" in text_of(cards)  # a symbol, not colour alone
        await pilot.press("p")
        await wait_until(pilot, lambda: "paused" not in text_of(cards), "the resumed card")
        assert "enabled: true" in (folder / "schedule.yaml").read_text()


async def test_slash_filters_cards_and_escape_clears(tasks_dir: Path) -> None:
    for name in ("alpha", "beta", "alphabet"):
        make_task(tasks_dir, name)
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 3, "three cards")
        await pilot.press("slash", "a", "l", "p", "h")
        assert cards.shown == ["alpha", "alphabet"]
        assert "beta" not in text_of(cards)
        await pilot.press("enter")  # back to the cards, filter kept
        assert cards.has_focus and cards.shown == ["alpha", "alphabet"]
        await pilot.press("down")
        assert cards.selected == "alphabet"
        await pilot.press("escape")
        assert cards.shown == ["alpha", "alphabet", "beta"]
        assert cards.selected == "alphabet"  # the selection survives the filter


async def test_brackets_step_through_history_newest_first(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "digest")
    starts = [datetime(2026, 3, day, 7, 30, tzinfo=UTC) for day in (3, 2, 1)]
    for start in starts:
        write_run(folder, start, f"digest of day {start.day}\n")
    write_state(folder, [(s, "success", 3.2) for s in starts])
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        viewer, text = app.query_one(ResultView), app.query_one(BigText)
        await wait_until(pilot, lambda: "digest of day 3" in text_of(text), "the newest result")
        assert [r.stem[:10] for r in viewer.records] == ["2026-03-03", "2026-03-02", "2026-03-01"]
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "digest of day 2" in text_of(text), "an older result")
        await pilot.press("left_square_bracket", "left_square_bracket")  # stops at the oldest
        await wait_until(pilot, lambda: "digest of day 1" in text_of(text), "the oldest result")
        assert viewer.index == 2
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "digest of day 2" in text_of(text), "a newer result")


async def test_enter_focuses_the_result_and_tab_moves_between_panes(tasks_dir: Path) -> None:
    make_task(tasks_dir, "one")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "one", "the card")
        assert cards.has_focus
        await pilot.press("enter")
        assert app.query_one(BigText).has_focus
        await pilot.press("escape")
        assert cards.has_focus
        await pilot.press("tab")
        assert not cards.has_focus


async def test_l_toggles_the_log_pane_which_tells_the_story(tasks_dir: Path) -> None:
    make_task(tasks_dir, "one")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(LogPane)
        await wait_until(pilot, lambda: "Loaded task: one" in text_of(pane), "the story")
        assert pane.display
        await pilot.press("l")
        assert not pane.display
        await pilot.press("l")
        assert pane.display


async def test_question_mark_and_f1_show_every_key(tasks_dir: Path) -> None:
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            shown = "".join(str(c.render()) for c in app.screen.query(".help-column"))
            for label in (
                "Run the selected task now",
                "Filter the cards",
                "Palette: run, pause",
                "Show the previous (older) result",
                "Next task",
                "Wrap long lines",
                "⏱",
                "paused (enabled: false)",
            ):
                assert label in shown
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)


async def test_q_quits_and_stops_the_engine(tasks_dir: Path) -> None:
    make_task(tasks_dir, "one")
    app = make_app(tasks_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.started, "the engine")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")
    assert not app.engine.started


def test_every_binding_has_an_id_and_a_description() -> None:
    for owner in (BassiApp, TaskList, RunHistory, BigText, HelpScreen):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding), owner
            assert binding.id and binding.description, (owner, binding.key)


def test_the_editor_comes_from_visual_then_editor_then_vi(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    assert editor_command({}, prompt) == ["vi", str(prompt)]
    assert editor_command({"EDITOR": "nano -w"}, prompt) == ["nano", "-w", str(prompt)]
    assert editor_command({"EDITOR": "nano", "VISUAL": "code --wait"}, prompt)[:2] == [
        "code",
        "--wait",
    ]


async def test_e_says_so_when_the_terminal_cannot_be_handed_over(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_task(tasks_dir, "one")
    app = make_app(tasks_dir)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "one", "the card")
        await pilot.press("e")  # headless: no terminal to suspend into
        await wait_until(pilot, lambda: bool(said), "the message")
        assert "Cannot open an editor here" in said[0]
        assert str(tasks_dir / "one" / "prompt.txt") in said[0]
