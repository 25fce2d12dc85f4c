"""LogPane: the engine's story (loaded, updated, removed, started, finished, failed), bounded.

A Line API widget over the last ``MAX_LINES`` LogLine events: each line is word-wrapped once, when
it arrives (a resize re-flows them all), continuation rows indented under the text. The rows of
every line are kept in a deque beside it, so when the pane is full the oldest line's rows are
dropped and nothing else is wrapped again. Lines can come in batches (``add_many``): the pane
resizes and repaints once per batch.
Text is inert: sanitised, drawn as plain segments, never parsed as markup.

Reading it is as in less (see :class:`~bassi_tui.ui.pager.Pager`): j/k/g/G, PgUp/PgDn, ``/``
searches the messages; at the end it follows new lines, scrolled up it stays and says how many
came. Times carry their zone once, in the border title ("Log · times in CET"), not on every
line: at 80 columns the pane has 78, and " CET" on each row would take 4 of every message's
columns to repeat what never changes within a session. Should it change (summer time begins),
every line is drawn in the newest line's zone, so the one zone named is right for them all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.segment import Segment
from textual.binding import BindingType
from textual.geometry import Size
from textual.strip import Strip

from bassi_tui.scheduler.events import LogLine
from bassi_tui.ui.big_text import wrap_starts
from bassi_tui.ui.pager import reading_bindings
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.search import LineSource
from bassi_tui.ui.searchable import SearchablePager, search_bindings
from bassi_tui.ui.styles import ink

#: The pane keeps this many lines; older ones scroll away (the log file keeps them all).
MAX_LINES = 1000
LEVEL_SYMBOLS = {"debug": "·", "info": " ", "warning": "⚠", "error": "✗"}
PREFIX = 11  # "HH:MM:SS ✗ "


class LogPane(SearchablePager):
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
    BINDINGS: ClassVar[list[BindingType]] = [*reading_bindings("log"), *search_bindings("log")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[tuple[LogLine, str]] = deque(maxlen=MAX_LINES)
        #: One entry per screen row: (sequence number of its line, start, end) in the line's text.
        self._rows: deque[tuple[int, int, int]] = deque()
        self._row_counts: deque[int] = deque()  # rows of each line in ``lines``
        self._next_seq = 0  # sequence number of the next line; lines[0] has next - len(lines)
        self._width = 0
        self.follow_end = True
        #: The zone every time is drawn in (the newest line's), and its name in the title.
        self._zone: tzinfo | None = None
        self._zone_name: str | None = None

    def on_mount(self) -> None:
        self.border_title = "Log"

    def add(self, line: LogLine) -> None:
        """Append one engine log line (the oldest goes when the pane is full)."""
        self.add_many((line,))

    def add_many(self, lines: Iterable[LogLine]) -> None:
        """Append engine log lines, then resize and repaint once."""
        if self.scrollable_content_region.width != self._width:
            self._reflow()
        lines_before = self._next_seq
        for line in lines:
            if len(self.lines) == MAX_LINES:
                self.lines.popleft()
                for _ in range(self._row_counts.popleft()):
                    self._rows.popleft()
            self.lines.append((line, one_line(line.message)))
            self._flow(self._next_seq, self.lines[-1][1])
            self._next_seq += 1
        if self.lines:
            self._take_zone(self.lines[-1][0].time)
        self._sized()
        self.text_grew(lines_before)
        self.refresh()

    def _take_zone(self, newest: datetime) -> None:
        name = newest.tzname()
        if name != self._zone_name:
            self._zone, self._zone_name = newest.tzinfo, name
            self.border_title = f"Log · times in {name}" if name else "Log"

    def _follow_end(self) -> None:
        if self._following:
            # After the refresh, once the new virtual size is laid out.
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

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
        self.set_text_size(Size(self._width, len(self._rows)))

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

    # -- what the pager asks ------------------------------------------------------------------

    @property
    def _first_seq(self) -> int:
        return self._next_seq - len(self.lines)

    def line_end(self) -> int:
        """The sequence number of the next line."""
        return self._next_seq

    def top_line(self) -> int:
        """The sequence number of the line at the top."""
        row = self.scroll_offset.y
        return self._rows[row][0] if row < len(self._rows) else self._next_seq

    def line_text(self, key: int) -> str | None:
        """The message of line ``key`` (None once it scrolled out of the pane)."""
        index = key - self._first_seq
        return self.lines[index][1] if 0 <= index < len(self.lines) else None

    def row_of(self, key: int, start: int) -> tuple[int, int | None] | None:
        """The row showing column ``start`` of line ``key``'s message."""
        found = None
        for row, (seq, first, _) in enumerate(self._rows):  # a few thousand rows at most
            if seq == key and (found is None or first <= start):
                found = row
            elif seq > key:
                break
        return None if found is None else (found, None)

    def search_source(self) -> Callable[[], LineSource]:
        """A snapshot of the messages (the pane changes while the worker searches)."""
        texts, first = [text for _, text in self.lines], self._first_seq
        return lambda: LineSource(lambda key: texts[key - first], first, first + len(texts))

    def render_row(self, row: int) -> Strip:
        """Row ``row``: a line's time and level, or the indented rest of a long message."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= len(self._rows):
            return Strip.blank(width, base)
        seq, start, end = self._rows[row]
        line, text = self.lines[seq - self._first_seq]
        style = base + ink(self, f"log-pane--{line.level}")
        if start == 0:
            when = line.time
            if self._zone is not None and when.tzinfo is not None:
                when = when.astimezone(self._zone)  # the zone the title names
            muted = base + ink(self, "log-pane--time")
            symbol = LEVEL_SYMBOLS.get(line.level, " ") + " "
            head = [Segment(when.strftime("%H:%M:%S "), muted), Segment(symbol, style)]
        else:
            head = [Segment(" " * PREFIX, base)]
        body = self.marked(seq, text, start, end, style)
        return Strip([*head, *body]).crop_extend(0, width, base)
