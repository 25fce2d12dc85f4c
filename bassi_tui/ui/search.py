"""Search in a pager, as in less: a literal query, its matches found off the event loop, a prompt.

The pieces a :class:`~bassi_tui.ui.pager.Pager` puts together:

- :func:`compile_query` turns what was typed into a pattern: the text literally (a dot is a dot:
  people paste paths and error messages), in smart case (case matters only when the query has a
  capital letter, as ``less -i`` and vim's ``smartcase``).
- :func:`find_matches` runs in a thread worker over a :class:`LineSource` and gives
  :class:`Matches`: which lines match and how many matches come before each, not where every
  match is. A query like ``e`` can match millions of times in 50 MB; a line's own match
  positions are found again, for the few lines on screen or stepped to, by :func:`match_starts`.
- :func:`step` finds the next or previous match (wrapping around the ends, as vim does).
- :class:`SearchPrompt` is the one-line input, drawn over the pane's last row (where less
  prompts): Enter searches, Esc closes.

Nothing here blocks the event loop: only :func:`find_matches` visits every line, from a thread.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Input, Static

#: Lines searched between two looks at whether the search was cancelled (and progress told).
CHECK_EVERY = 4096

#: A match: (the key of its line, where it starts in the line's text).
Position = tuple[int, int]


def compile_query(text: str) -> re.Pattern[str] | None:
    """The pattern for a typed query: literal, smart case; None when there is nothing to find."""
    if not text:
        return None
    flags = 0 if any(char.isupper() for char in text) else re.IGNORECASE
    return re.compile(re.escape(text), flags)


def match_starts(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Where ``pattern`` matches in ``text``: (start, end) of each match, left to right."""
    return [match.span() for match in pattern.finditer(text)]


@dataclass
class LineSource:
    """Lines a search may read from a worker thread: those with keys ``first`` to ``stop - 1``.

    A key is a line's index in a document, or a log line's sequence number. ``line_at`` must be
    safe to call from a thread (a private reader, or a snapshot); ``close`` releases it.
    """

    line_at: Callable[[int], str]
    first: int
    stop: int
    close: Callable[[], None] = lambda: None


@dataclass
class Matches:
    """Where a pattern matched: the keys of the lines with a match (ascending), how many matches
    come before each of those lines, the total, and the key after the last line searched."""

    lines: array[int] = field(default_factory=lambda: array("q"))
    before: array[int] = field(default_factory=lambda: array("q"))
    total: int = 0
    searched: int = 0

    def add(self, key: int, count: int) -> None:
        """Line ``key`` (after every line added so far) has ``count`` matches."""
        self.lines.append(key)
        self.before.append(self.total)
        self.total += count

    def ordinal(self, key: int, nth: int) -> int:
        """Which match the ``nth`` (from 0) of line ``key`` is, counting from 1 (0: none)."""
        index = bisect_left(self.lines, key)
        if index == len(self.lines) or self.lines[index] != key:
            return 0
        return self.before[index] + 1 + nth


def find_matches(
    source: LineSource,
    pattern: re.Pattern[str],
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[float], None] | None = None,
) -> Matches | None:
    """Every line of ``source`` with a match (blocking: call it from a thread worker).

    None when ``cancelled()`` turned true on the way; ``progress`` hears the share done.
    """
    matches = Matches(searched=source.stop)
    search, findall, line_at = pattern.search, pattern.findall, source.line_at
    span = max(1, source.stop - source.first)
    for chunk in range(source.first, source.stop, CHECK_EVERY):
        if cancelled():
            return None
        if progress is not None and chunk != source.first:
            progress((chunk - source.first) / span)
        for key in range(chunk, min(chunk + CHECK_EVERY, source.stop)):
            text = line_at(key)
            if search(text) is not None:  # most lines do not match: one C-level look each
                matches.add(key, len(findall(text)))
    return matches


def step(
    matches: Matches,
    starts_of: Callable[[int], list[int]],
    current: Position | None,
    top: int,
    forward: bool,
) -> tuple[Position, bool] | None:
    """The match after (``forward``) or before ``current``, or, with no current match, the first
    at or after line ``top`` (the last before it going back); and whether the search wrapped
    around an end of the text. None when nothing matched.

    ``starts_of(key)`` gives where the matches of line ``key`` start, found again on demand.
    """
    lines = matches.lines
    if not lines:
        return None
    if current is None:
        index = bisect_left(lines, top) if forward else bisect_left(lines, top) - 1
        starts: list[int] = []
    else:
        key, at = current
        starts = starts_of(key) if _has(lines, key) else []
        later = [s for s in starts if s > at] if forward else [s for s in starts if s < at]
        if later:
            return (key, later[0] if forward else later[-1]), False
        index = bisect_right(lines, key) if forward else bisect_left(lines, key) - 1
    wrapped = not 0 <= index < len(lines)
    if wrapped:
        index = 0 if forward else len(lines) - 1
    key = lines[index]
    starts = starts_of(key) or [0]  # a line that changed since the search: its start
    return (key, starts[0] if forward else starts[-1]), wrapped


def rank(matches: Matches, starts_of: Callable[[int], list[int]], position: Position) -> int:
    """Which match ``position`` is, counting from 1 through the whole text."""
    key, start = position
    starts = starts_of(key)
    nth = starts.index(start) if start in starts else 0
    return matches.ordinal(key, nth)


def _has(lines: array[int], key: int) -> bool:
    index = bisect_left(lines, key)
    return index < len(lines) and lines[index] == key


class SearchPrompt(ModalScreen[str | None]):
    """``/`` and an input, drawn over one row of the screen (the pane's last row).

    Dismissed with the query on Enter (the last query, shown selected, is kept by Enter and
    replaced by typing), with None on Esc. The screen is see-through: the text stays readable.
    """

    DEFAULT_CSS = """
    SearchPrompt {
        background: transparent;
        & > #search-bar {
            height: 1;
            background: $panel;
            & > #search-slash { width: 2; padding-left: 1; color: $text-accent; text-style: bold; }
            & > Input {
                width: 1fr;
                height: 1;
                border: none;
                padding: 0 1 0 0;
                background: $panel;
                &:focus { border: none; background-tint: $primary 10%; }
            }
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close search", id="search.close", tooltip="Close the search"),
    ]

    def __init__(self, row: Region, query: str = "") -> None:
        super().__init__()
        self.row = row
        self.query_text = query

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield Static("/", id="search-slash", markup=False)
            yield Input(
                self.query_text,
                placeholder="search (Enter finds, Esc closes)",
                select_on_focus=True,
                id="search-input",
            )

    def on_mount(self) -> None:
        bar = self.query_one("#search-bar")
        bar.styles.offset = (self.row.x, self.row.y)
        bar.styles.width = self.row.width

    @on(Input.Submitted)
    def _on_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_close(self) -> None:
        """Close the prompt without searching."""
        self.dismiss(None)
