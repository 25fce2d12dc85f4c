"""SearchablePager: a Pager that searches its text, as less does with ``/``, ``n`` and ``N``.

``/`` asks for a query on the view's last row (:class:`~bassi_tui.ui.search.SearchPrompt`);
Enter searches. The lines are searched by a thread worker (:func:`~bassi_tui.ui.search.
find_matches`), which posts ``SearchProgressed`` and ``SearchFinished`` back: a 50 MB result is
searched without blocking the event loop, and its progress shows in the status row. The view
then goes to the first match at or after its top line (wrapping to the first of all); ``n`` and
``N`` step on (wrapping too, as vim does); the status row says "3 of 17" or "no match". Matches
on screen are highlighted (the current one apart) as soon as the query is in: each line's
matches are found again when it is drawn, which costs a few lines' worth per frame.

A text that grew since the search shows "17+"; ``n`` then searches it all again first. Esc
clears the search; with none, Esc falls through to the app (back to the cards).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import on
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.worker import get_current_worker

from bassi_tui.ui.pager import Pager
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.search import (
    LineSource,
    Matches,
    Position,
    SearchPrompt,
    compile_query,
    find_matches,
    match_starts,
    rank,
    step,
)

#: Rows kept above a match the view scrolls to, so it is read in its context.
CONTEXT_ROWS = 2
#: At most this often a running search tells how far it got (seconds).
PROGRESS_INTERVAL = 0.2
#: A query is shown in the status row up to this many characters.
QUERY_SHOWN = 24


def search_bindings(scope: str) -> list[BindingType]:
    """The keys of less for searching; ``scope`` prefixes their ids (``text``, ``log``)."""
    return [
        Binding(
            "slash",
            "search",
            "Search",
            id=f"{scope}.search",
            tooltip="Search (Enter finds, Esc closes)",
        ),
        Binding(
            "n",
            "search_step(1)",
            "Next match",
            show=False,
            id=f"{scope}.next",
            tooltip="Next match",
        ),
        Binding(
            "N",
            "search_step(-1)",
            "Previous match",
            show=False,
            id=f"{scope}.previous",
            tooltip="Previous match",
        ),
        Binding(
            "escape",
            "clear_search",
            "Clear search",
            show=False,
            id=f"{scope}.clear",
            tooltip="Clear the search",
        ),
    ]


class SearchablePager(Pager):
    """A Pager with search; see the module docstring. Subclasses say where lines are."""

    DEFAULT_CSS = """
    SearchablePager {
        & > .pager--match { background: $warning 45%; }
        & > .pager--current { background: $accent; color: $text; text-style: bold; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"pager--match", "pager--current"}

    class SearchFinished(Message, bubble=False):
        """A search worker is done: the matches, or None and why (``error``)."""

        def __init__(self, token: int, matches: Matches | None, error: str = "") -> None:
            super().__init__()
            self.token = token
            self.matches = matches
            self.error = error

    class SearchProgressed(Message, bubble=False):
        """A search worker got through ``share`` (0 to 1) of the lines."""

        def __init__(self, token: int, share: float) -> None:
            super().__init__()
            self.token = token
            self.share = share

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: The last query typed; kept when the text changes, so ``n`` finds it again (as less).
        self.query_text = ""
        self._pattern: re.Pattern[str] | None = None
        self._matches: Matches | None = None
        self._current: Position | None = None
        self._wrapped = False
        self._searching: float | None = None  # the share done while a search runs
        self._search_error = ""
        self._search_token = 0
        self._then: tuple[bool, int, bool] = (True, 0, False)  # forward, top line, from current
        self._spans: LRUCache[int, tuple[str, list[tuple[int, int]]]] = LRUCache(1024)

    # -- what a subclass provides (besides the Pager's) ---------------------------------------

    def line_text(self, key: int) -> str | None:
        """Line ``key`` as drawn (None when it is gone); called on the event loop."""
        raise NotImplementedError

    def row_of(self, key: int, start: int) -> tuple[int, int | None] | None:
        """The row showing column ``start`` of line ``key``, and the cell to scroll sideways to
        (None when the text is wrapped); None when the line is not laid out."""
        raise NotImplementedError

    def search_source(self) -> Callable[[], LineSource]:
        """What a search worker calls, in its thread, to get the lines to search."""
        raise NotImplementedError

    # -- drawing ------------------------------------------------------------------------------

    def marked(self, key: int, text: str, lo: int, hi: int, style: Style) -> list[Segment]:
        """Segments for ``text[lo:hi]`` of line ``key``, its matches highlighted."""
        spans = self._spans_of(key, text) if self._pattern is not None else []
        if not spans:
            return [Segment(text[lo:hi], style)]
        match = style + self.get_component_rich_style("pager--match")
        current = style + self.get_component_rich_style("pager--current")
        segments, pos = [], lo
        for start, end in spans:
            if end <= lo:
                continue
            if start >= hi:
                break
            if start > pos:
                segments.append(Segment(text[pos:start], style))
            is_current = self._current == (key, start)
            piece = text[max(start, lo) : min(end, hi)]
            segments.append(Segment(piece, current if is_current else match))
            pos = min(end, hi)
        if pos < hi:
            segments.append(Segment(text[pos:hi], style))
        return segments

    # -- search -------------------------------------------------------------------------------

    def action_search(self) -> None:
        """Ask for a query on the view's last row, then search for it."""
        region = self.scrollable_content_region
        row = Region(region.x, max(region.y, region.bottom - 1), region.width, 1)
        self.app.push_screen(SearchPrompt(row, self.query_text), self._prompted)

    def _prompted(self, query: str | None) -> None:
        if query:
            self.search(query)

    def search(self, query: str) -> None:
        """Find ``query`` (literal, smart case), then go to its first match at or after the
        top line (wrapping to the first of all)."""
        self.clear_search()
        self.query_text = query
        self._pattern = compile_query(query)
        if self._pattern is not None:
            self._run_search((True, self.top_line(), False))

    def action_search_step(self, delta: int) -> None:
        """Go to the next (``delta`` 1) or previous (-1) match."""
        forward = delta > 0
        if self._pattern is None:
            if not self.query_text:
                self.notify("Nothing to find yet: press / to search.", timeout=3)
                return
            self.search(self.query_text)  # the text changed since: search it again
            return
        if self._searching is not None:
            self._then = (forward, self._then[1], self._then[2])
            return
        current = self._current if self._current and self._on_screen(self._current) else None
        if self._matches is None or self.line_end() > self._matches.searched:
            # More text came since the search: search it all again, then step.
            self._run_search((forward, self.top_line(), current is not None))
            return
        self._go(step(self._matches, self._starts_of, current, self.top_line(), forward))

    @property
    def searching(self) -> bool:
        """True while a search is on: running, failed, or its matches highlighted."""
        return self._pattern is not None or self._searching is not None or bool(self._search_error)

    def action_clear_search(self) -> None:
        """Clear the search; with none, Esc does what it does elsewhere (back to the cards)."""
        if not self.searching:
            raise SkipAction()
        self.clear_search()

    def clear_search(self) -> None:
        """Forget the search (the query stays for ``n`` and the next ``/``)."""
        if not self.searching:
            return
        self._search_token += 1  # a running search's result is dropped
        self.workers.cancel_group(self, "search")
        self._pattern, self._matches, self._current = None, None, None
        self._searching, self._search_error, self._wrapped = None, "", False
        self._spans.clear()
        self._status_changed()

    def _run_search(self, then: tuple[bool, int, bool]) -> None:
        assert self._pattern is not None
        self._search_token += 1
        self._then = then
        self._searching, self._search_error = 0.0, ""
        self._spans.clear()
        self.run_worker(
            partial(self._find, self._search_token, self.search_source(), self._pattern),
            thread=True,
            exclusive=True,
            group="search",
            description=f"search the text for {self.query_text!r}",
            exit_on_error=False,
        )
        self._status_changed()

    def _find(
        self, token: int, open_source: Callable[[], LineSource], pattern: re.Pattern[str]
    ) -> None:
        """The search, in a thread worker: posts ``SearchProgressed`` and ``SearchFinished``."""
        worker = get_current_worker()
        told = time.monotonic()

        def progress(share: float) -> None:
            nonlocal told
            if time.monotonic() - told >= PROGRESS_INTERVAL:
                told = time.monotonic()
                self.post_message(self.SearchProgressed(token, share))

        try:
            source = open_source()
            try:
                matches = find_matches(source, pattern, lambda: worker.is_cancelled, progress)
            finally:
                source.close()
        except Exception as exc:  # a failed search is said in the status row, never a crash
            self.post_message(self.SearchFinished(token, None, str(exc) or type(exc).__name__))
            return
        if matches is not None:
            self.post_message(self.SearchFinished(token, matches))

    @on(SearchProgressed)
    def _on_search_progressed(self, event: SearchProgressed) -> None:
        if event.token == self._search_token and self._searching is not None:
            self._searching = event.share
            self._status_changed()

    @on(SearchFinished)
    def _on_search_finished(self, event: SearchFinished) -> None:
        if event.token != self._search_token:
            return
        self._searching = None
        if event.matches is None:
            self._search_error = event.error
            self._status_changed()
            return
        self._matches = event.matches
        forward, top, from_current = self._then
        current = self._current if from_current else None
        self._go(step(self._matches, self._starts_of, current, top, forward))

    def _go(self, found: tuple[Position, bool] | None) -> None:
        """Make ``found`` the current match and scroll it into view."""
        if found is not None:
            self._current, self._wrapped = found
            self._scroll_to_match(self._current)
        self._status_changed()

    def _scroll_to_match(self, position: Position) -> None:
        where = self.row_of(*position)
        if where is None:
            return
        row, column = where
        y = None if self._row_on_screen(row) else max(0, row - CONTEXT_ROWS)
        x = None
        width = self.scrollable_content_region.width
        if column is not None and not self.scroll_offset.x <= column < self.scroll_offset.x + width:
            x = max(0, column - width // 4)
        self.scroll_to(x=x, y=y, animate=False)

    def _row_on_screen(self, row: int) -> bool:
        return self.scroll_offset.y <= row < self.scroll_offset.y + self.text_height

    def _on_screen(self, position: Position) -> bool:
        where = self.row_of(*position)
        return where is not None and self._row_on_screen(where[0])

    def _spans_of(self, key: int, text: str) -> list[tuple[int, int]]:
        cached = self._spans.get(key)
        if cached is not None and cached[0] == text:
            return cached[1]
        spans = match_starts(self._pattern, text) if self._pattern is not None else []
        self._spans.set(key, (text, spans))
        return spans

    def _starts_of(self, key: int) -> list[int]:
        text = self.line_text(key)
        return [] if text is None else [start for start, _ in self._spans_of(key, text)]

    # -- the status row -----------------------------------------------------------------------

    def status_parts(self) -> list[tuple[str, str]]:
        """What the status row says, as (text, component class) pieces; empty: no status row."""
        parts: list[tuple[str, str]] = []
        plain, key, warn = "pager--status", "pager--status-key", "pager--status-warning"
        query = one_line(self.query_text)
        if len(query) > QUERY_SHOWN:
            query = query[: QUERY_SHOWN - 1] + "…"
        hints: list[tuple[str, str]] = []
        if self._searching is not None:
            parts.append((f"searching for “{query}”… {self._searching:.0%}", plain))
        elif self._search_error:
            parts.append((f"search failed: {one_line(self._search_error)}", warn))
        elif self._pattern is not None and self._matches is not None:
            matches = self._matches
            more = "+" if self.line_end() > matches.searched else ""
            if not matches.total:
                parts.append((f"no match for “{query}”{more}", warn))
            else:
                nth = rank(matches, self._starts_of, self._current) if self._current else 0
                count = f"{nth:,} of {matches.total:,}{more}" if nth else f"{matches.total:,}"
                parts.append((f"“{query}” {count}", key))
                if self._wrapped:
                    parts.append((" (wrapped)", plain))
            hints = [(" · ", plain), ("n", key), (" next  ", plain), ("N", key)]
            hints += [(" previous  ", plain), ("Esc", key), (" clears", plain)]
        if following := super().status_parts():
            parts += [(" · ", plain), *following] if parts else following
        # The keys last: on a narrow pane they are what is cut off (the help lists them too).
        return parts + hints
