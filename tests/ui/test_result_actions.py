"""o, y and Y on the shown run: the pager, and copying its path or text (OSC 52)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.result_actions import COPY_MAX_BYTES, pager_command
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_until
from tests.ui.fixture_tasks import write_run

SIZE = (120, 36)


def app_with_run(tasks_dir: Path, text: str) -> tuple[BassiApp, Path]:
    folder = make_task(tasks_dir, "report")
    start = datetime.now().astimezone().replace(microsecond=0) - timedelta(hours=1)
    output = write_run(folder, start, text)
    return BassiApp(tasks_dir, engine=Engine(tasks_dir)), output


async def test_y_copies_the_path_and_shift_y_the_text(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, output = app_with_run(tasks_dir, "the report\n")
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "the report" in text_of(app.query_one(BigText)), "text")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(copied) == 1, "the path copied")
        await pilot.press("Y")
        await wait_until(pilot, lambda: len(copied) == 2, "the text copied")
    assert copied == [str(output), "the report\n"]


async def test_shift_y_refuses_a_text_too_big_for_osc_52(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = app_with_run(tasks_dir, "x" * (COPY_MAX_BYTES + 1))
    copied: list[str] = []
    said: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "xxxx" in text_of(app.query_one(BigText)), "text")
        await pilot.press("Y")
        await wait_until(pilot, lambda: any("Too big" in s for s in said), "the refusal")
    assert copied == []


async def test_o_without_a_terminal_to_suspend_into_says_where_the_result_is(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, output = app_with_run(tasks_dir, "page me\n")
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "page me" in text_of(app.query_one(BigText)), "text")
        await pilot.press("o")
        await wait_until(pilot, lambda: bool(said), "the message")
    assert said == [f"Cannot open a pager here; the result is {output}"]


def test_the_pager_is_pager_or_plain_less() -> None:
    assert pager_command({"PAGER": "most -s"}) == ["most", "-s"]
    assert pager_command({}) == ["less"]
