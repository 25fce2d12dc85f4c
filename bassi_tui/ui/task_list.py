"""TaskList: every task as a card, drawn virtually so ten thousand tasks cost nothing.

One ScrollView draws each card straight from a TaskView (Line API): no widget per card. A card
is three lines and a gap, or two and a gap when compact: by default when fewer than three full
cards would fit (an 80x24 terminal over SSH shows two and a bit instead of one and a half). The
parent updates cards in place (``upsert``/``remove``); the selection is a task name, so it
survives inserts, removals, filtering and reordering. The order is the name, the next run or
the last status, failures first (``cycle_order``); the filter matches names and status words
(``failed``, ``running``, ``paused``...). A single one-second timer recomputes the visible
cards and repaints only the lines whose text changed (a countdown ticking), so an idle list
writes almost nothing to the terminal. The list posts ``TaskList.Selected`` when its selection
changes; it never talks to its siblings.
"""

from __future__ import annotations

import textwrap
from bisect import insort
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui import format as fmt
from bassi_tui.ui.card import (
    CARD_LINES,
    COMPACT_LINES,
    CardLine,
    card_lines,
    card_state,
    failure_rank,
    fit_line,
    status_words,
)
from bassi_tui.ui.styles import ink

CARD_HEIGHT = CARD_LINES + 1  # three lines and a gap
COMPACT_HEIGHT = COMPACT_LINES + 1  # two lines and a gap
#: Cards go compact (when ``compact`` is None) below this many rows: three full cards.
COMPACT_BELOW = 3 * CARD_HEIGHT
TONES = ("success", "error", "warning", "running", "muted", "name", "plain")
#: The card orders ``s`` cycles through, and how the pane's title names each.
ORDERS = ("name", "next run", "last status")
ORDER_TITLES = {"name": "by name", "next run": "by next run", "last status": "failures first"}


def no_tasks_text(where: str) -> str:
    """What an empty tasks dir says: how to make a task (the three files), and the demo."""
    return "\n".join(
        (
            f"No task folders yet. To make one: mkdir {where}/my-task",
            '  schedule.yaml  when: type: daily, time: "09:00"',
            "  prompt.txt     what to ask",
            "  config.yaml    how, optional: executor, model",
            "It loads as you save. bassi-tui --demo shows examples.",
        )
    )


def _next_run_key(view: TaskView) -> tuple[bool, float]:
    """Soonest first; nothing due (paused, broken, a spent once task) last."""
    when = view.next_run
    return (when is None, when.timestamp() if when is not None else 0.0)


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
        & > .task-list--empty { color: $text-muted; }
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
        #: Two-line cards (True), three-line ones (False), or by the height (None).
        self.compact: bool | None = None
        self._compact_now = False
        self._views: dict[str, TaskView] = {}
        self._names: list[str] = []  # sorted by name, always
        self._filter = ""
        self._order = 0  # an index into ORDERS
        self._visible: list[str] | None = None  # None: recompute on next use
        self._positions: dict[str, int] | None = None
        self._selected: str | None = None
        self._size_pending = False
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
    def order(self) -> str:
        """How the cards are ordered: one of ``ORDERS``."""
        return ORDERS[self._order]

    @property
    def is_compact(self) -> bool:
        """True while the cards are drawn two lines high."""
        return self._compact_now

    @property
    def shown(self) -> list[str]:
        """Names of the cards shown (filtered), in the list's order.

        The selected card stays shown when its status stops matching the filter (a rerun of a
        failed task that succeeds), until the selection moves or the filter changes.
        """
        if self._visible is None:
            self._visible = self._matching(keep=self._selected)
            self._positions = None
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
        if self._order or self._filter:  # its place or its match may have changed
            self._visible = None
        self._changed()

    def upsert_many(self, views: Iterable[TaskView]) -> None:
        """Add or update many cards at once (one sort, one repaint)."""
        known = len(self._views)
        for view in views:
            self._views[view.name] = view
        if len(self._views) != known:
            self._names = sorted(self._views)
            self._visible = None
        if self._order or self._filter:
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
            self._visible = None
            if self.shown and index is not None:
                self._selected = self.shown[min(index, len(self.shown) - 1)]
            self.post_message(self.Selected(self, self._selected))
        self._changed()

    def set_filter(self, text: str) -> None:
        """Show only the cards whose name contains ``text`` or whose status words (see
        :func:`~bassi_tui.ui.card.status_words`) start with it; case-insensitive."""
        if text == self._filter:
            return
        self._filter = text
        matching = self._matching(keep=None)
        self._visible = None
        if self._selected not in set(matching):
            self._select(matching[0] if matching else None)
        self._changed()
        self.call_after_refresh(self._scroll_to_selected)

    def cycle_order(self) -> str:
        """Order the cards the next way of ``ORDERS``; returns its name. The selection stays."""
        self._order = (self._order + 1) % len(ORDERS)
        self._visible = None
        self._changed()
        self.call_after_refresh(self._scroll_to_selected)
        return self.order

    def select(self, name: str) -> None:
        """Select the card of ``name`` (clearing a filter that hides it)."""
        if name not in self._views:
            return
        if name not in set(self._matching(keep=None)):
            self.set_filter("")
        self._select(name)

    def _ordered(self) -> list[str]:
        order = self.order
        if order == "name":
            return self._names
        views = self._views
        if order == "next run":
            return sorted(self._names, key=lambda n: _next_run_key(views[n]))
        return sorted(self._names, key=lambda n: failure_rank(views[n]))  # stable: then by name

    def _matching(self, keep: str | None) -> list[str]:
        names = self._ordered()
        needle = self._filter.lower()
        if not needle:
            return names
        views = self._views

        def matches(name: str) -> bool:
            if needle in name.lower() or name == keep:
                return True
            return any(word.startswith(needle) for word in status_words(views[name]))

        return [n for n in names if matches(n)]

    def _changed(self) -> None:
        if self._selected is None and self.shown:
            self._select(self.shown[0])
        if self._filter and self._visible is None:
            # Which cards match is worked out once for many updates (a busy tasks dir): the
            # size follows on the next turn, the cards when they are drawn.
            if not self._size_pending:
                self._size_pending = True
                self.call_later(self._update_size)
            self.refresh()
        else:
            self._update_size()

    def _update_size(self) -> None:
        self._size_pending = False
        self._compact_now = self._wants_compact()
        width = self.scrollable_content_region.width
        # A new order alone keeps the count: no sorting for it here.
        shown = len(self.shown) if self._filter else len(self._names)
        height = shown * self._pitch if shown else len(self._empty_lines(width)) + 1
        self.virtual_size = Size(width, height)
        self.refresh()

    def _wants_compact(self) -> bool:
        if self.compact is not None:
            return self.compact
        height = self.scrollable_content_region.height
        return 0 < height < COMPACT_BELOW

    @property
    def _pitch(self) -> int:
        return COMPACT_HEIGHT if self._compact_now else CARD_HEIGHT

    @property
    def _lines(self) -> int:
        return COMPACT_LINES if self._compact_now else CARD_LINES

    def _index(self, name: str | None) -> int | None:
        if name is None:
            return None
        shown = self.shown
        if self._positions is None:
            self._positions = {n: i for i, n in enumerate(shown)}
        return self._positions.get(name)

    def _select(self, name: str | None) -> None:
        if name == self._selected:
            return
        self._selected = name
        if self._filter:  # a card kept only because it was selected goes now
            self._visible = None
            self._update_size()
        self.post_message(self.Selected(self, name))
        self._scroll_to_selected()
        # Again once laid out: a virtual size set in this same turn limits the scroll until then.
        self.call_after_refresh(self._scroll_to_selected)
        self.refresh()

    def _scroll_to_selected(self) -> None:
        index = self._index(self._selected)
        if index is None:
            return
        pitch = self._pitch
        top, bottom = index * pitch, index * pitch + self._lines
        height = self.scrollable_content_region.height
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False)
        elif bottom > self.scroll_y + height:
            # Down to a card's first line (never below the selected one's): no card is shown
            # cut at the top.
            down_to = min(top, -(-(bottom - height) // pitch) * pitch)
            self.scroll_to(y=down_to, animate=False)

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
        per_page = max(1, self.scrollable_content_region.height // self._pitch)
        self.action_move(direction * per_page)

    def action_edge(self, end: int) -> None:
        """Select the first (0) or last (1) card."""
        if self.shown:
            self._select(self.shown[-1 if end else 0])

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = (offset.y + int(self.scroll_y)) // self._pitch
        if 0 <= index < len(self.shown):
            self._select(self.shown[index])

    # -- drawing ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # One timer for every countdown: repaints only the lines whose text changed.
        self.set_interval(1.0, self._tick, name="countdowns")

    def _card(self, name: str, now: datetime, width: int) -> tuple[CardLine, ...]:
        return card_lines(self._views[name], now, width, compact=self._compact_now)

    def _tick(self) -> None:
        """Repaint the on-screen card lines whose text differs from what was drawn."""
        names = self.shown
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height
        width = self.scrollable_content_region.width - 2
        now = self.clock()
        pitch = self._pitch
        drawn, self._drawn = self._drawn, {}
        first, last = top // pitch, min(len(names), (top + height) // pitch + 1)
        for index in range(first, last):
            name = names[index]
            for n, card in enumerate(self._card(name, now, width)):
                row = index * pitch + n
                shown = drawn.get(row)
                if shown is None:
                    continue  # not drawn yet: a pending refresh will draw it
                self._drawn[row] = shown
                if shown != (name, card):
                    self.refresh_line(row)

    def on_resize(self) -> None:
        self._changed()
        self.call_after_refresh(self._scroll_to_selected)

    def _empty_lines(self, width: int) -> list[str]:
        if self._filter:
            left, right = fmt.glyphs().quotes
            text = f"No task matches {left}{self._filter}{right} by name or status."
        else:
            text = self.empty_text
        room = max(8, width - 2)
        lines: list[str] = []
        for line in text.splitlines() or [""]:
            indent = line[: len(line) - len(line.lstrip(" "))]
            wrapped = textwrap.wrap(line, room, subsequent_indent=indent + "  ")
            lines += [fmt.cut(part, room) for part in wrapped] or [""]
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = int(self.scroll_y) + y
        names = self.shown
        if not names:
            lines = self._empty_lines(width)
            if 1 <= row <= len(lines):
                style = base + ink(self, "task-list--empty")
                return Strip([Segment("  " + lines[row - 1], style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        index, line = divmod(row, self._pitch)
        if index >= len(names) or line >= self._lines:
            return Strip.blank(width, base)
        view = self._views[names[index]]
        selected = names[index] == self._selected
        if selected:
            base = base + self.get_component_rich_style("task-list--cursor")
        card = self._card(names[index], self.clock(), width - 2)[line]
        self._drawn[row] = (names[index], card)
        tone = fmt.status_tone(card_state(view))
        # The selected card's bar is thick, the others' thin: shape, not only colour.
        glyphs = fmt.glyphs()
        if selected:
            bar = glyphs.bar_selected if line == 0 else glyphs.bar_selected_rest
        else:
            bar = glyphs.bar
        segments = [Segment(bar + " ", base + self._tone(tone))]
        segments += [
            Segment(text, base + self._tone(tone)) for text, tone in fit_line(card, width - 2)
        ]
        return Strip(segments).crop_extend(0, width, base)

    def _tone(self, tone: str) -> Style:
        # Only the tone's foreground, so the cursor's background shows through.
        return ink(self, f"task-list--{tone}")
