"""The app follows runs by their own events: results/ is read on selecting a task, not per run."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual.css.query import NoMatches

from bassi_tui.scheduler.engine import Engine
from bassi_tui.store.records import RunRecord
from bassi_tui.ui import messages as msg
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.live_text import LiveText
from bassi_tui.ui.result_view import ResultView, merge_runs
from bassi_tui.ui.run_history import RunHistory
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task, write_run
from tests.ui.conftest import text_of, wait_until

SIZE = (120, 36)
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))


class CountingEngine(Engine):
    """The real engine, counting how often the app lists a task's results/."""

    listed = 0

    def results(self, name: str) -> list[RunRecord]:
        self.listed += 1
        return super().results(name)


def record(folder: Path, stem: str, status: str) -> RunRecord:
    results = folder / "results"
    return RunRecord(results / f"{stem}.json", results / f"{stem}.txt", "t", status, start=T0)


def test_a_history_read_before_a_run_began_gets_the_run_on_top(tmp_path: Path) -> None:
    read = [record(tmp_path, "2026-05-01_08-00-00", "success")]
    running = record(tmp_path, "2026-05-01_09-00-00", "running")
    assert merge_runs(read, [running]) == [running, *read]


def test_what_the_events_told_wins_unless_the_file_says_the_run_is_over(tmp_path: Path) -> None:
    running = record(tmp_path, "2026-05-01_09-00-00", "running")
    done = record(tmp_path, "2026-05-01_09-00-00", "success")
    assert merge_runs([running], [done]) == [done]  # read mid-run, ended since
    assert merge_runs([done], [running]) == [done]  # the file is newer than the start event


async def test_a_manual_run_of_the_selected_task_reads_no_results(
    tasks_dir: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    script = (
        "import pathlib, time\n"
        "print('live text', flush=True)\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.02)\n"
    )
    (tmp_path / "wait.py").write_text(script)
    config = f'executor: command\ncommand: ["{sys.executable}", "{tmp_path / "wait.py"}"]\n'
    make_task(tasks_dir, "watched", config=config)
    engine = CountingEngine(tasks_dir)
    app = BassiApp(tasks_dir, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        cards, viewer = app.query_one(TaskList), app.query_one(ResultView)
        await wait_until(pilot, lambda: cards.selected == "watched", "the card")
        await app.workers.wait_for_complete()
        listed = engine.listed
        assert listed >= 1  # selecting the task read its history
        await pilot.press("r")
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "live text" in text_of(text), "the live text")
        assert isinstance(text.document, LiveText) and viewer.records[0].running
        go.touch()
        await wait_until(
            pilot, lambda: bool(viewer.records) and viewer.records[0].status == "success", "end"
        )
        await app.workers.wait_for_complete()
        assert engine.listed == listed  # the run's own events told it all
        assert len(viewer.records) == 1


async def test_a_monitor_shows_the_scheduling_instances_run_from_its_files(
    tasks_dir: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    script = (
        "import pathlib, time\n"
        "print('remote text', flush=True)\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.02)\n"
    )
    (tmp_path / "wait.py").write_text(script)
    config = f'executor: command\ncommand: ["{sys.executable}", "{tmp_path / "wait.py"}"]\n'
    make_task(tasks_dir, "remote", config=config)
    scheduler = Engine(tasks_dir)
    await scheduler.start()
    try:
        app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
        async with app.run_test(size=SIZE) as pilot:
            cards, viewer = app.query_one(TaskList), app.query_one(ResultView)
            await wait_until(pilot, lambda: cards.selected == "remote", "the card")
            await app.workers.wait_for_complete()
            assert app.engine.role == "monitor"
            scheduler.run_now("remote")
            await wait_until(
                pilot, lambda: bool(viewer.records) and viewer.records[0].running, "running"
            )
            assert "running" in text_of(cards)
            # The monitor follows the growing result file: the text is live before the end.
            text = app.query_one(BigText)
            await wait_until(pilot, lambda: "remote text" in text_of(text), "the live text")
            assert isinstance(text.document, LiveText) and viewer.records[0].running
            go.touch()
            await wait_until(
                pilot,
                lambda: (
                    viewer.records[0].status == "success"
                    and "remote text" in text_of(app.query_one(BigText))
                ),
                "the finished run and its text",
            )
            assert "✓ success" in text_of(cards)
    finally:
        await scheduler.stop()


async def test_a_history_read_that_lands_while_the_app_closes_is_dropped(tasks_dir: Path) -> None:
    make_task(tasks_dir, "late")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=SIZE) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: cards.selected == "late", "the card")
        await app.workers.wait_for_complete()
        # As on the way out (exit() sets quitting): the widgets go first, then a worker's read
        # arrives and the live-output timer ticks.
        app.quitting = True
        await app.query_one(ResultView).query_one(RunHistory).remove()
        app.post_message(msg.ResultsLoaded("late", []))
        await pilot.pause()
        await app.query_one(TaskList).remove()
        await pilot.pause(0.3)  # a tick of the live-output flush (every 0.25 s) comes and goes
        assert app.return_code is None  # no crash


async def test_a_missing_widget_while_the_app_runs_is_still_an_error(tasks_dir: Path) -> None:
    make_task(tasks_dir, "bug")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    with pytest.raises(NoMatches):
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.query_one(TaskList).selected == "bug", "card")
            await app.query_one(ResultView).query_one(RunHistory).remove()
            app.post_message(msg.ResultsLoaded("bug", []))
            await pilot.pause()


async def test_f_shows_the_files_an_agent_wrote_then_the_output_again(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "agent")
    out = folder / "workspace" / "_RESULTS_FROM_AGENT"
    out.mkdir(parents=True)
    (out / "a.md").write_text("# first file\n")
    (out / "b.txt").write_text("second file\n")
    files = [
        {"path": "_RESULTS_FROM_AGENT/a.md", "bytes": 13},
        {"path": "_RESULTS_FROM_AGENT/b.txt", "bytes": 12},
    ]
    write_run(
        folder,
        T0,
        "success",
        "the agent's answer\n",
        turns=2,
        workdir="workspace",
        files=files,
        cost_usd=0.0126,
    )
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=SIZE) as pilot:
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: "the agent's answer" in text_of(text), "the output")
        facts = str(app.query_one("#run-facts").render())
        assert (
            "2 turns · $0.0126" in facts
            and "wrote 2 files: _RESULTS_FROM_AGENT/a.md (13 B)" in facts
        )
        await pilot.press("f")
        await wait_until(pilot, lambda: "# first file" in text_of(text), "the first file")
        await pilot.press("f")
        await wait_until(pilot, lambda: "second file" in text_of(text), "the second file")
        await pilot.press("f")
        await wait_until(pilot, lambda: "the agent's answer" in text_of(text), "the output again")


async def test_the_app_counts_as_quitting_once_textual_shuts_it_down(tasks_dir: Path) -> None:
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.quitting
    assert app.quitting  # run_test shuts down without exit(): late messages are dropped too
