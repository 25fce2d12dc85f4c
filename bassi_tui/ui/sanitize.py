"""Make untrusted text inert before it reaches the terminal.

Model output, error messages and even folder names are data, never instructions to the
terminal: escape sequences (CSI such as ``ESC[31m``, OSC such as hyperlinks and window titles,
DCS/SOS/PM/APC strings, two-byte ESC sequences, and their 8-bit C1 forms) are removed whole, and
every remaining C0 control except ``\\n`` and ``\\t``, DEL and every C1 control is dropped.
Markup such as ``[bold]`` is left alone: the UI never parses markup in such text.
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]?                          # CSI ... final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|\Z)  # OSC/DCS/SOS/PM/APC
    | \x1b [ -/]* [0-~]                                             # other ESC sequences
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (``\\n``, ``\\t`` kept)."""
    if not _CONTROL.search(text):
        return text  # the common case: nothing to do, no copy
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def one_line(text: str) -> str:
    """Inert text on one line: newlines and tabs become spaces (for cards and headers)."""
    return strip_control(text).replace("\n", " ").replace("\t", " ")
