"""The stats screen (``S``): snapshots at 80x24 and 120x40 over fixed runs at a frozen time,
what it says while it reads, its keys, and the plot helpers' axes.

The fixture tasks (``fixture_tasks``) plus two that spend: ``market-watch`` twice a day for ten
days, with a failure every third day, and ``inbox-triage`` once a day. Days are counted in the
machine's local time, so these tests set ``TZ=UTC`` (the frozen clock's zone).
Update the baselines with ``pytest tests/ui/test_stats_screen.py --snapshot-update``, then look.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from bassi_tui.store import analytics
from bassi_tui.store.analytics import Day, Series, Summary, daily
from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import write_run
from bassi_tui.ui import stats_screen
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.help_screen import help_sections
from bassi_tui.ui.stats_plots import (
    money_label,
    nice_step,
    seconds_label,
    x_ticks,
    y_ticks,
)
from bassi_tui.ui.stats_screen import StatsScreen, spenders_content, totals_text
from bassi_tui.ui.styles import Look
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import wait_until
from tests.ui.fixture_tasks import FROZEN_NOW, FrozenEngine, frozen_clock, write_fixture_tasks

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Coroutine[Any, Any, None]]
TASKS = 8  # the six fixture tasks and the two that spend


@pytest.fixture(autouse=True)
def utc_days(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC here, as the frozen clock is, wherever the tests run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def spend(tasks: Path, name: str, start: datetime, **fields: Any) -> None:
    """One finished run's metadata, written with the store's writer."""
    results = tasks / name / "results"
    results.mkdir(parents=True, exist_ok=True)
    stem = start.strftime("%Y-%m-%d_%H-%M-%S")
    (results / f"{stem}.txt").write_text("done\n", encoding="utf-8")
    defaults: dict[str, Any] = {"status": "success", "duration": 8.0, "model": "claude"}
    write_run(
        RunRecord(
            meta_file=results / f"{stem}.json",
            output_file=results / f"{stem}.txt",
            task_name=name,
            start=start,
            run_id=stem,
            **{**defaults, **fields},
        ),
        durable=False,
    )


def write_spenders(tasks: Path) -> None:
    """``market-watch``: 06:00 and 18:00 on the ten days to 2 March (not yet 18:00 that day);
    ``inbox-triage``: 08:00 on the last five days."""
    make_task(tasks, "market-watch", 'type: cron\ncron: "0 6,18 * * *"\ntimezone: UTC\n')
    make_task(tasks, "inbox-triage", 'type: daily\ntime: "08:00"\ntimezone: UTC\n')
    for back in range(10):
        day = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(days=back)
        for hour in (6, 18):
            start = day.replace(hour=hour)
            if start > FROZEN_NOW:
                continue
            failed = back % 3 == 1 and hour == 18
            spend(
                tasks,
                "market-watch",
                start,
                status="failed" if failed else "success",
                error="API error 529 (overloaded)" if failed else None,
                duration=20.0 + 7 * back + (40 if failed else 0),
                input_tokens=3000 + 250 * back,
                output_tokens=900 + 40 * back,
                cost_usd=round(0.05 + 0.01 * back, 4),
            )
    for back in range(5):
        start = datetime(2026, 3, 2, 8, tzinfo=UTC) - timedelta(days=back)
        spend(
            tasks,
            "inbox-triage",
            start,
            duration=5.0 + back,
            input_tokens=800,
            output_tokens=200,
            cost_usd=0.012,
        )


def stats_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, look: Look | None = None
) -> BassiApp:
    monkeypatch.setenv("HOME", str(tmp_path))
    tasks = write_fixture_tasks(tmp_path / "tasks")
    write_spenders(tasks)
    engine = FrozenEngine(tasks, watch=False)
    return BassiApp(tasks, engine=engine, clock=frozen_clock, show_log=False, look=look)


async def open_stats(pilot: Pilot[None], task: str) -> StatsScreen:
    """Select ``task``, press S, and wait for the records."""
    app = pilot.app
    cards = app.query_one(TaskList)
    await wait_until(pilot, lambda: len(cards.names) == TASKS, "the cards")
    cards.select(task)
    await pilot.press("S")
    await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats screen")
    screen = app.screen
    assert isinstance(screen, StatsScreen)
    await wait_until(pilot, lambda: screen.by_task is not None, "the run records")
    await pilot.pause()
    return screen


def stats_of(task: str, *keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        await open_stats(pilot, task)
        for key in keys:
            await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


# -- snapshots --------------------------------------------------------------------------------


def test_stats_screen_at_120x40_shows_every_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    assert snap_compare(app, terminal_size=(120, 40), run_before=stats_of("market-watch"))


def test_stats_screen_at_80x24_pages_the_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    assert snap_compare(app, terminal_size=(80, 24), run_before=stats_of("market-watch"))


def test_stats_screen_at_80x24_all_tasks_over_30_days_duration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    run_before = stats_of("market-watch", "a", "d", "right")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_stats_screen_at_80x24_top_spenders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    assert snap_compare(app, terminal_size=(80, 24), run_before=stats_of("inbox-triage", "5"))


def test_stats_screen_in_ascii(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: SnapCompare
) -> None:
    app = stats_app(tmp_path, monkeypatch, look=Look(ascii=True))
    assert snap_compare(app, terminal_size=(80, 24), run_before=stats_of("market-watch", "4"))


# -- behaviour --------------------------------------------------------------------------------


def title_of(screen: StatsScreen) -> str:
    return str(screen.query_one("#stats-title", Static).render())


async def test_it_says_loading_until_the_records_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = analytics.read_runs

    def slow_read(*args: Any, **kwargs: Any) -> list[RunRecord]:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(stats_screen, "read_runs", slow_read)
    app = stats_app(tmp_path, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == TASKS, "the cards")
        cards.select("market-watch")
        await pilot.press("S")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats screen")
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        await pilot.pause()
        assert "Loading run records" in title_of(screen)
        assert screen.query_one("#stats-panels").loading
        release.set()
        await wait_until(pilot, lambda: screen.by_task is not None, "the run records")
        await pilot.pause()
        assert not screen.query_one("#stats-panels").loading
        assert "Loading" not in title_of(screen)
        # 2 March: the 06:00 run; 1 March back to 24 February: two a day. Failed: the 18:00
        # runs 1 and 4 days back (7 back is 23 February, out of the window): 11 of 13 ok.
        # Cost: 0.05 + 2 x (0.06 + ... + 0.11) = $1.07; tokens: 3900 + 2 x (6 x 3900 + 290 x 21).
        assert "13 runs · 2 failed · 85% ok" in title_of(screen)
        assert title_of(screen).endswith("62.9k tok · $1.07")


async def test_keys_switch_task_days_and_panel_and_escape_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot, "market-watch")
        assert "market-watch · last 7 days, Tue 24 Feb to Mon 02 Mar" in title_of(screen)
        await pilot.press("a")
        assert "all tasks · last 7 days" in title_of(screen)
        await pilot.press("d")
        assert "all tasks · last 30 days, Sun 01 Feb to Mon 02 Mar" in title_of(screen)
        assert screen.query_one("#stats-runs").has_class("-current")
        await pilot.press("right", "right")
        assert screen.query_one("#stats-tokens").has_class("-current")
        assert screen.query_one("#stats-runs").display is False or not screen.query_one(
            "#stats-runs"
        ).has_class("-current")
        await pilot.press("5")
        assert screen.query_one("#stats-spenders").has_class("-current")
        await pilot.press("right")  # round to the first
        assert screen.query_one("#stats-runs").has_class("-current")
        # The main screen's keys do not reach a task out of sight (r would run one).
        started: list[str] = []
        monkeypatch.setattr(app.engine, "run_now", lambda name: started.append(name) or True)
        await pilot.press("r", "p")
        assert started == [] and isinstance(app.screen, StatsScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, StatsScreen)
        await pilot.press("S")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats again")
        await pilot.press("q")
        assert not isinstance(app.screen, StatsScreen) and app.is_running


async def test_the_palette_and_the_help_offer_the_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = stats_app(tmp_path, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Stats" in commands
        await wait_until(pilot, lambda: len(app.query_one(TaskList).names) == TASKS, "cards")
        app.call_later(commands["Stats"].callback)  # as the palette calls it
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats screen")
        assert not app.screen.has_class("-paged")  # every plot at once at 120x40
    keys = [keys for _, rows in help_sections(BassiApp.BINDINGS) for keys, _ in rows]
    assert "S" in keys


# -- what it says, and the axes -----------------------------------------------------------------


def test_totals_and_spenders_say_the_figures(tmp_path: Path) -> None:
    write_spenders(tmp_path)
    runs = {
        name: analytics.read_runs(tmp_path / name / "results", date(2026, 2, 1), UTC)
        for name in ("market-watch", "inbox-triage")
    }
    series = daily(runs["inbox-triage"], FROZEN_NOW, 7, UTC)
    # Five runs of 5..9 s, 1000 tokens and $0.012 each.
    assert totals_text(series.total) == (
        "5 runs · 0 failed · 100% ok · p50 7.0 s · p95 9.0 s · 5.0k tok · $0.06"
    )
    assert totals_text(Summary()) == "no runs in these days"
    text = spenders_content(runs, series, "inbox-triage", 80).plain
    lines = text.splitlines()
    assert lines[0] == "Top spenders, last 7 days, Tue 24 Feb to Mon 02 Mar"
    # market-watch over 24 Feb..2 Mar: 0.05 once on 2 March, then 2 x (0.06..0.11) = $1.07.
    assert lines[1].split()[:3] == ["1", "market-watch", "$1.07"]
    assert lines[2].startswith("▶2 inbox-triage") and "$0.06" in lines[2]
    empty = Series(
        date(2026, 3, 2), date(2026, 3, 2), (Day(date(2026, 3, 2), Summary()),), Summary()
    )
    assert spenders_content({}, empty, None, 80).plain.endswith(
        "No run recorded a cost in these days."
    )


def test_axes_are_round_and_labels_fit() -> None:
    assert nice_step(61, 4) == 20 and nice_step(0.9, 4) == 0.25 and nice_step(3, 4) == 1
    ticks, labels = y_ticks(61, seconds_label, seconds=True)  # a clock's steps
    assert ticks == [0, 30, 60, 90] and labels == ["0", "30s", "1m", "1m 30s"]
    assert y_ticks(600, seconds_label, seconds=True)[1] == ["0", "5m", "10m"]
    assert y_ticks(61, str)[0] == [0, 20, 40, 60, 80]  # a decimal's
    ticks, labels = y_ticks(3, str, whole=True)
    assert ticks == [0, 1, 2, 3]
    assert y_ticks(0, str, whole=True)[0] == [0, 1]  # nothing: still an axis
    assert seconds_label(0.008) == "8ms" and seconds_label(1.5) == "1.5s"
    assert money_label(0.25) == "$0.25" and money_label(0.004) == "$0.004"
    assert money_label(12.4) == "$12"
    days = [f"02-{d:02d}" for d in range(1, 31)]
    positions, shown = x_ticks(days, 80)
    assert shown[-1] == "02-30" and len(shown) <= (80 - 8) // 8
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert x_ticks(days[:7], 120)[1] == days[:7]


async def test_a_run_that_ends_while_it_is_open_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    tasks = write_fixture_tasks(tmp_path / "tasks")
    write_spenders(tasks)
    # The engine stamps its runs with the frozen time too: they fall in the screen's window.
    engine = FrozenEngine(tasks, watch=False, clock=frozen_clock)
    app = BassiApp(tasks, engine=engine, clock=frozen_clock, show_log=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_stats(pilot, "market-watch")
        assert "13 runs · 2 failed · 85% ok" in title_of(screen)
        assert app.engine.run_now("market-watch")  # a real run, through the engine
        await wait_until(pilot, lambda: "14 runs" in title_of(screen), "the run counted")
        assert "14 runs · 2 failed · 86% ok" in title_of(screen)
        await pilot.press("escape")
        assert app.engine.run_now("market-watch")  # closed: nothing left to tell
        await wait_until(pilot, lambda: not app.engine.is_running("market-watch"), "the second run")
