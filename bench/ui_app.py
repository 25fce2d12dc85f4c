"""The real BassiApp with one addition: it notes when a frame is drawn (for latency figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.screen import Screen

from bassi_tui.scheduler.engine import Engine
from bassi_tui.ui import app as app_module
from bassi_tui.ui.app import BassiApp
from bench.common import FrameClock, now

SIZE = (120, 36)


class BenchApp(BassiApp):
    """BassiApp whose every rendered frame resolves the waiters of ``frames``."""

    # CSS_PATH is relative to the module of the class that names it: name the app's own file.
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def __init__(self, tasks_dir: Path, engine: Engine, **kwargs: Any) -> None:
        super().__init__(tasks_dir, engine=engine, **kwargs)
        self.frames = FrameClock()

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            self.frames.frame()


def send_key(app: BassiApp, key: str, char: str | None = None) -> float:
    """Hand a key to the app the way its driver would; returns the time it was sent."""
    driver = app._driver
    assert driver is not None
    event = events.Key(key, char)
    event.set_sender(app)
    sent = now()
    driver.send_message(event)
    return sent
