"""Read a result's output file for display, however big: lines on demand, never all at once.

Small files (up to ``IN_MEMORY_LIMIT``) are read and split once. Bigger ones are indexed: one
pass records where every line starts, and a line is read (``os.pread``) only when a viewer asks
for it, through a small LRU cache. Very long lines are cut at ``LINE_CUT`` characters so one
50 MB line can never stall a viewer. Opening is blocking I/O: call :func:`open_result_text` from
a thread; reading lines afterwards is cheap enough for the UI thread.

Nothing here knows about terminals: callers sanitise the text before showing it.
"""

from __future__ import annotations

import os
from array import array
from collections import OrderedDict
from pathlib import Path

IN_MEMORY_LIMIT = 2 * 1024 * 1024
LINE_CUT = 10_000
CHUNK = 1024 * 1024
CACHE_LINES = 4096


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
        if lines is not None:
            self.max_width = max((len(line) for line in lines), default=0)
        else:
            widths = (b - a for a, b in zip(self._offsets, self._offsets[1:], strict=False))
            self.max_width = min(max(widths, default=0), LINE_CUT + 2)

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


def _index(path: Path, size: int) -> array[int]:
    offsets = array("q", [0])
    pos = 0
    with path.open("rb") as handle:
        while pos < size:
            chunk = handle.read(min(CHUNK, size - pos))
            if not chunk:
                break
            start = 0
            while (hit := chunk.find(b"\n", start)) != -1:
                offsets.append(pos + hit + 1)
                start = hit + 1
            pos += len(chunk)
    if offsets[-1] != pos:
        offsets.append(pos)  # the last line has no newline
    return offsets


def open_result_text(path: Path, *, in_memory_limit: int = IN_MEMORY_LIMIT) -> ResultText:
    """Open an output file for display (blocking: run it in a thread worker).

    Raises OSError when the file cannot be read.
    """
    size = path.stat().st_size
    if size <= in_memory_limit:
        with path.open("rb") as handle:
            data = handle.read(size)
        return ResultText(path, len(data), lines=_split(data.decode("utf-8", errors="replace")))
    return ResultText(path, size, offsets=_index(path, size))
