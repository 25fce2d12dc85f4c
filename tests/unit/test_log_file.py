"""The log: the file rotates (also when two processes share it) and every record is inert."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.scheduler.logbridge import (
    LOG_BACKUPS,
    LOG_MAX_BYTES,
    InertFormatter,
    SharedRotatingFileHandler,
    configure_logging,
)

HOSTILE = "evil\x1b]0;pwned\x07\nFAKE LINE \x1b[2J\x9b31m\x7f\u2028end"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_the_defaults_are_bounded() -> None:
    assert LOG_MAX_BYTES == 5 * 1024 * 1024
    assert LOG_BACKUPS == 3


@pytest.mark.usefixtures("root_logging")
def test_the_log_file_rotates_and_keeps_only_the_backups(tmp_path: Path) -> None:
    log = tmp_path / "bassi-tui.log"
    configure_logging(to_stderr=False, log_file=str(log), max_bytes=2000, backups=2)
    for n in range(300):
        logging.getLogger("bassi_tui.story").info("record %04d %s", n, "x" * 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bassi-tui.log", "bassi-tui.log.1", "bassi-tui.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2000 for name in files)
    assert "record 0299" in log.read_text()  # the newest record is in the live file
    assert "record 0000" not in "".join((tmp_path / n).read_text() for n in files)  # dropped


def test_a_rotation_by_another_process_is_followed(tmp_path: Path) -> None:
    log = tmp_path / "shared.log"
    # Two handlers on one file stand for two bassi-tui processes sharing ~/.bassi/bassi-tui.log.
    first = SharedRotatingFileHandler(log, maxBytes=1000, backupCount=3, encoding="utf-8")
    second = SharedRotatingFileHandler(log, maxBytes=1000, backupCount=3, encoding="utf-8")

    def record(text: str) -> logging.LogRecord:
        return logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None)

    try:
        second.emit(record("second is here"))  # 15 bytes
        for n in range(25):  # 50 bytes each: the 20th rotates, once (965 bytes go to .1)
            first.emit(record(f"first {n:02d} " + "y" * 40))
        assert (tmp_path / "shared.log.1").exists() and not (tmp_path / "shared.log.2").exists()
        # A plain RotatingFileHandler would append this to shared.log.1 (still under 1000
        # bytes, so it would not rotate either): lost to whoever tails shared.log.
        second.emit(record("second after the rotation"))
    finally:
        first.close()
        second.close()
    assert log.read_text().endswith("first 24 " + "y" * 40 + "\nsecond after the rotation\n")
    assert "second after" not in (tmp_path / "shared.log.1").read_text()
    assert not (tmp_path / "shared.log.2").exists()  # and no extra rotation by the second


def format_record(message: str, *args: object, exc: bool = False) -> str:
    formatter = InertFormatter("%(levelname)s %(message)s")
    exc_info = None
    if exc:
        try:
            raise ValueError(HOSTILE)
        except ValueError as error:
            exc_info = (type(error), error, error.__traceback__)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)
    return formatter.format(record)


def test_a_hostile_message_is_one_inert_line() -> None:
    text = format_record("Loaded task: %s", HOSTILE)
    assert "\n" not in text and "\x1b" not in text and "\x07" not in text
    assert "\x9b" not in text and "\x7f" not in text and "\u2028" not in text
    assert text == (
        "ERROR Loaded task: evil\\x1b]0;pwned\\x07\\nFAKE LINE \\x1b[2J\\x9b31m\\x7f\\u2028end"
    )


def test_a_traceback_is_indented_and_escaped() -> None:
    text = format_record("failed", exc=True)
    lines = text.split("\n")
    assert lines[0] == "ERROR failed"
    assert len(lines) > 2  # the traceback keeps its lines...
    assert all(line.startswith("    ") for line in lines[1:])  # ...none passes for a record
    assert "\x1b" not in text and "\x07" not in text
    assert lines[-2] == "    ValueError: evil\\x1b]0;pwned\\x07"
    assert lines[-1] == "    FAKE LINE \\x1b[2J\\x9b31m\\x7f\\u2028end"  # indented: not a record
