"""DiffText: a run's output against the previous success's, as a document BigText can show.

The lines come from :func:`bassi_tui.notify.changes.diff_lines` (unified diff, inert, bounded);
each line has a tone (added, removed, hunk) that BigText colours, so a change reads at a glance.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DIFF_VIEW_LIMIT", "DiffText", "read_diff", "tone_of"]


def tone_of(line: str) -> str | None:
    """``added``, ``removed`` or ``hunk`` for a unified diff line; None for context."""
    if line.startswith(("+++", "---")):
        return "hunk"
    if line.startswith("+"):
        return "added"
    if line.startswith("-"):
        return "removed"
    if line.startswith("@@"):
        return "hunk"
    return None


class DiffText:
    """A finished diff held in memory (it is bounded by ``diff_lines``)."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._width = max((len(line) for line in lines), default=0)

    @property
    def line_count(self) -> int:
        """How many lines the diff has."""
        return len(self._lines)

    @property
    def wrappable(self) -> bool:
        """Always: a diff is at most a few thousand lines."""
        return True

    @property
    def max_width(self) -> int:
        """The longest line's length."""
        return self._width

    def line(self, index: int) -> str:
        """Line ``index`` of the diff."""
        return self._lines[index]

    def line_tone(self, index: int) -> str | None:
        """The tone BigText draws line ``index`` in."""
        return tone_of(self._lines[index])


#: Lines of diff the viewer shows at most.
DIFF_VIEW_LIMIT = 5000


def read_diff(older: Path, newer: Path, older_name: str, newer_name: str) -> DiffText | str:
    """The diff of two result files (blocking: call in a thread), or why there is none."""
    from bassi_tui.notify.changes import compare, diff_lines
    from bassi_tui.scheduler.judging import COMPARE_MAX_BYTES

    try:
        if max(older.stat().st_size, newer.stat().st_size) > COMPARE_MAX_BYTES:
            return f"Too large to compare here (over {COMPARE_MAX_BYTES // 2**20} MB)."
        old = older.read_bytes().decode("utf-8", "replace")
        new = newer.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return f"Cannot read a result to compare: {exc.strerror or exc}"
    if not compare(old, new).changed:
        return f"No change since the run of {older_name}."
    lines = diff_lines(old, new, limit=DIFF_VIEW_LIMIT, from_name=older_name, to_name=newer_name)
    return DiffText(lines)
