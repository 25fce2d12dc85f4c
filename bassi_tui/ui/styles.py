"""Theme styles for Line API widgets (a component's colour and text style, minus its background),
and what the terminal can show: UTF-8 or ASCII only, and 16 colours or more (:class:`Look`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter
from textual.widget import Widget


def ink(widget: Widget, component: str) -> Style:
    """The foreground of ``component`` (theme colours resolved and blended), with no background.

    Dropping the background lets a cursor row's background show through coloured text; the
    ``partial`` styles Textual offers would keep a colour's alpha unblended (muted text turns
    bright white on some terminals).
    """
    full = widget.get_component_rich_style(component)
    return Style(
        color=full.color,
        bold=full.bold,
        dim=full.dim,
        italic=full.italic,
        underline=full.underline,
        strike=full.strike,
        reverse=full.reverse,
    )


# -- what the terminal can show -----------------------------------------------------------------

#: Python turns a C locale into this LC_CTYPE at start (PEP 538): not the user's choice.
COERCED_CTYPES = frozenset({"C.UTF-8", "C.utf8", "UTF-8"})


def utf8_locale(environ: Mapping[str, str], initial: Mapping[str, str] | None = None) -> bool:
    """Whether the locale says UTF-8: the first of ``LC_ALL``, ``LC_CTYPE``, ``LANG`` that is set.

    ``initial`` is the environment the process started with (``/proc/self/environ``): when the
    ``LC_CTYPE`` of ``environ`` is not in it, Python coerced a C locale (``LANG=C``, or no locale
    at all, as over an SSH that sends none) and the terminal was never said to take UTF-8.
    """
    for key in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(key, "")
        coerced = key == "LC_CTYPE" and initial is not None and key not in initial
        if coerced and value in COERCED_CTYPES:
            continue
        if value:
            name = value.lower().replace("-", "")
            return "utf8" in name
    return False


def initial_environ() -> Mapping[str, str] | None:
    """The environment this process started with (Linux), or None where it cannot be read."""
    try:
        raw = Path("/proc/self/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


@dataclass(frozen=True, slots=True)
class Look:
    """How to draw for this terminal: ASCII only (no UTF-8 locale) and ANSI colours (16)."""

    ascii: bool = False
    #: Only 16 colours: statuses use the terminal's own red, green, yellow and cyan, as theme
    #: colours brought down to 16 fall together (success and error both grey in textual-dark).
    ansi16: bool = False


def detect_look(color_system: str | None) -> Look:
    """The look for this process's terminal: its locale and Rich's colour system for it
    (``standard`` is 16 colours: ``TERM=xterm``, or ``TEXTUAL_COLOR_SYSTEM=standard``)."""
    return Look(
        ascii=not utf8_locale(os.environ, initial_environ()),
        ansi16=color_system == "standard",
    )


#: ASCII stand-ins, one cell each, for what Textual and the panes draw beyond ASCII.
ASCII_STAND_INS = str.maketrans(
    {
        **dict.fromkeys("─━┄┅┈┉═╌╍", "-"),
        **dict.fromkeys("│┃┆┇┊┋║╎╏▏▕▎▍▌▐", "|"),
        **dict.fromkeys("╭╮╯╰┌┐└┘├┤┬┴┼╔╗╚╝╠╣╦╩╬┏┓┗┛", "+"),
        **dict.fromkeys("▁▂▃▄▅▆▇█▉▊▋▔", " "),  # scrollbar ends: the thumb's colour is around them
        **dict.fromkeys("•●", "*"),
        "·": "-",
        **dict.fromkeys("—–", "-"),
        **dict.fromkeys("“”„″", '"'),
        **dict.fromkeys("‘’′", "'"),
        "…": ".",
        "→": ">",
        "←": "<",
        "↑": "^",
        "↓": "v",
        "▶": ">",
        "◀": "<",
        "⭘": "*",
        "\u00a0": " ",
    }
)


def ascii_text(text: str) -> str:
    """``text`` in ASCII, cell for cell: known characters by their stand-ins, others by ``?``."""
    if text.isascii():
        return text
    text = text.translate(ASCII_STAND_INS)
    if text.isascii():
        return text
    return "".join(ch if ch.isascii() else "?" * max(1, cell_len(ch)) for ch in text)


class AsciiFilter(LineFilter):
    """Every line the app draws, in ASCII: for a terminal without a UTF-8 locale.

    The panes draw ASCII themselves (symbols, ``...``); this catches the rest: borders,
    scrollbars, Textual's header and footer, titles, and text from outside (a result in
    another script becomes ``?``, as such a terminal could not show it anyway).
    """

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments with their text in ASCII (styles kept)."""
        if all(segment.text.isascii() for segment in segments):
            return segments
        return [Segment(ascii_text(text), style, control) for text, style, control in segments]
