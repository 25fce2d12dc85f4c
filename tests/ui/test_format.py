"""The formatters and the card text, without a screen."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bassi_tui.scheduler.events import TaskView
from bassi_tui.store.models import TaskProblem
from bassi_tui.ui import format as fmt
from bassi_tui.ui.card import card_lines, card_state

NOW = datetime(2026, 3, 2, 10, 15, 0, tzinfo=UTC)


def test_spans_and_countdowns() -> None:
    assert fmt.span(45) == "45s"
    assert fmt.span(250) == "4m 10s"
    assert fmt.span(3 * 3600 + 300) == "3h 05m"
    assert fmt.span(2 * 86400 + 3 * 3600) == "2d 03h"
    assert fmt.countdown(NOW + timedelta(seconds=250), NOW) == "in 4m 10s"
    assert fmt.countdown(NOW - timedelta(seconds=3), NOW) == "due now"
    assert fmt.ago(NOW - timedelta(minutes=3), NOW) == "3m 00s ago"
    assert fmt.elapsed(3) == "0:03" and fmt.elapsed(3723) == "1:02:03"
    assert fmt.duration(0.42) == "0.4 s" and fmt.duration(42) == "42 s"
    assert fmt.duration(125) == "2m 05s" and fmt.duration(None) == "—"


def test_clock_is_short_and_names_a_foreign_zone() -> None:
    assert fmt.clock(NOW + timedelta(hours=1), NOW) == "11:15:00"
    assert fmt.clock(NOW + timedelta(days=3), NOW) == "Thu 10:15"
    assert fmt.clock(NOW + timedelta(days=30), NOW) == "2026-04-01 10:15"
    berlin = datetime(2026, 3, 5, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert fmt.clock(berlin, NOW) == "Thu 09:00 CET"


def test_tokens_counts_and_rates() -> None:
    assert fmt.tokens(812, 1304) == "812→1.3k tok"
    assert fmt.tokens(None, None) == ""
    assert fmt.tokens(None, 7) == "?→7 tok"
    assert fmt.rate(11, 1) == "92% ok" and fmt.rate(0, 0) == ""
    assert fmt.count(3_400_000) == "3.4M"


def test_every_status_has_a_symbol_and_a_tone() -> None:
    for status in ("success", "failed", "timeout", "interrupted", "skipped", "running"):
        assert fmt.status_symbol(status) != "?"
        assert fmt.status_tone(status) in {"success", "error", "warning", "running", "muted"}


VIEW = TaskView(
    name="daily-digest",
    path=Path("/tasks/daily-digest"),
    description="daily at 07:30, UTC",
    enabled=True,
    next_run=NOW + timedelta(hours=21, minutes=15),
    last_run=NOW - timedelta(hours=2, minutes=45),
    last_status="success",
    last_duration=4.2,
    run_count=12,
    success_count=11,
    failure_count=1,
)


def plain(view: TaskView, width: int = 60) -> list[str]:
    lines = card_lines(view, NOW, width)
    return [
        "".join(t for t, _ in line.left) + " | " + "".join(t for t, _ in line.right)
        for line in lines
    ]


def test_a_healthy_card() -> None:
    assert plain(VIEW) == [
        "✓ daily-digest | in 21h 15m · Tue 07:30",
        "  daily at 07:30, UTC | ",
        "  last ✓ success 2h 45m ago | 12 runs · 92% ok",
    ]


def test_running_paused_broken_and_new_cards() -> None:
    running = replace(VIEW, running_since=NOW - timedelta(seconds=75))
    assert card_state(running) == "running"
    assert plain(running)[0] == "● daily-digest | running 1:15"
    paused = replace(VIEW, enabled=False, next_run=None)
    assert plain(paused)[0] == "⏸ daily-digest | paused"
    problem = TaskProblem("daily-digest", "schedule.yaml", 3, "unknown key 'tiem'")
    broken = replace(VIEW, problems=(problem,))
    assert plain(broken)[:2] == [
        "✖ daily-digest | broken",
        "  schedule.yaml:3: unknown key 'tiem' | ",
    ]
    fresh = replace(VIEW, last_run=None, last_status=None, run_count=0)
    assert plain(fresh)[2] == "  never run | "


def test_a_hostile_name_is_inert_on_its_card() -> None:
    view = replace(VIEW, name="evil\x1b[31m\x1b]0;x\x07name")
    assert plain(view)[0].startswith("✓ evilname |")
