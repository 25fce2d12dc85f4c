"""BigText: a plain-text pager that draws only the lines on screen (Line API).

Text of any size is shown without a hitch: the widget holds a ``Document`` (a result file opened
by the store, or a run's live output) and asks it for the few lines in view. Every line passes
through :func:`strip_control` and is drawn as a plain ``Segment``, so model output can contain
neither escape sequences nor markup that takes effect. Small documents are word-wrapped to the
width (re-wrapped on resize, incrementally as live text grows); big ones are not, and scroll
sideways instead. The wrapped layout of the last few documents is kept (per width), so showing a
running task's output again wraps only what arrived since; growing text changes the virtual size
without laying the whole screen out again (see :func:`set_virtual_size`).

Reading it (keys of less, following a running task's output, search) comes from
:class:`~bassi_tui.ui.searchable.SearchablePager`; this module lays the text out in rows and
draws them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable
from typing import ClassVar, Protocol

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from bassi_tui.store.result_text import ResultText, open_result_text
from bassi_tui.ui.pager import reading_bindings, set_virtual_size
from bassi_tui.ui.sanitize import strip_control
from bassi_tui.ui.search import LineSource
from bassi_tui.ui.searchable import SearchablePager, search_bindings
from bassi_tui.ui.styles import ink

__all__ = ["WRAP_MAX_LINES", "BigText", "Document", "set_virtual_size", "shown", "wrap_starts"]

#: Wrapping a document means visiting each of its lines on every resize: only for small ones.
WRAP_MAX_LINES = 50_000
#: Wrapped layouts kept for documents no longer shown (a live output shown again).
LAYOUTS_KEPT = 8


class Document(Protocol):
    """What BigText needs from a text: lines by index."""

    @property
    def line_count(self) -> int: ...

    @property
    def wrappable(self) -> bool: ...

    @property
    def max_width(self) -> int: ...

    def line(self, index: int) -> str: ...


def shown(raw: str) -> str:
    """A document's line as it is drawn: inert, tabs expanded."""
    return raw if raw.isprintable() else strip_control(raw).expandtabs(4)


def wrap_starts(text: str, width: int) -> list[int]:
    """Where each wrapped row of ``text`` starts: at word boundaries when the text is ASCII.

    Spaces at the end of the text never make a row of their own (they would show as a blank
    line that is not in the text).
    """
    if width <= 0 or (len(text) <= width and (text.isascii() or cell_len(text) <= width)):
        return [0]
    starts = [0]
    text = text.rstrip(" ")
    if text.isascii():
        pos, end = 0, len(text)
        while end - pos > width:
            space = text.rfind(" ", pos, pos + width + 1)
            pos = space + 1 if space > pos else pos + width
            starts.append(pos)
        return starts
    used = 0
    for index, char in enumerate(text):
        size = get_character_cell_size(char)
        if used + size > width:
            starts.append(index)
            used = 0
        used += size
    return starts


class BigText(SearchablePager):
    """Shows a ``Document``; ``placeholder`` when there is none."""

    DEFAULT_CSS = """
    BigText {
        scrollbar-gutter: stable;
        background: $surface;
        &:focus { background-tint: $foreground 4%; }
        & > .big-text--placeholder { color: $text-muted; text-style: italic; }
        & > .big-text--added { color: $text-success; }
        & > .big-text--removed { color: $text-error; }
        & > .big-text--hunk { color: $text-accent; text-style: bold; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "big-text--placeholder",
        "big-text--added",
        "big-text--removed",
        "big-text--hunk",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "toggle_wrap", "Wrap", id="text.wrap", tooltip="Wrap long lines on/off"),
        *reading_bindings("text"),
        *search_bindings("text"),
    ]

    wrap: reactive[bool] = reactive(True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.document: Document | None = None
        self.placeholder = ""
        self._lines: LRUCache[int, str] = LRUCache(4096)
        self._row_line = array("i")
        self._row_start = array("i")
        self._wrap_width = 0
        self._laid_lines = 0
        #: id(document) -> (document, its resets, width, row lines, row starts, lines laid out)
        self._layouts: LRUCache[int, tuple[Document, int, int, array[int], array[int], int]] = (
            LRUCache(LAYOUTS_KEPT)
        )

    # -- what to show -------------------------------------------------------------------------

    def show(
        self,
        document: Document | None,
        placeholder: str = "",
        *,
        follow: bool = False,
        keep_scroll: bool = False,
    ) -> None:
        """Show ``document`` from the top (or the end when ``follow``), or a placeholder.

        A document shown before at this width is not wrapped again, only its new lines. A
        followed document keeps its end on screen as it grows (see ``Pager``); a search is
        cleared (its query stays: ``n`` finds it in the new text). With ``keep_scroll`` (the
        same run's file replacing its live output), a view that followed the end stays there.
        """
        old = self.document
        at_end = self.follow_end and self._following
        if old is not None and self._row_line and old is not document:
            self._layouts.set(
                id(old),
                (old, _resets(old), self._wrap_width, *self._layout(), self._laid_lines),
            )
        self.document = document
        self.placeholder = placeholder
        self.start_following(follow)
        self.clear_search()
        self._lines = LRUCache(4096)
        kept = self._layouts.get(id(document)) if document is not None else None
        width = self.scrollable_content_region.width
        if (
            kept is not None
            and kept[0] is document
            and kept[1] == _resets(document)
            and kept[2] == width
            and kept[5] <= (document.line_count if document else 0)
        ):
            _, _, self._wrap_width, self._row_line, self._row_start, laid = kept
            self._layouts.discard(id(document))
            self._rewrap(max(0, laid - 1))
        else:
            self._row_line, self._row_start = array("i"), array("i")
            self._rewrap(0)
        if follow or (keep_scroll and at_end):
            self.scroll_end(animate=False, immediate=True)
        elif not keep_scroll:
            self.scroll_home(animate=False, immediate=True)
        self.refresh()

    def document_grew(self) -> None:
        """The document got more text: re-wrap its tail, follow the end or say lines came."""
        if self.document is None:
            return
        lines_before = self._laid_lines
        last = max(0, lines_before - 1)
        self._lines.discard(last)  # the last line may have grown
        first_row = self._rewrap(last)
        scroll_y = self.scroll_offset.y
        self.text_grew(lines_before)
        if self.scroll_offset.y == scroll_y:  # else the scroll repainted everything
            self.refresh_lines(first_row, self.virtual_size.height - first_row)

    def _layout(self) -> tuple[array[int], array[int]]:
        return self._row_line, self._row_start

    @property
    def wrapping(self) -> bool:
        """True when the current document is word-wrapped to the width."""
        doc = self.document
        return bool(self.wrap and doc and doc.wrappable and doc.line_count <= WRAP_MAX_LINES)

    def action_toggle_wrap(self) -> None:
        """Wrap long lines on or off."""
        self.wrap = not self.wrap

    def watch_wrap(self) -> None:
        self._relayout()

    # -- layout -------------------------------------------------------------------------------

    def _text(self, index: int) -> str:
        text = self._lines.get(index)
        if text is None:
            assert self.document is not None
            text = shown(self.document.line(index))
            self._lines.set(index, text)
        return text

    def _rewrap(self, from_line: int) -> int:
        """Lay lines from ``from_line`` on out again; the first row that changed."""
        doc = self.document
        width = self.scrollable_content_region.width
        self._laid_lines = doc.line_count if doc else 0
        if not self.wrapping or doc is None:
            self._row_line, self._row_start = array("i"), array("i")
            lines = doc.line_count if doc else 0
            self.set_text_size(Size(doc.max_width if doc else 0, lines))
            return from_line
        if width != self._wrap_width:
            from_line, self._wrap_width = 0, width
        if from_line == 0:
            self._row_line, self._row_start = array("i"), array("i")
        while self._row_line and self._row_line[-1] >= from_line:
            self._row_line.pop()
            self._row_start.pop()
        first_row = len(self._row_line)
        rows, starts, line = self._row_line, self._row_start, doc.line
        for index in range(from_line, doc.line_count):
            raw = line(index)
            if len(raw) <= width and raw.isascii() and raw.isprintable():
                # The common case, with no copy and no cache churn: one plain row.
                rows.append(index)
                starts.append(0)
                continue
            for start in wrap_starts(shown(raw), width):
                rows.append(index)
                starts.append(start)
        self.set_text_size(Size(width, len(rows)))
        return first_row

    def on_resize(self) -> None:
        if self.wrapping and self.scrollable_content_region.width != self._wrap_width:
            self._relayout()

    def _relayout(self) -> None:
        """Lay the whole text out again (a new width, wrap on or off), keeping the place read:
        the end when the view was at the end, else the line that was at the top."""
        at_end = 0 < self.max_scroll_y <= self.scroll_offset.y
        top = self.top_line()
        self._rewrap(0)
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            row = bisect_left(self._row_line, top) if self._row_line else top
            self.scroll_to(y=row, animate=False)
        self.refresh()

    # -- what the pager asks ------------------------------------------------------------------

    def line_end(self) -> int:
        """The document's line count."""
        return self.document.line_count if self.document is not None else 0

    def top_line(self) -> int:
        """The line at the top of the view."""
        row = self.scroll_offset.y
        if self._row_line:  # wrapped: the line of the top row
            return self._row_line[min(row, len(self._row_line) - 1)]
        return row

    def line_text(self, key: int) -> str | None:
        """Line ``key`` as drawn."""
        if self.document is None or not 0 <= key < self.document.line_count:
            return None
        return self._text(key)

    def row_of(self, key: int, start: int) -> tuple[int, int | None] | None:
        """The row showing column ``start`` of line ``key`` (and its cell, unwrapped)."""
        if self.document is None or not 0 <= key < self.document.line_count:
            return None
        if not self._row_line:
            return key, cell_len(self._text(key)[:start])
        rows, starts = self._row_line, self._row_start
        row = bisect_left(rows, key)
        if row >= len(rows):
            return None
        while row + 1 < len(rows) and rows[row + 1] == key and starts[row + 1] <= start:
            row += 1
        return row, None

    def search_source(self) -> Callable[[], LineSource]:
        """The document's lines for a search thread.

        Lines of a big result file are read by a reader of its own, opened in the thread: the
        shown document's line cache belongs to the event loop. Other documents are lists in
        memory, safe to read from a thread.
        """
        doc = self.document
        if doc is None:
            return lambda: LineSource(lambda _: "", 0, 0)
        if isinstance(doc, ResultText) and not doc.wrappable:
            path = doc.path

            def own_reader() -> LineSource:
                reader = open_result_text(path)
                lines = reader.line_count
                return LineSource(lambda i: shown(reader.line(i)), 0, lines, reader.close)

            return own_reader
        line, count = doc.line, doc.line_count
        return lambda: LineSource(lambda i: shown(line(i)), 0, count)

    # -- drawing ------------------------------------------------------------------------------

    def _tone(self, doc: Document, index: int) -> Style:
        """A line's own colour, for documents that give lines a tone (a diff); else none."""
        line_tone = getattr(doc, "line_tone", None)
        tone = line_tone(index) if line_tone is not None else None
        return ink(self, f"big-text--{tone}") if tone else Style()

    def render_row(self, row: int) -> Strip:
        """Row ``row`` of the wrapped text, or line ``row`` scrolled sideways."""
        width = self.scrollable_content_region.width
        style = self.rich_style
        doc = self.document
        if doc is None:
            y = row - self.scroll_offset.y
            text = strip_control(self.placeholder).replace("\n", " ")
            starts = wrap_starts(text, width) if text else []
            if y >= len(starts):
                return Strip.blank(width, style)
            end = starts[y + 1] if y + 1 < len(starts) else len(text)
            muted = ink(self, "big-text--placeholder")
            strip = Strip([Segment(text[starts[y] : end], style + muted)])
            return strip.crop_extend(0, width, style)
        if self.wrapping:
            if row >= len(self._row_line):
                return Strip.blank(width, style)
            index, start = self._row_line[row], self._row_start[row]
            text = self._text(index)
            nxt = row + 1
            same = nxt < len(self._row_line) and self._row_line[nxt] == index
            end = self._row_start[nxt] if same else len(text)
            segments = self.marked(index, text, start, end, style + self._tone(doc, index))
            return Strip(segments).crop_extend(0, width, style)
        if row >= doc.line_count:
            return Strip.blank(width, style)
        scroll_x = self.scroll_offset.x
        text = self._text(row)
        strip = Strip(self.marked(row, text, 0, len(text), style + self._tone(doc, row)))
        return strip.crop_extend(scroll_x, scroll_x + width, style)


def _resets(document: Document) -> int:
    # A live text that started over (a retry) must be wrapped afresh: LiveText counts restarts.
    resets = getattr(document, "resets", 0)
    return resets if isinstance(resets, int) else 0
