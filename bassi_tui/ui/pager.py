"""Pager: reading a long text as in less; the base of BigText (result text) and LogPane (log).

A Line API view whose subclass lays its text out in rows and draws one row (``render_row``);
the pager adds what reading needs (search is added by
:class:`~bassi_tui.ui.searchable.SearchablePager`, on top of this):

- The keys of less: ``g``/``G`` (and Home/End) jump at once, ``j``/``k``, PgUp/PgDn.
- Following: a text that grows (a running task's output, the log) keeps its end on screen while
  the view is at its end. Scrolled away, the view stays put and its status row says how many
  lines came below; ``G`` (or scrolling back to the end) follows again.
- A status row, the view's last row, there only when there is something to say ("3 of 17",
  "no match", "searching… 40%", "↓ 12 new lines below"). It is one more virtual row, so at the
  end the last line of text sits above it, never under it.

Rows are picked with ``scroll_offset`` (the scroll position rounded), never ``int(scroll_y)``:
Textual repaints a scroll view only when the rounded position changes, so an animated scroll
that ends on a fraction (3601.6, then 3602) would leave rows drawn for 3601 on screen, and the
last row of the text was never shown.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Set ``view``'s virtual size, laying the screen out again only when its scrollbars change.

    Assigning ``virtual_size`` asks for a layout of the whole screen; a line widget that grows
    by a few rows (live output, the log) only needs its scrollbar updated and its rows painted.
    The widgets using this have a size that does not depend on their content.
    """
    if size == view.virtual_size:
        return
    if not view.is_mounted or not view.container_size:
        view.virtual_size = size
        return
    bars = (view.show_horizontal_scrollbar, view.show_vertical_scrollbar)
    view.set_reactive(Widget.virtual_size, size)
    view._scroll_update(size)  # scrollbar sizes and visibility; the scroll offset clamped
    if (view.show_horizontal_scrollbar, view.show_vertical_scrollbar) != bars:
        view.refresh(layout=True)


def reading_bindings(scope: str) -> list[BindingType]:
    """The keys of less for moving through a pager; ``scope`` prefixes their ids (``text``)."""
    return [
        Binding("home,g", "scroll_home", "Top", show=False, id=f"{scope}.top"),
        Binding(
            "end,G",
            "scroll_end",
            "Bottom",
            show=False,
            id=f"{scope}.bottom",
            tooltip="End (follows new lines)",
        ),
        Binding("j", "scroll_down", "Down", show=False, id=f"{scope}.down"),
        Binding("k", "scroll_up", "Up", show=False, id=f"{scope}.up"),
    ]


class Pager(ScrollView, can_focus=True):
    """A text view read as in less; see the module docstring. Subclasses lay out and draw."""

    DEFAULT_CSS = """
    Pager {
        & > .pager--status { background: $panel; color: $text-muted; }
        & > .pager--status-key { background: $panel; color: $text; text-style: bold; }
        & > .pager--status-warning { background: $panel; color: $text-warning; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pager--status",
        "pager--status-key",
        "pager--status-warning",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: The text grows and its end is followed (a running task's output, the log).
        self.follow_end = False
        self._following = True  # the view is at the end (or was, until the text grew)
        self._unseen_from: int | None = None  # line count when unseen lines began to come
        self._text_size = Size(0, 0)  # the text's layout, without the status row
        self._status_shown = False

    # -- what a subclass provides -------------------------------------------------------------

    def render_row(self, row: int) -> Strip:
        """Row ``row`` of the laid-out text (past the end: blank)."""
        raise NotImplementedError

    def line_end(self) -> int:
        """The key after the last line (for a document: its line count)."""
        raise NotImplementedError

    def top_line(self) -> int:
        """The key of the line at the top of the view."""
        raise NotImplementedError

    # -- layout and drawing -------------------------------------------------------------------

    def set_text_size(self, size: Size) -> None:
        """The text's layout is ``size``; the view's virtual size adds the status row."""
        self._text_size = size
        set_virtual_size(self, Size(size.width, size.height + self._status_shown))

    @property
    def text_height(self) -> int:
        """Rows of text on screen (the status row is not one)."""
        return max(0, self.scrollable_content_region.height - self._status_shown)

    def render_line(self, y: int) -> Strip:
        if self._status_shown and y == self.scrollable_content_region.height - 1:
            return self._status_strip()
        return self.render_row(self.scroll_offset.y + y)

    # -- following ----------------------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolled up by hand: stay there; back at the end: follow new lines again.
        self._following = round(new) >= self.max_scroll_y
        if self._following and self._unseen_from is not None:
            self._unseen_from = None
            self.call_later(self._status_changed)  # not inside the scroll's own update

    def text_grew(self, lines_before: int) -> None:
        """The text grew from ``lines_before`` lines: follow its end, or say lines came."""
        if not self.follow_end:
            return
        if self._following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            return
        if self._unseen_from is None:
            self._unseen_from = lines_before
        self._status_changed()

    def start_following(self, follow: bool) -> None:
        """A new text is shown: follow its end (``follow``) or not; nothing is unseen yet."""
        self.follow_end = follow
        self._following = True
        self._unseen_from = None

    def action_scroll_end(self) -> None:
        """Go to the end at once, and follow new lines from there."""
        # No animation: over SSH, a second of frames through thousands of rows is slow to
        # draw, and less jumps.
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._following = True
        if self._unseen_from is not None:
            self._unseen_from = None
            self._status_changed()

    def action_scroll_home(self) -> None:
        """Go to the top at once."""
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    # -- the status row -----------------------------------------------------------------------

    def status_parts(self) -> list[tuple[str, str]]:
        """What the status row says, as (text, component class) pieces; empty: no status row."""
        if self._unseen_from is None:
            return []
        plain, key = "pager--status", "pager--status-key"
        new = max(0, self.line_end() - self._unseen_from)
        lines = f"{new:,} new line{'s' if new != 1 else ''}" if new else "new lines"
        return [(f"↓ {lines} below · ", plain), ("G", key), (" follows", plain)]

    def _status_changed(self) -> None:
        shown = bool(self.status_parts())
        if shown != self._status_shown:
            at_end = self.is_mounted and self.scroll_offset.y >= self.max_scroll_y
            self._status_shown = shown
            self.set_text_size(self._text_size)
            if at_end and shown:  # the row that appears must not cover the last line
                self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _status_strip(self) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        segments = [Segment(" ", base + self.get_component_rich_style("pager--status"))]
        for text, component in self.status_parts():
            segments.append(Segment(text, base + self.get_component_rich_style(component)))
        pad = base + self.get_component_rich_style("pager--status")
        return Strip(segments).crop_extend(0, width, pad)
