"""Cards follow the folders live, and a running task's output streams into the viewer."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.result_view import ResultView
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task, write_atomic
from tests.ui.conftest import text_of, wait_started, wait_until

SIZE = (120, 36)


async def test_cards_appear_change_and_disappear_with_the_folders(tasks_dir: Path) -> None:
    make_task(tasks_dir, "first")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "first", "the first card")
        await wait_started(app)
        make_task(tasks_dir, "second", schedule="type: interval\nminutes: 5\n")
        await wait_until(pilot, lambda: "second" in text_of(cards), "the new card")
        assert "every 5 minutes" in text_of(cards)
        assert cards.selected == "first"  # a new card never steals the selection

        write_atomic(tasks_dir / "second" / "schedule.yaml", "type: interval\nminutes: 7\n")
        await wait_until(pilot, lambda: "every 7 minutes" in text_of(cards), "the update")

        shutil.rmtree(tasks_dir / "second")
        await wait_until(pilot, lambda: "second" not in cards.names, "the removal")
        assert cards.selected == "first"


async def test_a_broken_schedule_shows_its_error_on_its_card(tasks_dir: Path) -> None:
    make_task(tasks_dir, "fine")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "fine", "the card")
        await wait_started(app)
        write_atomic(tasks_dir / "fine" / "schedule.yaml", 'type: daily\ntiem: "07:30"\n')
        await wait_until(pilot, lambda: "broken" in text_of(cards), "the broken card")
        shown = text_of(cards)
        assert "✖ fine" in shown
        assert "schedule.yaml:2: unknown key 'tiem'" in shown
        await pilot.press("r")  # a broken task cannot run: it says so instead
        await pilot.pause()
        assert not app.engine.results("fine")

        write_atomic(tasks_dir / "fine" / "schedule.yaml", 'type: daily\ntime: "07:30"\n')
        await wait_until(pilot, lambda: "broken" not in text_of(cards), "the fix")
        assert "daily at 07:30" in text_of(cards)


async def test_a_running_task_streams_its_output_into_the_viewer(
    tasks_dir: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    script = (
        "import pathlib, sys, time\n"
        "print('first line', flush=True)\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.02)\n"
        "print('second line', flush=True)\n"
    )
    (tmp_path / "slow.py").write_text(script)
    config = f'executor: command\ncommand: ["{sys.executable}", "{tmp_path / "slow.py"}"]\n'
    make_task(tasks_dir, "slow", config=config)
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    async with app.run_test(size=SIZE) as pilot:
        cards, text = app.query_one(TaskList), app.query_one(BigText)
        await wait_until(pilot, lambda: cards.selected == "slow", "the card")
        await pilot.press("r")
        await wait_until(pilot, lambda: "first line" in text_of(text), "the streamed line")
        assert "running" in text_of(cards)
        viewer = app.query_one(ResultView)
        assert viewer.records[0].status == "running"
        go.touch()
        await wait_until(pilot, lambda: "second line" in text_of(text), "the rest")
        await wait_until(pilot, lambda: "✓ success" in text_of(cards), "the finished card")
        await wait_until(pilot, lambda: viewer.records[0].status == "success", "the record")
        assert text_of(text).splitlines()[:2] == ["first line", "second line"]
