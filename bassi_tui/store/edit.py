"""Small, surgical edits to task files that keep everything else (comments included) as it was."""

from __future__ import annotations

import re
from pathlib import Path

from bassi_tui.store.atomic import atomic_write_text
from bassi_tui.store.models import SCHEDULE_FILE

_ENABLED_RE = re.compile(r"^enabled[ \t]*:[ \t]*([^#\r\n]*?)([ \t]*#[^\r\n]*)?$", re.MULTILINE)


def with_enabled(text: str, enabled: bool) -> str:
    """Return schedule.yaml text with its top-level ``enabled:`` set, all else untouched.

    An existing top-level ``enabled:`` line keeps its trailing comment; when there is none, a line
    is appended at the end.
    """
    value = "true" if enabled else "false"
    match = _ENABLED_RE.search(text)
    if match:
        comment = match.group(2) or ""
        return f"{text[: match.start()]}enabled: {value}{comment}{text[match.end() :]}"
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}enabled: {value}\n"


def set_enabled(task_path: Path, enabled: bool) -> None:
    """Pause or resume a task by editing ``enabled:`` in its schedule.yaml, atomically."""
    path = task_path / SCHEDULE_FILE
    text = path.read_text(encoding="utf-8")
    atomic_write_text(path, with_enabled(text, enabled))
