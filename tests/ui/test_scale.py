"""The card list and the log pane stay virtual and bounded, whatever the numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult

from bassi_tui.scheduler.events import LogLine, TaskView
from bassi_tui.ui.log_pane import MAX_LINES, LogPane
from bassi_tui.ui.task_list import CARD_HEIGHT, TaskList
from tests.ui.conftest import text_of, wait_until

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def view(n: int) -> TaskView:
    return TaskView(
        name=f"task-{n:05d}",
        path=Path(f"/tasks/task-{n:05d}"),
        description="every hour",
        enabled=True,
        next_run=NOW + timedelta(minutes=n % 60),
    )


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TaskList(lambda: NOW, id="cards")
        yield LogPane(id="log")


async def test_ten_thousand_cards_are_one_widget() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 30)) as pilot:
        cards = app.query_one(TaskList)
        widgets_before = len(list(app.screen.walk_children()))
        for n in range(10_000):
            cards.upsert(view(n))
        await pilot.pause()
        assert len(list(app.screen.walk_children())) == widgets_before
        assert cards.virtual_size.height == 10_000 * CARD_HEIGHT
        assert text_of(cards).splitlines()[0].startswith("▌ ○ task-00000")
        cards.focus()
        await pilot.press("end")
        assert cards.selected == "task-09999"
        assert "task-09999" in text_of(cards)
        cards.upsert(view(5))  # an update in place keeps the selection
        cards.remove_task("task-09999")
        assert cards.selected == "task-09998"
        cards.set_filter("task-0999")
        assert cards.shown == [f"task-0999{n}" for n in range(9)]


async def test_the_log_pane_keeps_the_last_lines_only() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(LogPane)
        for n in range(MAX_LINES + 500):
            pane.add(LogLine("info", f"line {n}", time=NOW))
        await pilot.pause()
        assert len(pane.lines) == MAX_LINES
        assert pane.lines[0][1] == "line 500"
        assert text_of(pane).splitlines()[-1].endswith(f"line {MAX_LINES + 499}")


class TickingApp(App[None]):
    """A card list over a clock the test moves."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW

    def compose(self) -> ComposeResult:
        yield TaskList(lambda: self.now, id="cards")


async def test_the_countdown_updates_when_its_text_changes() -> None:
    app = TickingApp()
    async with app.run_test(size=(80, 30)) as pilot:
        cards = app.query_one(TaskList)
        soon = TaskView(
            name="soon",
            path=Path("/tasks/soon"),
            description="",
            enabled=True,
            next_run=NOW + timedelta(seconds=30),
        )
        cards.upsert(soon)
        cards.upsert(view(5))
        await pilot.pause()
        assert "in 30s" in text_of(cards)
        app.now = NOW + timedelta(seconds=12)
        await wait_until(pilot, lambda: "in 18s" in text_of(cards), "the countdown to tick")
        assert "in 5m 00s" not in text_of(cards)  # task-00005: 4m 48s left now
        assert "in 4m 48s" in text_of(cards)


async def test_a_tick_with_no_text_changed_repaints_nothing() -> None:
    app = TickingApp()
    async with app.run_test(size=(80, 30)) as pilot:
        cards = app.query_one(TaskList)
        for n in range(5):
            cards.upsert(view(n))
        await pilot.pause()
        repainted: list[int] = []
        cards.refresh_line = repainted.append  # type: ignore[method-assign]
        cards._tick()
        assert repainted == []
        app.now = NOW + timedelta(seconds=1)  # every countdown (first lines) changes
        cards._tick()
        assert repainted == [n * CARD_HEIGHT for n in range(1, 5)]  # task-00000 is "due now"


async def test_the_log_pane_drops_only_the_oldest_rows_and_wraps_right() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(LogPane)
        await pilot.pause()
        long = "word " * 30  # wraps to two or three rows at this width
        for n in range(3 * MAX_LINES):
            pane.add(LogLine("info", f"line {n} " + (long if n % 7 == 0 else ""), time=NOW))
        pane.add_many(LogLine("warning", f"batch {n}", time=NOW) for n in range(5))
        await pilot.pause()
        assert len(pane.lines) == MAX_LINES
        assert pane.lines[0][1].startswith(f"line {2 * MAX_LINES + 5} ")
        kept = list(pane._rows)
        pane._reflow()  # what wrapping every kept line afresh gives
        assert list(pane._rows) == kept
        assert pane.virtual_size.height == len(kept)
        first_line = pane.lines[0][1]
        pane.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert text_of(pane).splitlines()[0].endswith(first_line.rstrip()[:40].rstrip())
        pane.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert text_of(pane).splitlines()[-1].endswith("batch 4")
