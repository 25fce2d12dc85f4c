"""Helpers for the UI tests: bounded waits on the app (never bare sleeps) and screen text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget

from tests.helpers import WAIT_S


@pytest.fixture
def tasks_dir(tmp_path: Path) -> Path:
    """An empty tasks dir."""
    folder = tmp_path / "tasks"
    folder.mkdir()
    return folder


async def wait_until(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = WAIT_S
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` (a hang guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def wait_started(app: App[None]) -> None:
    """Wait for the app's workers, the engine's start among them (its watcher is ready then)."""
    await app.workers.wait_for_complete()


def text_of(widget: Widget) -> str:
    """What a Line API widget shows right now, one line per row."""
    return "\n".join(widget.render_line(y).text.rstrip() for y in range(widget.size.height))
