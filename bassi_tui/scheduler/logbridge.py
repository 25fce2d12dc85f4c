"""Turn the engine's LogLine events into Python logging records (stderr, the log file).

Every record is written *inert* (:class:`InertFormatter`): task names and error messages come
from folders other people may control, and a name holding a newline or an escape sequence must
neither forge a log line nor retitle or clear the terminal of whoever tails the log.

The log file rotates (:data:`LOG_MAX_BYTES`, :data:`LOG_BACKUPS`): a scheduler runs for months.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler

from bassi_tui.scheduler.events import EngineEvent, LogLine
from bassi_tui.scheduler.story import SchedulerLine
from bassi_tui.store.inert import inert, inert_output

__all__ = [
    "LOG_BACKUPS",
    "LOG_MAX_BYTES",
    "STORY_LOGGER",
    "InertFormatter",
    "configure_logging",
    "log_events",
]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

STORY_LOGGER = "bassi_tui.story"

LOG_MAX_BYTES = 5 * 1024 * 1024
"""The log file is rotated when it would grow past this (5 MiB): weeks of a busy scheduler's
story, small enough to open in any pager."""

LOG_BACKUPS = 3
"""Rotated log files kept (``bassi-tui.log.1`` .. ``.3``); older ones are deleted. At most
(1 + LOG_BACKUPS) * LOG_MAX_BYTES = 20 MiB of logs in all."""


def log_events(event: EngineEvent) -> None:
    """An engine subscriber that writes the story of the engine to the ``bassi_tui.story`` log.

    A monitor's copy of the scheduler's lines (:class:`~.story.SchedulerLine`) is left out: the
    scheduler logs them itself.
    """
    if isinstance(event, LogLine) and not isinstance(event, SchedulerLine):
        logging.getLogger(STORY_LOGGER).log(_LEVELS[event.level], "%s", event.message)


class InertFormatter(logging.Formatter):
    """A formatter whose every record is one line of inert text, however hostile its message.

    The message is escaped with :func:`~bassi_tui.store.inert.inert` (a newline becomes ``\\n``,
    ESC ``\\x1b``). A traceback keeps its lines, but each is indented and escaped, so no line of
    it can pass for a record of its own.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as text; see the class docstring."""
        record.message = inert(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        # Not the cached record.exc_text: another handler's formatter may have made it raw.
        extras = []
        if record.exc_info:
            extras.append(self.formatException(record.exc_info))
        elif record.exc_text:
            extras.append(record.exc_text)
        if record.stack_info:
            extras.append(self.formatStack(record.stack_info))
        for extra in extras:
            lines = inert_output(extra).replace("\t", "    ").splitlines()
            text += "".join(f"\n    {line}" for line in lines)
        return text


class SharedRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler that follows a rotation done by another process.

    Two bassi-tui apps on one machine write the same ``~/.bassi/bassi-tui.log``. When one
    rotates, the other would go on writing into the renamed file (and rotate it again, shifting
    the backups); instead it notices the file at its path is no longer the one it has open and
    reopens it first. One ``stat`` a record.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Reopen the log file if it was rotated under us, then write (and rotate) as usual."""
        if self.stream is not None:
            try:
                path_id = os.stat(self.baseFilename)
                open_id = os.fstat(self.stream.fileno())
                moved = (path_id.st_dev, path_id.st_ino) != (open_id.st_dev, open_id.st_ino)
            except OSError:  # the file is gone: open a new one
                moved = True
            if moved:
                self.stream.close()
                self.stream = None  # reopened by FileHandler.emit, as with delay=True
        super().emit(record)


def configure_logging(
    *,
    to_stderr: bool,
    log_file: str | None,
    verbose: bool = False,
    max_bytes: int = LOG_MAX_BYTES,
    backups: int = LOG_BACKUPS,
) -> None:
    """Set up the root logger: stderr for headless runs, a file when asked (the app's only one).

    In the app, Textual draws on the terminal, so nothing may be logged to stderr there. The log
    file rotates at ``max_bytes`` keeping ``backups`` old files (parameters so tests can rotate
    small files). Raises OSError when the log file cannot be opened.
    """
    fmt = InertFormatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = []
    if log_file:
        file_handler = SharedRotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        file_handler.setFormatter(fmt)
        handlers.append(file_handler)
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        handlers.append(stream)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in handlers or [logging.NullHandler()]:
        root.addHandler(handler)
    # Third-party chatter (httpx requests, APScheduler job lines) is noise in the story.
    for noisy in (
        "httpx",
        "httpx2",
        "anthropic",
        "apscheduler",
        "watchfiles",
        "apprise",
        "urllib3",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
