"""A card's status strip of the last runs, the month's cost and a budget that stops the fires:
the pieces card.py lays out, in Unicode and ASCII, wide and compact, and snapshots of cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui import format as fmt
from bassi_tui.ui.card import card_lines, fit_line, status_words
from bassi_tui.ui.help_screen import help_sections
from bassi_tui.ui.strip import STRIP_RUNS, month_cost, strip_pieces
from bassi_tui.ui.task_list import TaskList

SnapCompare = Callable[..., bool]
NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
#: Newest first, as a TaskView holds them: 12 entries, so the oldest two are not drawn.
RECENT = (
    "success",
    "failed",
    "skipped",
    "missed",
    "timeout",
    "success",
    "check_failed",
    "interrupted",
    "cancelled",
    "lost",
    "success",
    "success",
)
BUDGET = "budget: $0.40 of $0.30 today: fires skipped until tomorrow"


@pytest.fixture
def ascii_mode() -> Iterator[None]:
    fmt.use_ascii(True)
    yield
    fmt.use_ascii(False)


def view(name: str = "daily-digest", **changes: object) -> TaskView:
    base = TaskView(
        name=name,
        path=Path(f"/tasks/{name}"),
        description="daily at 07:30, UTC",
        enabled=True,
        next_run=NOW + timedelta(hours=21, minutes=15),
        last_run=NOW - timedelta(hours=2, minutes=45),
        last_status="success",
        run_count=12,
        success_count=11,
        failure_count=1,
        recent=RECENT,
        month_cost_usd=1.234,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def text(pieces: object) -> str:
    return "".join(t for t, _ in pieces)  # type: ignore[attr-defined]


def line_texts(v: TaskView, width: int, *, compact: bool = False) -> list[str]:
    return [text(fit_line(line, width)) for line in card_lines(v, NOW, width, compact=compact)]


# -- the strip and the cost -------------------------------------------------------------------


def test_the_strip_runs_oldest_to_newest_with_a_mark_and_tone_per_status() -> None:
    pieces = strip_pieces(RECENT)
    # The newest ten, oldest first: lost ... success (the newest, at the right end).
    assert text(pieces) == "◌⊗⚠≠✓⏱⊘↷✗✓"
    marks = [(mark, tone) for t, tone in pieces for mark in t]
    assert marks == [
        ("◌", "warning"),  # lost
        ("⊗", "muted"),  # cancelled
        ("⚠", "warning"),  # interrupted
        ("≠", "error"),  # check_failed
        ("✓", "success"),
        ("⏱", "warning"),  # timeout
        ("⊘", "warning"),  # missed
        ("↷", "muted"),  # skipped
        ("✗", "error"),  # failed
        ("✓", "success"),
    ]
    # Read without colour: a failure, a skip and a miss are three different marks.
    assert len({fmt.status_symbol(s) for s in ("failed", "skipped", "missed", "success")}) == 4
    assert strip_pieces(()) == ()
    # Neighbours of one tone share a piece: fewer segments per line.
    assert strip_pieces(("success",) * 4) == (("✓✓✓✓", "success"),)
    assert len(text(strip_pieces(("failed",) * 20))) == STRIP_RUNS


def test_the_strip_in_ascii_keeps_every_status_apart(ascii_mode: None) -> None:
    assert text(strip_pieces(RECENT)) == "?/!#+~->x+"
    assert text(strip_pieces(RECENT)).isascii()


def test_the_month_cost_only_when_there_is_one() -> None:
    assert month_cost(view()) == ("$1.23/mo", "muted")
    assert month_cost(view(month_cost_usd=0.004)) == ("<$0.01/mo", "muted")
    assert month_cost(view(month_cost_usd=None)) is None
    assert month_cost(view(budget_note=BUDGET)) == ("$1.23/mo", "warning")


# -- on the card --------------------------------------------------------------------------------


def test_a_full_card_has_the_strip_and_cost_beside_the_schedule() -> None:
    lines = line_texts(view(), 60)
    assert lines[0].startswith("✓ daily-digest")
    assert lines[1] == "  daily at 07:30, UTC" + " " * 20 + "◌⊗⚠≠✓⏱⊘↷✗✓ $1.23/mo"  # 60 cells
    assert lines[2].endswith("12 runs · 92% ok")  # the last line is as it was
    # No runs, no cost: the line is the schedule alone, as before.
    bare = view(recent=(), month_cost_usd=None)
    assert line_texts(bare, 60)[1] == "  daily at 07:30, UTC".ljust(60)


def test_a_compact_card_has_the_strip_and_cost_before_the_last_run() -> None:
    second = line_texts(view(), 76, compact=True)[1]
    assert second.startswith("  daily at 07:30, UTC")
    assert second.endswith("◌⊗⚠≠✓⏱⊘↷✗✓ $1.23/mo · ✓ success 2h 45m ago")
    assert cell_len(second) == 76


def test_the_strip_gives_way_before_the_schedule_is_cut_short() -> None:
    # 46 cells (a card at 120 columns): the schedule keeps 16 cells, then the cost goes.
    long = view(description="every Monday and Thursday at 09:00, Europe/Berlin")
    second = line_texts(long, 46)[1]
    assert second.endswith("◌⊗⚠≠✓⏱⊘↷✗✓ $1.23/mo") and "every Monday" in second
    narrow = line_texts(long, 32)[1]
    assert narrow.endswith("◌⊗⚠≠✓⏱⊘↷✗✓") and "$" not in narrow  # the cost went first
    # A compact card at 46 keeps the last run whole and drops the strip.
    compact = line_texts(view(), 46, compact=True)[1]
    assert compact.endswith("  ✓ success 2h 45m ago") and "◌" not in compact


def test_a_budget_stopping_the_fires_says_so_with_the_figures() -> None:
    stopped = view(budget_note=BUDGET, recent=("skipped", "skipped", *RECENT))
    full = card_lines(stopped, NOW, 66)
    assert text(full[1].left) == "  " + BUDGET  # the note stays whole; the schedule goes
    assert ("  " + BUDGET, "warning") in full[1].left
    assert full[1].right == ()  # and the strip gives way to it
    compact = card_lines(stopped, NOW, 76, compact=True)[1]
    assert text(compact.left).startswith("  budget: $0.40 of $0.30 today")
    assert compact.left[0][1] == "warning"
    assert "↷↷ $1.23/mo" in text(compact.right)  # the skips at the newest end
    assert ("budget" in status_words(stopped)) and "budget" not in status_words(view())
    # With room, the schedule, the note and the strip all show.
    wide = line_texts(stopped, 110)[1]
    assert wide.startswith("  daily at 07:30, UTC · budget:") and wide.endswith("$1.23/mo")


def test_the_strip_in_an_ascii_card(ascii_mode: None) -> None:
    lines = line_texts(view(budget_note=BUDGET), 76, compact=True)
    assert all(line.isascii() for line in lines)
    assert "?/!#+~->x+ $1.23/mo | + success" in lines[1]


def test_the_help_names_every_mark_of_the_strip() -> None:
    symbols = dict(help_sections([])[1][1])
    for status in ("failed", "skipped", "missed", "timeout", "lost", "cancelled"):
        assert fmt.status_symbol(status) in symbols, status


# -- snapshots ------------------------------------------------------------------------------------


class CardsApp(App[None]):
    """Cards alone, from fixed views at a frozen time."""

    def __init__(self, views: list[TaskView], compact: bool) -> None:
        super().__init__()
        self.views = views
        self.compact = compact

    def compose(self) -> ComposeResult:
        cards = TaskList(lambda: NOW)
        cards.compact = self.compact
        yield cards

    def on_mount(self) -> None:
        self.query_one(TaskList).upsert_many(self.views)


CARDS = [
    view(),
    view(
        "weekly-report",
        description="every Monday and Thursday at 09:00, Europe/Berlin",
        last_status="failed",
        last_error="API error 529 (overloaded) after 4 attempts; try again later",
        recent=("failed", "failed", "success", "failed", "success", "success"),
        month_cost_usd=0.42,
    ),
    view(
        "market-watch",
        budget_note=BUDGET,
        recent=("skipped", "skipped", "success", "success", "success"),
        month_cost_usd=9.87,
    ),
    view("new-idea", last_run=None, last_status=None, run_count=0, recent=(), month_cost_usd=None),
]


def test_cards_with_the_status_strip(snap_compare: SnapCompare) -> None:
    assert snap_compare(CardsApp(CARDS, compact=False), terminal_size=(64, 16))


def test_compact_cards_with_the_status_strip_at_80_columns(snap_compare: SnapCompare) -> None:
    assert snap_compare(CardsApp(CARDS, compact=True), terminal_size=(80, 12))
