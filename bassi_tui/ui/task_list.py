"""TaskList: every task as a card, drawn virtually so ten thousand tasks cost nothing.

One ScrollView draws each card as ``CARD_HEIGHT`` lines straight from a TaskView (Line API): no
widget per card. The parent updates cards in place (``upsert``/``remove``); the selection is a
task name, so it survives inserts, removals and filtering. A single one-second timer recomputes
the visible cards and repaints only the lines whose text changed (a countdown ticking), so an
idle list writes almost nothing to the terminal. The list posts ``TaskList.Selected`` when its
selection changes; it never talks to its siblings.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui.card import CARD_LINES, CardLine, card_lines, card_state
from bassi_tui.ui.format import status_tone
from bassi_tui.ui.styles import ink

CARD_HEIGHT = CARD_LINES + 1  # three lines and a gap
TONES = ("success", "error", "warning", "running", "muted", "name", "plain")


class TaskList(ScrollView, can_focus=True):
    """The task cards; see the module docstring."""

    DEFAULT_CSS = """
    TaskList {
        background: $surface;
        overflow-x: hidden;
        & > .task-list--success { color: $text-success; }
        & > .task-list--error { color: $text-error; }
        & > .task-list--warning { color: $text-warning; }
        & > .task-list--running { color: $text-accent; text-style: bold; }
        & > .task-list--muted { color: $text-muted; }
        & > .task-list--name { text-style: bold; }
        & > .task-list--plain { }
        & > .task-list--cursor { background: $primary 15%; }
        &:focus > .task-list--cursor { background: $block-cursor-blurred-background; }
        & > .task-list--empty { color: $text-muted; text-style: italic; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"task-list--{tone}" for tone in TONES),
        "task-list--cursor",
        "task-list--empty",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Previous task", show=False, id="cards.up"),
        Binding("down,j", "move(1)", "Next task", show=False, id="cards.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="cards.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="cards.page_down"),
        Binding("home,g", "edge(0)", "First task", show=False, id="cards.first"),
        Binding("end,G", "edge(1)", "Last task", show=False, id="cards.last"),
    ]

    class Selected(Message):
        """The selected task changed (``name`` is None when no card is left)."""

        def __init__(self, task_list: TaskList, name: str | None) -> None:
            super().__init__()
            self.task_list = task_list
            self.name = name

        @property
        def control(self) -> TaskList:
            """The list that sent this."""
            return self.task_list

    def __init__(
        self, clock: Callable[[], datetime], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.empty_text = "No tasks yet."
        self._views: dict[str, TaskView] = {}
        self._names: list[str] = []
        self._filter = ""
        self._visible: list[str] | None = None  # None: recompute on next use
        self._selected: str | None = None
        #: What each on-screen row (virtual y) showed when last drawn: (task, card line).
        self._drawn: dict[int, tuple[str, CardLine]] = {}

    # -- data in ------------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The selected task's name."""
        return self._selected

    @property
    def names(self) -> list[str]:
        """Every task's name, sorted (filtered or not)."""
        return self._names

    @property
    def shown(self) -> list[str]:
        """Names of the cards shown (filtered), sorted."""
        if self._visible is None:
            needle = self._filter.lower()
            self._visible = (
                [n for n in self._names if needle in n.lower()] if needle else self._names
            )
        return self._visible

    def view(self, name: str) -> TaskView | None:
        """The current TaskView of ``name``."""
        return self._views.get(name)

    def upsert(self, view: TaskView) -> None:
        """Add a card or update one in place."""
        if view.name not in self._views:
            insort(self._names, view.name)
            self._visible = None
        self._views[view.name] = view
        self._changed()

    def upsert_many(self, views: Iterable[TaskView]) -> None:
        """Add or update many cards at once (one sort, one repaint)."""
        known = len(self._views)
        for view in views:
            self._views[view.name] = view
        if len(self._views) != known:
            self._names = sorted(self._views)
            self._visible = None
        self._changed()

    def remove_task(self, name: str) -> None:
        """Take a card away; the selection moves to the card that takes its place."""
        if name not in self._views:
            return
        index = self._index(name)
        del self._views[name]
        self._names.remove(name)
        self._visible = None
        if name == self._selected:
            self._selected = None
            if self.shown and index is not None:
                self._selected = self.shown[min(index, len(self.shown) - 1)]
            self.post_message(self.Selected(self, self._selected))
        self._changed()

    def set_filter(self, text: str) -> None:
        """Show only the cards whose name contains ``text`` (case-insensitive)."""
        if text == self._filter:
            return
        self._filter = text
        self._visible = None
        if self._selected not in self.shown:
            self._select(self.shown[0] if self.shown else None)
        self._changed()
        self.call_after_refresh(self._scroll_to_selected)

    def select(self, name: str) -> None:
        """Select the card of ``name`` (clearing a filter that hides it)."""
        if name not in self._views:
            return
        if name not in self.shown:
            self.set_filter("")
        self._select(name)

    def _changed(self) -> None:
        if self._selected is None and self.shown:
            self._select(self.shown[0])
        width = self.scrollable_content_region.width
        self.virtual_size = Size(width, len(self.shown) * CARD_HEIGHT)
        self.refresh()

    def _index(self, name: str | None) -> int | None:
        if name is None:
            return None
        index = bisect_left(self.shown, name)
        return index if index < len(self.shown) and self.shown[index] == name else None

    def _select(self, name: str | None) -> None:
        if name == self._selected:
            return
        self._selected = name
        self.post_message(self.Selected(self, name))
        self._scroll_to_selected()
        self.refresh()

    def _scroll_to_selected(self) -> None:
        index = self._index(self._selected)
        if index is None:
            return
        top, bottom = index * CARD_HEIGHT, index * CARD_HEIGHT + CARD_LINES
        height = self.scrollable_content_region.height
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False)
        elif bottom > self.scroll_y + height:
            self.scroll_to(y=bottom - height, animate=False)

    # -- keys and mouse -----------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        """Select the card ``delta`` places away."""
        if not self.shown:
            return
        index = self._index(self._selected)
        target = 0 if index is None else max(0, min(len(self.shown) - 1, index + delta))
        self._select(self.shown[target])

    def action_page(self, direction: int) -> None:
        """Move a screenful of cards."""
        per_page = max(1, self.scrollable_content_region.height // CARD_HEIGHT)
        self.action_move(direction * per_page)

    def action_edge(self, end: int) -> None:
        """Select the first (0) or last (1) card."""
        if self.shown:
            self._select(self.shown[-1 if end else 0])

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = (offset.y + int(self.scroll_y)) // CARD_HEIGHT
        if 0 <= index < len(self.shown):
            self._select(self.shown[index])

    # -- drawing ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # One timer for every countdown: repaints only the lines whose text changed.
        self.set_interval(1.0, self._tick, name="countdowns")

    def _tick(self) -> None:
        """Repaint the on-screen card lines whose text differs from what was drawn."""
        names = self.shown
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height
        width = self.scrollable_content_region.width - 2
        now = self.clock()
        drawn, self._drawn = self._drawn, {}
        first, last = top // CARD_HEIGHT, min(len(names), (top + height) // CARD_HEIGHT + 1)
        for index in range(first, last):
            name = names[index]
            lines = card_lines(self._views[name], now, width)
            for n, card in enumerate(lines):
                row = index * CARD_HEIGHT + n
                shown = drawn.get(row)
                if shown is None:
                    continue  # not drawn yet: a pending refresh will draw it
                self._drawn[row] = shown
                if shown != (name, card):
                    self.refresh_line(row)

    def on_resize(self) -> None:
        self._changed()
        self.call_after_refresh(self._scroll_to_selected)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = int(self.scroll_y) + y
        names = self.shown
        if not names:
            if y == 1:
                text = self.empty_text if not self._filter else f"No task matches “{self._filter}”."
                style = base + ink(self, "task-list--empty")
                return Strip([Segment("  " + text, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        index, line = divmod(row, CARD_HEIGHT)
        if index >= len(names) or line >= CARD_LINES:
            return Strip.blank(width, base)
        view = self._views[names[index]]
        selected = names[index] == self._selected
        if selected:
            base = base + self.get_component_rich_style("task-list--cursor")
        card = card_lines(view, self.clock(), width - 2)[line]
        self._drawn[row] = (names[index], card)
        tone = status_tone(card_state(view))
        # The selected card's bar is thick, the others' thin: shape, not only colour.
        bar = Segment("▌ " if selected else "▏ ", base + self._tone(tone))
        return self._draw(card, width, base, bar)

    def _tone(self, tone: str) -> Style:
        # partial: only what the tone sets, so the cursor's background shows through.
        return ink(self, f"task-list--{tone}")

    def _draw(self, card: CardLine, width: int, base: Style, bar: Segment) -> Strip:
        def seg(text: str, tone: str) -> Segment:
            return Segment(text, base + self._tone(tone))

        right = [seg(text, tone) for text, tone in card.right]
        right_width = sum(cell_len(s.text) for s in right)
        room = width - 2 - right_width - (1 if right else 0)
        left = Strip([seg(text, tone) for text, tone in card.left])
        if left.cell_length > room:
            left = left.crop(0, max(0, room - 1))
            left = Strip([*left, seg("…", "muted")])
        gap = Segment(" " * max(0, room - left.cell_length + (1 if right else 0)), base)
        return Strip([bar, *left, gap, *right]).crop_extend(0, width, base)
