"""Turn the engine's LogLine events into Python logging records (stderr, the log file)."""

from __future__ import annotations

import logging

from bassi_tui.scheduler.events import EngineEvent, LogLine

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

STORY_LOGGER = "bassi_tui.story"


def log_events(event: EngineEvent) -> None:
    """An engine subscriber that writes the story of the engine to the ``bassi_tui.story`` log."""
    if isinstance(event, LogLine):
        logging.getLogger(STORY_LOGGER).log(_LEVELS[event.level], "%s", event.message)


def configure_logging(*, to_stderr: bool, log_file: str | None, verbose: bool = False) -> None:
    """Set up the root logger: stderr for headless runs, a file when asked (the app's only one).

    In the app, Textual draws on the terminal, so nothing may be logged to stderr there.
    """
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        root.addHandler(stream)
    if log_file:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    # Third-party chatter (httpx requests, APScheduler job lines) is noise in the story.
    for noisy in ("httpx", "httpx2", "anthropic", "apscheduler", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
