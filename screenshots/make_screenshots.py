"""Make the SVG screenshots in this folder by driving the real app over fixed task folders.

    .venv/bin/python screenshots/make_screenshots.py

The tasks are the snapshot tests' fixtures (``tests/ui/fixture_tasks.py``): runs written as
files, a clock frozen on a Monday morning, so the pictures only change when the UI does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bassi_tui.ui.app import BassiApp  # noqa: E402
from bassi_tui.ui.big_text import BigText  # noqa: E402
from bassi_tui.ui.task_list import TaskList  # noqa: E402
from tests.ui.fixture_tasks import FrozenEngine, frozen_clock, write_fixture_tasks  # noqa: E402

#: (file, size, theme, keys pressed once the daily-digest's newest result shows)
SHOTS: list[tuple[str, tuple[int, int], str, Sequence[str]]] = [
    ("main.svg", (120, 36), "textual-dark", ()),
    ("result-viewer.svg", (120, 36), "textual-dark", ("left_square_bracket", "enter")),
    ("help.svg", (120, 36), "textual-dark", ("question_mark",)),
    ("narrow-80x24.svg", (80, 24), "textual-dark", ()),
    ("light.svg", (120, 36), "textual-light", ()),
]


async def shoot(
    tasks: Path, name: str, size: tuple[int, int], theme: str, keys: Sequence[str]
) -> None:
    app = BassiApp(
        tasks, engine=FrozenEngine(tasks, watch=False), clock=frozen_clock, show_log=False
    )
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        cards, text = app.query_one(TaskList), app.query_one(BigText)
        async with asyncio.timeout(30):  # a hang guard
            while len(cards.names) < 6:
                await pilot.pause(0.02)
            cards.select("daily-digest")
            while text.document is None:
                await pilot.pause(0.02)
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_screenshot(name, str(HERE))
    print(f"wrote screenshots/{name}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["HOME"] = home  # the header shows ~/tasks
        tasks = write_fixture_tasks(Path(home) / "tasks")
        for name, size, theme, keys in SHOTS:
            await shoot(tasks, name, size, theme, keys)


if __name__ == "__main__":
    asyncio.run(main())
