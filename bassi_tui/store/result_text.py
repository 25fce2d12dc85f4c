"""Read a result's output file for display, however big: lines on demand, never all at once.

Small files (up to ``IN_MEMORY_LIMIT``) are read and split once. Bigger ones are indexed: one
pass records where every line starts, and a line is read (``os.pread``) only when a viewer asks
for it, through a small LRU cache. Indexing runs in C-level passes over 1 MB chunks (the GIL is
free between them) and can be progressive: ``open_result_text(..., first_bytes=...)`` returns
after the first part, and :meth:`ResultText.index_more` indexes the rest, chunk by chunk, while
the lines already indexed can be read. Very long lines are cut at ``LINE_CUT`` characters so one
50 MB line can never stall a viewer. Opening is blocking I/O: call :func:`open_result_text` from
a thread; reading lines afterwards is cheap enough for the UI thread.

Nothing here knows about terminals: callers sanitise the text before showing it.
"""

from __future__ import annotations

import operator
import os
from array import array
from collections import OrderedDict
from itertools import accumulate, repeat
from pathlib import Path
from typing import BinaryIO

IN_MEMORY_LIMIT = 2 * 1024 * 1024
LINE_CUT = 10_000
CHUNK = 1024 * 1024
CACHE_LINES = 4096
#: How much a progressive open indexes before it returns (the first screens and then some).
FIRST_INDEX = 1024 * 1024


def _cut(line: str) -> str:
    return line if len(line) <= LINE_CUT else line[:LINE_CUT] + " …"


class ResultText:
    """The lines of one output file as of when it was opened (a file still growing is not followed).

    ``wrappable`` says the text is small enough to be re-wrapped on every resize.
    """

    def __init__(
        self,
        path: Path,
        size: int,
        *,
        lines: list[str] | None = None,
        offsets: array[int] | None = None,
    ) -> None:
        self.path = path
        self.size = size
        self._lines = lines
        self._offsets = offsets if offsets is not None else array("q", [0])
        self._fd: int | None = None
        self._cache: OrderedDict[int, str] = OrderedDict()
        #: Bytes indexed so far (``size`` once complete); lines past it are not counted yet.
        self.indexed = size
        self.max_width = 0
        if lines is not None:
            self.max_width = max(map(len, lines), default=0)
        else:
            self._widen(0)

    @property
    def complete(self) -> bool:
        """True once every line is counted (always, unless opened progressively)."""
        return self.indexed >= self.size

    def _widen(self, first: int) -> None:
        offsets = self._offsets
        if len(offsets) - first > 1:
            # Line lengths as differences of neighbouring offsets, all in C.
            widest = max(map(operator.sub, offsets[first + 1 :], offsets[first:]))
            self.max_width = max(self.max_width, min(widest, LINE_CUT + 2))

    def index_more(self, budget: int = 8 * CHUNK) -> bool:
        """Index about ``budget`` more bytes (blocking: call from a thread); True when complete.

        The lines already counted stay readable meanwhile: offsets are only appended.
        """
        if self.complete:
            return True
        first = len(self._offsets) - 1
        end = min(self.size, self.indexed + budget)
        with self.path.open("rb") as handle:
            handle.seek(self.indexed)
            _index_into(self._offsets, handle, self.indexed, end)
        if end >= self.size and self._offsets[-1] != self.size:
            self._offsets.append(self.size)  # the last line has no newline
        self._widen(first)
        self.indexed = end
        return self.complete

    @property
    def wrappable(self) -> bool:
        """True when the whole text is in memory (small enough to wrap)."""
        return self._lines is not None

    @property
    def line_count(self) -> int:
        """How many lines (a last line without a newline counts)."""
        if self._lines is not None:
            return len(self._lines)
        return len(self._offsets) - 1

    def line(self, index: int) -> str:
        """Line ``index`` (0-based) without its line ending; cut when very long."""
        if self._lines is not None:
            return self._lines[index]
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        start, end = self._offsets[index], self._offsets[index + 1]
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        # Read a little more than LINE_CUT characters' worth of UTF-8 at most, never the line.
        length = min(end - start, LINE_CUT * 4)
        raw = os.pread(self._fd, length, start)
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        text = _cut(text) if end - start > LINE_CUT else text
        self._cache[index] = text
        if len(self._cache) > CACHE_LINES:
            self._cache.popitem(last=False)
        return text

    def close(self) -> None:
        """Release the file handle (lines can no longer be read from a big file)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def _split(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start another
    return [_cut(line.rstrip("\r")) for line in lines]


def _index_into(offsets: array[int], handle: BinaryIO, pos: int, end: int) -> None:
    """Append the offset after every newline in bytes ``pos`` to ``end`` of ``handle``."""
    while pos < end:
        chunk = handle.read(min(CHUNK, end - pos))
        if not chunk:
            break
        parts = chunk.split(b"\n")
        parts.pop()  # what follows the chunk's last newline (or the whole chunk: none)
        # Each line's end is the running sum of (length + 1), from pos: C-level throughout.
        ends = accumulate(map(operator.add, map(len, parts), repeat(1)), initial=pos)
        next(ends)
        offsets.extend(ends)
        pos += len(chunk)


def open_result_text(
    path: Path, *, in_memory_limit: int = IN_MEMORY_LIMIT, first_bytes: int | None = None
) -> ResultText:
    """Open an output file for display (blocking: run it in a thread worker).

    With ``first_bytes``, a big file is indexed only that far (and at least to its first line):
    call :meth:`ResultText.index_more` until it is ``complete``. Raises OSError when the file
    cannot be read.
    """
    size = path.stat().st_size
    if size <= in_memory_limit:
        with path.open("rb") as handle:
            data = handle.read(size)
        return ResultText(path, len(data), lines=_split(data.decode("utf-8", errors="replace")))
    text = ResultText(path, size)
    text.indexed = 0
    text.index_more(size if first_bytes is None else first_bytes)
    while text.line_count == 0 and not text.index_more():
        pass
    return text
