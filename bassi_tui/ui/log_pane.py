"""LogPane: the engine's story (loaded, updated, removed, started, finished, failed), bounded.

A Line API widget over the last ``MAX_LINES`` LogLine events: each line is word-wrapped once, when
it arrives (a resize re-flows them all), continuation rows indented under the text. The rows of
every line are kept in a deque beside it, so when the pane is full the oldest line's rows are
dropped and nothing else is wrapped again. Lines can come in batches (``add_many``): the pane
resizes and repaints once per batch.
Text is inert: sanitised, drawn as plain segments, never parsed as markup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bassi_tui.scheduler.events import LogLine
from bassi_tui.ui.big_text import set_virtual_size, wrap_starts
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.styles import ink

#: The pane keeps this many lines; older ones scroll away (the log file keeps them all).
MAX_LINES = 1000
LEVEL_SYMBOLS = {"debug": "·", "info": " ", "warning": "⚠", "error": "✗"}
PREFIX = 11  # "HH:MM:SS ✗ "


class LogPane(ScrollView, can_focus=True):
    """The last ``MAX_LINES`` engine log lines; see the module docstring."""

    DEFAULT_CSS = """
    LogPane {
        background: $surface;
        overflow-x: hidden;
        & > .log-pane--time { color: $text-muted; }
        & > .log-pane--warning { color: $text-warning; }
        & > .log-pane--error { color: $text-error; }
        & > .log-pane--debug { color: $text-muted; }
        & > .log-pane--info { }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-pane--time",
        "log-pane--warning",
        "log-pane--error",
        "log-pane--debug",
        "log-pane--info",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[tuple[LogLine, str]] = deque(maxlen=MAX_LINES)
        #: One entry per screen row: (sequence number of its line, start, end) in the line's text.
        self._rows: deque[tuple[int, int, int]] = deque()
        self._row_counts: deque[int] = deque()  # rows of each line in ``lines``
        self._next_seq = 0  # sequence number of the next line; lines[0] has next - len(lines)
        self._width = 0
        self._follow = True

    def on_mount(self) -> None:
        self.border_title = "Log"

    def add(self, line: LogLine) -> None:
        """Append one engine log line (the oldest goes when the pane is full)."""
        self.add_many((line,))

    def add_many(self, lines: Iterable[LogLine]) -> None:
        """Append engine log lines, then resize and repaint once."""
        if self.scrollable_content_region.width != self._width:
            self._reflow()
        for line in lines:
            if len(self.lines) == MAX_LINES:
                self.lines.popleft()
                for _ in range(self._row_counts.popleft()):
                    self._rows.popleft()
            self.lines.append((line, one_line(line.message)))
            self._flow(self._next_seq, self.lines[-1][1])
            self._next_seq += 1
        self._sized()
        self._follow_end()
        self.refresh()

    def _follow_end(self) -> None:
        if self._follow:
            # After the refresh, once the new virtual size is laid out.
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolled up by hand: stay there; back at the bottom: follow new lines again.
        self._follow = new >= self.max_scroll_y - 1

    def _flow(self, seq: int, text: str) -> None:
        starts = wrap_starts(text, max(10, self._width - PREFIX))
        ends = [*starts[1:], len(text)]
        self._rows.extend((seq, start, end) for start, end in zip(starts, ends, strict=True))
        self._row_counts.append(len(starts))

    def _reflow(self) -> None:
        self._width = self.scrollable_content_region.width
        self._rows.clear()
        self._row_counts.clear()
        first = self._next_seq - len(self.lines)
        for offset, (_, text) in enumerate(self.lines):
            self._flow(first + offset, text)
        self._sized()

    def _sized(self) -> None:
        # The pane's height is fixed: a new line needs its scrollbar and rows, not a layout.
        set_virtual_size(self, Size(self._width, len(self._rows)))

    def on_resize(self) -> None:
        self._check_width()
        self._follow_end()

    def watch_show_vertical_scrollbar(self) -> None:
        # The scrollbar takes columns from the text: re-flow (later: not inside the layout).
        self.call_later(self._check_width)

    def _check_width(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self._reflow()
            self._follow_end()
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = int(self.scroll_y) + y
        if row >= len(self._rows):
            return Strip.blank(width, base)
        seq, start, end = self._rows[row]
        line, text = self.lines[seq - (self._next_seq - len(self.lines))]
        style = base + ink(self, f"log-pane--{line.level}")
        if start == 0:
            time = line.time.strftime("%H:%M:%S ")
            muted = base + ink(self, "log-pane--time")
            head = [Segment(time, muted), Segment(LEVEL_SYMBOLS.get(line.level, " ") + " ", style)]
        else:
            head = [Segment(" " * PREFIX, base)]
        return Strip([*head, Segment(text[start:end], style)]).crop_extend(0, width, base)
