"""Make text from task folders inert before it reaches a log or a terminal, visibly.

A task folder's name is whatever the file system allows: a newline, ``ESC ] 0 ; title BEL``
(retitles the terminal), ``ESC [ 2 J`` (clears it), ``ESC ] 52`` (writes the clipboard). Printed
raw, such a name forges log lines and drives the terminal of whoever reads the log or runs
``bassi-tui check``. Here such characters are *escaped*, not dropped, so the reader still sees
that the name is odd and can find the folder: ``evil\\x1b]0;x\\x07\\nFAKE`` stays on one line.

Escaped: every C0 control (newline and tab too, in :func:`inert`), DEL, every C1 control
(``\\x80``-``\\x9f``, which some terminals obey like ESC sequences), the Unicode line and
paragraph separators (U+2028, U+2029: line breaks to many log viewers), and lone surrogates
(file names that are not UTF-8 come from ``os.listdir`` as ``\\udcXX``; they are shown as the
byte ``\\xXX`` instead of making ``print`` raise). Backslashes are left alone, for readability.

This is the domain's one escaping function: the logging formatter (scheduler.logbridge) and the
command-line messages (commands) use it; the UI has its own, which removes sequences instead.
"""

from __future__ import annotations

__all__ = ["inert", "inert_output"]

_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte of a non-UTF-8 name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_UNSAFE = (
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x2028,
    0x2029,
    *range(0xD800, 0xE000),
)
_ALL: dict[int, str] = {code: _escape(code) for code in _UNSAFE}
_KEEP_LINES: dict[int, str] = {c: e for c, e in _ALL.items() if c not in (0x09, 0x0A)}


def inert(text: str) -> str:
    """``text`` on one line with every control character escaped visibly (``\\n``, ``\\x1b``).

    For names and log messages: nothing in them can start a line or reach the terminal.
    """
    if text.isprintable():  # the common case (no control, no separator, no surrogate): as is
        return text
    return text.translate(_ALL)


def inert_output(text: str) -> str:
    """Like :func:`inert`, but newlines and tabs are kept: for a model's output on a terminal.

    Each character is escaped on its own, so text streamed in chunks gives the same result
    however the chunks split an escape sequence.
    """
    return text.translate(_KEEP_LINES)
