"""DiffText: a run's output against the previous success's, as a document BigText can show.

The lines come from :func:`bassi_tui.notify.changes.diff_lines` (unified diff, inert, bounded);
each line has a tone (added, removed, hunk) that BigText colours, so a change reads at a glance.
"""

from __future__ import annotations

__all__ = ["DiffText", "tone_of"]


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
