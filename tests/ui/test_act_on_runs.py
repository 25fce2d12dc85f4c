"""x cancels the selected task's run (after asking), and q asks first when runs are in flight."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.message import Message
from textual.widgets import Static

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui import messages as msg
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.confirm import ConfirmScreen
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_started, wait_until

SIZE = (120, 36)
WAITS = """\
import pathlib, time
print("started", flush=True)
while not pathlib.Path({go!r}).exists(): time.sleep(0.02)
"""


def waiting_task(tasks: Path, tmp_path: Path, name: str) -> Path:
    """A command task that runs until its ``go`` file exists; returns ``go``."""
    go = tmp_path / f"go-{name}"
    script = tmp_path / f"{name}.py"
    script.write_text(WAITS.format(go=str(go)))
    make_task(tasks, name, config=f'executor: command\ncommand: ["{sys.executable}", "{script}"]\n')
    return go


class Seen:
    """A message_hook keeping the app's messages (the tests assert on them)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def ended(self, name: str) -> list[str]:
        """The statuses of the runs of ``name`` the app was told ended."""
        return [
            m.event.status
            for m in self.messages
            if isinstance(m, msg.RunEnded) and m.event.task == name
        ]


def question(app: BassiApp) -> str:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return str(screen.query_one("#confirm-question", Static).render())


async def test_x_asks_then_cancels_the_selected_run(tasks_dir: Path, tmp_path: Path) -> None:
    go = waiting_task(tasks_dir, tmp_path, "long")
    app, seen = BassiApp(tasks_dir, engine=Engine(tasks_dir)), Seen()
    try:
        async with app.run_test(size=SIZE, message_hook=seen) as pilot:
            cards = app.query_one(TaskList)
            await wait_until(pilot, lambda: cards.selected == "long", "the card")
            await wait_started(app)
            await pilot.press("x")  # not running: said, nothing asked
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("r")
            await wait_until(pilot, lambda: app.engine.is_running("long"), "the run")
            await wait_until(pilot, lambda: bool(app.engine.run_ids("long")), "its record")
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert question(app).startswith("Cancel the run of long (running ")
            assert question(app).endswith(")? y/n")
            await pilot.press("n")  # keep it
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "closed")
            assert app.engine.is_running("long")
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "again")
            await pilot.press("escape")  # Esc keeps it too
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "closed")
            assert app.engine.is_running("long") and seen.ended("long") == []
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "again")
            await pilot.press("enter")
            await wait_until(pilot, lambda: seen.ended("long") == ["cancelled"], "the cancel")
            await wait_until(pilot, lambda: "cancelled" in text_of(cards), "the card says it")
            assert not app.engine.is_running("long")
    finally:
        go.touch()


async def test_q_with_runs_in_flight_asks_and_says_how_many(
    tasks_dir: Path, tmp_path: Path
) -> None:
    gos = [waiting_task(tasks_dir, tmp_path, name) for name in ("one", "two")]
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.query_one(TaskList).selected == "one", "cards")
            await wait_started(app)
            assert app.engine.run_now("one") and app.engine.run_now("two")
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert question(app) == "2 runs in flight will be recorded as interrupted. Quit? y/n"
            await pilot.press("q")  # a second q does not stack a second question
            assert len(app.screen_stack) == 2
            await pilot.press("n")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "closed")
            assert not app.quitting and app.engine.open_runs() == 2
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "again")
            await pilot.press("y")
            await wait_until(pilot, lambda: app.quitting, "the quit")
    finally:
        for go in gos:
            go.touch()
    (one,) = app.engine.results("one")
    assert one.status == "interrupted"


async def test_q_with_no_run_in_flight_quits_at_once(tasks_dir: Path) -> None:
    make_task(tasks_dir, "idle")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(TaskList).selected == "idle", "the card")
        await wait_started(app)
        await pilot.press("q")
        assert app.quitting and not isinstance(app.screen, ConfirmScreen)


async def test_x_in_a_monitor_cancels_the_schedulers_run(tasks_dir: Path, tmp_path: Path) -> None:
    go = waiting_task(tasks_dir, tmp_path, "remote")
    scheduler = Engine(tasks_dir)
    await scheduler.start()
    app, seen = BassiApp(tasks_dir, engine=Engine(tasks_dir)), Seen()
    try:
        async with app.run_test(size=SIZE, message_hook=seen) as pilot:
            cards = app.query_one(TaskList)
            await wait_until(pilot, lambda: cards.selected == "remote", "the card")
            await wait_started(app)
            assert app.engine.role == "monitor"
            await app.engine.wait_watching()
            scheduler.run_now("remote")
            await wait_until(pilot, lambda: bool(app.engine.run_ids("remote")), "the run seen")
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert question(app).startswith("Cancel the run of remote (running ")
            await pilot.press("y")
            await wait_until(pilot, lambda: seen.ended("remote") == ["cancelled"], "the cancel")
            assert not scheduler.is_running("remote")
            (record,) = scheduler.results("remote")
            assert record.status == "cancelled"
            # Quitting a monitor stops none of the scheduler's runs: it does not ask.
            scheduler.run_now("remote")
            await wait_until(pilot, lambda: bool(app.engine.run_ids("remote")), "a new run")
            await pilot.press("q")
            assert app.quitting and not isinstance(app.screen, ConfirmScreen)
    finally:
        go.touch()
        await scheduler.stop()
